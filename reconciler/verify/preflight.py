"""The controller's preflight: `verify` the resources an apply is about to write, and hold back those
that fail (and whatever depends on them) with the findings as their error. The rest still apply.

A resource that passed is not checked again for the same manifest content until `ttl` (the resync
period) has passed, so healing drift does not repeat the reads every reconcile; one that failed is
checked again every time (someone may be creating what it lacks).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Callable, Iterable

from ..aws import Clients
from ..desired.loader import DesiredState
from ..plan.model import Action
from . import verify
from .model import Report


def _fingerprint(action: Action) -> str:
    body = action.desired.manifest.model_dump(mode="json", exclude_none=True) if action.desired else {}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class Preflight:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.ttl, self._clock = ttl, clock
        self._passed: dict[tuple[tuple[str, str], str], float] = {}  # (key, content) -> until

    def hold(self, desired: DesiredState, clients: Clients,
             actions: Iterable[Action]) -> tuple[dict[tuple[str, str], str], Report]:
        """key -> why it is held, for the chosen `actions` whose checks fail or that depend on one that does."""
        actions = list(actions)
        now = self._clock()
        writes = {a.key: _fingerprint(a) for a in actions if a.action != "delete" and a.desired is not None}
        due = {key for key, content in writes.items() if self._passed.get((key, content), 0.0) <= now}
        report = verify(desired, clients, due) if due else Report()
        held: dict[tuple[str, str], str] = {}
        for label, checks in report.failed_resources().items():
            kind, _, name = label.partition("/")
            held[(kind, name)] = "verify failed: " + "; ".join(f"{c.path}: {c.message}" for c in checks)
        for key in due - set(held):
            self._passed[(key, writes[key])] = now + self.ttl
        grew = True
        while grew:
            grew = False
            for action in actions:
                if action.key in held:
                    continue
                failing = next((d for d in action.depends_on if tuple(d.split("/", 1)) in held), None)
                if failing:
                    held[action.key] = f"not applied: depends on {failing}, which failed verify"
                    grew = True
        return held, report
