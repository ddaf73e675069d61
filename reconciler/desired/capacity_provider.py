"""CapacityProvider manifests: `spec` is the CreateCapacityProvider request without `name`.

An Auto Scaling group capacity provider: `autoScalingGroupProvider` with the group (ARN or name),
managed scaling, managed termination protection and managed draining. A Cluster names it in
`capacityProviders`. Updates go through UpdateCapacityProvider; another group means a new provider.
"""

from __future__ import annotations

from typing import Literal, Optional

from .base import ManifestBase, Tags, tags_field
from .shapes import ECS

CapacityProviderSpec = ECS.model_for(
    ECS.shape("CreateCapacityProviderRequest"),
    exclude=("name",),
    overrides={"tags": (Optional[Tags], tags_field())},
    model_name="CapacityProviderSpec",
)


class CapacityProviderManifest(ManifestBase):
    KIND = "CapacityProvider"
    # CreateCapacityProvider.name: up to 255 letters, numbers, underscores and hyphens, not prefixed
    # with aws, ecs or fargate.
    NAME_PATTERN = r"^(?!(?i:aws|ecs|fargate))[A-Za-z0-9_-]{1,255}$"
    NAME_RULE = "1 to 255 letters, numbers, hyphens and underscores, not starting with aws, ecs or fargate"
    kind: Literal["CapacityProvider"]
    spec: CapacityProviderSpec  # type: ignore[valid-type]
