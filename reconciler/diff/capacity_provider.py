"""Canonical form of a capacity provider, for CreateCapacityProvider requests and
DescribeCapacityProviders responses alike (evidence for the defaults in docs/normalization.md)."""

from __future__ import annotations

from typing import Any

from .rules import fill, project, prune_empty

REQUEST_FIELDS = ("cluster", "autoScalingGroupProvider", "managedInstancesProvider")
ASG_DEFAULTS = {
    "managedScaling": {"status": "DISABLED", "targetCapacity": 100, "minimumScalingStepSize": 1,
                       "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300},
    "managedTerminationProtection": "DISABLED",
    "managedDraining": "ENABLED",
}
# Fields UpdateCapacityProvider cannot change: another value is another capacity provider.
REPLACE_PATHS = {
    "spec.autoScalingGroupProvider.autoScalingGroupArn": "the Auto Scaling group of a capacity provider cannot change",
    "spec.cluster": "a capacity provider cannot move to another cluster",
}


def group_name(value: Any) -> Any:
    """An Auto Scaling group ARN (`...:autoScalingGroup:<id>:autoScalingGroupName/<name>`) as its name."""
    if isinstance(value, str) and value.startswith("arn:") and "autoScalingGroupName/" in value:
        return value.split("autoScalingGroupName/", 1)[1]
    return value


def normalize(spec: dict[str, Any]) -> dict[str, Any]:
    out = project(spec, REQUEST_FIELDS)
    asg = out.get("autoScalingGroupProvider")
    if isinstance(asg, dict):
        fill(asg, ASG_DEFAULTS)
        asg["autoScalingGroupArn"] = group_name(asg.get("autoScalingGroupArn"))
    return prune_empty(out)
