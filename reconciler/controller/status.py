"""The /status document: what the controller believes, per resource, right now.

States: ``in-sync`` (matches the manifests), ``drifted`` (out-of-band change not reverted: self-heal
off, dry-run or suspended), ``pending`` (a change from the source not yet applied), ``rolling-out``
(written, deployment not finished), ``failed`` (the last attempt raised, or a conflict),
``perpetual-diff`` (applied with the same diff too many times: writes stopped, see apply/flap_guard.py),
``needs-replace`` (only a delete and create can apply the change: held back without --allow-replace),
``suspended`` (a service rolled back by hand with ``ecs-reconciler rollback``: not deployed again until
``ecs-reconciler resume``; the error says so and how to resume).
Drift is shown as paths; the diff of a perpetual-diff resource carries values, masked; error messages
(which may quote a value: an AWS error, a validation error) are masked (``report.masking``) as the
document is made.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..report.masking import mask_text


@dataclass
class ResourceStatus:
    kind: str
    name: str
    state: str
    drift: list[str] = field(default_factory=list)
    error: str | None = None
    action: str = "none"
    diff: list[dict[str, Any]] = field(default_factory=list)  # masked changes: drifted, pending, perpetual-diff
    changed_by: dict[str, Any] | None = None  # who made a drift (observed/attribution.py), "unknown" if unseen
    rollout: dict[str, Any] | None = None  # a service's deployments and task counts (resource_rows.rollout_view)
    target: str | None = None  # grouping key on the dashboard: the controller's Target, the operator's namespace

    def document(self) -> dict[str, Any]:
        doc = {"kind": self.kind, "name": self.name, "state": self.state, "action": self.action,
               "drift": list(self.drift), "error": mask_text(self.error) if self.error else None}
        if self.diff:
            doc["diff"] = [dict(c) for c in self.diff]
        if self.changed_by is not None:
            doc["changedBy"] = dict(self.changed_by)
        if self.rollout is not None:
            doc["rollout"] = self.rollout
        if self.target is not None:
            doc["target"] = self.target
        return doc


class StatusBoard:
    """Thread-safe holder of the latest status; workers write, the HTTP thread reads."""

    def __init__(self, source: str, policies: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self.source = source
        self.policies = policies
        self.revision: str | None = None        # applied (last reconciled) source revision
        self.fetched_revision: str | None = None  # newest revision seen, valid or not
        self.source_error: str | None = None
        self.reconcile_error: str | None = None
        self.suspended = False
        self.last_reconcile: float | None = None
        self.resources: dict[tuple, ResourceStatus] = {}
        self.targets: Any = None  # () -> one section per target (state, last error), when Targets are declared
        self.timeline: Any = None  # a happenings.Timeline, when the controller keeps one
        self.notifications: Any = None  # () -> per-destination delivery counts, when notifications are on
        self.version = 0  # grows with every change: the dashboard's live updates wait on it

    def update(self, **fields: Any) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self, name, value)
            self.version += 1

    def set_resources(self, rows: list[ResourceStatus]) -> None:
        with self._lock:
            # Names are unique per target only: the same service in two targets is two rows.
            self.resources = {(r.target, r.kind, r.name) if r.target else (r.kind, r.name): r for r in rows}
            self.version += 1

    def put(self, row: ResourceStatus) -> None:
        """Set one resource's row (the operator updates objects one at a time)."""
        with self._lock:
            self.resources[(row.kind, row.name)] = row
            self.version += 1

    def remove(self, kind: str, name: str) -> None:
        with self._lock:
            if self.resources.pop((kind, name), None) is not None:
                self.version += 1

    def touch(self) -> None:
        """Something shown changed outside the fields above (the timeline)."""
        with self._lock:
            self.version += 1

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.document() for r in self.resources.values()]

    @property
    def last_error(self) -> str | None:
        return self.source_error or self.reconcile_error

    def document(self) -> dict[str, Any]:
        targets = [lane.document() for lane in self.targets()] if self.targets is not None else []
        with self._lock:
            error = self.source_error or self.reconcile_error
            return {
                "revision": self.revision,
                "fetchedRevision": self.fetched_revision,
                "source": self.source,
                "suspended": self.suspended,
                "lastError": mask_text(error) if error else None,
                "lastReconcile": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_reconcile))
                if self.last_reconcile else None,
                "policies": dict(self.policies),
                "resources": [r.document() for r in self.resources.values()],
                **({"targets": targets} if targets else {}),
                "timeline": self.timeline.documents() if self.timeline is not None else [],
                **({"notifications": self.notifications()} if self.notifications is not None else {}),
            }
