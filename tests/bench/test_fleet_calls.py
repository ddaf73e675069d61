"""The benchmark scenarios on a reduced fleet: call counts are deterministic, so they are asserted
exactly (never wall times). Same code as `make bench`, endpoint in its own process."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.bounds import bounds
from benchmarks.fleet import FleetShape
from benchmarks.scenarios import run
from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.ratelimit import Bucket, RateLimiter, TokenBucket, action_class, parse_limits, projected_seconds

SHAPE = FleetShape(clusters=2, services=40, scheduled=10)


@pytest.fixture(scope="module")
def results():
    out = run(SHAPE)
    return {r["scenario"]: r for r in out["scenarios"]}


def _ecs_and_events(calls: dict[str, int]) -> dict[str, int]:
    return {op: n for op, n in calls.items() if op.startswith(("ecs:", "events:"))}


def test_cold_plan_and_apply_hit_the_batch_lower_bound(results):
    plan = results["cold_plan"]
    assert plan["pending"] == 0, plan["summary"]
    expected = {f"{s}:{o}": n for (s, o), n in bounds("cold_plan", SHAPE)[0].items()}
    assert plan["calls"] == expected
    assert expected["ecs:DescribeServices"] == 4 and expected["ecs:DescribeTaskDefinition"] == 50
    assert plan["ratio_to_lower_bound"] == 1.0
    assert plan["per_resource_reader"] > plan["calls_total"]

    apply = results["cold_apply"]
    assert apply["pending"] == 2 + 50 + 40 + 10  # clusters, families, services, rules
    writes = {op: n for op, n in apply["calls"].items() if not op.split(":")[1].startswith(("Describe", "List"))}
    assert writes == {"ecs:CreateCluster": 2, "ecs:RegisterTaskDefinition": 50, "ecs:CreateService": 40,
                      "events:PutRule": 10, "events:PutTargets": 10}


def test_cold_plan_cpu_is_set_against_a_replay_of_its_own_calls(results):
    """The SDK floor is the same requests through a bare boto3 client: exactly as many calls, so the
    CPU ratio compares like with like."""
    plan = results["cold_plan"]
    assert plan["sdk_floor_calls"] == plan["calls_total"] == sum(plan["calls"].values())
    assert plan["sdk_floor_cpu_s"] > 0
    assert plan["cpu_to_sdk_floor"] == round(plan["cpu_s"] / plan["sdk_floor_cpu_s"], 3)


def test_warm_paths_read_only_what_changed(results):
    warm = results["warm_reconcile"]
    assert warm["pending"] == 0 and warm["refreshed"] == 0 and warm["replanned"] == 0
    assert warm["calls"] == {}  # nothing re-read or re-planned: the event stream saw no change

    # The resync timer with the stream live: every service and cluster in full batches, nothing else.
    resync = results["warm_resync"]
    assert resync["calls"] == {"ecs:DescribeClusters": 1, "ecs:DescribeServices": 4}
    assert resync["calls_total"] == resync["lower_bound"]
    assert resync["pending"] == 0 and resync["missed"] == []
    assert resync["refreshed"] == 40 + 2 and resync["replanned"] == 2 + 50 + 40 + 10

    plan = results["image_change_plan"]
    assert sorted(plan["actions"]) == ["replace TaskDefinition/svc-0000", "update Service/svc-0000"] or \
        sorted(plan["actions"]) == ["update Service/svc-0000", "update TaskDefinition/svc-0000"]
    # Only the edited family is re-read; the service is planned again from the cache against it.
    assert _ecs_and_events(plan["calls"]) == {"ecs:DescribeTaskDefinition": 1}
    assert plan["calls_total"] <= 5
    # The family and the service again, plus the cluster the planner resolves the service against.
    assert plan["replanned"] == 3

    apply = results["image_change_apply"]
    assert apply["calls"] == {"ecs:RegisterTaskDefinition": 1, "ecs:UpdateService": 1}

    # The apply's own events come back and mark exactly the family and the service for a re-read.
    after = results["warm_reconcile_after_change"]
    assert after["pending"] == 0 and after["calls_total"] <= 5
    assert _ecs_and_events(after["calls"]) == {"ecs:DescribeServices": 1, "ecs:DescribeTaskDefinition": 1}


def test_token_bucket_waits_once_the_burst_is_spent():
    now = [0.0]
    slept: list[float] = []
    bucket = TokenBucket(Bucket(capacity=3, refill=2), clock=lambda: now[0], sleep=slept.append)
    assert [bucket.acquire() for _ in range(3)] == [0, 0, 0]
    assert bucket.acquire() == pytest.approx(0.5)  # fourth token: half a second at 2/s
    assert bucket.acquire() == pytest.approx(1.0)  # and the next one queues behind it
    now[0] = 10.0  # long idle: refilled to capacity, not beyond
    assert [bucket.acquire() for _ in range(3)] == [0, 0, 0]
    assert bucket.acquire() > 0
    assert slept == pytest.approx([0.5, 1.0, 0.5])


def test_limits_are_classified_configurable_and_projected():
    assert action_class("ecs", "DescribeClusters") == "ecs:cluster-read"
    assert action_class("ecs", "DescribeServices") == "ecs:service-read"
    assert action_class("eventbridge", "ListRules") == action_class("events", "PutTargets") == "events:control-plane"
    # Tag reads and tag writes are separate buckets on ECS (50 at 20/s against 20 at 10/s).
    assert (action_class("ecs", "ListTagsForResource"), action_class("ecs", "TagResource")) == ("ecs:tag-read",
                                                                                              "ecs:tag-modify")
    assert action_class("ecs", "DescribeTaskSets") == "ecs:other"
    assert parse_limits("ecs:service-read=10/5, events:control-plane=1/1") == {
        "ecs:service-read": Bucket(10, 5), "events:control-plane": Bucket(1, 1)}
    with pytest.raises(ValueError):
        parse_limits("ecs:service-read=fast")
    # 90 cluster reads against 50 burst at 20/s: the last waits 2 s; other classes run alongside.
    projected = projected_seconds(Counter({("ecs", "DescribeClusters"): 90, ("ecs", "DescribeServices"): 10}))
    assert projected["seconds"] == pytest.approx(2.0)


def test_clients_take_a_token_before_every_request(local, monkeypatch):
    slept: list[float] = []
    limiter = RateLimiter({"ecs:cluster-read": Bucket(2, 100)}, clock=lambda: 0.0, sleep=slept.append)
    clients = Clients(AwsSettings(region="us-east-1", endpoint_url=local.url), CallLog(), limiter=limiter)
    for _ in range(4):
        clients.ecs.describe_clusters(clusters=["none"])
    assert slept == pytest.approx([0.01, 0.02])
    assert limiter.waited["ecs:cluster-read"] == pytest.approx(0.03)
    # Without an explicit limiter a local endpoint is not throttled; AWS endpoints get the defaults.
    assert Clients(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:1"), CallLog()).limiter is None
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert isinstance(Clients(AwsSettings(region="us-east-1"), CallLog()).limiter, RateLimiter)


def test_refresh_reads_one_resource_per_key_and_plans_the_same(local):
    from reconciler.desired.loader import load_manifests
    from reconciler.engine import Engine, EngineOptions

    desired = load_manifests(["manifests"])
    log = CallLog()
    engine = Engine(Clients(AwsSettings(region="us-east-1", endpoint_url=local.url), log), EngineOptions())
    engine.apply(engine.plan(desired))
    state = engine.observe(desired)
    before = {(a.kind, a.name): a.action for a in engine.plan(desired, state).actions}
    assert set(before.values()) == {"none"}
    log.reset()
    keys = {("ScheduledTask", "shop-nightly-report"), ("Service", "shop", "shop-web"), ("TaskDefinition", "shop-web"),
            ("Cluster", "shop"), ("Service", "shop", "not-in-manifests")}
    assert engine.reader.refresh(state, desired, keys) == 4
    assert log.by_operation() == {"application-autoscaling:DescribeScalableTargets": 1,
                                  "ecs:DescribeClusters": 1, "ecs:DescribeServices": 1, "ecs:DescribeTaskDefinition": 1,
                                  "events:DescribeRule": 1, "events:ListTagsForResource": 1,
                                  "events:ListTargetsByRule": 1}
    assert {(a.kind, a.name): a.action for a in engine.plan(desired, state).actions} == before
    # A resource deleted behind our back disappears from the state on refresh, and the plan recreates it.
    ecs = local.client("ecs")
    ecs.delete_service(cluster="shop", service="shop-web", force=True)
    engine.reader.refresh(state, desired, {("Service", "shop", "shop-web")})
    assert engine.plan(desired, state).get("Service", "shop-web").action == "create"
