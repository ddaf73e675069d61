"""Service manifests: `spec` is the CreateService request without `serviceName` and `clientToken`.

`cluster` and `taskDefinition` name a manifest (resolved to the managed cluster and revision) or,
for resources managed elsewhere, an ARN (or `family:revision` for a task definition).
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

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
    },
    model_name="ServiceSpec",
)


class ServiceManifest(ManifestBase):
    KIND = "Service"
    kind: Literal["Service"]
    spec: ServiceSpec  # type: ignore[valid-type]
