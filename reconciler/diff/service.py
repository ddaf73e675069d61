"""Canonical form of a service, for desired specs and DescribeServices responses alike."""

from __future__ import annotations

from typing import Any

from ..desired.shapes import service_model
from .rules import arn_name, as_set, family_revision, fill, keyed, prune_empty, project

REQUEST_FIELDS = [m for m in service_model("ecs").operation_model("CreateService").input_shape.members
                  if m not in ("serviceName", "clientToken", "tags")]
UPDATABLE_FIELDS = set(service_model("ecs").operation_model("UpdateService").input_shape.members) - {"cluster", "service", "forceNewDeployment"}

SERVICE_DEFAULTS = {
    "deploymentConfiguration": {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    },
    "propagateTags": "NONE",
    "schedulingStrategy": "REPLICA",
    "deploymentController": {"type": "ECS"},
    "enableECSManagedTags": False,
    "enableExecuteCommand": False,
}
# Fields whose value AWS chooses when the manifest leaves them out (from the cluster, the account or
# an autoscaler): compared only when the manifest sets them.
SERVER_CHOSEN_WHEN_UNSET = ("desiredCount", "availabilityZoneRebalancing", "launchType", "capacityProviderStrategy",
                            "healthCheckGracePeriodSeconds", "platformVersion", "role")


DEFAULT_CLUSTER = "default"


def _role_name(value: str | None) -> str | None:
    """`role` may be a name or an ARN (with a path); DescribeServices returns `roleArn`."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) and value else None


def _service_connect_from_deployment(body: dict[str, Any], svc: dict[str, Any]) -> None:
    """DescribeServices reports serviceConnectConfiguration on the PRIMARY deployment, not the service."""
    if "serviceConnectConfiguration" not in svc:
        for deployment in body.get("deployments") or []:
            if deployment.get("status") == "PRIMARY" and deployment.get("serviceConnectConfiguration"):
                svc["serviceConnectConfiguration"] = deployment["serviceConnectConfiguration"]
    config = svc.get("serviceConnectConfiguration")
    if isinstance(config, dict) and isinstance(config.get("namespace"), str):
        config["namespace"] = arn_name(config["namespace"])


def _uses_fargate(svc: dict[str, Any]) -> bool:
    if svc.get("launchType") == "FARGATE":
        return True
    return any(str(i.get("capacityProvider", "")).startswith("FARGATE") for i in svc.get("capacityProviderStrategy") or [])


def normalize(spec: dict[str, Any]) -> dict[str, Any]:
    """Canonical form of a CreateService request or a DescribeServices response object."""
    svc = project(spec, REQUEST_FIELDS)
    if "clusterArn" in spec and "cluster" not in svc:
        svc["cluster"] = spec["clusterArn"]
    _service_connect_from_deployment(spec, svc)
    svc["cluster"] = arn_name(svc.get("cluster")) or DEFAULT_CLUSTER
    svc["role"] = _role_name(svc.get("role") or spec.get("roleArn"))
    svc["taskDefinition"] = family_revision(svc.get("taskDefinition"))
    fill(svc, SERVICE_DEFAULTS)
    if _uses_fargate(svc):
        fill(svc, {"platformVersion": "LATEST"})
    network = svc.get("networkConfiguration") or {}
    vpc = network.get("awsvpcConfiguration")
    if isinstance(vpc, dict):
        fill(vpc, {"assignPublicIp": "DISABLED"})
        vpc["subnets"] = as_set(vpc.get("subnets"))
        vpc["securityGroups"] = as_set(vpc.get("securityGroups"))
    svc["loadBalancers"] = as_set(svc.get("loadBalancers"))
    svc["serviceRegistries"] = as_set(svc.get("serviceRegistries"))
    svc["placementConstraints"] = as_set(svc.get("placementConstraints"))
    strategy = [dict({"base": 0, "weight": 0}, **item) for item in svc.get("capacityProviderStrategy") or []]
    svc["capacityProviderStrategy"] = keyed(strategy, "capacityProvider")
    return prune_empty(svc)


def drop_server_chosen(desired: dict[str, Any], observed: dict[str, Any]) -> None:
    """Remove from `observed` the server-chosen fields the manifest does not set."""
    for name in SERVER_CHOSEN_WHEN_UNSET:
        if name not in desired:
            observed.pop(name, None)
