"""Target manifests: an AWS account (through an assumed role) and a Region that other manifests name.

A Target is not an AWS resource: nothing is created for it. It says where the manifests that name it
(`metadata.target`) are reconciled. A Target with `default: true` applies to every manifest of the
set that names none; without a default those use the ambient credentials and Region.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from .base import ManifestBase

ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]+$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"


class TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: Optional[str] = Field(None, pattern=REGION_PATTERN,
                                  description="The AWS Region (default: the ambient Region).")
    roleArn: Optional[str] = Field(None, pattern=ROLE_ARN_PATTERN,
                                   description="The role assumed (sts:AssumeRole) for this target "
                                   "(default: the ambient credentials).")
    externalId: Optional[str] = Field(None, min_length=2, max_length=1224, pattern=r"^[A-Za-z0-9+=,.@:/_-]+$",
                                      description="The external ID the role's trust policy requires.")
    sessionName: str = Field("ecs-reconciler", min_length=2, max_length=64, pattern=r"^[A-Za-z0-9+=,.@_-]+$",
                             description="The role session name (shows in CloudTrail).")
    default: bool = Field(False, description="Manifests of this set that name no target use this one.")


class TargetManifest(ManifestBase):
    KIND = "Target"
    NAME_PATTERN: ClassVar[str] = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
    NAME_RULE: ClassVar[str] = "1 to 63 lowercase letters, numbers and hyphens (it labels metrics and Leases)"
    kind: Literal["Target"]
    spec: TargetSpec = TargetSpec()

    @property
    def account(self) -> str | None:
        """The account the role belongs to (None: the ambient account)."""
        return self.spec.roleArn.split(":")[4] if self.spec.roleArn else None

    def describe(self, ambient_region: str) -> str:
        """`name (region, account)` for report headers."""
        return f"{self.name} ({self.spec.region or ambient_region}, account {self.account or 'ambient'})"
