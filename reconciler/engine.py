"""The engine every front door calls: load -> read observed -> plan -> apply (-> wait).

The CLI, the controller and the operator hold no reconciliation logic of their own; they build an
`Engine` and call `plan` / `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .apply.executor import ActionListener, Applier, ApplyResult
from .apply.rollout_events import RolloutEvents
from .apply.wait import RolloutStatus, wait_for_services
from .aws import Clients
from .desired.loader import DesiredState
from .observed.readers import StateReader
from .observed.revisions import RevisionCache
from .observed.state import ObservedState
from .ownership import DEFAULT_INSTANCE
from .plan.model import Plan
from .plan.planner import Planner


@dataclass
class EngineOptions:
    instance: str = DEFAULT_INSTANCE
    prune: bool = False
    allow_replace: bool = False
    revision: str | None = None  # the source revision (git commit) recorded on what we write
    workers: int = 8  # writes in flight at once within a wave
    # Resource label (Kind/name) -> the object that owns it (the operator's `namespace/name/uid`),
    # recorded as a tag on what we write; a resource recorded as another's is a conflict.
    owners: dict[str, str] = field(default_factory=dict)


class Engine:
    def __init__(self, clients: Clients, options: EngineOptions | None = None, revisions: RevisionCache | None = None):
        self.clients = clients
        self.options = options or EngineOptions()
        self.reader = StateReader(clients, revisions, instance=self.options.instance)

    def observe(self, desired: DesiredState) -> ObservedState:
        return self.reader.read(desired, prune_instance=self.options.instance if self.options.prune else None)

    def plan(self, desired: DesiredState, observed: ObservedState | None = None) -> Plan:
        observed = observed if observed is not None else self.observe(desired)
        plan = Planner(self.options.instance, self.options.owners).plan(desired, observed)
        for action in plan.actions:
            action.retag = bool(self.options.revision)  # so the plan lists the tag calls apply will make
        return plan

    def apply(self, plan: Plan, on_progress: Callable[[str], None] | None = None,
              on_action: ActionListener | None = None) -> ApplyResult:
        """Write `plan`; `on_progress` gets readable lines, `on_action` each action's start, end or failure."""
        applier = Applier(self.clients, self.reader, self.options.instance, self.options.revision, on_progress,
                          workers=max(1, self.options.workers), on_action=on_action, owners=self.options.owners)
        return applier.apply(plan, allow_replace=self.options.allow_replace)

    def wait(self, result: ApplyResult, timeout: float = 600.0, poll: float = 2.0,
             on_progress: Callable[[list[RolloutStatus]], None] | None = None, events_queue: str | None = None,
             on_problem: Callable[[str], None] | None = None) -> list[RolloutStatus]:
        """Follow the rollouts `result` started; through the event stream when `events_queue` is given."""
        if not result.services:
            return []
        events = RolloutEvents(self.clients, events_queue) if events_queue else None
        return wait_for_services(self.clients, result.services, timeout=timeout, poll=poll, on_progress=on_progress,
                                 events=events, on_problem=on_problem)
