"""The controller over two targets: the ambient one and an assumed-role one in another Region (the
local endpoint keys state by the assumed role's account). Both converge, drift in the assumed-role
target is healed there, and while that target's Region refuses every call (AccessDenied, through
the fault proxy) the ambient target keeps converging and the error is reported on the other only."""

from __future__ import annotations

import json
import time
from collections import Counter

import boto3
import pytest

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.controller.loop import Controller, ControllerConfig
from support.faultproxy import DENIED, FaultProxy

ACCOUNT, REGION = "222222222222", "eu-west-1"

TARGET = f"""\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Target
metadata: {{name: payments-eu}}
spec: {{region: {REGION}, roleArn: "arn:aws:iam::{ACCOUNT}:role/deployer"}}
---
"""


def app(target: str | None, count: int) -> str:
    where = f", target: {target}" if target else ""
    return f"""\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {{name: shop{where}}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {{name: web{where}}}
spec:
  containerDefinitions:
    - {{name: web, image: "nginx:1.27", memory: 128}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web{where}}}
spec: {{cluster: shop, taskDefinition: web, desiredCount: {count}}}
"""


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "manifests"
    path.mkdir()
    (path / "ambient.yaml").write_text(app(None, 1))
    (path / "payments.yaml").write_text(TARGET + app("payments-eu", 2))
    return path


def ecs_of(url: str, account: str | None):
    """An ECS client in the ambient account, or under the target's role in its Region."""
    if account is None:
        return boto3.client("ecs", endpoint_url=url, region_name="us-east-1")
    creds = boto3.client("sts", endpoint_url=url, region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/deployer", RoleSessionName="check")["Credentials"]
    return boto3.client("ecs", endpoint_url=url, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def desired_count(ecs) -> int:
    return ecs.describe_services(cluster="shop", services=["web"])["services"][0]["desiredCount"]


def test_two_targets_converge_heal_and_fail_independently(local, source, tmp_path):
    ambient, payments = ecs_of(local.url, None), ecs_of(local.url, ACCOUNT)
    with FaultProxy(local.url) as proxy:
        clients = Clients(AwsSettings(region="us-east-1", endpoint_url=proxy.url, max_attempts=1), CallLog())
        controller = Controller(clients, ControllerConfig(source=str(source), workdir=str(tmp_path / "work"),
                                                          resync_period=60, verify=False))
        assert controller.sync_once(), controller.status.document()["lastError"]
        # Each target's resources are in its own account and Region only.
        assert desired_count(ambient) == 1 and desired_count(payments) == 2
        assert ambient.list_clusters()["clusterArns"] == ["arn:aws:ecs:us-east-1:123456789012:cluster/shop"]
        assert payments.list_clusters()["clusterArns"] == [f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/shop"]
        doc = controller.status.document()
        assert sorted((r["target"], r["kind"], r["name"]) for r in doc["resources"]) == sorted(
            (t, k, n) for t in ("(ambient)", "payments-eu")
            for k, n in (("Cluster", "shop"), ("TaskDefinition", "web"), ("Service", "web")))
        assert [(t["target"], t["region"], t["account"], t["state"]) for t in doc["targets"]] == [
            ("(ambient)", "us-east-1", None, "ok"), ("payments-eu", REGION, ACCOUNT, "ok")]

        # Out-of-band change in the assumed-role target: healed there, the ambient copy untouched.
        payments.update_service(cluster="shop", service="web", desiredCount=5)
        assert controller.sync_once()
        assert desired_count(payments) == 2 and desired_count(ambient) == 1

        # payments-eu's Region refuses every call: the ambient target still heals; the error is on payments-eu.
        proxy.denied_regions.add(REGION)
        ambient.update_service(cluster="shop", service="web", desiredCount=4)
        assert not controller.sync_once()
        assert proxy.count(DENIED) >= 1
        assert desired_count(ambient) == 1
        doc = controller.status.document()
        sections = {t["target"]: t for t in doc["targets"]}
        assert sections["(ambient)"]["state"] == "ok" and sections["(ambient)"]["lastError"] is None
        assert sections["payments-eu"]["state"] == "error" and "AccessDenied" in sections["payments-eu"]["lastError"]
        rows = {(r["target"], r["kind"], r["name"]): r for r in doc["resources"]}
        assert {r["state"] for (t, _, _), r in rows.items() if t == "payments-eu"} == {"failed"}
        assert all("AccessDenied" in r["error"] for (t, _, _), r in rows.items() if t == "payments-eu")
        assert {r["state"] for (t, _, _), r in rows.items() if t == "(ambient)"} <= {"in-sync", "rolling-out"}
        assert "target payments-eu" in doc["lastError"]
        said = [(h["kind"], h["resource"]) for h in doc["timeline"]]
        assert ("target-failed", "target payments-eu") in said
        assert ("drift-healed", "(ambient):Service/web") in said and ("drift-healed", "payments-eu:Service/web") in said
        registry = controller.metrics.registry
        assert registry.get_sample_value("ecs_reconciler_target_up", {"target": "payments-eu", "region": REGION}) == 0
        assert registry.get_sample_value("ecs_reconciler_target_up", {"target": "(ambient)", "region": "us-east-1"}) == 1
        for target in ("(ambient)", "payments-eu"):  # each heal counted on its own target
            assert registry.get_sample_value("ecs_reconciler_target_drift_healed_total",
                                             {"target": target, "kind": "Service"}) == 1
        assert registry.get_sample_value("ecs_reconciler_target_aws_calls_total", {
            "target": "payments-eu", "service": "sts", "operation": "AssumeRole", "outcome": "success"}) == 1

        # Access is back: the target converges again (what changed there meanwhile is healed).
        payments.update_service(cluster="shop", service="web", desiredCount=3)
        proxy.denied_regions.clear()
        assert controller.sync_once(), controller.status.document()["lastError"]
        assert desired_count(payments) == 2
        assert {t["target"]: t["state"] for t in controller.status.document()["targets"]} == {
            "(ambient)": "ok", "payments-eu": "ok"}
        controller.stop()


def wait_for(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_each_target_reads_its_own_event_stream(local, local_clients, source, tmp_path):
    """`events setup` per target puts a queue of the same name in each account and Region; the
    controller consumes each target's queue into that target's informer, so an event in payments-eu
    makes it re-read only the service the event named, and heal it, with no resync due."""
    from reconciler.controller.target_lanes import new_lane
    from reconciler.desired.loader import load_manifests
    from reconciler.observed.event_plumbing import setup_event_stream

    ambient_stream = setup_event_stream(local_clients)
    target = load_manifests([str(source)]).targets["payments-eu"].manifest
    config = ControllerConfig(source=str(source), resync_period=600, events_queue=ambient_stream["queue_url"],
                              events_wait_seconds=1)
    target_clients = new_lane("payments-eu", target, local_clients.settings, config).clients
    target_stream = setup_event_stream(target_clients)
    assert f":{ACCOUNT}:" in target_stream["queue_arn"] and REGION in target_stream["queue_arn"]

    payments = ecs_of(local.url, ACCOUNT)
    config.workdir = str(tmp_path / "work")
    controller = Controller(local_clients, config).start()
    try:
        lane = wait_for(lambda: controller.lanes.get("payments-eu"), what="the target's lane")

        def settled():
            doc = controller.status.document()
            return doc["revision"] and {r["state"] for r in doc["resources"]} == {"in-sync"} and len(doc["resources"]) == 6
        wait_for(settled, what="both targets in sync")
        assert lane.consumer is not None and lane.consumer.queue_url == target_stream["queue_url"]
        arn = payments.update_service(cluster="shop", service="web", desiredCount=4)["service"]["serviceArn"]
        reads_before = Counter({op: n for (svc, op), n in lane.clients.call_log.calls.items()
                                if svc == "ecs" and op.startswith(("Describe", "List"))})
        detail = {"eventType": "INFO", "eventName": "SERVICE_STEADY_STATE",
                  "clusterArn": arn.split(":service/")[0] + ":cluster/shop"}
        sent = target_clients.events.put_events(Entries=[{"Source": "aws.ecs", "DetailType": "ECS Service Action",
                                                          "Resources": [arn], "Detail": json.dumps(detail)}])
        assert sent["FailedEntryCount"] == 0
        wait_for(lambda: desired_count(payments) == 2, what="the event-triggered heal in payments-eu", timeout=15)
        reads = Counter({op: n for (svc, op), n in lane.clients.call_log.calls.items()
                         if svc == "ecs" and op.startswith(("Describe", "List"))}) - reads_before
        assert set(reads) == {"DescribeServices"}, reads
    finally:
        controller.stop()


def test_status_shows_the_targets_the_source_declares(local, local_clients, tmp_path):
    """Only the lanes of the last reconcile are shown: no ambient section when every resource is in a
    Target, and no target sections (nor `target` on rows) once the source declares none again."""
    path = tmp_path / "manifests"
    path.mkdir()
    (path / "payments.yaml").write_text(TARGET + app("payments-eu", 1))
    controller = Controller(local_clients, ControllerConfig(source=str(path), workdir=str(tmp_path / "work"),
                                                            resync_period=60, verify=False))
    assert controller.sync_once(), controller.status.document()["lastError"]
    doc = controller.status.document()
    assert [t["target"] for t in doc["targets"]] == ["payments-eu"]
    assert {r["target"] for r in doc["resources"]} == {"payments-eu"} and len(doc["resources"]) == 3
    assert local_clients.call_log.writes() == {}  # nothing in the ambient account

    (path / "payments.yaml").unlink()
    (path / "ambient.yaml").write_text(app(None, 1))
    assert controller.sync_once(), controller.status.document()["lastError"]
    doc = controller.status.document()
    assert "targets" not in doc and all("target" not in r for r in doc["resources"]) and len(doc["resources"]) == 3
    assert list(controller.lanes) == [None]
    assert desired_count(ecs_of(local.url, ACCOUNT)) == 1  # left as it was: prune is per declared target
    controller.stop()
