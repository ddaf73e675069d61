"""WorkQueue and run_workers: dedupe, per-key exclusivity, backoff, parallelism, shutdown."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.controller.workqueue import ExponentialBackoff, WorkQueue, run_workers


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FixedRng:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_duplicate_keys_collapse_while_queued():
    q = WorkQueue()
    for key in ["a", "b", "a", "a", "b", "c"]:
        q.add(key)
    assert len(q) == 3
    assert [q.get(0), q.get(0), q.get(0), q.get(0)] == ["a", "b", "c", None]


def test_key_in_processing_is_not_handed_out_again_until_done():
    q = WorkQueue()
    q.add("a")
    assert q.get(0) == "a"
    q.add("a")
    q.add("a")
    assert q.get(0) is None, "a is being processed; the re-add waits for done"
    q.done("a")
    assert q.get(0) == "a"
    q.done("a")
    assert q.get(0) is None


def test_done_without_readd_does_not_requeue():
    q = WorkQueue()
    q.add("a")
    q.done(q.get(0))
    assert len(q) == 0


def test_add_after_waits_for_the_clock_and_earliest_deadline_wins():
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("a", 5)
    q.add_after("a", 30)
    assert q.get(0) is None and q.pending_delayed() == 1
    clock.now += 5
    assert q.get(0) == "a"
    q.done("a")
    clock.now += 100
    assert q.get(0) is None, "superseded deadlines do not fire again"


def test_get_blocks_until_a_delayed_key_is_due_in_real_time():
    q = WorkQueue()
    q.add_after("a", 0.1)
    start = time.monotonic()
    assert q.get(timeout=5) == "a"
    assert 0.08 <= time.monotonic() - start < 2


def test_get_wakes_when_another_thread_adds():
    q = WorkQueue()
    threading.Timer(0.05, q.add, args=("x",)).start()
    assert q.get(timeout=5) == "x"


def test_backoff_grows_exponentially_and_caps():
    limiter = ExponentialBackoff(base=0.5, cap=300, jitter=0.2, rng=FixedRng(0.0))
    delays = [limiter.when("k") for _ in range(14)]
    assert delays[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == 300 and max(delays) == 300
    assert limiter.when("other") == 0.5, "backoff is per key"
    limiter.forget("k")
    assert limiter.when("k") == 0.5


def test_jitter_only_shortens():
    assert ExponentialBackoff(base=1, cap=10, jitter=0.2, rng=FixedRng(0.999999)).when("k") == pytest.approx(0.8, rel=1e-5)


@settings(max_examples=200, deadline=None)
@given(base=st.floats(0.01, 5), cap=st.floats(5, 600), jitter=st.floats(0, 0.9), r=st.floats(0, 0.999), n=st.integers(1, 200))
def test_backoff_never_exceeds_cap_or_goes_non_positive(base, cap, jitter, r, n):
    limiter = ExponentialBackoff(base=base, cap=cap, jitter=jitter, rng=FixedRng(r))
    for _ in range(n):
        delay = limiter.when("k")
        assert 0 < delay <= cap


def test_add_rate_limited_uses_backoff_and_forget_resets():
    clock = FakeClock()
    q = WorkQueue(ExponentialBackoff(base=1, cap=8, jitter=0, rng=FixedRng(0)), clock=clock)
    for expected in [1, 2, 4, 8, 8]:
        q.add_rate_limited("k")
        clock.now += expected - 0.01
        assert q.get(0) is None
        clock.now += 0.01
        assert q.get(0) == "k"
        q.done("k")
    assert q.num_requeues("k") == 5
    q.forget("k")
    assert q.num_requeues("k") == 0


def test_shutdown_releases_blocked_getters_and_ignores_adds():
    q = WorkQueue()
    results = []
    getters = [threading.Thread(target=lambda: results.append(q.get())) for _ in range(3)]
    for t in getters:
        t.start()
    time.sleep(0.05)
    q.shutdown()
    for t in getters:
        t.join(5)
    assert results == [None, None, None]
    q.add("late")
    assert q.get(0) is None


def _run(q, n, handler, keys, expect_calls, timeout=10):
    stop = threading.Event()
    threads = run_workers(q, n, handler, stop, poll=0.02)
    for key in keys:
        q.add(key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(expect_calls) < len(keys):
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(5)
    assert not any(t.is_alive() for t in threads)


def test_run_workers_bounds_parallelism():
    q, lock = WorkQueue(), threading.Lock()
    active, peak, calls = [0], [0], []

    def handler(key):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
            calls.append(key)

    _run(q, 3, handler, [f"k{i}" for i in range(15)], calls)
    assert sorted(calls) == sorted(f"k{i}" for i in range(15))
    assert peak[0] == 3


def test_one_key_is_never_processed_concurrently():
    q, lock = WorkQueue(), threading.Lock()
    running, overlaps, calls = set(), [], []

    def handler(key):
        with lock:
            if key in running:
                overlaps.append(key)
            running.add(key)
        if len(calls) < 20:
            q.add(key)  # re-add while processing: must wait for done
        time.sleep(0.01)
        with lock:
            running.discard(key)
            calls.append(key)

    stop = threading.Event()
    threads = run_workers(q, 4, handler, stop, poll=0.02)
    q.add("same")
    deadline = time.monotonic() + 10
    while len(calls) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(5)
    assert len(calls) >= 20 and overlaps == []


def test_failing_handler_is_retried_with_backoff_then_forgotten():
    q = WorkQueue(ExponentialBackoff(base=0.01, cap=0.05, jitter=0))
    attempts = []

    def handler(key):
        attempts.append(key)
        if len(attempts) < 3:
            raise RuntimeError("throttled")

    stop = threading.Event()
    threads = run_workers(q, 2, handler, stop, poll=0.02)
    q.add("svc")
    deadline = time.monotonic() + 10
    while len(attempts) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(5)
    assert attempts == ["svc"] * 3
    assert q.num_requeues("svc") == 0


def test_workers_exit_on_queue_shutdown():
    q = WorkQueue()
    threads = run_workers(q, 2, lambda key: None, threading.Event(), poll=0.02)
    q.shutdown()
    for t in threads:
        t.join(5)
    assert not any(t.is_alive() for t in threads)


def test_invalid_configuration_rejected():
    with pytest.raises(ValueError):
        ExponentialBackoff(base=0)
    with pytest.raises(ValueError):
        run_workers(WorkQueue(), 0, lambda k: None, threading.Event())
