"""Canonical form of a service, for desired specs and DescribeServices responses alike."""

from __future__ import annotations

from typing import Any

from ..desired.shapes import service_model
from .rules import (arn_name, as_set, bracket, clone, family_revision, fill, keyed, keyed_values, namespace_name,
                    placement_strategy, prune_empty, project)

_ECS = service_model("ecs")
# Fields CreateService accepts that no response shape (Service, Deployment) returns: AWS never shows
# them, so they are compared with what we last wrote (diff/write_only.py), not with a describe.
WRITE_ONLY_FIELDS = tuple(sorted(
    set(_ECS.operation_model("CreateService").input_shape.members)
    - set(_ECS.shape_for("Service").members) - set(_ECS.shape_for("Deployment").members)
    - {"serviceName", "clientToken", "tags", "cluster", "role"}))
REQUEST_FIELDS = [m for m in _ECS.operation_model("CreateService").input_shape.members
                  if m not in ("serviceName", "clientToken", "tags", *WRITE_ONLY_FIELDS)]
UPDATABLE_FIELDS = set(service_model("ecs").operation_model("UpdateService").input_shape.members) - {"cluster", "service", "forceNewDeployment"}

SERVICE_DEFAULTS = {
    "propagateTags": "NONE",
    "schedulingStrategy": "REPLICA",
    "deploymentController": {"type": "ECS"},
    "enableECSManagedTags": False,
    "enableExecuteCommand": False,
}
# deploymentConfiguration as ECS fills it in (REPLICA; a DAEMON service differs in the percentages).
# The circuit breaker's resetOnHealthyTask and thresholdConfiguration defaults are stated in the
# botocore ECS model; strategy and bakeTimeInMinutes are in every service definition exported since
# the 2025 deployment strategies.
DEPLOYMENT_DEFAULTS = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False, "resetOnHealthyTask": True,
                                 "thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 50}},
    "alarms": {"alarmNames": [], "enable": False, "rollback": False},
    "strategy": "ROLLING",
    "bakeTimeInMinutes": 0,
}
DAEMON_PERCENTS = {"maximumPercent": 100, "minimumHealthyPercent": 0}
LIFECYCLE_HOOK_DEFAULTS = {"targetType": "AWS_LAMBDA", "timeoutConfiguration": {"action": "ROLLBACK", "timeoutInMinutes": 1440}}
# Fields DescribeServices reports on the PRIMARY deployment (the Deployment shape), not the service.
DEPLOYMENT_FIELDS = ("serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations")
# Fields whose value AWS chooses when the manifest leaves them out (from the cluster, the account or
# an autoscaler): compared only when the manifest sets them.
SERVER_CHOSEN_WHEN_UNSET = ("desiredCount", "availabilityZoneRebalancing", "launchType", "capacityProviderStrategy",
                            "healthCheckGracePeriodSeconds", "platformVersion", "role")


DEFAULT_CLUSTER = "default"
_LIST_FIELDS = {name for name, shape in service_model("ecs").operation_model("UpdateService").input_shape.members.items()
                if shape.type_name == "list"}


def _role_name(value: str | None) -> str | None:
    """`role` may be a name or an ARN (with a path); DescribeServices returns `roleArn`."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) and value else None


def from_primary_deployment(body: dict[str, Any], svc: dict[str, Any]) -> None:
    """DescribeServices reports DEPLOYMENT_FIELDS on the PRIMARY deployment, not on the service."""
    primary = next((d for d in body.get("deployments") or [] if d.get("status") == "PRIMARY"), None)
    for name in DEPLOYMENT_FIELDS:
        if name not in svc and primary is not None and primary.get(name):
            svc[name] = clone(primary[name])


def _deployment_configuration(svc: dict[str, Any]) -> None:
    config = svc.setdefault("deploymentConfiguration", {})
    if not isinstance(config, dict):
        return
    if svc.get("schedulingStrategy") == "DAEMON":
        fill(config, DAEMON_PERCENTS)
    fill(config, DEPLOYMENT_DEFAULTS)
    for hook in config.get("lifecycleHooks") or []:
        if isinstance(hook, dict):
            fill(hook, LIFECYCLE_HOOK_DEFAULTS)
            hook["lifecycleStages"] = as_set(hook.get("lifecycleStages"))




def _uses_fargate(svc: dict[str, Any]) -> bool:
    if svc.get("launchType") == "FARGATE":
        return True
    return any(str(i.get("capacityProvider", "")).startswith("FARGATE") for i in svc.get("capacityProviderStrategy") or [])


def normalize(spec: dict[str, Any], namespaces: dict[str, str] | None = None) -> dict[str, Any]:
    """Canonical form of a CreateService request or a DescribeServices response object.
    `namespaces` maps Cloud Map namespace ARNs to names (read by the observed side)."""
    svc = project(spec, REQUEST_FIELDS)
    if "clusterArn" in spec and "cluster" not in svc:
        svc["cluster"] = spec["clusterArn"]
    from_primary_deployment(spec, svc)
    svc["cluster"] = arn_name(svc.get("cluster")) or DEFAULT_CLUSTER
    svc["role"] = _role_name(svc.get("role") or spec.get("roleArn"))
    svc["taskDefinition"] = family_revision(svc.get("taskDefinition"))
    fill(svc, SERVICE_DEFAULTS)
    _deployment_configuration(svc)
    connect = svc.get("serviceConnectConfiguration")
    if isinstance(connect, dict):
        connect["namespace"] = namespace_name(connect.get("namespace"), namespaces or {})
        connect["services"] = keyed(connect.get("services"), "portName")
        for item in connect["services"].values():
            if isinstance(item, dict):
                item["clientAliases"] = keyed(item.get("clientAliases"), lambda a: f"{a.get('dnsName', '')}:{a.get('port')}")
        if isinstance(connect.get("logConfiguration"), dict):
            log = connect["logConfiguration"]
            log["options"] = bracket(log.get("options"))
            log["secretOptions"] = keyed_values(log.get("secretOptions"), "name", "valueFrom")
    if _uses_fargate(svc):
        fill(svc, {"platformVersion": "LATEST"})
    network = svc.get("networkConfiguration") or {}
    vpc = network.get("awsvpcConfiguration")
    if isinstance(vpc, dict):
        fill(vpc, {"assignPublicIp": "DISABLED"})
        vpc["subnets"] = as_set(vpc.get("subnets"))
        vpc["securityGroups"] = as_set(vpc.get("securityGroups"))
    if svc["deploymentController"].get("type") == "CODE_DEPLOY":
        # Every CodeDeploy blue/green deployment swaps the target group; UpdateService cannot set it.
        svc["loadBalancers"] = [{k: v for k, v in lb.items() if k != "targetGroupArn"} for lb in svc.get("loadBalancers") or []]
    svc["loadBalancers"] = as_set(svc.get("loadBalancers"))
    svc["placementStrategy"] = placement_strategy(svc.get("placementStrategy"))
    svc["volumeConfigurations"] = keyed(svc.get("volumeConfigurations"), "name")
    svc["vpcLatticeConfigurations"] = keyed(
        svc.get("vpcLatticeConfigurations"), lambda v: f"{v.get('portName')}:{v.get('targetGroupArn')}")
    svc["serviceRegistries"] = as_set(svc.get("serviceRegistries"))
    svc["placementConstraints"] = as_set(svc.get("placementConstraints"))
    strategy = [dict({"base": 0, "weight": 0}, **item) for item in svc.get("capacityProviderStrategy") or []]
    svc["capacityProviderStrategy"] = keyed(strategy, "capacityProvider")
    return prune_empty(svc)


def reset_value(name: str, request: dict[str, Any]) -> Any:
    """What UpdateService must be sent to reset a top-level field the manifest no longer sets, or
    None when it cannot be cleared in place."""
    if name in SERVICE_DEFAULTS:
        return clone(SERVICE_DEFAULTS[name])
    if name == "deploymentConfiguration":
        config = clone(DEPLOYMENT_DEFAULTS)
        if request.get("schedulingStrategy") == "DAEMON":
            config.update(DAEMON_PERCENTS)
        return config
    if name == "serviceConnectConfiguration":
        return {"enabled": False}
    if name in _LIST_FIELDS:
        return []
    return None


def drop_server_chosen(desired: dict[str, Any], observed: dict[str, Any]) -> None:
    """Remove from `observed` the server-chosen fields the manifest does not set."""
    for name in SERVER_CHOSEN_WHEN_UNSET:
        if name not in desired:
            observed.pop(name, None)
