"""A manual rollback, recorded on the service itself so every front door respects it.

`ecs-reconciler rollback` puts a previous task definition revision back and tags the service with
ROLLED_BACK ("family:N from family:M at TIME"). The tag lives in AWS, so the CLI, the controller
and the operator (each its own process, maybe several replicas) all see it on their next read:
the plan still shows the difference from the manifest, but the service's sync is suspended, with
the reason in the status, until `ecs-reconciler resume` removes the tag. Otherwise the next
reconcile would deploy the very revision someone just rolled back from.

ECS's own rollbacks (the deployment circuit breaker) are told apart from it by
observed/rollouts.py: they leave a FAILED deployment, not this tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ownership import ROLLED_BACK
from .model import Action, Plan


@dataclass(frozen=True)
class ManualRollback:
    service: str
    cluster: str
    record: str  # "family:N from family:M at TIME"

    @property
    def reason(self) -> str:
        return f"rolled back by hand to {self.record} (ecs-reconciler rollback); its sync is suspended"

    @property
    def resume_command(self) -> str:
        return f"ecs-reconciler resume {self.service} --cluster {self.cluster}"

    @property
    def message(self) -> str:
        return f"{self.reason}. To deploy the manifest again: {self.resume_command}"


def record_value(to: str, previous: str, when: str) -> str:
    """The tag value (ECS tag values: up to 256 of letters, digits, spaces and _.:/=+-@)."""
    return f"{to} from {previous} at {when}"[:256]


def manual_rollback(action: Action) -> ManualRollback | None:
    obs = action.observed
    if action.kind != "Service" or obs is None or not (obs.tags or {}).get(ROLLED_BACK):
        return None
    return ManualRollback(action.name, obs.cluster or action.request.get("cluster") or "default", obs.tags[ROLLED_BACK])


def suspended_by_rollback(plan: Plan) -> dict[tuple[str, str], ManualRollback]:
    """Pending services a manual rollback suspends: key -> the rollback."""
    out = {}
    for action in plan.pending:
        found = manual_rollback(action) if action.action in ("update", "replace") else None
        if found is not None:
            out[action.key] = found
    return out
