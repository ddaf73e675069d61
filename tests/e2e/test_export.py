"""Export what runs (created untagged, out of band), adopt it with one apply, then plan is clean."""

from __future__ import annotations

import json

from ruamel.yaml import YAML

SUBNETS = ["subnet-00000000000000002", "subnet-00000000000000001"]
SG = "sg-00000000000000001"


def _create_untagged(local):
    ecs, events = local.client("ecs"), local.client("events")
    cluster = ecs.create_cluster(clusterName="legacy", settings=[{"name": "containerInsights", "value": "enabled"}],
                                 tags=[{"key": "team", "value": "ops"}])["cluster"]
    ecs.register_task_definition(
        family="legacy-web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        containerDefinitions=[{
            "name": "web", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": True,
            "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            "environment": [{"name": "MODE", "value": "prod"}, {"name": "A", "value": "1"}],
            "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]},
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/legacy"}},
        }])
    td = ecs.register_task_definition(
        family="legacy-job", containerDefinitions=[{"name": "job", "image": "busybox", "memory": 128,
                                                    "command": ["echo", "hi"]}])["taskDefinition"]
    for name in ("legacy-web", "legacy-api"):
        ecs.create_service(cluster="legacy", serviceName=name, taskDefinition="legacy-web", desiredCount=2,
                           launchType="FARGATE", propagateTags="SERVICE",
                           deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50},
                           networkConfiguration={"awsvpcConfiguration": {"subnets": SUBNETS, "securityGroups": [SG]}})
    events.put_rule(Name="legacy-nightly", ScheduleExpression="cron(0 3 * * ? *)", State="ENABLED")
    events.put_targets(Rule="legacy-nightly", Targets=[{
        "Id": "job", "Arn": cluster["clusterArn"], "RoleArn": "arn:aws:iam::123456789012:role/ecsEventsRole",
        "EcsParameters": {"TaskDefinitionArn": td["taskDefinitionArn"], "TaskCount": 1, "LaunchType": "EC2"}}])


def _plan(run_cli, directory):
    code, out, err, writes = run_cli("plan", str(directory), "--output", "json", "--detailed-exitcode")
    return code, json.loads(out), writes


def test_export_adopt_apply_then_plan_is_clean(run_cli, local, tmp_path):
    _create_untagged(local)
    code, out, err, writes = run_cli("export", "--cluster", "legacy", "--output", str(tmp_path))
    assert code == 0, err
    assert not writes
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["cluster-legacy.yaml", "scheduledtask-legacy-nightly.yaml", "service-legacy-api.yaml",
                     "service-legacy-web.yaml", "taskdefinition-legacy-job.yaml", "taskdefinition-legacy-web.yaml"]

    # Reads like hand-written YAML: block style, no output-only fields, no defaults.
    text = (tmp_path / "taskdefinition-legacy-web.yaml").read_text()
    doc = YAML(typ="safe").load(text)
    container = doc["spec"]["containerDefinitions"][0]
    assert "{" not in text and "essential" not in container and "protocol" not in container["portMappings"][0]
    assert "interval" not in container["healthCheck"] and "revision" not in doc["spec"]
    assert doc["metadata"]["annotations"] == {"ecs-reconciler.io/adopt": "true"}
    service = YAML(typ="safe").load((tmp_path / "service-legacy-web.yaml").read_text())["spec"]
    assert service["taskDefinition"] == "legacy-web" and service["cluster"] == "legacy"
    assert "schedulingStrategy" not in service and "assignPublicIp" not in service["networkConfiguration"]["awsvpcConfiguration"]
    assert service["deploymentConfiguration"] == {"maximumPercent": 150, "minimumHealthyPercent": 50}
    cluster = YAML(typ="safe").load((tmp_path / "cluster-legacy.yaml").read_text())["spec"]
    assert cluster == {"settings": [{"name": "containerInsights", "value": "enabled"}], "tags": {"team": "ops"}}

    code, plan, _ = _plan(run_cli, tmp_path)
    assert code == 2
    actions = {(r["kind"], r["name"]): r for r in plan["resources"]}
    assert len(actions) == 6
    for key, resource in actions.items():
        assert resource["action"] == "update", (key, resource)
        assert [c["path"] for c in resource["changes"]] == [], (key, resource["changes"])

    code, out, err, writes = run_cli("apply", str(tmp_path), "--yes")
    assert code == 0, err
    assert not any(op in ("CreateService", "RegisterTaskDefinition", "CreateCluster", "UpdateService")
                   for _, op in writes), writes
    code, plan, _ = _plan(run_cli, tmp_path)
    assert code == 0, plan


def test_unowned_resource_without_adopt_is_a_conflict_and_apply_writes_nothing(run_cli, local, tmp_path):
    _create_untagged(local)
    code, out, err, _ = run_cli("export", "--cluster", "legacy", "--service", "legacy-web", "--output", str(tmp_path))
    assert code == 0, err
    assert not (tmp_path / "service-legacy-api.yaml").exists()
    code, out, err, _ = run_cli("export", "--cluster", "legacy", "--service", "legacy-web")
    assert code == 0, err
    assert [d["kind"] for d in YAML(typ="safe").load_all(out)] == [
        "Cluster", "TaskDefinition", "TaskDefinition", "Service", "ScheduledTask"]
    code, out, err, _ = run_cli("export", "--cluster", "nope")
    assert code == 1 and "not found" in err
    path = tmp_path / "service-legacy-web.yaml"
    path.write_text(path.read_text().replace('ecs-reconciler.io/adopt: "true"', 'ecs-reconciler.io/adopt: "false"')
                    .replace("ecs-reconciler.io/adopt: 'true'", "ecs-reconciler.io/adopt: 'false'"))
    code, plan, _ = _plan(run_cli, tmp_path)
    actions = {(r["kind"], r["name"]): r["action"] for r in plan["resources"]}
    assert actions[("Service", "legacy-web")] == "conflict"
    assert actions[("Cluster", "legacy")] == "update"
    code, out, err, writes = run_cli("apply", str(tmp_path), "--yes")
    assert code == 1
    assert not writes
