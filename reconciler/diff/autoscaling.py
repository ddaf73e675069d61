"""Canonical form of a service's Application Auto Scaling, for `spec.autoScaling` and what
DescribeScalableTargets / DescribeScalingPolicies / DescribeScheduledActions return alike.

What the API adds is dropped or filled (evidence in docs/normalization.md): ARNs, alarms, creation
times, the resource ids and the role AWS chooses are output only; `suspendedState` is always
returned (all false when never set) and a scheduled action without a time zone runs in UTC.
Policies and scheduled actions are keyed by name, so a change reads
`autoScaling.policies[cpu60].targetTrackingScalingPolicyConfiguration.targetValue`.
"""

from __future__ import annotations

from typing import Any

from ..desired.shapes import camel_keys, service_model
from .rules import clone, fill, instant, keyed, project, prune_empty

_AAS = service_model("application-autoscaling")
_IDS = {"ServiceNamespace", "ResourceId", "ScalableDimension"}


def _camel_members(operation: str) -> list[str]:
    return [m[:1].lower() + m[1:] for m in _AAS.operation_model(operation).input_shape.members if m not in _IDS]


POLICY_FIELDS = [f for f in _camel_members("PutScalingPolicy") if f != "policyName"]
ACTION_FIELDS = [f for f in _camel_members("PutScheduledAction") if f != "scheduledActionName"]
SUSPENDED_DEFAULTS = {"dynamicScalingInSuspended": False, "dynamicScalingOutSuspended": False,
                      "scheduledScalingSuspended": False}
ACTION_DEFAULTS = {"timezone": "UTC"}



def normalize(config: dict[str, Any]) -> dict[str, Any]:
    """Canonical form of a camelCase autoScaling block (a manifest's, or `from_observed`'s)."""
    out: dict[str, Any] = {k: clone(config.get(k)) for k in ("minCapacity", "maxCapacity", "suspendedState")}
    out["suspendedState"] = fill(out["suspendedState"] or {}, SUSPENDED_DEFAULTS)
    out["policies"] = {k: project(v, POLICY_FIELDS) for k, v in keyed(config.get("policies"), "policyName").items()}
    actions = {}
    for key, action in keyed(config.get("scheduledActions"), "scheduledActionName").items():
        action = fill(project(action, ACTION_FIELDS), ACTION_DEFAULTS)
        for name in ("startTime", "endTime"):
            action[name] = instant(action.get(name))
        actions[key] = action
    out["scheduledActions"] = actions
    return prune_empty(out)


def from_observed(found: dict[str, Any]) -> dict[str, Any]:
    """`{"target", "policies", "scheduledActions"}` as read (PascalCase) -> a camelCase autoScaling block."""
    target = found.get("target") or {}
    return camel_keys({
        "MinCapacity": target.get("MinCapacity"),
        "MaxCapacity": target.get("MaxCapacity"),
        "SuspendedState": target.get("SuspendedState"),
        "Policies": found.get("policies") or [],
        "ScheduledActions": found.get("scheduledActions") or [],
    })
