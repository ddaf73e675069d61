"""What exists in AWS, as read by the readers (and kept fresh by the event stream)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Observed:
    """One AWS resource as the API describes it.

    `body` is the describe response object (for a ScheduledTask: {"rule": ..., "target": ...});
    `tags` is None when they were not read yet (rules' tags are read only before a write).
    """

    kind: str
    name: str
    arn: str | None
    body: dict[str, Any]
    tags: dict[str, str] | None = None
    cluster: str | None = None  # services and scheduled tasks


@dataclass
class ObservedState:
    resources: dict[tuple[str, str], Observed] = field(default_factory=dict)
    # Owned resources made from a manifest that no manifest names any more (read only with prune):
    # keyed (kind, name), services (kind, "cluster/name") since a name is unique per cluster only.
    prune_candidates: dict[tuple[str, str], Observed] = field(default_factory=dict)
    # Services a manifest names that are missing from their cluster but that we made in another
    # cluster the manifests name: the manifest moved them (planned as a replace).
    moved: dict[tuple[str, str], Observed] = field(default_factory=dict)
    # (cluster, service) pairs with an Application Auto Scaling DesiredCount target: the scaler owns
    # their desiredCount.
    autoscaled: set[tuple[str, str]] = field(default_factory=set)
    # (cluster, service) -> its scalable target, policies and scheduled actions, read for the
    # services whose manifest declares `autoScaling` (observed/autoscaling.py `scaling_of`).
    scaling: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # The same for autoscaled services whose manifest does not declare `autoScaling` but whose
    # scalable target carries our ownership tags: we registered it, the manifest dropped it.
    undeclared_scaling: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Families whose latest revision someone else registered on top of ours: family -> our newest
    # revision among the last few (None when there is none), so the family is still ours.
    owned_revisions: dict[str, "Observed | None"] = field(default_factory=dict)
    # Schedule group name -> its tags (None: no such group), for the groups Schedule manifests name:
    # a schedule's ownership is its group's (observed/schedules.py).
    schedule_groups: dict[str, "dict[str, str] | None"] = field(default_factory=dict)
    # Cloud Map namespace ARN -> name, for the Service Connect namespaces the observed side names.
    namespaces: dict[str, str] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> Observed | None:
        return self.resources.get((kind, name))

    def put(self, item: Observed) -> None:
        self.resources[(item.kind, item.name)] = item
