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
    # Resources found by listing (for prune) that no manifest names, keyed like `resources`.
    unmanaged: dict[tuple[str, str], Observed] = field(default_factory=dict)
    # (cluster, service) pairs with an Application Auto Scaling DesiredCount target: the scaler owns
    # their desiredCount.
    autoscaled: set[tuple[str, str]] = field(default_factory=set)
    # Cloud Map namespace ARN -> name, for the Service Connect namespaces the observed side names.
    namespaces: dict[str, str] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> Observed | None:
        return self.resources.get((kind, name))

    def put(self, item: Observed) -> None:
        self.resources[(item.kind, item.name)] = item
