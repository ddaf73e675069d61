"""The manifest describes a scheduled task's rule and its only target: adopting a rule replaces its
old targets (else the task would start twice), and a target added out of band is drift."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "base"


def _ids(events, rule: str) -> list[str]:
    return sorted(t["Id"] for t in events.list_targets_by_rule(Rule=rule)["Targets"])


def test_adopting_a_rule_replaces_its_targets(run_cli, local, tmp_path):
    app = tmp_path / "app"
    # Without its kustomization.yaml, so that a file added here is loaded too.
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("kustomization.yaml", "kustomizeconfig.yaml"))
    assert run_cli("apply", str(app), "--yes")[0] == 0
    events, ecs = local.client("events"), local.client("ecs")
    cluster = ecs.describe_clusters(clusters=["shop"])["clusters"][0]["clusterArn"]
    task = ecs.describe_task_definition(taskDefinition="shop-nightly-report")["taskDefinition"]["taskDefinitionArn"]
    # A rule made by hand (another tool) with its own ECS target, which the manifest now adopts.
    events.put_rule(Name="legacy-report", ScheduleExpression="cron(0 4 * * ? *)")
    events.put_targets(Rule="legacy-report", Targets=[{
        "Id": "old-ecs-target", "Arn": cluster, "RoleArn": local.roles()["ecsEventsRole"],
        "EcsParameters": {"TaskDefinitionArn": task, "TaskCount": 1}}])
    manifest = (app / "nightly-report.yaml").read_text().split("---\n")[1]
    adopted = manifest.replace("name: shop-nightly-report\nspec:", "name: legacy-report\n  annotations:\n"
                               "    ecs-reconciler.io/adopt: \"true\"\nspec:")
    (app / "legacy.yaml").write_text(adopted)
    code, out, err, writes = run_cli("apply", str(app), "--yes")
    assert code == 0, err
    assert _ids(events, "legacy-report") == ["ecs-reconciler"], "the old target would run the task a second time"
    assert run_cli("plan", str(app), "--detailed-exitcode")[0] == 0


def test_a_target_added_out_of_band_is_drift(run_cli, local):
    assert run_cli("apply", str(EXAMPLE), "--yes")[0] == 0
    events = local.client("events")
    queue = local.client("sqs").create_queue(QueueName="spy")["QueueUrl"]
    arn = local.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="shop-nightly-report", Targets=[{"Id": "spy", "Arn": arn}])
    code, out, err, _ = run_cli("plan", str(EXAMPLE), "--output", "json")
    (rule,) = [r for r in json.loads(out)["resources"] if r["kind"] == "ScheduledTask"]
    assert rule["action"] == "update"
    assert rule["changes"] == [{"path": "spec.targets", "desired": ["ecs-reconciler"], "observed": ["ecs-reconciler", "spy"]}]
    assert run_cli("apply", str(EXAMPLE), "--yes")[0] == 0
    assert _ids(events, "shop-nightly-report") == ["ecs-reconciler"]
    assert run_cli("plan", str(EXAMPLE), "--detailed-exitcode")[0] == 0
