"""The controller in-process against the local endpoint and real git repositories (file:// URLs)."""

from __future__ import annotations

from collections import Counter

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler.controller.command import build_server
from reconciler.controller.loop import SUSPEND_FILE, Controller, ControllerConfig
from reconciler.controller.webhook import sign
from reconciler.desired.loader import load_manifests
from reconciler.engine import Engine
from reconciler.ownership import REVISION, tag_list_to_dict

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "base"
IDENT = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false",
         "-c", "init.defaultBranch=main"]
SECRET = "hook-secret"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def set_image(repo: Path, tag: str) -> None:
    web = repo / "web.yaml"
    web.write_text(web.read_text().replace("nginx/nginx:1.27", f"nginx/nginx:{tag}").replace("nginx/nginx:1.28", f"nginx/nginx:{tag}"))


@pytest.fixture
def upstream(tmp_path):
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q")
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, repo / name)
    return repo


def make(local_clients, tmp_path, source: str, **options) -> Controller:
    options.setdefault("poll_interval", 0.2)
    options.setdefault("resync_period", 60)
    options.setdefault("rollout_poll", 0.2)
    options.setdefault("backoff_base", 0.2)
    return Controller(local_clients, ControllerConfig(source=source, workdir=str(tmp_path / "work"), **options))


def http(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def status(server) -> dict:
    return json.loads(http(server.url + "/status")[1])


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {getattr(predicate, 'last', None)}")


def converged_at(server, revision: str):
    def check():
        doc = status(server)
        check.last = doc
        states = {r["state"] for r in doc["resources"]}
        return doc if doc["revision"] == revision and states == {"in-sync"} else None
    return check


def plan_of(local_clients, path: Path):
    return Engine(local_clients).plan(load_manifests([str(path)]))


def test_pushed_commit_converges_with_revision_tag(local, local_clients, upstream, tmp_path):
    first = commit(upstream, "initial")
    controller = make(local_clients, tmp_path, f"file://{upstream}#main")
    with build_server(controller) as server:
        assert http(server.url + "/readyz")[0] == 503
        controller.start()
        try:
            wait_for(converged_at(server, first), what="first commit")
            assert http(server.url + "/readyz")[0] == 200
            set_image(upstream, "1.28")
            second = commit(upstream, "web: nginx 1.28")
            wait_for(converged_at(server, second), what="second commit")
        finally:
            controller.stop()
    ecs = local.client("ecs")
    td = ecs.describe_task_definition(taskDefinition="shop-web", include=["TAGS"])
    assert td["taskDefinition"]["containerDefinitions"][0]["image"].endswith("nginx:1.28")
    assert td["taskDefinition"]["revision"] == 2
    assert tag_list_to_dict(td["tags"])[REVISION] == second
    service = ecs.describe_services(cluster="shop", services=["shop-web"], include=["TAGS"])["services"][0]
    assert service["taskDefinition"] == td["taskDefinition"]["taskDefinitionArn"]
    assert [d["taskDefinition"] for d in service["deployments"]] == [service["taskDefinition"]]
    assert service["runningCount"] == service["desiredCount"] == 2
    assert tag_list_to_dict(service["tags"])[REVISION] == second
    assert not plan_of(local_clients, upstream).has_changes


def test_webhook_wakes_the_poller(local, local_clients, upstream, tmp_path):
    first = commit(upstream, "initial")
    controller = make(local_clients, tmp_path, f"file://{upstream}#main", poll_interval=600)
    with build_server(controller, webhook_secret=SECRET) as server:
        controller.start()
        try:
            wait_for(converged_at(server, first), what="first commit")
            set_image(upstream, "1.28")
            second = commit(upstream, "web: nginx 1.28")
            body = json.dumps({"ref": "refs/heads/main", "after": second}).encode()
            bad = http(server.url + "/hooks/git", body, {"X-Hub-Signature-256": sign(b"wrong", body)})
            assert bad[0] == 401
            time.sleep(1.0)
            assert status(server)["revision"] == first  # a forged delivery woke nothing
            good = http(server.url + "/hooks/git", body, {"X-Hub-Signature-256": sign(SECRET.encode(), body),
                                                          "X-GitHub-Event": "push"})
            assert good[0] == 202
            wait_for(converged_at(server, second), timeout=15, what="webhook-triggered sync")
        finally:
            controller.stop()
    td = local.client("ecs").describe_task_definition(taskDefinition="shop-web")["taskDefinition"]
    assert td["containerDefinitions"][0]["image"].endswith("nginx:1.28")


def test_invalid_commit_changes_nothing_then_fix_applies(local, local_clients, upstream, tmp_path):
    first = commit(upstream, "initial")
    controller = make(local_clients, tmp_path, f"file://{upstream}#main")
    with build_server(controller) as server:
        assert controller.sync_once()
        set_image(upstream, "1.28")
        web = upstream / "web.yaml"
        web.write_text(web.read_text().replace("desiredCount: 2", "desiredCount: 2\n  replicas: 3"))
        broken = commit(upstream, "broken")
        before = local_clients.call_log.writes()
        assert not controller.sync_once()
        assert local_clients.call_log.writes() == before  # zero writes
        doc = status(server)
        assert doc["revision"] == first and doc["fetchedRevision"] == broken
        assert "replicas" in doc["lastError"] and broken[:12] in doc["lastError"]
        td = local.client("ecs").describe_task_definition(taskDefinition="shop-web")["taskDefinition"]
        assert td["containerDefinitions"][0]["image"].endswith("nginx:1.27")

        web.write_text(web.read_text().replace("\n  replicas: 3", ""))
        fixed = commit(upstream, "fixed")
        assert controller.sync_once()
        doc = status(server)
        assert doc["lastError"] is None and doc["revision"] == fixed
    td = local.client("ecs").describe_task_definition(taskDefinition="shop-web", include=["TAGS"])
    assert td["taskDefinition"]["containerDefinitions"][0]["image"].endswith("nginx:1.28")
    assert tag_list_to_dict(td["tags"])[REVISION] == fixed
    controller.stop()


def test_drift_reported_without_self_heal_healed_with_it_and_metrics(local, local_clients, tmp_path):
    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    state_file = str(tmp_path / "state.json")
    ecs = local.client("ecs")

    watcher = make(local_clients, tmp_path, str(source), self_heal=False, state_file=state_file)
    with build_server(watcher) as server:
        assert watcher.sync_once()
        ecs.update_service(cluster="shop", service="shop-web", desiredCount=5)
        before = local_clients.call_log.writes()
        assert watcher.sync_once()
        assert local_clients.call_log.writes() == before
        web = next(r for r in status(server)["resources"] if r["kind"] == "Service")
        assert web["state"] == "drifted" and web["drift"] == ["spec.desiredCount"]
        assert ecs.describe_services(cluster="shop", services=["shop-web"])["services"][0]["desiredCount"] == 5
    watcher.stop()

    healer = make(local_clients, tmp_path, str(source), state_file=state_file)
    with build_server(healer) as server:
        assert healer.sync_once()
        assert ecs.describe_services(cluster="shop", services=["shop-web"])["services"][0]["desiredCount"] == 2
        web = next(r for r in status(server)["resources"] if r["kind"] == "Service")
        assert web["state"] in ("rolling-out", "in-sync") and web["drift"] == []

        code, body = http(server.url + "/metrics")
        assert code == 200
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        for name in ("ecs_reconciler_reconcile_duration_seconds", "ecs_reconciler_resources",
                     "ecs_reconciler_drift_detected", "ecs_reconciler_drift_healed", "ecs_reconciler_aws_calls",
                     "ecs_reconciler_event_lag_seconds", "ecs_reconciler_applied_revision_info"):
            assert name in families, name
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
        assert samples[("ecs_reconciler_drift_healed_total", (("kind", "Service"),))] == 1
        assert samples[("ecs_reconciler_drift_detected_total", (("kind", "Service"),))] == 1
        assert samples[("ecs_reconciler_aws_calls_total",
                        (("operation", "UpdateService"), ("outcome", "success"), ("service", "ecs")))] >= 1
        assert samples[("ecs_reconciler_reconcile_duration_seconds_count", (("outcome", "ok"),))] == 1
        revision = healer.status.document()["revision"]
        assert samples[("ecs_reconciler_applied_revision_info", (("revision", revision),))] == 1
        in_sync = samples[("ecs_reconciler_resources", (("kind", "Cluster"), ("state", "in-sync")))]
        assert in_sync == 1
    healer.stop()


def test_prune_only_when_enabled_and_suspend_blocks_writes(local, local_clients, tmp_path):
    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml", "worker.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    ecs = local.client("ecs")
    keeper = make(local_clients, tmp_path, str(source))
    assert keeper.sync_once()
    (source / "worker.yaml").unlink()
    assert keeper.sync_once()
    worker = ecs.describe_services(cluster="shop", services=["shop-worker"])["services"]
    assert worker and worker[0]["status"] == "ACTIVE"

    pruner = make(local_clients, tmp_path, str(source), prune=True)
    with build_server(pruner) as server:
        (source / SUSPEND_FILE).write_text("")
        before = local_clients.call_log.writes()
        assert pruner.sync_once()
        assert local_clients.call_log.writes() == before
        assert status(server)["suspended"] is True
        (source / SUSPEND_FILE).unlink()
        assert http(server.url + "/suspend", b"")[0] == 200
        assert pruner.sync_once()
        assert local_clients.call_log.writes() == before
        assert http(server.url + "/resume", b"")[0] == 200
        assert pruner.sync_once()
        assert status(server)["suspended"] is False
        assert {r["name"] for r in status(server)["resources"]} == {"shop", "shop-web"}
    services = ecs.describe_services(cluster="shop", services=["shop-worker"])["services"]
    assert not services or services[0]["status"] != "ACTIVE"
    assert not plan_of(local_clients, source).has_changes


def test_event_stream_dirty_key_triggers_a_heal(local, local_clients, tmp_path):
    from reconciler.observed.event_plumbing import setup_event_stream

    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    stream = setup_event_stream(local_clients)
    ecs = local.client("ecs")
    controller = make(local_clients, tmp_path, str(source), resync_period=600, events_queue=stream["queue_url"],
                      events_wait_seconds=1)
    with build_server(controller) as server:
        controller.start()
        try:
            revision = wait_for(lambda: controller.status.document()["revision"], what="first load")
            wait_for(converged_at(server, revision), what="first apply")
            arn = ecs.update_service(cluster="shop", service="shop-web", desiredCount=4)["service"]["serviceArn"]
            time.sleep(1.0)  # no resync or rollout re-check is due: only an event can explain a heal
            assert ecs.describe_services(cluster="shop", services=["shop-web"])["services"][0]["desiredCount"] == 4
            reads_before = Counter({op: n for (svc, op), n in local_clients.call_log.calls.items()
                                    if svc == "ecs" and op.startswith(("Describe", "List"))})
            detail = {"eventType": "INFO", "eventName": "SERVICE_STEADY_STATE",
                      "clusterArn": arn.split(":service/")[0] + ":cluster/shop"}
            sent = local_clients.events.put_events(Entries=[{"Source": "aws.ecs", "DetailType": "ECS Service Action",
                                                             "Resources": [arn], "Detail": json.dumps(detail)}])
            assert sent["FailedEntryCount"] == 0
            wait_for(lambda: ecs.describe_services(cluster="shop", services=["shop-web"])["services"][0]["desiredCount"] == 2,
                     timeout=15, what="event-triggered heal")
            # The informer re-read only the service the event named: no cluster or family describe.
            reads = Counter({op: n for (svc, op), n in local_clients.call_log.calls.items()
                             if svc == "ecs" and op.startswith(("Describe", "List"))}) - reads_before
            assert set(reads) == {"DescribeServices"}, reads
        finally:
            controller.stop()


def _web_row(doc: dict) -> dict | None:
    return next((r for r in doc["resources"] if r["kind"] == "Service" and r["name"] == "shop-web"), None)


def test_a_rolled_back_deployment_shows_failed_and_is_not_deployed_again(local, local_clients, upstream, tmp_path):
    """The circuit breaker rolls a broken image back; deploying the same spec again would only fail
    again (and fight ECS forever), so the service shows failed until a new commit changes it."""
    first = commit(upstream, "initial")
    controller = make(local_clients, tmp_path, f"file://{upstream}#main")
    with build_server(controller) as server:
        controller.start()
        try:
            wait_for(converged_at(server, first), what="first commit")
            set_image(upstream, "fail-deploy")  # the local scheduler fails deployments of this image
            bad = commit(upstream, "web: an image whose tasks cannot start")

            def rolled_back():
                row = _web_row(status(server))
                rolled_back.last = row
                return row if row and row["state"] == "failed" and "rolled back" in (row["error"] or "") else None
            row = wait_for(rolled_back, what="the rolled-back service to show failed")
            assert row["action"] == "update" and "spec.taskDefinition" in row["drift"]
            service = local.client("ecs").describe_services(cluster="shop", services=["shop-web"])["services"][0]
            assert service["taskDefinition"].endswith("shop-web:1")  # ECS put the previous revision back

            updates = local_clients.call_log.calls[("ecs", "UpdateService")]
            for _ in range(5):  # several reconciles: none of them may deploy the broken spec again
                controller.trigger()
                time.sleep(0.3)
            assert local_clients.call_log.calls[("ecs", "UpdateService")] == updates
            doc = status(server)
            # The commit was applied (revision); its rollout failed (the row), as Argo CD's Synced + Degraded.
            assert doc["revision"] == bad and _web_row(doc)["state"] == "failed"

            web = upstream / "web.yaml"
            web.write_text(web.read_text().replace("nginx/nginx:fail-deploy", "nginx/nginx:1.28"))
            fixed = commit(upstream, "web: a good image")
            wait_for(converged_at(server, fixed), what="the fix")
        finally:
            controller.stop()


def test_a_failed_first_deployment_shows_its_reason_instead_of_rolling_out_forever(local, local_clients, upstream,
                                                                                   tmp_path):
    web = upstream / "web.yaml"
    web.write_text(web.read_text().replace("nginx/nginx:1.27", "nginx/nginx:fail-deploy")
                   .replace("deploymentCircuitBreaker: {enable: true, rollback: true}",
                            "deploymentCircuitBreaker: {enable: true, rollback: false}"))
    commit(upstream, "web: an image whose tasks cannot start")
    controller = make(local_clients, tmp_path, f"file://{upstream}#main")
    with build_server(controller) as server:
        controller.start()
        try:
            def failed():
                row = _web_row(status(server))
                failed.last = row
                return row if row and row["state"] == "failed" else None
            row = wait_for(failed, what="the service to show failed")
            assert "circuit breaker" in row["error"] and row["action"] == "none"
            assert local_clients.call_log.calls[("ecs", "CreateService")] == 1
            assert local_clients.call_log.calls[("ecs", "UpdateService")] == 0
        finally:
            controller.stop()


GHOST_SERVICE = """---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata:
  name: {name}
spec:
  cluster: arn:aws:ecs:us-east-1:123456789012:cluster/{name}-cluster
  taskDefinition: shop-web
  desiredCount: 1
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration:
      subnets: [subnet-00000000000000001]
      securityGroups: [sg-00000000000000001]
"""


def test_every_failed_write_of_a_wave_is_reported_on_its_own_resource(local, local_clients, tmp_path):
    """Services of one wave are created in parallel: each one whose write fails shows failed with its
    own error, and the one that succeeded beside them is not blamed."""
    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    (source / "ghosts.yaml").write_text("".join(GHOST_SERVICE.format(name=n) for n in ("ghost-a", "ghost-b")))

    controller = make(local_clients, tmp_path, str(source))
    with build_server(controller) as server:
        assert not controller.sync_once()
        rows = {(r["kind"], r["name"]): r for r in status(server)["resources"]}
    controller.stop()
    for name in ("ghost-a", "ghost-b"):
        row = rows[("Service", name)]
        assert row["state"] == "failed" and "ClusterNotFoundException" in row["error"], row
    assert rows[("Service", "shop-web")]["state"] in ("rolling-out", "in-sync")
    assert rows[("Service", "shop-web")]["error"] is None
    assert {rows[k]["state"] for k in (("Cluster", "shop"), ("TaskDefinition", "shop-web"))} == {"in-sync"}
    created = local.client("ecs").describe_services(cluster="shop", services=["shop-web"])["services"]
    assert [s["status"] for s in created] == ["ACTIVE"]


def _reads_since(clients, before: Counter) -> Counter:
    return Counter({f"{svc}:{op}": n for (svc, op), n in clients.call_log.calls.items()
                    if op.startswith(("Describe", "List"))}) - before


def _reads(clients) -> Counter:
    return _reads_since(clients, Counter())


def test_resync_with_a_stream_rereads_services_and_clusters_and_a_full_one_everything(local, local_clients, tmp_path):
    """With an event stream, the resync timer re-reads every service and cluster (and finds what the
    stream missed); every full resync period, every kind is read again."""
    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml", "nightly-report.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    # A queue no rule feeds: every out-of-band change below is an event the stream "missed".
    queue = local_clients.client("sqs").create_queue(QueueName="silent")["QueueUrl"]
    ecs = local.client("ecs")
    controller = make(local_clients, tmp_path, str(source), events_queue=queue, full_resync_period=3600)

    def settled():
        controller.sync_once()
        states = {r["state"] for r in controller.status.document()["resources"]}
        settled.last = states
        return states == {"in-sync"}

    wait_for(settled, what="the first apply to finish rolling out")
    ecs.update_service(cluster="shop", service="shop-web", desiredCount=4)
    writes = local_clients.call_log.writes()
    before = _reads(local_clients)
    assert controller.sync_once()  # between resyncs: only what events marked, and none came
    assert local_clients.call_log.writes() == writes and _reads_since(local_clients, before) == Counter()

    controller.request_resync()
    before = _reads(local_clients)
    assert controller.sync_once()
    assert _reads_since(local_clients, before) == {"ecs:DescribeServices": 1, "ecs:DescribeClusters": 1}
    assert ecs.describe_services(cluster="shop", services=["shop-web"])["services"][0]["desiredCount"] == 2
    assert controller.metrics.registry.get_sample_value("ecs_reconciler_missed_events_total") == 1

    controller.request_resync(full=True)
    before = _reads(local_clients)
    assert controller.sync_once()
    full = _reads_since(local_clients, before)
    assert {"ecs:DescribeTaskDefinition", "events:ListRules", "events:ListTargetsByRule"} <= set(full), full
    controller.stop()
