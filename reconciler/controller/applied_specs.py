"""The manifest each resource was last applied from (its fingerprint), kept across restarts.

It is what tells a sync (the source changed the manifest) from a drift (AWS changed behind our
back). Without a state file it starts empty after a restart, so the first pass counts every pending
change as a sync.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..plan.model import Plan
from .decisions import Key, fingerprint

log = logging.getLogger("reconciler.controller")


class AppliedSpecs:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.by_key: dict[Key, str] = self._load()

    def remember(self, plan: Plan, done: set[Key], failed: dict[Key, str], revision: str | None) -> None:
        """Record what is now applied: in-sync and written resources; forget deleted ones."""
        for action in plan.actions:
            if action.key in failed:
                continue
            if action.action == "delete" and action.key in done:
                self.by_key.pop(action.key, None)
            elif action.action == "none" or action.key in done:
                fp = fingerprint(action)
                if fp:
                    self.by_key[action.key] = fp
        self._save(revision)

    def _load(self) -> dict[Key, str]:
        if not self.path or not Path(self.path).exists():
            return {}
        try:
            doc = json.loads(Path(self.path).read_text())
            return {tuple(k.split("/", 1)): v for k, v in doc.get("applied", {}).items()}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable state file %s: %s", self.path, exc)
            return {}

    def _save(self, revision: str | None) -> None:
        if not self.path:
            return
        doc = {"revision": revision, "applied": {"/".join(k): v for k, v in sorted(self.by_key.items())}}
        tmp = Path(self.path).with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(self.path)
