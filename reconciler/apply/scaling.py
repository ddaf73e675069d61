"""Write a service's `spec.autoScaling`: RegisterScalableTarget, then PutScalingPolicy and
PutScheduledAction for what changed, then delete the policies and scheduled actions the manifest no
longer lists (read back by exact ResourceId first, so a repeated apply writes nothing new)."""

from __future__ import annotations

from typing import Any, Iterable

from ..aws import Clients
from ..desired.shapes import pascal_keys
from ..diff.autoscaling import SUSPENDED_DEFAULTS
from ..observed.autoscaling import DIMENSION, NAMESPACE, resource_id, scaling_of

PREFIX = "spec.autoScaling"


def _touched(paths: set[str], prefix: str) -> bool:
    """Whether a change lies at, under or above `prefix` (a whole collection that changed touches each item)."""
    return any(p == prefix or p.startswith((prefix + ".", prefix + "[")) or prefix.startswith((p + ".", p + "["))
               for p in paths)


def write_scaling(clients: Clients, cluster: str, service: str, config: dict[str, Any],
                  changed_paths: Iterable[str] | None = None, tags: dict[str, str] | None = None) -> None:
    """`config`: the manifest's camelCase autoScaling block. `changed_paths`: the plan's change paths
    (None: a new service, everything is written). `tags`: the ownership tags a new scalable target
    carries (AWS applies RegisterScalableTarget's `Tags` only when it creates the target), so that
    removing `autoScaling` from the manifest later deregisters it."""
    client = clients.client("application-autoscaling")
    ids = {"ServiceNamespace": NAMESPACE, "ResourceId": resource_id(cluster, service), "ScalableDimension": DIMENSION}
    paths = {PREFIX} if changed_paths is None else {p for p in changed_paths if p.startswith(PREFIX)}
    if any(_touched(paths, f"{PREFIX}.{name}") for name in ("minCapacity", "maxCapacity", "suspendedState")):
        client.register_scalable_target(
            **ids, MinCapacity=config["minCapacity"], MaxCapacity=config["maxCapacity"],
            SuspendedState=pascal_keys({**SUSPENDED_DEFAULTS, **(config.get("suspendedState") or {})}),
            **({"Tags": tags} if tags else {}))
    for policy in config.get("policies") or []:
        if _touched(paths, f"{PREFIX}.policies[{policy['policyName']}]"):
            client.put_scaling_policy(**ids, **pascal_keys(policy))
    for action in config.get("scheduledActions") or []:
        if _touched(paths, f"{PREFIX}.scheduledActions[{action['scheduledActionName']}]"):
            client.put_scheduled_action(**ids, **pascal_keys(action))
    if changed_paths is None:
        return
    found = scaling_of(clients, cluster, service) or {}
    keep = {p["policyName"] for p in config.get("policies") or []}
    for policy in found.get("policies") or []:
        if policy["PolicyName"] not in keep:
            client.delete_scaling_policy(PolicyName=policy["PolicyName"], **ids)
    keep = {a["scheduledActionName"] for a in config.get("scheduledActions") or []}
    for action in found.get("scheduledActions") or []:
        if action["ScheduledActionName"] not in keep:
            client.delete_scheduled_action(ScheduledActionName=action["ScheduledActionName"], **ids)


def deregister_scaling(clients: Clients, cluster: str, service: str) -> None:
    """Deregister the scalable target of a deleted service, or of one whose manifest no longer declares
    `autoScaling` (a target we registered), when it has one. Its policies and scheduled actions are
    deleted first: AWS deletes them with the target, moto leaves them behind."""
    found = scaling_of(clients, cluster, service)
    if found is None:
        return
    client = clients.client("application-autoscaling")
    ids = {"ServiceNamespace": NAMESPACE, "ResourceId": resource_id(cluster, service), "ScalableDimension": DIMENSION}
    for policy in found["policies"]:
        client.delete_scaling_policy(PolicyName=policy["PolicyName"], **ids)
    for action in found["scheduledActions"]:
        client.delete_scheduled_action(ScheduledActionName=action["ScheduledActionName"], **ids)
    client.deregister_scalable_target(**ids)
