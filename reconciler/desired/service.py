"""Service manifests: `spec` is the CreateService request without `serviceName` and `clientToken`.

`autoScaling` (an extension, like `tags`) declares the service's Application Auto Scaling.
`cluster` and `taskDefinition` name a manifest (resolved to the managed cluster and revision) or,
for resources managed elsewhere, an ARN (or `family:revision` for a task definition).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from .autoscaling import AutoScaling
from .base import ManifestBase, Tags, tags_field
from .shapes import ECS

ServiceSpec = ECS.model_for(
    ECS.shape("CreateServiceRequest"),
    exclude=("serviceName", "clientToken", "cluster", "taskDefinition"),
    overrides={
        "cluster": (Optional[str], Field(None, description="A Cluster manifest name, or the ARN of a cluster managed "
                                         "elsewhere; the account's `default` cluster when left out, as in CreateService.")),
        "taskDefinition": (
            Optional[str],
            Field(None, description="A TaskDefinition manifest name, or `family:revision` / an ARN managed elsewhere."),
        ),
        "tags": (Optional[Tags], tags_field()),
        "autoScaling": (Optional[AutoScaling], Field(
            None, description="Application Auto Scaling of the service's desiredCount (RegisterScalableTarget, "
            "PutScalingPolicy, PutScheduledAction without the resource ids); with it, desiredCount belongs to the scaler.")),
    },
    model_name="ServiceSpec",
)


class ServiceManifest(ManifestBase):
    KIND = "Service"
    kind: Literal["Service"]
    spec: ServiceSpec  # type: ignore[valid-type]
