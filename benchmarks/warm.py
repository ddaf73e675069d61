"""The warm path: an ObservedState kept fresh by the event stream, re-read only where it says so.

This is what the controller's resync does between full re-reads, built from the engine's pieces:
the EventBridge rule + SQS queue (`setup_event_stream`), the `EventConsumer` thread filling an
`EventCache`, and `StateReader.refresh`, which re-reads only the keys the events marked dirty plus
the resources whose manifests changed (and those that depend on them). Nothing else is read: a
resource no event touched is taken from the cache.

Planning is incremental too. An action is a function of the manifest, the observed resource and,
for services and scheduled tasks, the task definition and cluster they reference; when none of
those changed, the previous action stands. So only the affected resources (plus the task
definitions and clusters they reference, which the planner needs to resolve revisions) are planned
again, and the rest of the plan is carried over. Missed events are the periodic full resync's job
(the cold plan), which this path does not replace.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from reconciler.aws import Clients
from reconciler.desired.loader import DesiredState, Located
from reconciler.desired.references import cluster_name
from reconciler.engine import Engine
from reconciler.observed.consumer import EventConsumer, start_consumer_thread
from reconciler.observed.event_cache import EventCache
from reconciler.observed.event_plumbing import setup_event_stream, teardown_event_stream
from reconciler.observed.state import ObservedState
from reconciler.plan.model import Plan

STREAM_NAME = "ecs-reconciler-bench"


def changed_keys(old: DesiredState | None, new: DesiredState) -> set[tuple[str, str]]:
    """Resources whose manifest was added, removed or edited, plus services and scheduled tasks that
    reference a changed cluster or task definition (their desired revision moves with it)."""
    if old is new:
        return set()  # the source did not reload: no manifest changed
    before = {r.key: r for r in old.resources} if old else {}
    after = {r.key: r for r in new.resources}
    changed = {k for k in before.keys() | after.keys()
               if k not in before or k not in after or (before[k] is not after[k] and _form(before[k]) != _form(after[k]))}
    for r in new.of_kind("Service") + new.of_kind("ScheduledTask"):
        spec = r.manifest.spec
        if ("TaskDefinition", spec.taskDefinition) in changed or ("Cluster", cluster_name(spec.cluster)) in changed:
            changed.add(r.key)
    return changed


def _form(item: Located) -> Any:
    return item.manifest.model_dump(mode="json")


class WarmObserver:
    """Holds the observed state between plans and the event consumer that keeps it honest."""

    def __init__(self, engine: Engine, desired: DesiredState, state: ObservedState, stream_clients: Clients,
                 instance: str = "ecs-reconciler-bench"):
        self.engine, self.desired, self.state = engine, desired, state
        self.stream_clients, self.instance = stream_clients, instance
        self.cache = EventCache()
        self._pending: set = set()
        self._lock = threading.Lock()
        info = setup_event_stream(stream_clients, name=STREAM_NAME, instance=instance)
        self.consumer = EventConsumer(stream_clients, info["queue_url"], self.cache, self._on_dirty, wait_seconds=1)
        self._thread, self._stop = start_consumer_thread(self.consumer, name="bench-events")
        self.refreshed = 0
        self.replanned = 0
        self.last_plan: Plan | None = None

    def _on_dirty(self, keys: set) -> None:
        with self._lock:
            self._pending |= keys

    def settle(self, quiet: float = 2.0, timeout: float = 120.0) -> int:
        """Wait until no message arrived for `quiet` seconds; returns messages seen so far."""
        deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            seen = self.consumer.stats()["messages"]
            if seen != last:
                last, since = seen, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.2)
        return last

    def take_dirty(self) -> set:
        with self._lock:
            keys, self._pending = self._pending, set()
            return keys

    def plan(self, desired: DesiredState) -> Plan:
        """Refresh what events or manifest edits point at, then plan those again; carry the rest over."""
        keys = self.take_dirty() | changed_keys(self.desired, desired)
        self.refreshed = self.engine.reader.refresh(self.state, desired, keys)
        self.desired = desired
        previous = {(a.kind, a.name): a for a in self.last_plan.actions} if self.last_plan else None
        affected = {(k[0], k[-1]) for k in keys}
        if previous is None or any(r.key not in previous for r in desired.resources):
            plan = self.engine.plan(desired, self.state)
            self.replanned = len(desired)
        else:
            plan = self._replan(desired, affected, previous)
        self.last_plan = plan
        return plan

    def _replan(self, desired: DesiredState, affected: set, previous: dict) -> Plan:
        # A task definition or cluster that changed also changes what its users plan.
        for r in desired.of_kind("Service") + desired.of_kind("ScheduledTask"):
            spec = r.manifest.spec
            if ("TaskDefinition", spec.taskDefinition) in affected or ("Cluster", cluster_name(spec.cluster)) in affected:
                affected.add(r.key)
        needed: list[Located] = []
        for r in desired.resources:
            if r.key in affected:
                needed.append(r)
                if r.manifest.KIND in ("Service", "ScheduledTask"):
                    for dep in (("TaskDefinition", r.manifest.spec.taskDefinition),
                                ("Cluster", cluster_name(r.manifest.spec.cluster))):
                        if desired.get(*dep) is not None and desired.get(*dep) not in needed:
                            needed.append(desired.get(*dep))
        self.replanned = len(needed)
        fresh = {(a.kind, a.name): a for a in self.engine.plan(DesiredState(needed), self.state).actions} if needed else {}
        return Plan([fresh.get(r.key) or previous[r.key] for r in desired.resources])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        teardown_event_stream(self.stream_clients, name=STREAM_NAME, instance=self.instance)
