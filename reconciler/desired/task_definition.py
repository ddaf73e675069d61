"""TaskDefinition manifests: `spec` is the RegisterTaskDefinition request without `family`."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import model_validator

from .base import ManifestBase, Tags, tags_field
from .shapes import ECS

_TaskDefinitionSpecBase = ECS.model_for(
    ECS.shape("RegisterTaskDefinitionRequest"),
    exclude=("family",),
    overrides={"tags": (Optional[Tags], tags_field())},
    model_name="TaskDefinitionSpecBase",
)


class TaskDefinitionSpec(_TaskDefinitionSpecBase):  # type: ignore[misc, valid-type]
    """Adds the rules ECS enforces at registration that the botocore shape does not express."""

    @model_validator(mode="after")
    def _containers(self) -> "TaskDefinitionSpec":
        seen: set[str] = set()
        for index, container in enumerate(self.containerDefinitions):
            if not container.name:
                raise ValueError(f"containerDefinitions[{index}].name is required")
            if not container.image:
                raise ValueError(f"containerDefinitions[{index}] ({container.name}): image is required")
            if container.name in seen:
                raise ValueError(f"container name {container.name!r} is used twice")
            seen.add(container.name)
        if not self.containerDefinitions:
            raise ValueError("containerDefinitions needs at least one container")
        return self


class TaskDefinitionManifest(ManifestBase):
    KIND = "TaskDefinition"
    kind: Literal["TaskDefinition"]
    spec: TaskDefinitionSpec
