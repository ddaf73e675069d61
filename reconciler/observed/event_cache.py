"""The event side of the observed-state cache: newest event per resource, and what to re-read.

Events are hints, not state: an applied event only says "this managed resource changed, re-read
it". Keeping the highest order seen per versioned resource makes delivery order and duplicates
irrelevant: whatever permutation SQS delivers, the cache ends with the newest event of each
resource, and an older or repeated event changes nothing (it is counted as stale or duplicate).

A periodic full re-read (`resync`) is the safety net for events that never arrived: it compares the
fresh snapshot with the values the cache held and counts every difference as a missed event.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Hashable, Iterable, Literal

from reconciler.observed.events import ParsedEvent, Rejected

Outcome = Literal["applied", "duplicate", "stale"]
COUNTERS = ("received", "applied", "duplicate", "stale", "unknown", "malformed", "unknown_fields", "missed_events")


class EventCache:
    """Thread-safe: the consumer thread applies events while the controller drains and resyncs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._latest: dict[str, ParsedEvent] = {}
        self._dirty: set[Hashable] = set()
        self._observed: dict[Hashable, Any] = {}
        self._counters: Counter = Counter({name: 0 for name in COUNTERS})
        self._synced = False

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
        """Newest event per versioned resource (a copy)."""
        with self._lock:
            return dict(self._latest)

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

    def observe(self, key: Hashable, value: Any) -> None:
        """Record a single re-read, so the next resync counts only what the event stream missed."""
        with self._lock:
            self._observed[key] = value

    def observed(self) -> dict:
        with self._lock:
            return dict(self._observed)

    def resync(self, observed_snapshot: dict[Hashable, Any]) -> list:
        """Replace the snapshot after a full re-read; return keys whose value changed unannounced.

        Added, removed and changed keys all count. The very first resync only establishes the
        baseline: everything differs from an empty cache, but nothing was missed yet.
        """
        with self._lock:
            old, first = self._observed, not self._synced
            changed = [k for k in old.keys() | observed_snapshot.keys()
                       if k not in old or k not in observed_snapshot or old[k] != observed_snapshot[k]]
            self._observed = dict(observed_snapshot)
            self._synced = True
            if not first:
                self._counters["missed_events"] += len(changed)
            return sorted(changed, key=repr)

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counters)
