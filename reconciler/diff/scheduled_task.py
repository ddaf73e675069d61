"""Canonical form of a scheduled task (spec form; observed side comes from targets.spec_from_aws)."""

from __future__ import annotations

from typing import Any

from .rules import (arn_name, as_set, bracket, clone, family_revision, fill, keyed, placement_strategy, prune_empty,
                    squash_spaces)

DEFAULTS = {"state": "ENABLED", "taskCount": 1, "enableECSManagedTags": False, "enableExecuteCommand": False}


def normalize(spec: dict[str, Any]) -> dict[str, Any]:
    s = clone(spec)
    s.pop("tags", None)
    s["schedule"] = squash_spaces(s.get("schedule"))
    s["cluster"] = arn_name(s.get("cluster"))
    s["taskDefinition"] = family_revision(s.get("taskDefinition"))
    fill(s, DEFAULTS)
    if s.get("launchType") == "FARGATE" or any(
        str(i.get("capacityProvider", "")).startswith("FARGATE") for i in s.get("capacityProviderStrategy") or []
    ):
        fill(s, {"platformVersion": "LATEST"})
    vpc = (s.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if isinstance(vpc, dict):
        fill(vpc, {"assignPublicIp": "DISABLED"})
        vpc["subnets"] = as_set(vpc.get("subnets"))
        vpc["securityGroups"] = as_set(vpc.get("securityGroups"))
    strategy = [dict({"base": 0, "weight": 0}, **item) for item in s.get("capacityProviderStrategy") or []]
    s["capacityProviderStrategy"] = keyed(strategy, "capacityProvider")
    s["placementConstraints"] = as_set(s.get("placementConstraints"))
    overrides = s.get("overrides")
    if isinstance(overrides, dict):
        overrides["containerOverrides"] = keyed(overrides.get("containerOverrides"), "name")
        for container in overrides["containerOverrides"].values():
            if isinstance(container, dict):
                container["environment"] = {f"[{e.get('name')}]": e.get("value") for e in container.get("environment") or []}
    s["taskTags"] = bracket(s.get("taskTags")) or None
    s["placementStrategy"] = placement_strategy(s.get("placementStrategy"))
    return prune_empty(s)
