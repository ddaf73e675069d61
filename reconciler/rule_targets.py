"""EventBridge rule targets: translate a ScheduledTask spec (ECS camelCase) to and from an EventBridge rule and ECS target.

Both directions live here so they stay each other's inverse.
"""

from __future__ import annotations

import json
from typing import Any

from .ownership import events_tag_list, tag_list_to_dict

TARGET_ID = "ecs-reconciler"

# spec field -> EcsParameters field, for the fields that map one to one.
_SCALARS = {
    "taskCount": "TaskCount",
    "launchType": "LaunchType",
    "platformVersion": "PlatformVersion",
    "group": "Group",
    "propagateTags": "PropagateTags",
    "enableECSManagedTags": "EnableECSManagedTags",
    "enableExecuteCommand": "EnableExecuteCommand",
    "referenceId": "ReferenceId",
}
_VPC = {"subnets": "Subnets", "securityGroups": "SecurityGroups", "assignPublicIp": "AssignPublicIp"}
_STRATEGY = {"capacityProvider": "capacityProvider", "weight": "weight", "base": "base"}
_CONSTRAINT = {"type": "type", "expression": "expression"}
_PLACEMENT = {"type": "type", "field": "field"}


def _rename(item: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {mapping[k]: v for k, v in item.items() if k in mapping and v is not None}


def _invert(mapping: dict[str, str]) -> dict[str, str]:
    return {v: k for k, v in mapping.items()}


def rule_request(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    request = {"Name": name, "ScheduleExpression": spec["schedule"], "State": spec.get("state", "ENABLED")}
    if spec.get("description"):
        request["Description"] = spec["description"]
    return request


def target_request(spec: dict[str, Any], cluster_arn: str, task_definition_arn: str) -> dict[str, Any]:
    params: dict[str, Any] = {"TaskDefinitionArn": task_definition_arn}
    for field, api in _SCALARS.items():
        if spec.get(field) is not None:
            params[api] = spec[field]
    vpc = (spec.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if vpc:
        params["NetworkConfiguration"] = {"awsvpcConfiguration": _rename(vpc, _VPC)}
    if spec.get("capacityProviderStrategy"):
        params["CapacityProviderStrategy"] = [_rename(i, _STRATEGY) for i in spec["capacityProviderStrategy"]]
    if spec.get("placementConstraints"):
        params["PlacementConstraints"] = [_rename(i, _CONSTRAINT) for i in spec["placementConstraints"]]
    if spec.get("placementStrategy"):
        params["PlacementStrategy"] = [_rename(i, _PLACEMENT) for i in spec["placementStrategy"]]
    if spec.get("taskTags"):
        params["Tags"] = events_tag_list(spec["taskTags"])
    target: dict[str, Any] = {"Id": TARGET_ID, "Arn": cluster_arn, "RoleArn": spec["roleArn"], "EcsParameters": params}
    if spec.get("overrides"):
        target["Input"] = json.dumps(spec["overrides"], sort_keys=True)
    return target


def spec_from_aws(rule: dict[str, Any], target: dict[str, Any] | None) -> dict[str, Any]:
    """The ScheduledTask spec (with cluster and task definition as ARNs) that a rule and target express."""
    spec: dict[str, Any] = {
        "schedule": rule.get("ScheduleExpression"),
        "state": rule.get("State"),
        "description": rule.get("Description"),
    }
    if not target:
        return spec
    params = target.get("EcsParameters") or {}
    spec["cluster"] = target.get("Arn")
    spec["roleArn"] = target.get("RoleArn")
    spec["taskDefinition"] = params.get("TaskDefinitionArn")
    for api, field in _invert(_SCALARS).items():
        if params.get(api) is not None:
            spec[field] = params[api]
    vpc = (params.get("NetworkConfiguration") or {}).get("awsvpcConfiguration")
    if vpc:
        spec["networkConfiguration"] = {"awsvpcConfiguration": _rename(vpc, _invert(_VPC))}
    if params.get("CapacityProviderStrategy"):
        spec["capacityProviderStrategy"] = [_rename(i, _invert(_STRATEGY)) for i in params["CapacityProviderStrategy"]]
    if params.get("PlacementConstraints"):
        spec["placementConstraints"] = [_rename(i, _invert(_CONSTRAINT)) for i in params["PlacementConstraints"]]
    if params.get("PlacementStrategy"):
        spec["placementStrategy"] = [_rename(i, _invert(_PLACEMENT)) for i in params["PlacementStrategy"]]
    if params.get("Tags"):
        spec["taskTags"] = tag_list_to_dict(params["Tags"])
    if target.get("Input"):
        try:
            spec["overrides"] = json.loads(target["Input"])
        except ValueError:
            spec["overrides"] = target["Input"]
    return spec
