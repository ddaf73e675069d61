"""The registry of manifest kinds, in apply order."""

from __future__ import annotations

from .base import ManifestBase
from .capacity_provider import CapacityProviderManifest
from .cluster import ClusterManifest
from .schedule import ScheduleManifest
from .scheduled_task import ScheduledTaskManifest
from .service import ServiceManifest
from .task_definition import TaskDefinitionManifest

MANIFEST_KINDS: dict[str, type[ManifestBase]] = {
    "CapacityProvider": CapacityProviderManifest,
    "Cluster": ClusterManifest,
    "TaskDefinition": TaskDefinitionManifest,
    "Service": ServiceManifest,
    "ScheduledTask": ScheduledTaskManifest,
    "Schedule": ScheduleManifest,
}
KIND_ORDER = {kind: index for index, kind in enumerate(MANIFEST_KINDS)}
