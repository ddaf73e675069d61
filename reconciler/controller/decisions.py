"""What a reconcile writes, decided from the plan alone: sync or drift, what waits, what is chosen.

- a *sync* is a change whose manifest differs from the last applied one (or that depends on one,
  e.g. a service whose task definition gets a new revision): applied unless dry-run/suspended;
- a *drift* is a difference on a resource whose manifest did not change: an out-of-band edit,
  reverted only with self-heal;
- some resources are held back on their own (a replace without --allow-replace, a perpetual diff,
  a rolled-back deployment), and what depends on them waits; everything else is applied.
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

from ..plan.model import Action, Plan

Key = tuple[str, str]


def fingerprint(action: Action) -> str | None:
    """Hash of what the manifest asks for; equal fingerprints mean 'the source did not change it'."""
    if action.desired is None:
        return None
    body = action.desired.manifest.model_dump(mode="json", exclude_none=True)
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def dep_key(label: str) -> Key:
    kind, _, name = label.partition("/")
    return kind, name


def sync_keys(plan: Plan, applied: dict[Key, str]) -> set[Key]:
    """Pending actions the source asked for, plus their dependents (new revision -> service)."""
    syncs = {a.key for a in plan.pending if a.action == "delete" or applied.get(a.key) != fingerprint(a)}
    grew = True
    while grew:
        grew = False
        for action in plan.pending:
            if action.key not in syncs and any(dep_key(d) in syncs for d in action.depends_on):
                syncs.add(action.key)
                grew = True
    return syncs


def needs_replace(plan: Plan, allow_replace: bool) -> set[Key]:
    """Replaces wait unless they are allowed: only a delete and create can apply them."""
    return set() if allow_replace else {a.key for a in plan.pending if a.action == "replace"}


def choose(plan: Plan, syncs: set[Key], held: Iterable[Key], self_heal: bool) -> list[Action]:
    """Syncs always, drift with self-heal, plus pending dependencies of anything chosen; never what
    `held` names."""
    held = set(held)
    pending = {a.key: a for a in plan.pending if a.action != "conflict"}
    keys = {k for k in pending if (k in syncs or self_heal) and k not in held}
    grew = True
    while grew:
        grew = False
        for key in list(keys):
            for dep in map(dep_key, pending[key].depends_on):
                if dep in pending and dep not in keys:
                    keys.add(dep)
                    grew = True
    return [a for a in plan.pending if a.key in keys]
