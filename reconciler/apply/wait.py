"""Follow service rollouts to steady state: primary deployment COMPLETED and running == desired.

A FAILED primary deployment (a circuit-breaker rollback) is an error with the reason ECS gives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..aws import Clients
from ..errors import ReconcileError
from ..observed.batching import DESCRIBE_SERVICES_MAX, chunks
from ..observed.rollouts import rollout_of

if TYPE_CHECKING:
    from .rollout_events import RolloutEvents

# With the event stream, every service is still described at least this often (missed events).
FALLBACK_POLLS = 10


@dataclass
class RolloutStatus:
    cluster: str
    name: str
    state: str  # IN_PROGRESS | COMPLETED | FAILED
    running: int
    desired: int
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.state == "COMPLETED" and self.running == self.desired


_STATES = {"done": "COMPLETED", "in-progress": "IN_PROGRESS", "failed": "FAILED"}


def rollout_status(service: dict) -> RolloutStatus:
    """The rollout as observed/rollouts.py reads it (one reading for apply --wait, the controller and
    the operator); waiting has its own deadline, so no rollout timeout applies here."""
    rollout = rollout_of(service, timeout=None)
    cluster = service.get("clusterArn", "").rsplit("/", 1)[-1]
    return RolloutStatus(cluster, service["serviceName"], _STATES[rollout.state], service.get("runningCount", 0),
                         service.get("desiredCount", 0), rollout.ecs_reason or rollout.reason or "")


def wait_for_services(clients: Clients, services: list[tuple[str, str]], timeout: float = 600.0,
                      poll: float = 2.0, on_progress: Callable[[list[RolloutStatus]], None] | None = None,
                      events: "RolloutEvents | None" = None,
                      on_problem: Callable[[str], None] | None = None) -> list[RolloutStatus]:
    """Wait until every service is steady; raise on a failed deployment or on timeout.

    Without `events`, DescribeServices (10 a call) every `poll` seconds. With `events`, services are
    described when an event touches them, and all of them only every FALLBACK_POLLS polls; stopped
    tasks and placement failures are passed to `on_problem` as they happen.
    """
    pending = sorted(set(services))
    deadline = time.monotonic() + timeout
    statuses: dict[tuple[str, str], RolloutStatus] = {}
    problems: list[str] = []
    to_describe = set(pending)
    rounds = 0
    while True:
        _describe(clients, sorted(to_describe), statuses)
        if on_progress:
            on_progress(list(statuses.values()))
        failed = [s for s in statuses.values() if s.state == "FAILED"]
        if failed:
            _gather_problems(events, {(s.cluster, s.name) for s in failed}, problems, on_problem)
            raise ReconcileError("deployment failed: " + "; ".join(
                f"{s.cluster}/{s.name}: {s.reason or 'rolled back'}" for s in failed) + _problem_text(problems))
        pending = [key for key in pending if not statuses.get(key) or not statuses[key].done]
        if not pending:
            return list(statuses.values())
        if time.monotonic() > deadline:
            raise ReconcileError("timed out waiting for steady state: " + ", ".join(f"{c}/{n}" for c, n in pending)
                                 + _problem_text(problems))
        rounds += 1
        if events is None:
            time.sleep(poll)
            to_describe = set(pending)
            continue
        signals = events.poll(set(pending), wait_seconds=max(1, int(poll)))
        for problem in signals.problems:
            problems.append(problem)
            if on_problem:
                on_problem(problem)
        if signals.failed:
            _gather_problems(events, set(signals.failed), problems, on_problem)
            raise ReconcileError("deployment failed: " + "; ".join(
                f"{c}/{n}: {reason}" for (c, n), reason in sorted(signals.failed.items())) + _problem_text(problems))
        to_describe = signals.touched & set(pending)
        if rounds % FALLBACK_POLLS == 0:
            to_describe = set(pending)


def _gather_problems(events: "RolloutEvents | None", services: set[tuple[str, str]], problems: list[str],
                     on_problem: Callable[[str], None] | None, polls: int = 2) -> None:
    """Before reporting a failure, read the events still in flight: the stopped tasks that explain
    it can arrive after the failure itself (the queue does not keep order)."""
    for _ in range(polls if events is not None else 0):
        for problem in events.poll(services, wait_seconds=1).problems:
            problems.append(problem)
            if on_problem:
                on_problem(problem)


def _describe(clients: Clients, services: list[tuple[str, str]], statuses: dict) -> None:
    by_cluster: dict[str, list[str]] = {}
    for cluster, name in services:
        by_cluster.setdefault(cluster, []).append(name)
    for cluster, names in by_cluster.items():
        for batch in chunks(names, DESCRIBE_SERVICES_MAX):
            for service in clients.ecs.describe_services(cluster=cluster, services=list(batch))["services"]:
                status = rollout_status(service)
                statuses[(cluster, status.name)] = status


def _problem_text(problems: list[str]) -> str:
    return ("\n  " + "\n  ".join(problems[-10:])) if problems else ""
