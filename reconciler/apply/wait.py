"""Follow service rollouts to steady state: primary deployment COMPLETED and running == desired.

A FAILED primary deployment (a circuit-breaker rollback) is an error with the reason ECS gives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..aws import Clients
from ..errors import ReconcileError
from ..observed.batching import DESCRIBE_SERVICES_MAX, chunks


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


def rollout_status(service: dict) -> RolloutStatus:
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    state = primary.get("rolloutState", "COMPLETED" if service.get("runningCount") == service.get("desiredCount") else "IN_PROGRESS")
    cluster = service.get("clusterArn", "").rsplit("/", 1)[-1]
    return RolloutStatus(cluster, service["serviceName"], state, service.get("runningCount", 0),
                         service.get("desiredCount", 0), primary.get("rolloutStateReason", ""))


def wait_for_services(clients: Clients, services: list[tuple[str, str]], timeout: float = 600.0,
                      poll: float = 2.0, on_progress: Callable[[list[RolloutStatus]], None] | None = None) -> list[RolloutStatus]:
    """Poll DescribeServices (10 a call) until every service is steady; raise on failure or timeout."""
    pending = sorted(set(services))
    deadline = time.monotonic() + timeout
    statuses: dict[tuple[str, str], RolloutStatus] = {}
    while True:
        by_cluster: dict[str, list[str]] = {}
        for cluster, name in pending:
            by_cluster.setdefault(cluster, []).append(name)
        for cluster, names in by_cluster.items():
            for batch in chunks(names, DESCRIBE_SERVICES_MAX):
                for service in clients.ecs.describe_services(cluster=cluster, services=list(batch))["services"]:
                    status = rollout_status(service)
                    statuses[(cluster, status.name)] = status
        if on_progress:
            on_progress(list(statuses.values()))
        failed = [s for s in statuses.values() if s.state == "FAILED"]
        if failed:
            raise ReconcileError("deployment failed: " + "; ".join(
                f"{s.cluster}/{s.name}: {s.reason or 'rolled back'}" for s in failed))
        pending = [key for key in pending if not statuses.get(key) or not statuses[key].done]
        if not pending:
            return list(statuses.values())
        if time.monotonic() > deadline:
            raise ReconcileError("timed out waiting for steady state: " + ", ".join(f"{c}/{n}" for c, n in pending))
        time.sleep(poll)
