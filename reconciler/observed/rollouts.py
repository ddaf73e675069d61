"""Whether a service's deployment finished, is under way or failed, read from its DescribeServices body.

ECS says a rollout failed in two ways: the circuit breaker marks the deployment FAILED (and, with
rollback, starts a new PRIMARY deployment of the previous revision), or nothing says so and the
deployment simply never completes (tasks that keep failing health checks without a breaker). The
second needs a deadline, as Kubernetes' `progressDeadlineSeconds` does for a Deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..diff.rules import family_revision

ROLLOUT_TIMEOUT = 900.0  # seconds; ALB deregistration alone defaults to 300 s, so 10 minutes is tight


@dataclass(frozen=True)
class Rollout:
    state: str  # "done", "in-progress" or "failed"
    reason: str | None = None
    in_progress: bool = False  # still moving (worth reading again), whatever the state says
    ecs_reason: str | None = None  # ECS's own rolloutStateReason of the failed deployment


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        try:
            return _when(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _tasks(deployment: dict[str, Any]) -> str:
    return f"{deployment.get('runningCount', 0)} of {deployment.get('desiredCount', 0)} tasks running"


def rollout_of(body: dict[str, Any], now: datetime | None = None, timeout: float | None = ROLLOUT_TIMEOUT) -> Rollout:
    """The rollout state of one service; `timeout` (seconds, None or 0 for never) bounds how long a
    PRIMARY deployment may stay in progress before it counts as failed."""
    deployments = body.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    moving = len(deployments) > 1 or (primary is not None and primary.get("rolloutState") == "IN_PROGRESS")
    if primary is not None and primary.get("rolloutState") == "FAILED":
        reason = primary.get("rolloutStateReason") or "the deployment failed"
        return Rollout("failed", f"deployment {primary.get('id')} failed: {reason}", in_progress=moving, ecs_reason=reason)
    if not moving:
        return Rollout("done")
    failed = next((d for d in deployments if d.get("rolloutState") == "FAILED"), None)
    if failed is not None:
        reason = failed.get("rolloutStateReason") or "the deployment failed"
        return Rollout("failed", f"deployment {failed.get('id')} failed and ECS is rolling back: {reason}", in_progress=True,
                       ecs_reason=reason)
    started = _when(primary.get("createdAt")) if primary is not None else None
    if timeout and started is not None:
        age = ((now or datetime.now(timezone.utc)) - started).total_seconds()
        if age > timeout:
            detail = primary.get("rolloutStateReason") or ""
            return Rollout("failed", f"deployment {primary.get('id')} has not finished after {int(age)} s (rollout timeout "
                                     f"{int(timeout)} s; {_tasks(primary)}){': ' + detail if detail else ''}", in_progress=True)
    return Rollout("in-progress", in_progress=True)


def circuit_breaker_rollback(body: dict[str, Any] | None) -> str | None:
    """What ECS's deployment circuit breaker rolled back, read from the service alone: a FAILED
    deployment of one revision while the PRIMARY runs another. None when there is none to see."""
    deployments = (body or {}).get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    failed = next((d for d in deployments if d.get("rolloutState") == "FAILED" and d is not primary), None)
    if primary is None or failed is None or failed.get("taskDefinition") == primary.get("taskDefinition"):
        return None
    reason = failed.get("rolloutStateReason") or "the deployment failed"
    return (f"ECS rolled {family_revision(failed.get('taskDefinition'))} back to "
            f"{family_revision(primary.get('taskDefinition'))} (circuit breaker: {reason})")


def rolled_back(wanted: str | None, deployed: str | None, body: dict[str, Any] | None) -> bool:
    """ECS put another revision back after we deployed `deployed` ("family:N"), which the manifest
    still asks for (`wanted`): the circuit breaker rolled the deployment back. Deploying the same
    revision again would only fail again, so the controller and the operator hold it until the
    manifest changes."""
    if not deployed or body is None:
        return False
    running = family_revision(body.get("taskDefinition"))
    return family_revision(wanted) == deployed and running != deployed
