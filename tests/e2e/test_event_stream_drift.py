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
        boto3.client("ecs", endpoint_url=local.url).update_service(cluster="shop", service="shop-worker", desiredCount=3)
        keys: set = set()
        while time.monotonic() - started < 10 and ("Service", "shop", "shop-worker") not in keys:
            consumer.poll_once()
            keys = set().union(*dirty) if dirty else set()
        latency = time.monotonic() - started
        print(f"drift seen through the event stream after {latency:.2f}s")
        assert ("Service", "shop", "shop-worker") in keys
        assert latency < 5.0

        engine.reader.refresh(observed, desired, keys)
        plan = engine.plan(desired, observed)
        pending = {(a.kind, a.name): [c.path for c in a.changes] for a in plan.pending}
        assert pending == {("Service", "shop-worker"): ["spec.desiredCount"]}
        describes = {op: n for (svc, op), n in clients.call_log.calls.items()
                     if svc == "ecs" and op.startswith(("Describe", "List"))}
        assert describes == {"DescribeServices": 1}, describes
    finally:
        run_cli("events", "teardown")
