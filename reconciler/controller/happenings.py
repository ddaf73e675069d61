"""What happened during reconciles, said once: applies, drift found and healed, failures, rollouts.

Each reconcile produces rows (resource_rows.py); the same drift is still there at the next resync,
so comparing with what was already announced decides what is news. A `Happening` goes to the
timeline (shown on the dashboard) and to every other sink (notifications), never twice for the
same state of the same resource.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from ..report.masking import mask_text

# kind of a happening -> whether it is bad news
KINDS = {"applied": False, "drift-found": True, "drift-healed": False, "apply-failed": True,
         "rollout-failed": True, "rolled-back": True, "perpetual-diff": True, "source-error": True,
         "target-failed": True}
MAX_TIMELINE = 500

_HOSTS = {"github.com": "{base}/commit/{sha}", "gitlab.com": "{base}/-/commit/{sha}"}
_REPO = re.compile(r"^(?:https?://(?:[^@/]*@)?|git@|ssh://(?:[^@/]*@)?)(?P<host>github\.com|gitlab\.com)[:/]"
                   r"(?P<path>[^#:]+?)(?:\.git)?(?:[#:].*)?$")
_SHA = re.compile(r"[0-9a-f]{7,64}")


def commit_url(source: str, revision: str | None) -> str | None:
    """A link to `revision` when the source is a repository on a known host (GitHub, GitLab)."""
    if not revision or not _SHA.fullmatch(revision):
        return None
    match = _REPO.match(source.strip())
    if not match:
        return None
    base = f"https://{match.group('host')}/{match.group('path').strip('/')}"
    return _HOSTS[match.group("host")].format(base=base, sha=revision)


def github_repository(source: str) -> str | None:
    """"owner/name" when the source is a GitHub repository (where commit statuses go by default)."""
    match = _REPO.match(source.strip())
    return match.group("path").strip("/") if match and match.group("host") == "github.com" else None


@dataclass
class Happening:
    kind: str  # one of KINDS
    resource: str  # "Kind/name", or the source for a source error
    message: str
    revision: str | None = None
    commit_url: str | None = None
    who: dict[str, Any] | None = None  # attribution.Change.document() or "unknown", for drift
    paths: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.time)

    @property
    def bad(self) -> bool:
        return KINDS.get(self.kind, True)

    def document(self) -> dict[str, Any]:
        return {"kind": self.kind, "resource": self.resource, "message": mask_text(self.message),
                "revision": self.revision, "commitUrl": self.commit_url, "who": self.who, "paths": list(self.paths),
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))}


class Timeline:
    """The newest happenings, newest first; bounded."""

    def __init__(self, size: int = MAX_TIMELINE) -> None:
        self._items: deque[Happening] = deque(maxlen=size)
        self._lock = threading.Lock()

    def __call__(self, happening: Happening) -> None:
        with self._lock:
            self._items.appendleft(happening)

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            return [h.document() for h in self._items]


class Announcer:
    """Says each happening once: remembers, per resource, the state last announced."""

    def __init__(self, source: str, sinks: list[Callable[[Happening], None]]) -> None:
        self.source = source
        self.sinks = sinks
        self._said: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def once(self, topic: str, resource: str, state: Any) -> bool:
        """True the first time (topic, resource) is in `state`; a new state is news again."""
        with self._lock:
            if self._said.get((topic, resource)) == state:
                return False
            self._said[(topic, resource)] = state
            return True

    def forget(self, topic: str, resource: str) -> bool:
        """The state ended (drift gone, failure cleared); True when one had been announced."""
        with self._lock:
            return self._said.pop((topic, resource), None) is not None

    def say(self, kind: str, resource: str, message: str, revision: str | None = None, **extra: Any) -> Happening:
        happening = Happening(kind, resource, message, revision, commit_url(self.source, revision), **extra)
        for sink in self.sinks:
            sink(happening)
        return happening


def announce_reconcile(announcer: Announcer, plan: Any, outcome: Any, rows: list, revision: str | None,
                       who: Callable[[str, str], dict[str, Any]], target: str | None = None) -> None:
    """Turn one reconcile's plan, outcome and rows into happenings (each said once). With Targets,
    each target's pass says its own, its resources named "target:Kind/name" (names are per target)."""
    by_key = {(r.kind, r.name): r for r in rows}
    prefix = f"{target}:" if target else ""
    for action in plan.actions:
        key, label = action.key, f"{prefix}{action.kind}/{action.name}"
        row = by_key.get(key)
        healed = key in outcome.done and key not in outcome.syncs and action.action != "create"
        drifted = healed or (row is not None and row.state == "drifted")
        if drifted:
            paths = sorted({c.path for c in action.changes})
            if announcer.once("drift", label, tuple(paths)):
                announcer.say("drift-found", label, f"{label} drifted: " + ", ".join(paths), revision,
                              who=who(*key), paths=paths)
        if healed:
            announcer.forget("drift", label)
            announcer.say("drift-healed", label, f"{label} drift reverted ({action.action})", revision)
        elif key in outcome.done:
            announcer.say("applied", label, f"{action.action} {label}", revision)
        elif not drifted:
            announcer.forget("drift", label)
        if key in outcome.failed:
            if announcer.once("failed", label, outcome.failed[key]):
                announcer.say("apply-failed", label, f"{label}: {outcome.failed[key]}", revision)
        else:
            announcer.forget("failed", label)
        if key in outcome.perpetual and announcer.once("perpetual", label, True):
            announcer.say("perpetual-diff", label, f"{label}: {row.error if row else 'perpetual diff'}", revision,
                          paths=list(row.drift) if row else [])
        elif key not in outcome.perpetual:
            announcer.forget("perpetual", label)
        if key in outcome.rolled_back:
            if announcer.once("rollout", label, "rolled-back"):
                announcer.say("rolled-back", label, f"{label}: {row.error if row else 'rolled back'}", revision)
        elif row is not None and row.state == "failed" and action.action == "none" and row.error:
            if announcer.once("rollout", label, "failed"):
                announcer.say("rollout-failed", label, f"{label}: {row.error}", revision)
        elif row is not None and row.state == "in-sync":
            announcer.forget("rollout", label)
