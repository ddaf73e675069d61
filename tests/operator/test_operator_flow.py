"""The operator end to end: kmock as Kubernetes, the local ECS endpoint as AWS."""

from __future__ import annotations

import asyncio

import boto3
import pytest

from reconciler.aws import CallLog
from reconciler.controller.status import StatusBoard
from reconciler.operator.handlers import OperatorConfig

CLUSTER = {"settings": [{"name": "containerInsights", "value": "enabled"}], "tags": {"team": "shop"}}
TASK_DEFINITION = {
    "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
    "containerDefinitions": [{"name": "web", "image": "nginx:1.26", "portMappings": [{"containerPort": 80}]}],
}
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-00000000000000001"], "securityGroups": ["sg-00000000000000001"]}}


def service(policy: str) -> dict:
    return {"cluster": "shop", "taskDefinition": "web", "desiredCount": 1, "launchType": "FARGATE",
            "networkConfiguration": NETWORK, "deletionPolicy": policy}


def synced(kube, crd_kind, name, **expect):
    async def check():
        status = await kube.status(crd_kind, name)
        return status if status.get("synced") and all(status.get(k) == v for k, v in expect.items()) else None
    return kube.wait_for(check, what=f"{crd_kind}/{name} synced {expect}")


def ready(kube, crd_kind, name):
    """Synced and Ready: for a service, once its deployment has finished (Reconciling/RollingOut before)."""
    async def check():
        status = await kube.status(crd_kind, name)
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        return status if status.get("synced") and conditions.get("Ready", {}).get("status") == "True" else None
    return kube.wait_for(check, what=f"{crd_kind}/{name} ready")


async def create_synced_app(kube) -> None:
    """A cluster, a task definition and a service (Retain) named shop/web/web, synced."""
    await kube.create("EcsCluster", "shop", CLUSTER)
    await kube.create("EcsTaskDefinition", "web", TASK_DEFINITION)
    await kube.create("EcsService", "web", service("Retain"))
    await synced(kube, "EcsService", "web")


@pytest.mark.asyncio
async def test_objects_converge_update_drift_heal_and_delete(kube, local, run_operator):
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, self_heal=False,
                            retry_delay=0.5)
    async with run_operator(kube.url, config):
        # Created out of order: the services wait for their dependencies to sync.
        await kube.create("EcsService", "web", service("Retain"))
        await kube.create("EcsService", "api", {**service("Delete"), "awsName": "shop-api"})
        await kube.create("EcsTaskDefinition", "web", TASK_DEFINITION)
        await kube.create("EcsCluster", "shop", CLUSTER)
        web = await synced(kube, "EcsService", "web")
        await synced(kube, "EcsService", "api")
        described = ecs.describe_services(cluster="shop", services=["web", "shop-api"])["services"]
        assert [s["status"] for s in described] == ["ACTIVE", "ACTIVE"]
        assert web["arn"] == described[0]["serviceArn"]
        assert web["lastAppliedRevision"] == "web:1"
        web = await ready(kube, "EcsService", "web")  # Ready once the deployment has finished
        conditions = {c["type"]: c for c in web["conditions"]}
        assert conditions["Stalled"]["status"] == "False" and conditions["Reconciling"]["status"] == "False"
        assert conditions["Ready"]["observedGeneration"] == 1
        await kube.wait_for_event("Create")

        # A new image rolls a new revision.
        containers = [{**TASK_DEFINITION["containerDefinitions"][0], "image": "nginx:1.27"}]
        await kube.patch_spec("EcsTaskDefinition", "web", {"containerDefinitions": containers})
        td = await synced(kube, "EcsTaskDefinition", "web", lastAppliedRevision="web:2", observedGeneration=2)
        latest = ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
        assert latest["revision"] == 2 and latest["containerDefinitions"][0]["image"] == "nginx:1.27"
        assert td["arn"] == latest["taskDefinitionArn"]

        # Out-of-band scaling is reported, not healed, without self-heal.
        ecs.update_service(cluster="shop", service="web", desiredCount=3)

        async def count_drift():
            status = await kube.status("EcsService", "web")
            return status if "spec.desiredCount" in status.get("driftedPaths", []) else None
        try:
            drifted = await kube.wait_for(count_drift, what="desiredCount drift")
        except AssertionError as exc:  # say what the operator believed, and what AWS had
            count = ecs.describe_services(cluster="shop", services=["web"])["services"][0]["desiredCount"]
            raise AssertionError(f"{exc}; status {await kube.status('EcsService', 'web')}; desiredCount {count}") from None
        assert drifted["drifted"] is True
        assert ecs.describe_services(cluster="shop", services=["web"])["services"][0]["desiredCount"] == 3

    config.self_heal = True
    async with run_operator(kube.url, config):
        await synced(kube, "EcsService", "web", drifted=False)
        ecs.update_service(cluster="shop", service="web", desiredCount=4)

        async def healed():
            svc = ecs.describe_services(cluster="shop", services=["web"])["services"][0]
            return svc["desiredCount"] == 1 and any(e.get("reason") == "Healed" for e in kube.events())
        await kube.wait_for(healed, what="drift healed")
        assert (await kube.status("EcsService", "web"))["drifted"] is False

        await kube.delete("EcsService", "web")
        await kube.delete("EcsService", "api")

        async def gone():
            return await kube.get("EcsService", "web") is None and await kube.get("EcsService", "api") is None
        await kube.wait_for(gone, what="finalizers released")
    statuses = {s["serviceName"]: s["status"] for s in
                ecs.describe_services(cluster="shop", services=["web", "shop-api"])["services"]}
    assert statuses["web"] == "ACTIVE"
    assert statuses["shop-api"] in ("DRAINING", "INACTIVE")


@pytest.mark.asyncio
async def test_invalid_spec_is_stalled_without_any_aws_call(kube, local, run_operator):
    calls = CallLog()
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, call_log=calls)
    async with run_operator(kube.url, config):
        await kube.create("EcsCluster", "shop", {**CLUSTER, "capacityProvider": ["FARGATE"]})

        async def stalled():
            conditions = {c["type"]: c for c in (await kube.status("EcsCluster", "shop")).get("conditions", [])}
            return conditions.get("Stalled") if conditions.get("Stalled", {}).get("status") == "True" else None
        condition = await kube.wait_for(stalled, what="Stalled")
        assert condition["reason"] == "InvalidSpec"
        assert "capacityProvider" in condition["message"] and "unknown field" in condition["message"]
        await kube.wait_for_event("InvalidSpec")
        await kube.delete("EcsCluster", "shop")
        await kube.wait_for(lambda: _absent(kube), what="deleted")
    assert calls.total() == 0, calls.calls


async def _absent(kube):
    return await kube.get("EcsCluster", "shop") is None


@pytest.mark.asyncio
async def test_event_stream_turns_drifted_true_long_before_the_resync(kube, emitting, run_operator):
    from reconciler.aws import AwsSettings, Clients
    from reconciler.observed.event_plumbing import setup_event_stream

    local = emitting
    queue = setup_event_stream(Clients(AwsSettings(region="us-east-1", endpoint_url=local.url), CallLog()))["queue_url"]
    # Another IAM user makes the change: the local endpoint names the caller by its access key.
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1", aws_access_key_id="alice",
                       aws_secret_access_key="alice")
    board, said = StatusBoard("kubernetes", {}), []
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=600, self_heal=False,
                            retry_delay=0.5, events_queue=queue, tick_seconds=0.5, board=board, notify=said.append)
    async with run_operator(kube.url, config):
        await create_synced_app(kube)
        ecs.update_service(cluster="shop", service="web", desiredCount=2)

        async def drifted():
            status = await kube.status("EcsService", "web")
            return status if status.get("drifted") else None
        status = await kube.wait_for(drifted, timeout=15, what="drift reported through the event stream")
        assert status["driftedPaths"] == ["spec.desiredCount"]
        assert status["driftedBy"]["principal"] == "arn:aws:iam::123456789012:user/alice"
        assert status["driftedBy"]["call"] == "UpdateService" and status["driftedBy"]["time"]
        row = next(r for r in board.document()["resources"] if r["kind"] == "Service")
        assert row["state"] == "drifted" and row["changedBy"]["principal"].endswith(":user/alice")
        assert row["target"]  # grouped by the object's namespace
        drifts = [h for h in said if h.kind == "drift-found"]
        assert len(drifts) == 1 and drifts[0].who["principal"].endswith(":user/alice"), said
        await kube.wait_for_event("Drifted", "changed by arn:aws:iam::123456789012:user/alice (UpdateService")


@pytest.mark.asyncio
async def test_metrics_count_reconciles_drift_and_aws_calls(kube, local, run_operator):
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from reconciler.operator.metrics import OperatorMetrics

    calls = CallLog()
    metrics = OperatorMetrics(calls)
    board = StatusBoard("kubernetes", {})
    server = metrics.serve("127.0.0.1", 0, board)
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, self_heal=True,
                            retry_delay=0.5, call_log=calls, metrics=metrics, board=board)
    try:
        async with run_operator(kube.url, config):
            await create_synced_app(kube)
            ecs.update_service(cluster="shop", service="web", desiredCount=5)

            def scrape() -> dict:
                text = urllib.request.urlopen(f"{server.url}/metrics").read().decode()
                return {(s.name, tuple(sorted(s.labels.items()))): s.value
                        for family in text_string_to_metric_families(text) for s in family.samples}

            async def healed():
                samples = scrape()
                return samples if samples.get(("ecs_reconciler_drift_healed_total", (("kind", "Service"),))) else None
            samples = await kube.wait_for(healed, what="drift healed in metrics")
            page = urllib.request.urlopen(f"{server.url}/").read().decode()  # the dashboard, same port
            assert 'id="Service/web"' in page and 'id="Cluster/shop"' in page and 'id="control"' not in page
    finally:
        server.stop()
    assert samples[("ecs_reconciler_operator_reconciles_total", (("kind", "Service"), ("outcome", "synced")))] >= 1
    assert samples[("ecs_reconciler_drift_detected_total", (("kind", "Service"),))] >= 1
    assert samples[("ecs_reconciler_aws_calls_total",
                    (("operation", "CreateService"), ("outcome", "success"), ("service", "ecs")))] == 1


@pytest.mark.asyncio
async def test_a_rolled_back_deployment_stalls_instead_of_fighting_the_circuit_breaker(kube, local, run_operator):
    """A new image whose tasks cannot start: ECS's circuit breaker rolls the service back. The
    operator reports Stalled/RolledBack and does not deploy that revision again; a fixed image
    deploys and the service is Ready again."""
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    calls = CallLog()
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, retry_delay=0.5,
                            call_log=calls)
    breaker = {"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}}
    async with run_operator(kube.url, config):
        await kube.create("EcsCluster", "shop", CLUSTER)
        await kube.create("EcsTaskDefinition", "web", TASK_DEFINITION)
        await kube.create("EcsService", "web", {**service("Retain"), **breaker})
        await ready(kube, "EcsService", "web")

        def with_image(image: str) -> dict:
            return {"containerDefinitions": [{**TASK_DEFINITION["containerDefinitions"][0], "image": image}]}
        await kube.patch_spec("EcsTaskDefinition", "web", with_image("nginx:fail-deploy"))

        async def rolled_back():
            status = await kube.status("EcsService", "web")
            conditions = {c["type"]: c for c in status.get("conditions") or []}
            stalled = conditions.get("Stalled", {})
            return status if stalled.get("status") == "True" and stalled.get("reason") == "RolledBack" else None
        status = await kube.wait_for(rolled_back, what="Stalled/RolledBack")
        assert status["lastAppliedRevision"] == "web:2" and "spec.taskDefinition" in status["driftedPaths"]
        assert ecs.describe_services(cluster="shop", services=["web"])["services"][0]["taskDefinition"].endswith("web:1")
        await kube.wait_for_event("RolledBack")

        updates = calls.calls[("ecs", "UpdateService")]
        await asyncio.sleep(3)  # six resync periods: none may deploy web:2 again
        assert calls.calls[("ecs", "UpdateService")] == updates

        await kube.patch_spec("EcsTaskDefinition", "web", with_image("nginx:1.27"))
        healed = await ready(kube, "EcsService", "web")
        assert healed["lastAppliedRevision"] == "web:3"
        assert ecs.describe_services(cluster="shop", services=["web"])["services"][0]["taskDefinition"].endswith("web:3")


@pytest.mark.asyncio
async def test_a_new_service_turns_ready_when_its_deployment_finishes_not_at_the_resync(kube, local, run_operator):
    """Right after the write a service is Reconciling/RollingOut; a timer that runs only for such
    services (every rollout_poll_seconds) turns it Ready, long before the 600 s drift resync."""
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=600, retry_delay=0.5,
                            rollout_poll_seconds=1.5)
    async with run_operator(kube.url, config):
        await kube.create("EcsCluster", "shop", CLUSTER)
        await kube.create("EcsTaskDefinition", "web", TASK_DEFINITION)
        await kube.create("EcsService", "web", service("Retain"))
        status = await synced(kube, "EcsService", "web")
        conditions = {c["type"]: c for c in status["conditions"]}
        assert (conditions["Reconciling"]["status"], conditions["Reconciling"]["reason"]) == ("True", "RollingOut")
        assert conditions["Ready"]["status"] == "False"
        status = await ready(kube, "EcsService", "web")
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Reconciling"]["status"] == "False" and conditions["Stalled"]["status"] == "False"


@pytest.mark.asyncio
async def test_a_manual_rollback_is_not_undone_until_resumed(kube, local, run_operator):
    """`ecs-reconciler rollback` puts web:1 back: the operator reports Stalled/RolledBackManually
    (saying how to resume) and does not deploy web:2 again, self-heal on; `resume` hands it back."""
    from click.testing import CliRunner

    from reconciler.cli import cli

    def run_cli(*args: str):
        return CliRunner().invoke(cli, ["--endpoint-url", local.url, "--region", "us-east-1", *args])

    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    calls = CallLog()
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, retry_delay=0.5,
                            call_log=calls)
    async with run_operator(kube.url, config):
        await create_synced_app(kube)
        containers = [{**TASK_DEFINITION["containerDefinitions"][0], "image": "nginx:1.27"}]
        await kube.patch_spec("EcsTaskDefinition", "web", {"containerDefinitions": containers})
        await synced(kube, "EcsService", "web", lastAppliedRevision="web:2")
        await ready(kube, "EcsService", "web")

        result = await asyncio.to_thread(run_cli, "rollback", "web", "--cluster", "shop", "--no-wait")
        assert result.exit_code == 0, result.output

        async def suspended():
            status = await kube.status("EcsService", "web")
            conditions = {c["type"]: c for c in status.get("conditions") or []}
            stalled = conditions.get("Stalled", {})
            return stalled if stalled.get("status") == "True" and stalled.get("reason") == "RolledBackManually" else None
        stalled = await kube.wait_for(suspended, what="Stalled/RolledBackManually")
        assert "ecs-reconciler resume web --cluster shop" in stalled["message"]
        updates = calls.calls[("ecs", "UpdateService")]
        await asyncio.sleep(3)  # six resync periods with self-heal: none may deploy web:2 again
        assert calls.calls[("ecs", "UpdateService")] == updates
        assert ecs.describe_services(cluster="shop", services=["web"])["services"][0]["taskDefinition"].endswith("web:1")

        result = await asyncio.to_thread(run_cli, "resume", "web", "--cluster", "shop")
        assert result.exit_code == 0, result.output

        async def redeployed():
            running = ecs.describe_services(cluster="shop", services=["web"])["services"][0]["taskDefinition"]
            return running if running.endswith("web:2") else None
        await kube.wait_for(redeployed, what="web:2 deployed again")
