"""Which services Application Auto Scaling scales: their desiredCount belongs to the scaler.

DescribeScalableTargets takes up to 50 ResourceIds a call; the reconciler asks only about the
services the manifests name, and only when there are any.
"""

from __future__ import annotations

from typing import Iterable

from ..aws import Clients
from ..ownership import is_owned
from .batching import chunks, every_item

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
RESOURCE_IDS_MAX = 50


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def scaled_services(clients: Clients, services: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (cluster, service) pairs among `services` that have a DesiredCount scalable target."""
    return set(scaled_targets(clients, services))


def scaled_targets(clients: Clients, services: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """The DesiredCount scalable targets of `services`, by (cluster, service)."""
    wanted = {resource_id(c, s): (c, s) for c, s in services}
    found: dict[tuple[str, str], dict] = {}
    if not wanted:
        return found
    client = clients.client("application-autoscaling")
    for batch in chunks(sorted(wanted), RESOURCE_IDS_MAX):
        for target in every_item(client, "describe_scalable_targets", "ScalableTargets", ServiceNamespace=NAMESPACE,
                                 ResourceIds=list(batch), ScalableDimension=DIMENSION):
            if target.get("ResourceId") in wanted:
                found[wanted[target["ResourceId"]]] = target
    return found


def _client(clients: Clients):
    return clients.client("application-autoscaling")



# Up to this many scaled services, their policies and scheduled actions are read per service (two
# calls each); above it, the whole `ecs` namespace is listed (50 a page) and split by resource.
PER_SERVICE_MAX = 10


def scaling_of_many(clients: Clients, services: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """`scaling_of` for many services in few calls: their scalable targets 50 ResourceIds a call,
    then the policies and scheduled actions of those that have one, kept by exact ResourceId (the
    API filters by it, but moto matches substrings)."""
    wanted = {resource_id(c, s): (c, s) for c, s in services}
    if not wanted:
        return {}
    client = _client(clients)
    ids = {"ServiceNamespace": NAMESPACE, "ScalableDimension": DIMENSION}
    targets: dict[str, dict] = {}
    for batch in chunks(sorted(wanted), RESOURCE_IDS_MAX):
        for target in every_item(client, "describe_scalable_targets", "ScalableTargets",
                                 ResourceIds=list(batch), **ids):
            if target.get("ResourceId") in wanted:
                targets[target["ResourceId"]] = target
    if not targets:
        return {}
    if len(targets) <= PER_SERVICE_MAX:
        policies = [p for rid in sorted(targets)
                    for p in every_item(client, "describe_scaling_policies", "ScalingPolicies",
                                        ResourceId=rid, **ids)]
        actions = [a for rid in sorted(targets)
                   for a in every_item(client, "describe_scheduled_actions", "ScheduledActions",
                                       ResourceId=rid, **ids)]
    else:
        policies = every_item(client, "describe_scaling_policies", "ScalingPolicies", **ids)
        actions = every_item(client, "describe_scheduled_actions", "ScheduledActions", **ids)
    return {wanted[rid]: {"target": target,
                          "policies": [p for p in policies if p.get("ResourceId") == rid],
                          "scheduledActions": [a for a in actions if a.get("ResourceId") == rid]}
            for rid, target in targets.items()}


def scaling_of(clients: Clients, cluster: str, service: str) -> dict | None:
    """The service's scalable target with its scaling policies and scheduled actions (None when it
    has no scalable target): what `Service.spec.autoScaling` is compared with."""
    return scaling_of_many(clients, [(cluster, service)]).get((cluster, service))


def owned_scaling(clients: Clients, targets: dict[tuple[str, str], dict], instance: str) -> dict[tuple[str, str], dict]:
    """`scaling_of_many` of the services among `targets` (as `scaled_targets` read them) whose
    scalable target carries our ownership tags (ListTagsForResource on its ARN, one call each): the
    ones a manifest that drops `autoScaling` deregisters. A target registered by another tool or by
    hand has no such tag and is left alone, at the cost of that one call."""
    client = _client(clients)
    ours = [pair for pair, target in sorted(targets.items())
            if is_owned(client.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"]).get("Tags"), instance)]
    return scaling_of_many(clients, ours) if ours else {}
