"""An EcsSchedule names its EcsCluster and EcsTaskDefinition inside Target, as the manifest does."""

from __future__ import annotations

import pytest

from reconciler.operator.convert import DependencyNotReady, convert

API = "ecs-reconciler.io/v1alpha1"


def _object(kind, name, spec, synced=True, aws_name=None):
    spec = dict(spec, **({"awsName": aws_name} if aws_name else {}))
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name, "namespace": "team", "uid": f"uid-{name}"},
            "spec": spec, "status": {"synced": synced}}


SCHEDULE = _object("EcsSchedule", "cleanup", {
    "ScheduleExpression": "rate(1 hour)", "FlexibleTimeWindow": {"Mode": "OFF"},
    "Target": {"Arn": "jobs", "RoleArn": "arn:aws:iam::123456789012:role/r",
               "EcsParameters": {"TaskDefinitionArn": "report"}}})
OBJECTS = {
    ("EcsCluster", "jobs"): _object("EcsCluster", "jobs", {}, aws_name="team-jobs"),
    ("EcsTaskDefinition", "report"): _object("EcsTaskDefinition", "report", {
        "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 64}]}, aws_name="team-report"),
}


def test_target_references_resolve_to_the_named_objects_aws_names():
    converted = convert(SCHEDULE, lambda kind, namespace, name: OBJECTS.get((kind, name)))
    spec = converted.located.manifest.spec
    assert spec.Target.Arn == "team-jobs"
    assert spec.Target.EcsParameters.TaskDefinitionArn == "team-report"
    assert sorted(r.label for r in converted.desired.resources) == [
        "Cluster/team-jobs", "Schedule/cleanup", "TaskDefinition/team-report"]


def test_a_missing_referenced_object_is_not_ready():
    with pytest.raises(DependencyNotReady, match="EcsTaskDefinition team/report does not exist"):
        convert(SCHEDULE, lambda kind, namespace, name: OBJECTS.get((kind, name)) if kind == "EcsCluster" else None)
