"""A rate-limited work queue keyed by resource, after client-go's workqueue.

Reconciling is idempotent and keyed, so a queue of *keys* (not events) is enough: ten events for
one service while it waits collapse into one reconcile, a key is never reconciled by two workers
at once (re-adds during processing are parked and re-queued on ``done``), and failures back off
per key so one broken resource cannot starve the rest.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque
from typing import Callable, Hashable

log = logging.getLogger(__name__)

Key = Hashable


class ExponentialBackoff:
    """Per-key delay ``base * 2**failures`` capped at ``cap``, shortened by up to ``jitter``.

    Jitter only ever subtracts, so the cap is a true upper bound and many keys failing together
    (e.g. during an AWS throttle) spread out instead of retrying in lock-step.
    """

    def __init__(self, base: float = 0.5, cap: float = 300.0, jitter: float = 0.2,
                 rng: random.Random | None = None) -> None:
        if base <= 0 or cap < base or not 0 <= jitter < 1:
            raise ValueError("need 0 < base <= cap and 0 <= jitter < 1")
        self.base, self.cap, self.jitter = base, cap, jitter
        self._rng = rng or random.Random()
        self._failures: dict[Key, int] = {}
        self._lock = threading.Lock()

    def when(self, key: Key) -> float:
        with self._lock:
            n = self._failures.get(key, 0)
            self._failures[key] = n + 1
            delay = min(self.cap, self.base * 2.0 ** min(n, 64))
            return delay * (1 - self.jitter * self._rng.random())

    def forget(self, key: Key) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def failures(self, key: Key) -> int:
        with self._lock:
            return self._failures.get(key, 0)


class WorkQueue:
    """Thread-safe keyed queue: dedupe while queued, exclusive while processing, delayed adds."""

    def __init__(self, rate_limiter: ExponentialBackoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_limiter = rate_limiter or ExponentialBackoff()
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[Key] = deque()
        self._dirty: set[Key] = set()       # wants processing (queued, or parked while processing)
        self._processing: set[Key] = set()
        self._waiting: dict[Key, float] = {}  # key -> earliest ready time
        self._heap: list[tuple[float, int, Key]] = []
        self._seq = itertools.count()
        self._shutdown = False

    def add(self, key: Key) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: Key) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify()

    def add_after(self, key: Key, delay: float) -> None:
        """Add once ``delay`` seconds pass; an earlier pending deadline for the key wins."""
        if delay <= 0:
            return self.add(key)
        with self._cond:
            if self._shutdown:
                return
            ready = self._clock() + delay
            if key in self._waiting and self._waiting[key] <= ready:
                return
            self._waiting[key] = ready
            heapq.heappush(self._heap, (ready, next(self._seq), key))
            self._cond.notify()  # a getter may need to shorten its wait

    def add_rate_limited(self, key: Key) -> None:
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: Key) -> None:
        """Reset the key's backoff; call after it reconciled successfully."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: Key) -> int:
        return self.rate_limiter.failures(key)

    def get(self, timeout: float | None = None) -> Key | None:
        """Next key to process (now owned by the caller until ``done``), or None on timeout/shutdown."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._shutdown:
                    return None
                next_ready = self._promote_due()
                if self._queue:
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    return key
                wait = None if next_ready is None else max(next_ready - self._clock(), 0.001)
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def _promote_due(self) -> float | None:
        """Move delayed keys whose time has come onto the queue; return the next deadline."""
        now = self._clock()
        while self._heap:
            ready, _, key = self._heap[0]
            if self._waiting.get(key) != ready:
                heapq.heappop(self._heap)  # superseded by an earlier deadline
                continue
            if ready > now:
                return ready
            heapq.heappop(self._heap)
            del self._waiting[key]
            self._add_locked(key)
        return None

    def done(self, key: Key) -> None:
        """Release the key; if it was re-added meanwhile, queue it again now."""
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty and not self._shutdown:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        """Stop handing out keys; waiting getters return None and later adds are ignored."""
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    @property
    def is_shutdown(self) -> bool:
        return self._shutdown

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def pending_delayed(self) -> int:
        with self._cond:
            return len(self._waiting)


def run_workers(queue: WorkQueue, n: int, handler: Callable[[Key], object],
                stop_event: threading.Event, *, poll: float = 0.2,
                name: str = "reconcile-worker") -> list[threading.Thread]:
    """Start ``n`` threads feeding keys to ``handler``; at most ``n`` keys run at once.

    A handler that raises has its key re-queued with backoff; one that returns resets the backoff.
    Threads stop after their current key once ``stop_event`` is set or the queue shuts down;
    join the returned threads to wait for that.
    """
    if n < 1:
        raise ValueError("need at least one worker")

    def loop() -> None:
        while not stop_event.is_set():
            key = queue.get(timeout=poll)
            if key is None:
                if queue.is_shutdown:
                    return
                continue
            try:
                handler(key)
            except Exception:
                log.exception("reconcile of %s failed; retrying with backoff", key)
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
            finally:
                queue.done(key)

    threads = [threading.Thread(target=loop, name=f"{name}-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads
