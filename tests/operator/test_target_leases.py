"""Sharding targets across replicas with one Lease per target, against a Kubernetes API over HTTP (kmock).

kmock stores and serves Leases like any resource but does not keep `resourceVersion`;
tests/support/kube_emulator.py keeps it as the API server does (set on create, bumped on every write, a write
that names a stale version is refused with 409), since that precondition is what makes a Lease safe.
"""

from __future__ import annotations

import asyncio
import threading
import time

import kmock
import pytest
import pytest_asyncio

from reconciler.target_leases import LeaseApi, TargetLeases, run_lease_loop
from tests.support.kube_emulator import Emulator

TARGETS = ["payments-eu", "search-ap", "billing-us", "ledger-eu", None]
LEASE_SECONDS, RENEW, DEADLINE = 2, 0.2, 1.2




@pytest_asyncio.fixture
async def lease_api():
    emulator = Emulator()
    async with emulator, kmock.Server(emulator) as server:
        emulator.resources["coordination.k8s.io/v1/leases"] = kmock.ResourceInfo(
            kind="Lease", namespaced=True, verbs={"list", "get", "create", "patch"})
        yield LeaseApi(str(server.url), "ecs-system")


class Replica:
    """One replica: its lease loop and a reconcile loop that touches only the targets it holds."""

    def __init__(self, api: LeaseApi, identity: str, journal: list):
        self.leases = TargetLeases(api, identity, TARGETS, lease_seconds=LEASE_SECONDS, renew_seconds=RENEW,
                                   renew_deadline=DEADLINE)
        self.identity, self.journal = identity, journal
        self.stop, self.crash = threading.Event(), threading.Event()
        self.threads = [threading.Thread(target=self._leases, daemon=True),
                        threading.Thread(target=self._reconcile, daemon=True)]

    def start(self) -> "Replica":
        for thread in self.threads:
            thread.start()
        return self

    def _leases(self) -> None:
        while not self.crash.is_set():  # a crash stops renewing and releases nothing
            if self.stop.is_set():
                self.leases.release_all()
                return
            self.leases.tick()
            self.crash.wait(RENEW)

    def _reconcile(self) -> None:
        while not (self.crash.is_set() or self.stop.is_set()):
            for target in TARGETS:
                with self.leases.holding(target) as ours:
                    if ours:
                        started = time.monotonic()
                        time.sleep(0.02)  # the reconcile of one target
                        self.journal.append((target, self.identity, started, time.monotonic()))
            time.sleep(0.01)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)


def assert_never_two_at_once(journal: list) -> None:
    for target in TARGETS:
        spans = sorted((s, e, who) for t, who, s, e in journal if t == target)
        for (s1, e1, a), (s2, e2, b) in zip(spans, spans[1:]):
            assert a == b or e1 <= s2, f"{target}: {a} and {b} reconciled at once"


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def holders(api: LeaseApi) -> dict[str, str | None]:
    return {lease["metadata"]["name"]: lease["spec"].get("holderIdentity") for lease in api.list()
            if "-replica-" not in lease["metadata"]["name"]}


@pytest.mark.asyncio
async def test_targets_divide_then_a_dead_replica_moves_its_targets_without_double_reconcile(lease_api):
    journal: list = []
    a = Replica(lease_api, "a", journal).start()
    await wait_until(lambda: len(a.leases.held()) == len(TARGETS), 10, "a alone to hold every target")
    b = Replica(lease_api, "b", journal).start()
    # b joins: a gives back its extras and b takes them, so the targets divide 3 / 2.
    await wait_until(lambda: sorted([len(a.leases.held()), len(b.leases.held())]) == [2, 3], 10, "the split")
    assert set(a.leases.held()).isdisjoint(b.leases.held())
    by_a = set(a.leases.held())
    crashed_at = time.monotonic()
    a.crash.set()  # dies: no renewal, no release
    await asyncio.to_thread(a.join)
    last_by_a = max(e for t, who, s, e in journal if who == "a")
    await wait_until(lambda: len(b.leases.held()) == len(TARGETS), 10, "b to take a's targets over")
    took_over = time.monotonic() - crashed_at
    await wait_until(lambda: {t for t, who, s, e in journal if who == "b" and s > last_by_a} >= by_a, 5,
                     "b to reconcile a's former targets")
    b.stop.set()
    await asyncio.to_thread(b.join)

    assert_never_two_at_once(journal)
    # b's first reconcile of a former target of a started only after a's lease ran out on b's clock.
    for target in by_a:
        first_by_b = min(s for t, who, s, e in journal if t == target and who == "b")
        assert first_by_b > last_by_a
    # The lease record says so too: a transition to b; b released everything on a clean stop.
    leases = {lease["metadata"]["name"]: lease["spec"] for lease in await asyncio.to_thread(lease_api.list)}
    for target in by_a:
        assert leases[a.leases.lease_name(target)]["leaseTransitions"] >= 1
    assert set((await asyncio.to_thread(holders, lease_api)).values()) == {None}
    print(f"takeover after {took_over:.2f}s (lease {LEASE_SECONDS}s)")


@pytest.mark.asyncio
async def test_racing_replicas_never_hold_one_lease_together(lease_api):
    """Many replicas start at once: each Lease ends with exactly one holder, the precondition decides."""
    replicas = [TargetLeases(lease_api, f"r{i}", TARGETS, lease_seconds=LEASE_SECONDS, renew_seconds=RENEW,
                             renew_deadline=DEADLINE) for i in range(4)]
    for _ in range(6):
        await asyncio.gather(*(asyncio.to_thread(r.tick) for r in replicas))
    held = [t for r in replicas for t in r.held()]
    assert sorted(held, key=str) == sorted(TARGETS, key=str)  # every target held once, none twice
    assert max(len(r.held()) for r in replicas) <= 2  # ceil(5 / 4)
    recorded = await asyncio.to_thread(holders, lease_api)
    assert {recorded[replicas[0].lease_name(t)] for t in TARGETS} == {
        r.identity for r in replicas if r.held()}


@pytest.mark.asyncio
async def test_a_clean_stop_hands_its_targets_over_at_the_next_round(lease_api):
    a, b = (TargetLeases(lease_api, name, TARGETS, lease_seconds=LEASE_SECONDS, renew_seconds=RENEW,
                         renew_deadline=DEADLINE) for name in "ab")
    for _ in range(3):
        await asyncio.gather(asyncio.to_thread(a.tick), asyncio.to_thread(b.tick))
    assert sorted([len(a.held()), len(b.held())]) == [2, 3]
    await asyncio.to_thread(a.release_all)
    assert a.held() == []
    await asyncio.to_thread(b.tick)  # no waiting for a's Leases to expire: they are free, and a is gone
    assert sorted(b.held(), key=str) == sorted(TARGETS, key=str)


def test_timings_must_keep_a_margin():
    with pytest.raises(ValueError):
        TargetLeases(LeaseApi("http://127.0.0.1:1", "x"), "a", TARGETS, lease_seconds=2, renew_seconds=0.5,
                     renew_deadline=2)
