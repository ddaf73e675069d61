"""ScheduledTask manifests: an EventBridge rule on a schedule with one ECS RunTask target.

The spec speaks ECS (camelCase, ECS shapes for networking, placement and overrides) so a team
writes it the way it writes a Service; the reconciler translates to EventBridge's PascalCase
`EcsParameters` when it calls PutTargets.
"""

from __future__ import annotations

import re
from typing import Literal, Optional

from pydantic import Field, field_validator

from .base import ManifestBase, Tags, tags_field
from .shapes import ECS, SpecModel

_SCHEDULE_RE = re.compile(r"^\s*(cron|rate|at)\(.+\)\s*$")

# The ECS shapes the EcsParameters fields correspond to.
CapacityProviderStrategyItem = ECS.model_for(ECS.shape("CapacityProviderStrategyItem"))
NetworkConfiguration = ECS.model_for(ECS.shape("NetworkConfiguration"))
PlacementConstraint = ECS.model_for(ECS.shape("PlacementConstraint"))
PlacementStrategy = ECS.model_for(ECS.shape("PlacementStrategy"))
TaskOverride = ECS.model_for(ECS.shape("TaskOverride"))


class ScheduledTaskSpec(SpecModel):
    cluster: str = Field(description="A Cluster manifest name, or the ARN of a cluster managed elsewhere.")
    taskDefinition: str = Field(description="A TaskDefinition manifest name, or `family:revision` / an ARN.")
    schedule: str = Field(description="An EventBridge schedule expression: `cron(...)` or `rate(...)`.")
    roleArn: str = Field(description="The IAM role EventBridge assumes to call ecs:RunTask.")
    state: Literal["ENABLED", "DISABLED"] = Field("ENABLED", description="Whether the rule fires.")
    description: Optional[str] = None
    taskCount: Optional[int] = Field(None, ge=1, le=10, description="Tasks to start per run (EventBridge default 1).")
    launchType: Optional[Literal["EC2", "FARGATE", "EXTERNAL"]] = None
    capacityProviderStrategy: Optional[list[CapacityProviderStrategyItem]] = None  # type: ignore[valid-type]
    networkConfiguration: Optional[NetworkConfiguration] = None  # type: ignore[valid-type]
    platformVersion: Optional[str] = None
    group: Optional[str] = None
    propagateTags: Optional[Literal["TASK_DEFINITION"]] = None
    enableECSManagedTags: Optional[bool] = None
    enableExecuteCommand: Optional[bool] = None
    placementConstraints: Optional[list[PlacementConstraint]] = None
    placementStrategy: Optional[list[PlacementStrategy]] = None
    referenceId: Optional[str] = None
    overrides: Optional[TaskOverride] = Field(  # type: ignore[valid-type]
        None, description="RunTask overrides (containerOverrides, cpu, memory, roles) passed as the target input."
    )
    taskTags: Optional[Tags] = Field(None, description="Tags put on each task the rule starts.")
    tags: Optional[Tags] = tags_field()

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not _SCHEDULE_RE.match(value):
            raise ValueError("expected a schedule expression like 'cron(0 3 * * ? *)' or 'rate(5 minutes)'")
        return value


class ScheduledTaskManifest(ManifestBase):
    KIND = "ScheduledTask"
    NAME_PATTERN = r"^[.\-_A-Za-z0-9]{1,64}$"
    NAME_RULE = "1 to 64 letters, numbers, dots, hyphens and underscores (an EventBridge rule name)"
    kind: Literal["ScheduledTask"]
    spec: ScheduledTaskSpec
