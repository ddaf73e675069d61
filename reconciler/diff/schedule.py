"""Canonical form of an EventBridge Scheduler schedule, for a Schedule spec (CreateSchedule request)
and GetSchedule responses alike.

A schedule carries no tags, so no fingerprint of the declared fields can be recorded on it: every
field is compared, with the defaults Scheduler fills in filled on both sides (evidence in
docs/normalization.md). That matches how it is written: UpdateSchedule replaces the whole schedule,
so a field the manifest stops declaring goes back to its default on the next write.
"""

from __future__ import annotations

import json
from typing import Any

from ..desired.shapes import service_model
from .rules import arn_name, as_set, family_revision, fill, instant, keyed, placement_strategy, project, prune_empty

_SCHEDULER = service_model("scheduler")
REQUEST_FIELDS = [m for m in _SCHEDULER.operation_model("CreateSchedule").input_shape.members
                  if m not in ("Name", "ClientToken")]
DEFAULTS = {"State": "ENABLED", "ScheduleExpressionTimezone": "UTC", "ActionAfterCompletion": "NONE"}
TARGET_DEFAULTS = {"RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}}
ECS_DEFAULTS = {"TaskCount": 1, "EnableECSManagedTags": False, "EnableExecuteCommand": False}
DEFAULT_GROUP = "default"


def is_cluster_arn(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("arn:") and ":ecs:" in value and ":cluster/" in value



def _input(value: Any) -> Any:
    """`Input` is a JSON string: compared as the JSON it holds (key order and spacing mean nothing)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def normalize(spec: dict[str, Any]) -> dict[str, Any]:
    """Canonical form of a CreateSchedule request or a GetSchedule response. The target's cluster
    ARN reads as the cluster name, the task definition ARN as `family:revision`."""
    out = fill(project(spec, REQUEST_FIELDS), DEFAULTS)
    if out.get("Description") == "":
        out.pop("Description")  # no description, whether an API answer leaves it out or sends ""
    out["GroupName"] = out.get("GroupName") or DEFAULT_GROUP
    for name in ("StartDate", "EndDate"):
        out[name] = instant(out.get(name))
    target = out.get("Target")
    if isinstance(target, dict):
        fill(target, TARGET_DEFAULTS)
        target["Input"] = _input(target.get("Input") or None)
        ecs = target.get("EcsParameters")
        if isinstance(ecs, dict):
            if is_cluster_arn(target.get("Arn")):
                target["Arn"] = arn_name(target["Arn"])
            ecs["TaskDefinitionArn"] = family_revision(ecs.get("TaskDefinitionArn"))
            fill(ecs, ECS_DEFAULTS)
            if ecs.get("LaunchType") == "FARGATE" or any(
                    str(i.get("capacityProvider", "")).startswith("FARGATE") for i in ecs.get("CapacityProviderStrategy") or []):
                fill(ecs, {"PlatformVersion": "LATEST"})
            vpc = (ecs.get("NetworkConfiguration") or {}).get("awsvpcConfiguration")
            if isinstance(vpc, dict):
                fill(vpc, {"AssignPublicIp": "DISABLED"})
                vpc["Subnets"] = as_set(vpc.get("Subnets"))
                vpc["SecurityGroups"] = as_set(vpc.get("SecurityGroups"))
            strategy = [dict({"base": 0, "weight": 0}, **i) for i in ecs.get("CapacityProviderStrategy") or []]
            ecs["CapacityProviderStrategy"] = keyed(strategy, "capacityProvider")
            ecs["PlacementConstraints"] = as_set(ecs.get("PlacementConstraints"))
            ecs["PlacementStrategy"] = placement_strategy(ecs.get("PlacementStrategy"))
    return prune_empty(out)
