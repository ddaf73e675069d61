"""One resource the controller cannot write never holds the others back: a replace without
--allow-replace waits as needs-replace (with its reason, blamed on nobody else), a removal UpdateService
cannot make is planned once as a replace instead of a warning on every pass."""

from __future__ import annotations

import json

from reconciler.controller.loop import Controller, ControllerConfig

APP = """\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: held}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: held-app}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions: [{name: app, image: public.ecr.aws/nginx/nginx:1.27}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: a}
spec:
  cluster: held
  taskDefinition: held-app
  desiredCount: 1
  launchType: LAUNCH
  networkConfiguration: {awsvpcConfiguration: {subnets: [subnet-00000000000000001]}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: b}
spec:
  cluster: held
  taskDefinition: held-app
  desiredCount: COUNT
  launchType: FARGATE
  networkConfiguration: {awsvpcConfiguration: {subnets: [subnet-00000000000000001]}}
"""


def _write(folder, launch: str, count: int) -> None:
    (folder / "app.yaml").write_text(APP.replace("LAUNCH", launch).replace("COUNT", str(count)))


def test_a_replace_waits_as_needs_replace_and_the_rest_is_applied(local, local_clients, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    _write(folder, "FARGATE", 1)
    controller = Controller(local_clients, ControllerConfig(source=str(folder), rollout_timeout=0))
    try:
        assert controller.sync_once()
        _write(folder, "EC2", 2)  # a: launchType needs a replace; b: an in-place update
        assert controller.sync_once(), controller.status.document()["lastError"]
        rows = {r["name"]: r for r in controller.status.document()["resources"]}
        assert rows["a"]["state"] == "needs-replace"
        assert rows["a"]["error"] == ("launchType: UpdateService cannot change launchType "
                                      "(run with --allow-replace to replace it)")
        assert rows["b"]["state"] in ("rolling-out", "in-sync") and rows["b"]["error"] is None
        ecs = local.client("ecs")
        assert ecs.describe_services(cluster="held", services=["b"])["services"][0]["desiredCount"] == 2
        assert ecs.describe_services(cluster="held", services=["a"])["services"][0]["launchType"] == "FARGATE"
    finally:
        controller.stop()


def test_removing_a_field_updateservice_cannot_clear_is_planned_as_a_replace(run_cli, tmp_path):
    app = tmp_path / "app.yaml"
    app.write_text(APP.replace("LAUNCH", "FARGATE").replace("COUNT", "1"))
    assert run_cli("apply", str(app), "--yes")[0] == 0
    bridge = (APP.replace("LAUNCH", "FARGATE").replace("COUNT", "1")
              .replace("  networkConfiguration: {awsvpcConfiguration: {subnets: [subnet-00000000000000001]}}\n---", "---")
              .replace("requiresCompatibilities: [FARGATE]\n  networkMode: awsvpc", "requiresCompatibilities: [EC2]"))
    app.write_text(bridge)
    code, out, err, writes = run_cli("plan", str(app), "--output", "json")
    services = {r["name"]: r for r in json.loads(out)["resources"] if r["kind"] == "Service"}
    assert services["a"]["action"] == "replace"
    assert "networkConfiguration: removed from the manifest, and UpdateService cannot clear it" in services["a"]["reasons"]
    assert writes == {}
