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
