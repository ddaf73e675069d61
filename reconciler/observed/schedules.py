"""Read EventBridge Scheduler schedules and the ownership of their groups.

CreateSchedule has no tags, so a schedule's owner is recorded on its schedule group: a group this
instance created carries `ecs-reconciler.io/managed-by` and `ecs-reconciler.io/component:
schedules`, and every schedule in it is ours. ListSchedules (one listing for the account, every
group) finds where each named schedule lives; GetSchedule reads each one; ListTagsForResource reads
the tags of the groups involved, once each.
"""

from __future__ import annotations

from typing import Any, Iterable

from botocore.exceptions import ClientError

from ..aws import Clients
from ..ownership import MANAGED_BY, OWNERSHIP_KEYS, tag_list_to_dict
from .batching import every_item, parallel_map
from .state import Observed

COMPONENT = "ecs-reconciler.io/component"
SCHEDULES = "schedules"


def group_tags(instance: str) -> dict[str, str]:
    """The tags of a schedule group this instance creates: they make its schedules ours."""
    return {MANAGED_BY: instance, COMPONENT: SCHEDULES}


def schedule_group(manifest: Any, instance: str) -> str:
    """The group a Schedule manifest puts its schedule in: its GroupName, else this instance's own
    group (whose tags record that its schedules are ours)."""
    return manifest.spec.GroupName or instance


def owns_group(tags: dict[str, str] | None, instance: str) -> bool:
    return bool(tags) and tags.get(MANAGED_BY) == instance and tags.get(COMPONENT) == SCHEDULES



class ScheduleReader:
    def __init__(self, clients: Clients, workers: int = 16):
        self.clients = clients
        self.workers = workers

    @property
    def scheduler(self) -> Any:
        return self.clients.client("scheduler")

    def groups(self) -> dict[str, str]:
        """Every schedule group: name -> ARN."""
        return {g["Name"]: g["Arn"] for g in every_item(self.scheduler, "list_schedule_groups", "ScheduleGroups")}

    def group_tags_of(self, arns: Iterable[str]) -> dict[str, dict[str, str]]:
        """Group ARN -> its tags."""
        arns = sorted(set(arns))
        found = parallel_map(lambda arn: tag_list_to_dict(
            self.scheduler.list_tags_for_resource(ResourceArn=arn).get("Tags")), arns, self.workers)
        return dict(zip(arns, found))

    def read(self, wanted: dict[str, str], instance: str, prune: bool = False
             ) -> tuple[list[Observed], dict[str, dict[str, str] | None], list[Observed]]:
        """`wanted`: schedule name -> the group the manifest puts it in. Returns the schedules found
        (each in its wanted group when it is there, else where it lives), the tags of every wanted
        group (None: the group does not exist) and, with `prune`, this instance's schedules that no
        manifest names (in groups it owns)."""
        if not wanted and not prune:
            return [], {}, []
        groups = self.groups()
        summaries = every_item(self.scheduler, "list_schedules", "Schedules")
        where: dict[str, list[str]] = {}
        for summary in summaries:
            where.setdefault(summary["Name"], []).append(summary.get("GroupName") or "default")
        tags = self.group_tags_of(groups.values())
        by_group = {name: tags.get(arn, {}) for name, arn in groups.items()}
        located: list[tuple[str, str]] = []
        for name, group in sorted(wanted.items()):
            homes = where.get(name, [])
            if homes:
                located.append((name, group if group in homes else sorted(homes)[0]))
        extra: list[tuple[str, str]] = []
        if prune:
            extra = sorted((s["Name"], s.get("GroupName") or "default") for s in summaries
                           if s["Name"] not in wanted and owns_group(by_group.get(s.get("GroupName") or "default"), instance))
        found = [item for item in parallel_map(lambda pair: self.get(*pair, by_group), located + extra, self.workers)
                 if item is not None]
        names = {name for name, _ in extra}
        keep = [item for item in found if item.name not in names]
        stale = [item for item in found if item.name in names]
        return keep, {group: by_group.get(group) for group in set(wanted.values())}, stale

    def get(self, name: str, group: str, group_tags: dict[str, dict[str, str]]) -> Observed | None:
        try:
            body = self.scheduler.get_schedule(Name=name, GroupName=group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        body = {k: v for k, v in body.items() if k != "ResponseMetadata"}
        # The group's ownership tags stand for the schedule's (its user tags are the group's, not the schedule's).
        tags = group_tags.get(group) or {}
        ownership = {k: v for k, v in tags.items() if k in OWNERSHIP_KEYS} if tags.get(COMPONENT) == SCHEDULES else {}
        return Observed("Schedule", name, body.get("Arn"), body, ownership, cluster=None)
