"""An informer for ECS: a full read at start and on each resync, kept fresh by the event stream.

Between full reads, a plan re-reads only what the event stream marked dirty (and what the
manifests changed), and plans again only those resources plus the task definitions and clusters
they reference; every other action carries over from the previous plan. An action is a function of
the manifest, the observed resource and its references, so when none of those changed, neither did
the action. Missed events are the resync's job: `resync` reports the resources whose drift the
incremental path had not seen.

A resync is full (every kind re-read) or warm: every service and cluster re-read, in batches of 10
and 100, and the rest kept. Services are what changes behind our back (deployments, scaling,
console edits) and the events about them are the ones worth double-checking; task definition
revisions are immutable, and a new revision, a rule edit or a scaling target reaches us only as an
API call the event stream reports, so a warm resync leaves them to the periodic full one.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Protocol

from ..desired.loader import DesiredState, Located
from ..desired.references import cluster_name
from ..plan.model import Plan
from .readers import StateReader
from .state import ObservedState


class Options(Protocol):
    prune: bool


class Engine(Protocol):
    """What the informer needs of an engine: its reader, a full read, a plan (the observed layer does
    not depend on the engine that drives it)."""

    reader: StateReader
    options: Options

    def observe(self, desired: DesiredState) -> ObservedState: ...

    def plan(self, desired: DesiredState, observed: ObservedState | None = None) -> Plan: ...


def manifest_form(item: Located) -> Any:
    return item.manifest.model_dump(mode="json")


def changed_keys(old: DesiredState | None, new: DesiredState) -> set[tuple[str, str]]:
    """Resources whose manifest was added, removed or edited between two desired states."""
    if old is new:
        return set()
    before = {r.key: r for r in old.resources} if old else {}
    after = {r.key: r for r in new.resources}
    return {k for k in before.keys() | after.keys()
            if k not in before or k not in after
            or (before[k] is not after[k] and manifest_form(before[k]) != manifest_form(after[k]))}


def with_dependents(desired: DesiredState, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """`keys` plus the services and scheduled tasks that reference one of them (their desired
    revision or cluster moves with it)."""
    out = set(keys)
    for r in desired.of_kind("Service") + desired.of_kind("ScheduledTask") + desired.of_kind("Schedule"):
        task_definition, cluster = _references(r)
        if ("TaskDefinition", task_definition) in keys or ("Cluster", cluster) in keys:
            out.add(r.key)
    return out


def _references(r: Located) -> tuple[str | None, str | None]:
    """(task definition, cluster) a Service, ScheduledTask or Schedule manifest names."""
    if r.manifest.KIND == "Schedule":
        cluster = r.manifest.cluster_ref
        return r.manifest.task_definition_ref, cluster_name(cluster) if cluster else None
    return r.manifest.spec.taskDefinition, cluster_name(r.manifest.spec.cluster)


class Informer:
    """Observed state and the last plan, shared by the event consumer (`mark`) and the planner."""

    def __init__(self) -> None:
        self.state: ObservedState | None = None
        self.desired: DesiredState | None = None
        self.last_plan: Plan | None = None
        self.refreshed = 0  # resources re-read by the last incremental plan
        self.replanned = 0  # resources planned again by the last plan
        self._dirty: set[tuple] = set()
        self._lock = threading.Lock()

    def mark(self, keys: Iterable[tuple]) -> None:
        """Resources to re-read before the next plan: event-stream keys or (kind, name)."""
        with self._lock:
            self._dirty.update(keys)

    def _take(self) -> set[tuple]:
        with self._lock:
            keys, self._dirty = self._dirty, set()
        return keys

    def resync(self, engine: Engine, desired: DesiredState, compare: bool = True,
               warm: bool = False) -> tuple[Plan, list[str]]:
        """A read and plan of everything: full, or with `warm` a re-read of every service and cluster
        on top of the incremental path (a full read when there is nothing to build on). With
        `compare`, also returns the resources whose pending change the incremental path would not
        have shown (drift the event stream missed). If a read fails, what was marked stays marked."""
        incremental, just_read = self._incremental(engine, desired) if compare or warm else (None, set())
        seen = {a.label for a in incremental.pending} if incremental is not None and compare else None
        if warm and incremental is not None:
            keys = {r.key for r in desired.of_kind("Service") + desired.of_kind("Cluster")} - just_read
            self.refreshed = self.refreshed + engine.reader.refresh(self.state, desired, keys, scaling=False)
        else:
            taken = self._take()
            try:
                self.state = engine.observe(desired)
            except BaseException:
                self.mark(taken)  # the state is the old one still: what was marked must be read again
                raise
            self.last_plan = None  # a new state, no plan of it yet: if planning fails, read in full again
            self.refreshed = len(desired)
        self.desired = desired
        plan = engine.plan(desired, self.state)
        self.last_plan, self.replanned = plan, len(desired)
        missed = sorted(a.label for a in plan.pending if seen is not None and a.label not in seen)
        return plan, missed

    def plan(self, engine: Engine, desired: DesiredState) -> Plan:
        """Re-read what events or manifest edits point at, plan those again, carry the rest over;
        a full read when there is nothing to build on (first plan, new resources, prune)."""
        plan, _ = self._incremental(engine, desired)
        return plan if plan is not None else self.resync(engine, desired, compare=False)[0]

    def _incremental(self, engine: Engine, desired: DesiredState) -> tuple[Plan | None, set[tuple[str, str]]]:
        """The incremental plan (None when there is nothing to build on) and the (kind, name) it re-read."""
        if self.state is None or self.last_plan is None or engine.options.prune:
            return None, set()  # prune candidates come only from listing: a full read
        previous = {a.key: a for a in self.last_plan.actions}
        if any(r.key not in previous for r in desired.resources):
            return None, set()
        edited = changed_keys(self.desired, desired)
        taken = self._take()
        try:
            return self._replan(engine, desired, taken | edited, previous)
        except BaseException:
            # Nothing read (or planned) this time counts: the marks wait for the next plan, and the
            # manifest edits stay edits because `self.desired` still holds the previous manifests.
            self.mark(taken)
            raise

    def _replan(self, engine: Engine, desired: DesiredState, keys: set[tuple],
                previous: dict) -> tuple[Plan, set[tuple[str, str]]]:
        """Re-read `keys`, plan what they affect, carry the rest of `previous` over."""
        self.refreshed = engine.reader.refresh(self.state, desired, keys)
        affected = with_dependents(desired, {(k[0], k[-1]) for k in keys})
        needed: list[Located] = []
        for r in desired.resources:
            if r.key not in affected:
                continue
            needed.append(r)
            if r.manifest.KIND in ("Service", "ScheduledTask", "Schedule"):
                task_definition, cluster = _references(r)
                for dep in (("TaskDefinition", task_definition), ("Cluster", cluster)):
                    item = desired.get(*dep)
                    if item is not None and item not in needed:
                        needed.append(item)
        self.replanned = len(needed)
        fresh = {a.key: a for a in engine.plan(DesiredState(needed), self.state).actions} if needed else {}
        self.desired = desired
        self.last_plan = Plan([fresh.get(r.key) or previous[r.key] for r in desired.resources])
        return self.last_plan, {(k[0], k[-1]) for k in keys}
