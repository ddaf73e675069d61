"""A plan: typed, ordered actions, each with the field changes that justify it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..desired.loader import Located
from ..diff.compare import Change
from ..diff.update_policy import top_field
from ..observed.state import Observed
from ..ownership import FIELDS, OWNER, WRITE_ONLY

ACTIONS = ("none", "create", "update", "replace", "delete", "conflict")


@dataclass
class Action:
    kind: str
    name: str
    action: str
    changes: list[Change] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    desired: Located | None = None
    observed: Observed | None = None
    depends_on: list[str] = field(default_factory=list)
    adopt: bool = False
    # Request-shaped desired spec with references resolved at plan time (task definition may be
    # "family:(new revision)" until apply registers it).
    request: dict[str, Any] = field(default_factory=dict)
    # Fingerprint of the fields the manifest declares (diff/declared.py), recorded as a tag on write.
    fields: str | None = None
    # Hash of the values of fields AWS never returns (diff/write_only.py), recorded as a tag on write.
    write_only: str | None = None
    # A conflict because another object owns the resource: that object, as its owner tag names it.
    owned_by: str | None = None
    # `apply --revision`: every write records the source revision, so an update re-tags too.
    retag: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    def tags_due(self, owner: str | None = None) -> bool:
        """Whether an in-place update must also write tags: the manifest's tags changed, we adopt, the
        source revision is recorded, the fingerprint of the declared fields or the hash of the
        write-only ones moved, or the owner tag is not yet the owning object's (`owner`). One rule
        for the executor that writes them and the plan that lists the calls."""
        observed = (self.observed.tags or {}) if self.observed else {}
        return ("tags" in {top_field(c.path) for c in self.changes} or self.adopt or self.retag
                or (self.fields is not None and observed.get(FIELDS) != self.fields)
                or observed.get(WRITE_ONLY) != self.write_only
                or (owner is not None and observed.get(OWNER) != owner))

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)


@dataclass
class Plan:
    actions: list[Action]
    # With `--target`: what was targeted and which dependencies came in with it (plan/targeting.py).
    targeting: Any = None

    @property
    def pending(self) -> list[Action]:
        return [a for a in self.actions if a.action != "none"]

    @property
    def conflicts(self) -> list[Action]:
        return [a for a in self.actions if a.action == "conflict"]

    @property
    def has_changes(self) -> bool:
        return bool(self.pending)

    def summary(self) -> dict[str, int]:
        counts = Counter(a.action for a in self.actions)
        return {name: counts.get(name, 0) for name in ACTIONS}

    def get(self, kind: str, name: str) -> Action | None:
        return next((a for a in self.actions if a.kind == kind and a.name == name), None)
