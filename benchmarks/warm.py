"""The warm path: an ObservedState kept fresh by the event stream, re-read only where it says so.

This is what the controller's resync does between full re-reads, built from the engine's pieces:
the EventBridge rule + SQS queue (`setup_event_stream`), the `EventConsumer` thread filling an
`EventCache`, and `StateReader.refresh`, which re-reads only the keys the events marked dirty plus
the resources whose manifests changed (and those that depend on them). Nothing else is read: a
resource no event touched is taken from the cache. Missed events are the periodic full resync's
job (the cold plan), which this path does not replace.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from reconciler.aws import Clients
from reconciler.desired.loader import DesiredState
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
    def forms(state: DesiredState | None) -> dict[tuple[str, str], Any]:
        return {r.key: r.manifest.model_dump(mode="json") for r in state.resources} if state else {}

    before, after = forms(old), forms(new)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    for r in new.of_kind("Service") + new.of_kind("ScheduledTask"):
        spec = r.manifest.spec
        if ("TaskDefinition", spec.taskDefinition) in changed or ("Cluster", cluster_name(spec.cluster)) in changed:
            changed.add(r.key)
    return changed


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
        """Refresh what events or manifest edits point at, then plan against the cached state."""
        keys = self.take_dirty() | changed_keys(self.desired, desired)
        self.refreshed = self.engine.reader.refresh(self.state, desired, keys)
        self.desired = desired
        return self.engine.plan(desired, self.state)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        teardown_event_stream(self.stream_clients, name=STREAM_NAME, instance=self.instance)
