"""Drift through the event path: an out-of-band UpdateService reaches us as an event, and only the
touched service is described again (resync disabled)."""

from __future__ import annotations

import json
import time

import boto3

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.desired.loader import load_manifests
from reconciler.engine import Engine
from reconciler.observed.consumer import EventConsumer
from reconciler.observed.event_cache import EventCache


def test_out_of_band_update_is_seen_through_events_with_one_describe(emitting, run_cli):
    local = emitting
    try:
        code, out, err, _ = run_cli("events", "setup")
        assert code == 0, err
        queue_url = json.loads(out)["queue_url"]
        code, _, err, _ = run_cli("apply", "manifests", "--yes", "--wait", "--timeout", "30")
        assert code == 0, err

        clients = Clients(AwsSettings(region="us-east-1", endpoint_url=local.url), CallLog())
        engine = Engine(clients)
        desired = load_manifests(["manifests"])
        observed = engine.observe(desired)
        assert not engine.plan(desired, observed).has_changes
        dirty: list[set] = []
        consumer = EventConsumer(clients, queue_url, EventCache(), dirty.append, wait_seconds=1)
        while consumer.poll_once():  # drain what the apply itself caused
            pass
        dirty.clear()
        clients.call_log.reset()

        started = time.monotonic()
        boto3.client("ecs", endpoint_url=local.url).update_service(cluster="shop", service="shop-web", desiredCount=3)
        keys: set = set()
        while time.monotonic() - started < 10 and ("Service", "shop", "shop-web") not in keys:
            consumer.poll_once()
            keys = set().union(*dirty) if dirty else set()
        latency = time.monotonic() - started
        print(f"drift seen through the event stream after {latency:.2f}s")
        assert ("Service", "shop", "shop-web") in keys
        assert latency < 5.0

        engine.reader.refresh(observed, desired, keys)
        plan = engine.plan(desired, observed)
        pending = {(a.kind, a.name): [c.path for c in a.changes] for a in plan.pending}
        assert pending == {("Service", "shop-web"): ["spec.desiredCount"]}
        describes = {op: n for (svc, op), n in clients.call_log.calls.items()
                     if svc == "ecs" and op.startswith(("Describe", "List"))}
        assert describes == {"DescribeServices": 1}, describes
    finally:
        run_cli("events", "teardown")


def test_out_of_band_autoscaling_and_schedule_edits_are_seen_through_events(emitting, run_cli):
    """A scaling policy and a Scheduler schedule changed in the console reach the consumer as
    CloudTrail API calls naming the service and the schedule; re-reading just those shows the drift."""
    local = emitting
    try:
        code, out, err, _ = run_cli("events", "setup")
        assert code == 0, err
        queue_url = json.loads(out)["queue_url"]
        code, _, err, _ = run_cli("apply", "manifests", "--yes")
        assert code == 0, err
        clients = Clients(AwsSettings(region="us-east-1", endpoint_url=local.url), CallLog())
        engine = Engine(clients)
        desired = load_manifests(["manifests"])
        observed = engine.observe(desired)
        assert not engine.plan(desired, observed).has_changes
        dirty: list[set] = []
        consumer = EventConsumer(clients, queue_url, EventCache(), dirty.append, wait_seconds=1)
        while consumer.poll_once():
            pass
        dirty.clear()

        aas = boto3.client("application-autoscaling", endpoint_url=local.url)
        aas.put_scaling_policy(
            ServiceNamespace="ecs", ResourceId="service/shop/shop-worker", ScalableDimension="ecs:service:DesiredCount",
            PolicyName="shop-worker-cpu70", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 95.0, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
        scheduler = boto3.client("scheduler", endpoint_url=local.url)
        schedule = scheduler.get_schedule(Name="shop-weekly-report", GroupName="ecs-reconciler")
        scheduler.update_schedule(**{k: schedule[k] for k in ("Name", "GroupName", "ScheduleExpressionTimezone",
                                                               "FlexibleTimeWindow", "Target", "Description")},
                                  ScheduleExpression="cron(0 9 ? * MON *)")
        wanted = {("Service", "shop", "shop-worker"), ("Schedule", "shop-weekly-report")}
        keys: set = set()
        started = time.monotonic()
        while time.monotonic() - started < 10 and not wanted <= keys:
            consumer.poll_once()
            keys = set().union(*dirty) if dirty else set()
        assert wanted <= keys, keys

        engine.reader.refresh(observed, desired, keys)
        pending = {(a.kind, a.name): [c.path for c in a.changes] for a in engine.plan(desired, observed).pending}
        assert pending == {
            ("Service", "shop-worker"): [
                "spec.autoScaling.policies[shop-worker-cpu70].targetTrackingScalingPolicyConfiguration.targetValue"],
            ("Schedule", "shop-weekly-report"): ["spec.ScheduleExpression"],
        }
    finally:
        run_cli("events", "teardown")
