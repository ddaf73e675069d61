"""Which services Application Auto Scaling scales: their desiredCount belongs to the scaler.

DescribeScalableTargets takes up to 50 ResourceIds a call; the reconciler asks only about the
services the manifests name, and only when there are any.
"""

from __future__ import annotations

from typing import Iterable

from ..aws import Clients
from .batching import chunks

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
RESOURCE_IDS_MAX = 50


def resource_id(cluster: str, service: str) -> str:
    return f"service/{cluster}/{service}"


def scaled_services(clients: Clients, services: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (cluster, service) pairs among `services` that have a DesiredCount scalable target."""
    wanted = {resource_id(c, s): (c, s) for c, s in services}
    found: set[tuple[str, str]] = set()
    if not wanted:
        return found
    client = clients.client("application-autoscaling")
    for batch in chunks(sorted(wanted), RESOURCE_IDS_MAX):
        kwargs = {"ServiceNamespace": NAMESPACE, "ResourceIds": list(batch), "ScalableDimension": DIMENSION}
        while True:
            response = client.describe_scalable_targets(**kwargs)
            for target in response.get("ScalableTargets", []):
                if target.get("ResourceId") in wanted:
                    found.add(wanted[target["ResourceId"]])
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    return found


def _client(clients: Clients):
    return clients.client("application-autoscaling")


def _pages(call, key: str, **kwargs) -> list[dict]:
    items: list[dict] = []
    while True:
        response = call(**kwargs)
        items.extend(response.get(key, []))
        token = response.get("NextToken")
        if not token:
            return items
        kwargs["NextToken"] = token


def scaling_of(clients: Clients, cluster: str, service: str) -> dict | None:
    """The service's scalable target with its scaling policies and scheduled actions (None when it
    has no scalable target): what `Service.spec.autoScaling` is compared with. Filtered by exact
    ResourceId, since the API filters by it but a client must not rely on more than that."""
    client, rid = _client(clients), resource_id(cluster, service)
    ids = {"ServiceNamespace": NAMESPACE, "ScalableDimension": DIMENSION}
    targets = [t for t in client.describe_scalable_targets(ResourceIds=[rid], **ids).get("ScalableTargets", [])
               if t.get("ResourceId") == rid]
    if not targets:
        return None
    policies = _pages(client.describe_scaling_policies, "ScalingPolicies", ResourceId=rid, **ids)
    actions = _pages(client.describe_scheduled_actions, "ScheduledActions", ResourceId=rid, **ids)
    return {"target": targets[0],
            "policies": [p for p in policies if p.get("ResourceId") == rid],
            "scheduledActions": [a for a in actions if a.get("ResourceId") == rid]}
