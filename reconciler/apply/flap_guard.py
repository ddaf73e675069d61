"""A diff that never clears must never become a write loop.

If AWS answers with a value the normalizers do not expect, every plan shows the same change again
and a self-healing controller would register a revision and redeploy the service on every resync.
The guard counts, per resource, how many times in a row the same diff was applied. Once it was
applied `limit` times and the next plan still shows it, the resource is held: it is marked
`perpetual-diff` and not written again. A change of the resource's manifest (a new commit, an
edited custom resource) makes a new diff, so the count starts over; so does a plan in which the
diff is gone. Everything else keeps reconciling.

Used by the controller and the operator alike; it holds no AWS state, only counts.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field

from ..plan.model import Action, Plan

DEFAULT_LIMIT = 3


@dataclass
class _Record:
    signature: str
    applies: int = 0
    held: bool = False


@dataclass
class Held:
    """A resource whose writes stopped: the diff it kept showing, after how many applies."""

    kind: str
    name: str
    applies: int
    paths: list[str] = field(default_factory=list)
    first: bool = False  # the first plan that holds it: announce it (event, metric) once


def signature(action: Action) -> str:
    """What makes two plans of a resource "the same diff": the manifest as written, the action and
    each changed path with its desired value (observed values may wobble, e.g. timestamps)."""
    manifest = action.desired.manifest.model_dump(mode="json", exclude_none=True) if action.desired else None
    changes = sorted((c.path, json.dumps(c.desired, sort_keys=True, default=str)) for c in action.changes)
    body = json.dumps([manifest, action.action, changes], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class FlapGuard:
    """Counts identical applies per resource key; `limit` 0 turns the guard off."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._records: dict[tuple[str, str], _Record] = {}
        self._lock = threading.Lock()

    def check(self, plan: Plan) -> dict[tuple[str, str], Held]:
        """The pending actions of `plan` that must not be written; forgets resources whose diff cleared
        or changed."""
        held: dict[tuple[str, str], Held] = {}
        with self._lock:
            for action in plan.actions:
                if action.action in ("none", "conflict"):
                    self._records.pop(action.key, None)
                    continue
                record = self._records.get(action.key)
                sig = signature(action)
                if record is None or record.signature != sig:
                    self._records[action.key] = _Record(sig)
                    continue
                if self.limit and record.applies >= self.limit:
                    held[action.key] = Held(action.kind, action.name, record.applies,
                                            sorted({c.path for c in action.changes}), first=not record.held)
                    record.held = True
        return held

    def applied(self, action: Action) -> None:
        """`action` was written without error."""
        with self._lock:
            sig = signature(action)
            record = self._records.get(action.key)
            if record is None or record.signature != sig:
                record = self._records[action.key] = _Record(sig)
            record.applies += 1

    def forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._records.pop(key, None)


def blocked_by(plan: Plan, held: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """`held` plus every pending action that depends, directly or not, on one of them (a service
    cannot deploy the revision a held task definition never registers)."""
    blocked = set(held)
    grew = True
    while grew:
        grew = False
        for action in plan.pending:
            if action.key in blocked:
                continue
            if any(tuple(dep.split("/", 1)) in blocked for dep in action.depends_on):
                blocked.add(action.key)
                grew = True
    return blocked
