"""`ecs-reconciler rollback` on the local endpoint: the previous revision is put back and followed
to steady state; the plan, the CLI apply and the controller leave it alone (suspended, saying how
to resume) until `resume`."""

from __future__ import annotations

import json

from reconciler.controller.loop import Controller, ControllerConfig

APP = """\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: rb}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: rb-web}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions: [{name: web, image: "public.ecr.aws/nginx/nginx:IMAGE"}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: rb
  taskDefinition: rb-web
  desiredCount: 2
  launchType: FARGATE
  networkConfiguration: {awsvpcConfiguration: {subnets: [subnet-00000000000000001], securityGroups: [sg-00000000000000001]}}
"""


def running(local) -> str:
    return local.client("ecs").describe_services(cluster="rb", services=["web"])["services"][0]["taskDefinition"]


def test_rollback_holds_until_resumed_in_the_cli_and_the_controller(run_cli, local, local_clients, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    app = folder / "app.yaml"
    for image in ("1.27", "1.28"):
        app.write_text(APP.replace("IMAGE", image))
        code, out, err, _ = run_cli("apply", str(folder), "--yes", "--wait", "--timeout", "30")
        assert code == 0, err
    assert running(local).endswith("rb-web:2")

    code, out, err, writes = run_cli("rollback", "web", "--cluster", "rb", "--timeout", "30")
    assert code == 0, err
    assert "Rolled service web back from rb-web:2 to rb-web:1." in out
    assert "ecs-reconciler resume web --cluster rb" in out and "reached steady state" in out
    assert writes == {("ecs", "UpdateService"): 1, ("ecs", "TagResource"): 1}
    assert running(local).endswith("rb-web:1")

    code, out, err, _ = run_cli("plan", str(folder), "--output", "json")
    service = next(r for r in json.loads(out)["resources"] if r["kind"] == "Service")
    assert service["action"] == "update" and service["impact"]["category"] == "suspended"
    assert service["impact"]["text"].startswith("nothing is written: rolled back by hand to rb-web:1 from rb-web:2 at ")
    assert "to deploy the manifest again: ecs-reconciler resume web --cluster rb" in service["impact"]["notes"]
    assert service["impact"]["calls"] == []

    code, out, err, writes = run_cli("apply", str(folder), "--yes")
    assert code == 0, err
    assert "held: Service/web rolled back by hand" in err and not writes
    controller = Controller(local_clients, ControllerConfig(source=str(folder), rollout_timeout=0))
    try:
        assert controller.sync_once(), controller.status.document()["lastError"]
        row = next(r for r in controller.status.document()["resources"] if r["name"] == "web")
        assert row["state"] == "suspended" and "ecs-reconciler resume web --cluster rb" in row["error"]
        assert running(local).endswith("rb-web:1")

        code, out, err, writes = run_cli("resume", "web", "--cluster", "rb")
        assert code == 0 and writes == {("ecs", "UntagResource"): 1}
        assert controller.sync_once(), controller.status.document()["lastError"]
        assert running(local).endswith("rb-web:2")
    finally:
        controller.stop()


def test_rollback_refuses_what_it_does_not_own_or_cannot_find(run_cli, local):
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="rb")
    code, out, err, writes = run_cli("rollback", "nope", "--cluster", "rb")
    assert code == 1 and "service nope not found in cluster rb" in err and not writes


def test_rollback_to_a_named_revision(run_cli, local, tmp_path):
    app = tmp_path / "app.yaml"
    for image in ("1.26", "1.27", "1.28"):
        app.write_text(APP.replace("IMAGE", image))
        code, out, err, _ = run_cli("apply", str(app), "--yes")
        assert code == 0, err
    code, out, err, _ = run_cli("rollback", "web", "--cluster", "rb", "--to", "other:1", "--no-wait")
    assert code == 1 and "name a revision of it" in err
    assert running(local).endswith("rb-web:3")
    code, out, err, _ = run_cli("rollback", "web", "--cluster", "rb", "--to", "1", "--no-wait")
    assert code == 0, err
    assert running(local).endswith("rb-web:1")
    tags = local.client("ecs").list_tags_for_resource(
        resourceArn=local.client("ecs").describe_services(cluster="rb", services=["web"])["services"][0]["serviceArn"])
    record = {t["key"]: t["value"] for t in tags["tags"]}["ecs-reconciler.io/rolled-back"]
    assert record.startswith("rb-web:1 from rb-web:3 at ")
