"""The many-targets benchmark on a reduced size: each target's cold plan makes exactly the calls of one
fleet at its lower bound (targets never cost each other calls), plus one AssumeRole."""

from __future__ import annotations

from benchmarks.bounds import bounds
from benchmarks.fleet import FleetShape
from benchmarks.targets import run

SHAPE = FleetShape(clusters=2, services=10, scheduled=2)


def test_each_target_cold_plans_at_the_one_fleet_lower_bound():
    results = run(3, SHAPE)
    lower = sum(bounds("cold_plan", SHAPE)[0].values())
    assert results["lower_bound_per_target"] == lower
    assert sorted(results["per_target"]) == ["t00", "t01", "t02"]
    for name, target in results["per_target"].items():
        assert (target["calls"], target["assume_role"], target["in_sync"]) == (lower, 1, True), name
        assert target["ratio_to_lower_bound"] == 1.0
    assert results["peak_rss_mb"] > 0 and results["cold_plan_cpu_s"] > 0
