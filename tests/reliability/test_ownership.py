"""Ownership: unowned same-named resources are conflicts (no writes) until adopted; prune deletes
only what this instance owns, so two instances sharing an account never touch each other."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import boto3

from .fleet import write_fleet
from .helpers import EXAMPLE, PLAIN, expected_names, inventory, clients_for


def test_unowned_cluster_is_a_conflict_until_adopted(run_cli, local, tmp_path):
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    ecs.create_cluster(clusterName="shop")  # same name, no ownership tags

    code, out, err, writes = run_cli("plan", EXAMPLE, "--output", "json")
    assert code == 1
    conflicts = [r for r in json.loads(out)["resources"] if r["action"] == "conflict"]
    assert [(r["kind"], r["name"]) for r in conflicts] == [("Cluster", "shop")]
    assert writes == {}

    code, out, err, writes = run_cli("apply", EXAMPLE, "--yes")
    assert code == 1, out
    assert "not managed by" in out + err
    assert sum(writes.values()) == 0, writes
    assert ecs.list_services(cluster="shop")["serviceArns"] == []

    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app, ignore=PLAIN)
    cluster = app / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("  name: shop\n", "  name: shop\n  annotations:\n    ecs-reconciler.io/adopt: \"true\"\n"))
    code, out, err, writes = run_cli("apply", str(app), "--yes")
    assert code == 0, err
    assert writes[("ecs", "TagResource")] >= 1 and ("ecs", "CreateCluster") not in writes
    tags = {t["key"]: t["value"] for t in ecs.describe_clusters(clusters=["shop"], include=["TAGS"])["clusters"][0]["tags"]}
    assert tags["ecs-reconciler.io/managed-by"] == "ecs-reconciler"
    code, out, err, _ = run_cli("plan", str(app), "--detailed-exitcode")
    assert code == 0, out


def test_two_instances_never_touch_each_other_even_with_prune(run_cli, local, tmp_path):
    a_dir = str(write_fleet(tmp_path / "a", 3, cluster="alpha", prefix="a"))
    b_dir = write_fleet(tmp_path / "b", 3, cluster="beta", prefix="b")
    b_all = str(b_dir)
    assert run_cli("--instance", "a", "apply", a_dir, "--yes")[0] == 0
    assert run_cli("--instance", "b", "apply", b_all, "--yes")[0] == 0
    before = inventory(clients_for(local.url))
    assert before["clusters"] == {"alpha", "beta"}

    # Each instance, pruning, sees the other's resources as not its own: no delete, no write.
    for instance, path in (("a", a_dir), ("b", b_all)):
        code, out, err, writes = run_cli("--instance", instance, "apply", path, "--yes", "--prune")
        assert code == 0, err
        assert writes == {}, (instance, writes)
        code, out, err, _ = run_cli("--instance", instance, "plan", path, "--prune", "--detailed-exitcode")
        assert code == 0, out

    # b drops one service and its family from its manifests: prune deletes exactly those.
    services = (b_dir / "services.yaml").read_text().split("---\n")
    (b_dir / "services.yaml").write_text("---\n".join(p for p in services if "b-0002" not in p))
    code, out, err, writes = run_cli("--instance", "b", "apply", b_all, "--yes", "--prune")
    assert code == 0, err
    assert writes == {("ecs", "DeleteService"): 1, ("ecs", "DeregisterTaskDefinition"): 1}, writes
    after = inventory(clients_for(local.url))
    assert after["services"] == before["services"] - Counter({"b-0002": 1})
    assert after["families"] == before["families"] - Counter({"b-0002": 1})
    assert {k for k, v in after["owners"].items() if v == "a"} == {k for k, v in before["owners"].items() if v == "a"}

    # b pointed at a's manifests (same names, owned by a) only reports conflicts and writes nothing.
    code, out, err, writes = run_cli("--instance", "b", "apply", a_dir, "--yes", "--prune")
    assert code == 1 and writes == {}
    code, out, err, writes = run_cli("--instance", "b", "plan", a_dir, "--output", "json")
    doc = json.loads(out)
    assert code == 1 and {r["action"] for r in doc["resources"]} == {"conflict"}
    names = expected_names([a_dir])
    assert len(doc["resources"]) == sum(len(v) for v in names.values())


def test_prune_never_takes_the_event_stream_for_a_scheduled_task(run_cli, local):
    code, out, err, _ = run_cli("events", "setup")
    assert code == 0, err
    assert run_cli("apply", EXAMPLE, "--yes")[0] == 0
    code, out, err, writes = run_cli("plan", EXAMPLE, "--prune", "--output", "json")
    deletes = [(r["kind"], r["name"]) for r in json.loads(out)["resources"] if r["action"] == "delete"]
    assert deletes == [], deletes
    code, out, err, writes = run_cli("apply", EXAMPLE, "--yes", "--prune")
    assert code == 0, err
    assert not any(op in ("DeleteRule", "RemoveTargets") for (_, op) in writes), writes
    events = boto3.client("events", endpoint_url=local.url, region_name="us-east-1")
    assert events.describe_rule(Name="ecs-reconciler")["State"] == "ENABLED"


MOVE = """\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: blue}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: green}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: mover}
spec:
  containerDefinitions: [{name: app, image: public.ecr.aws/nginx/nginx:1.27, memory: 128}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: mover}
spec: {cluster: CLUSTER, taskDefinition: mover, desiredCount: 1}
"""


def _active(ecs, cluster: str, name: str) -> bool:
    found = ecs.describe_services(cluster=cluster, services=[name])["services"]
    return any(s["status"] == "ACTIVE" for s in found)


def test_moving_a_service_to_another_cluster_replaces_it_there(run_cli, local, tmp_path):
    app = tmp_path / "app.yaml"
    app.write_text(MOVE.replace("CLUSTER", "blue"))
    assert run_cli("apply", str(app), "--yes")[0] == 0
    app.write_text(MOVE.replace("CLUSTER", "green"))

    code, out, err, writes = run_cli("plan", str(app), "--output", "json")
    (action,) = [r for r in json.loads(out)["resources"] if r["kind"] == "Service"]
    assert action["action"] == "replace"
    assert action["reasons"] == ["moves from cluster blue to green: created in green, then deleted from blue"]
    code, out, err, writes = run_cli("apply", str(app), "--yes")
    assert code == 1 and writes == {}, "a replace needs --allow-replace"

    code, out, err, writes = run_cli("apply", str(app), "--yes", "--allow-replace")
    assert code == 0, err
    assert writes == {("ecs", "CreateService"): 1, ("ecs", "DeleteService"): 1}, writes
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    assert _active(ecs, "green", "mover") and not _active(ecs, "blue", "mover")
    assert run_cli("plan", str(app), "--detailed-exitcode", "--prune")[0] == 0


def test_prune_keys_services_by_cluster_and_name(run_cli, local, tmp_path):
    blue, green = tmp_path / "blue.yaml", tmp_path / "green.yaml"
    blue.write_text(MOVE.replace("CLUSTER", "blue"))
    green.write_text(MOVE.replace("CLUSTER", "green"))
    assert run_cli("apply", str(blue), "--yes")[0] == 0
    assert run_cli("apply", str(green), "--yes", "--allow-replace")[0] == 0
    # Someone (an older version, a crash between create and delete) left a same-named service of ours in blue.
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    tags = ecs.describe_services(cluster="green", services=["mover"], include=["TAGS"])["services"][0]["tags"]
    ecs.create_service(cluster="blue", serviceName="mover", taskDefinition="mover", desiredCount=1, tags=tags)
    code, out, err, _ = run_cli("plan", str(green), "--prune", "--output", "json")
    deletes = [(r["kind"], r["name"], r["reasons"]) for r in json.loads(out)["resources"] if r["action"] == "delete"]
    assert deletes == [("Service", "mover", ["owned by this instance and no longer in the manifests in cluster blue"])]
    code, out, err, writes = run_cli("apply", str(green), "--yes", "--prune")
    assert code == 0, err
    assert not _active(ecs, "blue", "mover") and _active(ecs, "green", "mover")
