"""The event side of the observed-state cache: newest event per resource, and what to re-read.

Events are hints, not state: an applied event only says "this managed resource changed, re-read
it". Keeping the highest order seen per versioned resource makes delivery order and duplicates
irrelevant: whatever permutation SQS delivers, the cache ends with the newest event of each
resource, and an older or repeated event changes nothing (it is counted as stale or duplicate).

The history is bounded by size and age: every API call CloudTrail reports, related to us or not,
is a resource of its own, so an unbounded history grows for as long as the process runs. Ordering
only has to hold over the time SQS takes to deliver a message late or twice (minutes); a history
forgotten after that costs at most one extra re-read, when a late copy of a forgotten event
applies again. Events that never arrived are the informer's resync's business (observed/informer.py).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Callable, Hashable, Iterable, Literal

from cachetools import TTLCache

from reconciler.observed.events import ParsedEvent, Rejected

Outcome = Literal["applied", "duplicate", "stale"]
COUNTERS = ("received", "applied", "duplicate", "stale", "unknown", "malformed", "unknown_fields")

MAX_RESOURCES = 10_000  # resources remembered; past this the least recently used are forgotten first
MAX_AGE = 3600.0  # seconds a resource's newest event is kept after it arrived


class EventCache:
    """Thread-safe: the consumer thread applies events while the controller drains."""

    def __init__(self, max_resources: int = MAX_RESOURCES, max_age: float = MAX_AGE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.RLock()
        self._latest: TTLCache[str, ParsedEvent] = TTLCache(maxsize=max_resources, ttl=max_age, timer=clock)
        self._dirty: set[Hashable] = set()
        self._counters: Counter = Counter({name: 0 for name in COUNTERS})

    def apply(self, event: ParsedEvent) -> Outcome:
        """Keep `event` if it is newer than anything seen for its resource, and mark what it affects."""
        with self._lock:
            self._counters["received"] += 1
            if event.unknown_fields:
                self._counters["unknown_fields"] += 1
            current = self._latest.get(event.resource)
            if current is not None and event.order == current.order:
                outcome: Outcome = "duplicate"
            elif current is not None and event.order < current.order:
                outcome = "stale"
            else:
                self._latest[event.resource] = event
                self._dirty |= event.affects
                outcome = "applied"
            self._counters[outcome] += 1
            return outcome

    def record_rejected(self, rejected: Rejected) -> None:
        """Count a message that never became an event (malformed, or a detail-type we skip)."""
        with self._lock:
            self._counters["received"] += 1
            self._counters["unknown" if rejected.category == "unknown" else "malformed"] += 1

    def latest(self, resource: str) -> ParsedEvent | None:
        with self._lock:
            return self._latest.get(resource)

    def state(self) -> dict[str, ParsedEvent]:
        """Newest event per versioned resource still remembered (a copy)."""
        with self._lock:
            self._latest.expire()
            return dict(self._latest)

    def stopped_tasks(self, service: str, limit: int = 5) -> list[dict]:
        """The newest stopped tasks of `service` (its name: tasks carry "service:NAME" as their group),
        with why they stopped, from task state events: what a failing rollout shows without another
        AWS call."""
        group = f"service:{service}"
        stopped = [e for e in self.state().values()
                   if e.kind == "task" and e.detail.get("group") == group and e.detail.get("lastStatus") == "STOPPED"]
        stopped.sort(key=lambda e: e.time, reverse=True)
        return [{k: e.detail.get(k) for k in ("taskArn", "taskDefinitionArn", "stopCode", "stoppedReason", "stoppedAt")
                 if e.detail.get(k) is not None} for e in stopped[:limit]]

    @property
    def size(self) -> int:
        """Resources whose newest event is remembered (not `__len__`: an empty cache is still a cache)."""
        with self._lock:
            self._latest.expire()
            return len(self._latest)

    def forget(self, resource: str) -> None:
        """Drop a resource's history (e.g. a task long stopped); a later event for it applies again."""
        with self._lock:
            self._latest.pop(resource, None)

    @property
    def dirty(self) -> set:
        with self._lock:
            return set(self._dirty)

    def mark_dirty(self, keys: Iterable[Hashable]) -> None:
        """Put keys (back) on the re-read list, e.g. when handing them over failed."""
        with self._lock:
            self._dirty |= set(keys)

    def drain_dirty(self) -> set:
        """Take and clear the managed resource keys that need a re-read."""
        with self._lock:
            keys, self._dirty = self._dirty, set()
            return keys

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counters)
