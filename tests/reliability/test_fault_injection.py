"""Apply converges through throttling, 5xx and ambiguous (applied-then-500) failures, and retries
never leave duplicates behind: one service, one rule, one task definition revision per manifest."""

from __future__ import annotations

import os

import time

from support.faultproxy import FaultProxy

from .helpers import EXAMPLE, assert_exactly_one_of_each, clients_for, converge, expected_names, inventory, plan_once


def test_example_app_converges_under_faults_without_duplicates(local):
    with FaultProxy(local.url, throttle_rate=0.2, error_5xx_rate=0.05, ambiguous_rate=0.05, seed=11) as proxy:
        rounds, errors = converge(proxy.url, [EXAMPLE], rounds=4)
        stats = proxy.stats()
    assert proxy.injected() > 0, stats
    # A direct plan (no proxy) agrees that everything is in sync.
    _, plan = plan_once(local.url, [EXAMPLE])
    assert not plan.has_changes, plan.summary()
    assert_exactly_one_of_each(inventory(clients_for(local.url)), expected_names([EXAMPLE]))


def test_ambiguous_write_failures_on_every_create_are_not_repeated(local):
    """Each create is applied and then answered 500 once: the retry must not duplicate it."""
    with FaultProxy(local.url) as proxy:
        for op in ("CreateCluster", "RegisterTaskDefinition", "CreateService", "PutRule", "PutTargets"):
            proxy.inject(op, "ambiguous")
        rounds, errors = converge(proxy.url, [EXAMPLE], rounds=3)
        assert proxy.count("ambiguous") == 5
    _, plan = plan_once(local.url, [EXAMPLE])
    assert not plan.has_changes, plan.summary()
    assert_exactly_one_of_each(inventory(clients_for(local.url)), expected_names([EXAMPLE]))


FLEET = int(os.environ.get("RELIABILITY_FLEET", "200"))


def test_fleet_converges_under_throttling_and_5xx(local, tmp_path):
    """200 services under 20% throttling + 5% 5xx, with the project's retry mode (standard: see aws.py)."""
    from .fleet import write_fleet

    paths = [str(write_fleet(tmp_path / "fleet", FLEET))]
    started = time.monotonic()
    with FaultProxy(local.url, throttle_rate=0.2, error_5xx_rate=0.05, seed=5, stream_key="request") as proxy:
        rounds, errors = converge(proxy.url, paths, rounds=4, max_attempts=20)
        injected = proxy.injected()
    elapsed = time.monotonic() - started
    assert injected > 100
    _, plan = plan_once(local.url, paths)
    assert not plan.has_changes, plan.summary()
    inv = inventory(clients_for(local.url))
    assert len([n for n in inv["services"] if n.startswith("svc-")]) == FLEET
    assert_exactly_one_of_each(inv, expected_names(paths))
    print(f"fleet of {FLEET}: {rounds} round(s), {elapsed:.1f}s, {injected} faults, errors={errors}")
