"""Sending notifications on a background thread, so a slow or broken destination never blocks a
reconcile: `submit` only puts the happening on a bounded queue (full: dropped and counted).

Each destination is rate-limited (a token bucket: a burst, then a steady rate; over it the
notification is dropped and counted, because a flood is worse than a gap) and each delivery is
retried with exponential back-off (tenacity). What happened to every destination (sent, failed,
dropped, the last error) is in `stats()`, shown in /status and as metrics. The same drift is not
announced at every resync: that deduplication is the announcer's (controller/happenings.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from typing import Any, Protocol

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ..controller.happenings import Happening
from ..report.masking import mask_text
from .destinations import DeliveryError

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class Destination(Protocol):
    name: str

    def wants(self, h: Happening) -> bool: ...

    def send(self, h: Happening) -> None: ...


class TokenBucket:
    def __init__(self, burst: float, per_minute: float, clock=time.monotonic) -> None:
        self.capacity, self.rate, self._clock = burst, per_minute / 60.0, clock
        self._tokens, self._at = burst, clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class Notifier:
    """Call it with a happening (an announcer sink); `start` the worker, `stop` drains and ends it."""

    def __init__(self, destinations: list[Destination], *, attempts: int = 4, backoff: float = 1.0,
                 burst: int = 10, per_minute: float = 30.0) -> None:
        self.destinations = destinations
        self.attempts, self.backoff = attempts, backoff
        self._buckets = {d.name: TokenBucket(burst, per_minute) for d in destinations}
        self._queue: queue.Queue[Happening | None] = queue.Queue(QUEUE_SIZE)
        self._stats: dict[str, Counter] = {d.name: Counter() for d in destinations}
        self._errors: dict[str, str | None] = {d.name: None for d in destinations}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __call__(self, happening: Happening) -> None:
        if not self.destinations:
            return
        try:
            self._queue.put_nowait(happening)
        except queue.Full:
            self._count_all("dropped")
            log.warning("notification queue full; dropped %s %s", happening.kind, happening.resource)

    def start(self) -> "Notifier":
        self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted notification was handled; False on timeout (for tests and stop)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: {**{k: 0 for k in ("sent", "failed", "rate_limited", "dropped")}, **counts,
                           "lastError": self._errors[name]} for name, counts in self._stats.items()}

    def _run(self) -> None:
        while True:
            happening = self._queue.get()
            try:
                if happening is None:
                    return
                for destination in self.destinations:
                    if destination.wants(happening):
                        self._deliver(destination, happening)
            finally:
                self._queue.task_done()

    def _deliver(self, destination: Destination, happening: Happening) -> None:
        if not self._buckets[destination.name].take():
            self._count(destination.name, "rate_limited")
            log.warning("notification rate limit reached; dropped", extra={"destination": destination.name,
                                                                           "happening": happening.kind})
            return
        retrying = Retrying(stop=stop_after_attempt(self.attempts), reraise=False,
                            wait=wait_exponential(multiplier=self.backoff, max=30 * self.backoff),
                            retry=retry_if_exception_type(DeliveryError))
        try:
            retrying(destination.send, happening)
        except (RetryError, DeliveryError) as exc:
            cause = exc.last_attempt.exception() if isinstance(exc, RetryError) else exc
            message = mask_text(str(cause))
            self._count(destination.name, "failed", error=message)
            log.error("notification not delivered", extra={"destination": destination.name, "error": message,
                                                           "happening": happening.kind, "attempts": self.attempts})
            return
        except Exception as exc:  # noqa: BLE001 - a bug in one destination must not stop the others
            self._count(destination.name, "failed", error=f"{type(exc).__name__}")
            log.exception("notification to %s failed", destination.name)
            return
        self._count(destination.name, "sent", error=None)

    _KEEP = object()

    def _count(self, name: str, what: str, error: Any = _KEEP) -> None:
        with self._lock:
            self._stats[name][what] += 1
            if error is not Notifier._KEEP:
                self._errors[name] = error

    def _count_all(self, what: str) -> None:
        for name in list(self._stats):
            self._count(name, what)


class NotificationCollector:
    """``ecs_reconciler_notifications_total{destination,outcome}`` (sent, failed, rate_limited,
    dropped) from a notifier's counts, for the controller's and the operator's /metrics."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily("ecs_reconciler_notifications", "Notifications by destination and outcome",
                                     labels=["destination", "outcome"])
        for name, counts in sorted(self.notifier.stats().items()):
            for outcome in ("sent", "failed", "rate_limited", "dropped"):
                family.add_metric([name, outcome], counts[outcome])
        yield family
