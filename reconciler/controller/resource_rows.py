"""One status row per resource after a reconcile, and the rollouts the controller follows.

A row says what the controller believes of a resource: in sync, drifted, pending, rolling out,
failed, held back (needs-replace, perpetual-diff) and why. Services we deployed are followed until
their deployment finishes, so a deployment ECS rolled back is told apart from one still moving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..apply.flap_guard import Held
from ..diff.rules import family_revision
from ..observed.rollouts import Rollout, rolled_back, rollout_of
from ..plan.model import Action, Plan
from ..report.render import masked_changes
from .status import ResourceStatus

Key = tuple[str, str]


class RolloutTracker:
    """Services we deployed whose rollout we have not yet seen finish: key -> the task definition
    revision ("family:N") of that deployment, once a describe has shown it."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deployed: dict[Key, str | None] = {}

    def rollout(self, action: Action) -> Rollout:
        """The observed service's rollout (a resource that is not a service never rolls out)."""
        if action.kind != "Service" or action.observed is None:
            return Rollout("done")
        return rollout_of(action.observed.body, timeout=self.timeout)

    def rolled_back(self, plan: Plan) -> set[Key]:
        """Services we deployed whose task definition moved away before we saw the rollout finish:
        ECS rolled the deployment back (circuit breaker). Deploying the same spec again would only
        fail again, so they are held until the manifest changes."""
        return {a.key for a in plan.pending if a.kind == "Service" and a.action == "update" and a.observed is not None
                and rolled_back(a.request.get("taskDefinition"), self.deployed.get(a.key), a.observed.body)}


@dataclass
class Outcome:
    """What a reconcile decided and did, as the rows need it."""

    syncs: set[Key]
    done: set[Key] = field(default_factory=set)
    failed: dict[Key, str] = field(default_factory=dict)
    rolled_back: set[Key] = field(default_factory=set)
    perpetual: dict[Key, Held] = field(default_factory=dict)
    blocked: set[Key] = field(default_factory=set)  # waits for something held back
    needs_replace: set[Key] = field(default_factory=set)
    suspended: dict[Key, str] = field(default_factory=dict)  # a manual rollback: why, and how to resume


def _paths(action: Action) -> list[str]:
    return sorted({c.path for c in action.changes})


DEPLOYMENT_FIELDS = ("id", "status", "rolloutState", "rolloutStateReason", "taskDefinition", "desiredCount",
                     "runningCount", "pendingCount", "failedTasks")


def rollout_view(action: Action) -> dict | None:
    """A service's rollout as the dashboard shows it: task counts and each deployment."""
    if action.kind != "Service" or action.observed is None:
        return None
    body = action.observed.body
    return {"desiredCount": body.get("desiredCount"), "runningCount": body.get("runningCount"),
            "pendingCount": body.get("pendingCount"),
            "deployments": [{k: d.get(k) for k in DEPLOYMENT_FIELDS if d.get(k) is not None}
                            for d in body.get("deployments") or []]}


def resource_rows(plan: Plan, outcome: Outcome, rollouts: RolloutTracker) -> tuple[list[ResourceStatus], set[Key]]:
    """A status row per resource, and the services still moving (to read again soon)."""
    rows, moving = [], set()
    for action in plan.actions:
        key = action.key
        if action.action == "delete" and key in outcome.done:
            rollouts.deployed.pop(key, None)
            continue
        row = ResourceStatus(action.kind, action.name, "in-sync", action=action.action, rollout=rollout_view(action))
        rollout = rollouts.rollout(action)
        if rollout.in_progress:
            moving.add(key)
        if key in outcome.failed:
            row.state, row.error = "failed", outcome.failed[key]
        elif action.action == "conflict":
            row.state, row.error = "failed", "; ".join(action.reasons) or "conflict"
        elif action.action == "none":
            row.state = {"done": "in-sync", "in-progress": "rolling-out"}.get(rollout.state, "failed")
            row.error = rollout.reason
            if rollout.state == "done":
                rollouts.deployed.pop(key, None)
            elif key in rollouts.deployed:
                rollouts.deployed[key] = family_revision(action.observed.body.get("taskDefinition"))
        elif key in outcome.done:
            if action.kind == "Service" and action.action != "delete":
                row.state = "rolling-out"
                moving.add(key)
                rollouts.deployed[key] = None  # which revision: the next describe says
        elif key in outcome.suspended:
            row.state, row.drift, row.error = "suspended", _paths(action), outcome.suspended[key]
        elif key in outcome.perpetual:
            row.state, row.drift, row.diff = "perpetual-diff", _paths(action), masked_changes(action)
            row.error = (f"applied {outcome.perpetual[key].applies} times with the same diff and AWS still answers "
                         "differently; writes stopped until the manifest changes")
        elif key in outcome.needs_replace:
            row.state, row.drift = "needs-replace", _paths(action)
            row.error = "; ".join(action.reasons) + " (run with --allow-replace to replace it)"
        elif key in outcome.blocked:
            row.state, row.drift = "pending", _paths(action)
            row.error = "waits for a dependency that is held back (needs-replace or perpetual-diff)"
        elif key in outcome.rolled_back:
            row.state, row.drift = "failed", _paths(action)
            if row.rollout is not None:
                row.rollout["rolledBack"] = True
            row.error = ((rollout.reason + "; ") if rollout.reason else "") + (
                "ECS replaced the deployment of this spec (rolled back); not deployed again until the manifest changes")
        elif key in outcome.syncs:
            row.state, row.drift, row.diff = "pending", _paths(action), masked_changes(action)
        else:
            row.state, row.drift, row.diff = "drifted", _paths(action), masked_changes(action)
        rows.append(row)
    return rows, moving
