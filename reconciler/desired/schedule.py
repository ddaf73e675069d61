"""Schedule manifests: an EventBridge Scheduler schedule; `spec` is the CreateSchedule request
without `Name` and `ClientToken`, in Scheduler's own PascalCase field names.

`Target.Arn` may name a Cluster manifest and `Target.EcsParameters.TaskDefinitionArn` a
TaskDefinition manifest (resolved to the managed cluster and revision, as Service references are);
anything managed elsewhere is an ARN. A schedule carries no tags (CreateSchedule has no `Tags`):
ownership is recorded on its schedule group (see reconciler/schedule_groups.py).
"""

from __future__ import annotations

from typing import Any, Literal

from .base import ManifestBase
from .shapes import SCHEDULER, SpecModel


class _Untagged(SpecModel):
    """CreateSchedule has no Tags: `tags` reads as none, so the shared tag handling skips it."""

    @property
    def tags(self) -> Any:
        return None


ScheduleSpec = SCHEDULER.model_for(
    SCHEDULER.shape("CreateScheduleInput"),
    exclude=("Name", "ClientToken"),
    model_name="ScheduleSpec",
    base=_Untagged,
)


class ScheduleManifest(ManifestBase):
    KIND = "Schedule"
    NAME_PATTERN = r"^[0-9a-zA-Z\-_.]{1,64}$"
    NAME_RULE = "1 to 64 letters, numbers, dots, hyphens and underscores (a Scheduler schedule name)"
    kind: Literal["Schedule"]
    spec: ScheduleSpec  # type: ignore[valid-type]

    @property
    def cluster_ref(self) -> str | None:
        """The cluster the schedule runs tasks in (its target, when the target runs ECS tasks)."""
        return self.spec.Target.Arn if self.spec.Target.EcsParameters is not None else None

    @property
    def task_definition_ref(self) -> str | None:
        params = self.spec.Target.EcsParameters
        return params.TaskDefinitionArn if params is not None else None
