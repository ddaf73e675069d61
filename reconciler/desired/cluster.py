"""Cluster manifests: `spec` is the CreateCluster request without `clusterName`."""

from __future__ import annotations

from typing import Literal, Optional

from .base import ManifestBase, Tags, tags_field
from .shapes import ECS

ClusterSpec = ECS.model_for(
    ECS.shape("CreateClusterRequest"),
    exclude=("clusterName",),
    overrides={"tags": (Optional[Tags], tags_field())},
    model_name="ClusterSpec",
)


class ClusterManifest(ManifestBase):
    KIND = "Cluster"
    kind: Literal["Cluster"]
    spec: ClusterSpec = ClusterSpec()  # type: ignore[valid-type]
