"""A diff that never clears never becomes a write loop: the controller holds the resource after the
same diff was applied N times, marks it perpetual-diff, and keeps converging everything else."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import generate_latest

from reconciler.apply.flap_guard import FlapGuard
from reconciler.controller.loop import Controller, ControllerConfig

MANIFESTS = """\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: flaps}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: flaps-app}
spec:
  containerDefinitions:
    - {name: app, image: public.ecr.aws/nginx/nginx:1.27, memory: 128}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: stubborn}
spec:
  cluster: flaps
  taskDefinition: flaps-app
  desiredCount: 1
  deploymentConfiguration: {minimumHealthyPercent: 50}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: healthy}
spec:
  cluster: flaps
  taskDefinition: flaps-app
  desiredCount: DESIRED
"""


def _impose_minimum_healthy(body):
    """The endpoint answers with a value the engine does not expect, for one service only."""
    for service in body.get("services", []):
        if service["serviceName"] == "stubborn":
            service.setdefault("deploymentConfiguration", {})["minimumHealthyPercent"] = 100
    return body


def _write(folder: Path, desired_count: int, minimum_healthy: int = 50) -> None:
    text = MANIFESTS.replace("DESIRED", str(desired_count)).replace("minimumHealthyPercent: 50",
                                                                      f"minimumHealthyPercent: {minimum_healthy}")
    (folder / "app.yaml").write_text(text)


def _record_updates(clients) -> list[str]:
    """The service named by every UpdateService call these clients make."""
    names: list[str] = []
    clients.on("provide-client-params.ecs.UpdateService", lambda params, **_: names.append(params.get("service")))
    return names


def _row(controller: Controller, name: str) -> dict:
    return next(r for r in controller.status.document()["resources"] if r["name"] == name)


def test_a_perpetual_diff_is_applied_limit_times_then_held(local, local_clients, tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    _write(folder, desired_count=1)
    local.add_response_hook("DescribeServices", _impose_minimum_healthy)
    updates = _record_updates(local_clients)
    controller = Controller(local_clients, ControllerConfig(source=str(folder), flap_limit=3, rollout_timeout=0))
    try:
        for _ in range(6):
            controller.sync_once()
        assert updates.count("stubborn") == 3, "applied exactly flap_limit times, then held"
        row = _row(controller, "stubborn")
        assert row["state"] == "perpetual-diff"
        assert row["drift"] == ["spec.deploymentConfiguration.minimumHealthyPercent"]
        assert row["diff"] == [{"path": "spec.deploymentConfiguration.minimumHealthyPercent",
                                "desired": 50, "observed": 100}]
        assert 'ecs_reconciler_perpetual_diffs_total{kind="Service"} 1.0' in generate_latest(
            controller.metrics.registry).decode()
        assert _row(controller, "healthy")["state"] in ("in-sync", "rolling-out")

        # Everything else keeps converging while the stubborn service is held.
        _write(folder, desired_count=2)
        controller.sync_once()
        ecs = local.client("ecs")
        assert ecs.describe_services(cluster="flaps", services=["healthy"])["services"][0]["desiredCount"] == 2
        assert updates.count("stubborn") == 3

        # A change of the held resource's manifest clears the mark: it is written again.
        _write(folder, desired_count=2, minimum_healthy=60)
        controller.sync_once()
        assert updates.count("stubborn") == 4
        assert _row(controller, "stubborn")["state"] != "perpetual-diff"
    finally:
        local.remove_response_hook("DescribeServices", _impose_minimum_healthy)
        controller.stop()


def test_a_diff_that_clears_resets_the_count():
    from reconciler.desired.loader import load_text
    from reconciler.diff.compare import Change
    from reconciler.plan.model import Action, Plan

    desired = load_text(MANIFESTS.replace("DESIRED", "1")).get("Service", "stubborn")
    update = Action("Service", "stubborn", "update", [Change("spec.desiredCount", 1, 2)], desired=desired)
    guard = FlapGuard(limit=2)
    for _ in range(2):
        assert guard.check(Plan([update])) == {}
        guard.applied(update)
    assert set(guard.check(Plan([update]))) == {("Service", "stubborn")}
    guard.check(Plan([Action("Service", "stubborn", "none", desired=desired)]))  # in sync once
    assert guard.check(Plan([update])) == {}
    other = Action("Service", "stubborn", "update", [Change("spec.desiredCount", 3, 2)], desired=desired)
    guard.applied(other)
    guard.applied(other)
    assert guard.check(Plan([update])) == {}, "a different diff starts a new count"
