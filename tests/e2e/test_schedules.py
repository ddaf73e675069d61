"""`kind: Schedule`: an EventBridge Scheduler schedule running a task definition, owned through its group."""

from __future__ import annotations

import pytest

from reconciler.desired.loader import load_text
from reconciler.engine import Engine, EngineOptions
from reconciler.errors import InvalidManifests

MANIFESTS = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: jobs}
spec: {}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: report}
spec:
  containerDefinitions: [{name: app, image: nginx, memory: 128}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Schedule
metadata: {name: nightly-report}
spec:
  ScheduleExpression: cron(0 3 * * ? *)
  ScheduleExpressionTimezone: Europe/Berlin
  FlexibleTimeWindow: {Mode: FLEXIBLE, MaximumWindowInMinutes: 15}
  Target:
    Arn: jobs
    RoleArn: arn:aws:iam::123456789012:role/scheduler-run-task
    EcsParameters: {TaskDefinitionArn: report, LaunchType: EC2, TaskCount: 2}
    RetryPolicy: {MaximumRetryAttempts: 3}
"""
GROUP = "ecs-reconciler"


@pytest.fixture
def applied(local, local_clients):
    engine = Engine(local_clients, EngineOptions())
    desired = load_text(MANIFESTS)
    engine.apply(engine.plan(desired))
    return engine, desired, local.client("scheduler")


def test_created_as_declared_in_a_group_we_own_and_clean_after(applied, local):
    engine, desired, scheduler = applied
    schedule = scheduler.get_schedule(Name="nightly-report", GroupName=GROUP)
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    ecs = local.client("ecs")
    assert schedule["Target"]["Arn"] == ecs.describe_clusters(clusters=["jobs"])["clusters"][0]["clusterArn"]
    assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"] == \
        ecs.describe_task_definition(taskDefinition="report")["taskDefinition"]["taskDefinitionArn"]
    group = scheduler.get_schedule_group(Name=GROUP)
    tags = {t["Key"]: t["Value"] for t in scheduler.list_tags_for_resource(ResourceArn=group["Arn"])["Tags"]}
    assert tags == {"ecs-reconciler.io/managed-by": "ecs-reconciler", "ecs-reconciler.io/component": "schedules"}
    assert not engine.plan(desired).has_changes


def test_out_of_band_edits_are_drift_at_their_paths_and_healed(applied):
    engine, desired, scheduler = applied
    current = scheduler.get_schedule(Name="nightly-report", GroupName=GROUP)
    target = current["Target"]
    target["EcsParameters"]["TaskCount"] = 5
    scheduler.update_schedule(Name="nightly-report", GroupName=GROUP, ScheduleExpression="cron(0 4 * * ? *)",
                              ScheduleExpressionTimezone="UTC", FlexibleTimeWindow={"Mode": "OFF"},
                              Target=target, State="DISABLED")
    action = engine.plan(desired).get("Schedule", "nightly-report")
    assert action.action == "update"
    assert {c.path: (c.desired, c.observed) for c in action.changes} == {
        "spec.ScheduleExpression": ("cron(0 3 * * ? *)", "cron(0 4 * * ? *)"),
        "spec.ScheduleExpressionTimezone": ("Europe/Berlin", "UTC"),
        "spec.FlexibleTimeWindow.Mode": ("FLEXIBLE", "OFF"),
        "spec.FlexibleTimeWindow.MaximumWindowInMinutes": (15, None),
        "spec.Target.EcsParameters.TaskCount": (2, 5),
        "spec.State": ("ENABLED", "DISABLED"),
    }
    engine.apply(engine.plan(desired))
    assert not engine.plan(desired).has_changes


def test_a_schedule_in_a_group_we_do_not_own_is_a_conflict_and_never_pruned(local, local_clients):
    scheduler = local.client("scheduler")
    scheduler.create_schedule_group(Name="theirs")
    text = MANIFESTS.replace("  ScheduleExpression:", "  GroupName: theirs\n  ScheduleExpression:")
    engine = Engine(local_clients, EngineOptions())
    plan = engine.plan(load_text(text))
    action = plan.get("Schedule", "nightly-report")
    assert action.action == "conflict" and "schedule group 'theirs'" in action.reasons[0]
    adopted = text.replace("metadata: {name: nightly-report}",
                           "metadata: {name: nightly-report, annotations: {ecs-reconciler.io/adopt: 'true'}}")
    engine.apply(engine.plan(load_text(adopted)))
    assert not engine.plan(load_text(adopted)).has_changes
    rest = load_text(MANIFESTS.split("---\napiVersion: ecs-reconciler.io/v1alpha1\nkind: Schedule")[0])
    prune = Engine(engine.clients, EngineOptions(prune=True)).plan(rest)
    assert prune.get("Schedule", "nightly-report") is None
    assert scheduler.get_schedule(Name="nightly-report", GroupName="theirs")["Name"] == "nightly-report"


def test_a_schedule_dropped_from_the_manifests_is_pruned(applied):
    engine, _, scheduler = applied
    rest = load_text(MANIFESTS.split("---\napiVersion: ecs-reconciler.io/v1alpha1\nkind: Schedule")[0])
    plan = Engine(engine.clients, EngineOptions(prune=True)).plan(rest)
    assert plan.get("Schedule", "nightly-report").action == "delete"
    Engine(engine.clients, EngineOptions(prune=True)).apply(plan)
    assert scheduler.list_schedules(GroupName=GROUP)["Schedules"] == []


def test_a_reference_to_a_missing_manifest_is_an_error_with_its_line():
    with pytest.raises(InvalidManifests) as error:
        load_text(MANIFESTS.replace("TaskDefinitionArn: report", "TaskDefinitionArn: reprot"))
    assert "spec.Target.EcsParameters.TaskDefinitionArn" in str(error.value)
    assert "no TaskDefinition manifest named 'reprot'" in str(error.value)
