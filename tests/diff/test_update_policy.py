"""Every spec field of every kind is classified; replace fields plan as `replace`, others as `update`."""

from __future__ import annotations

import pytest

from reconciler.desired.kinds import MANIFEST_KINDS
from reconciler.diff.update_policy import REPLACE_FIELDS, classify
from reconciler.engine import Engine, EngineOptions
from reconciler.desired.loader import load_text

MANIFESTS = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: pol}
spec: {}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: pol}
spec:
  networkMode: bridge
  containerDefinitions: [{name: app, image: nginx, memory: 128}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: pol}
spec:
  cluster: pol
  taskDefinition: pol
  desiredCount: 1
  launchType: EC2
  role: ecsServiceRole
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: ScheduledTask
metadata: {name: pol}
spec:
  cluster: pol
  taskDefinition: pol
  schedule: rate(1 hour)
  roleArn: arn:aws:iam::123456789012:role/ecsEventsRole
"""


@pytest.mark.parametrize("kind", sorted(MANIFEST_KINDS))
def test_every_spec_field_is_classified(kind):
    spec_model = MANIFEST_KINDS[kind].model_fields["spec"].annotation
    assert [f for f in spec_model.model_fields if classify(kind, f) == "unknown"] == []


def test_service_replace_fields_are_what_update_service_lacks():
    assert set(REPLACE_FIELDS["Service"]) == {"cluster", "launchType", "schedulingStrategy", "role"}
    assert classify("Service", "desiredCount") == "update" and classify("Cluster", "settings") == "update"


SERVICE_EDITS = {
    "cluster": ("replace", lambda b: b.update(clusterArn="arn:aws:ecs:us-east-1:123456789012:cluster/other")),
    "launchType": ("replace", lambda b: b.update(launchType="FARGATE")),
    "schedulingStrategy": ("replace", lambda b: b.update(schedulingStrategy="DAEMON")),
    "role": ("replace", lambda b: b.update(roleArn="arn:aws:iam::123456789012:role/other")),
    "desiredCount": ("update", lambda b: b.update(desiredCount=3)),
    "propagateTags": ("update", lambda b: b.update(propagateTags="SERVICE")),
    "enableExecuteCommand": ("update", lambda b: b.update(enableExecuteCommand=True)),
}


def test_each_field_plans_as_its_classification(local_clients):
    engine = Engine(local_clients, EngineOptions())
    desired = load_text(MANIFESTS)
    engine.apply(engine.plan(desired))
    assert not engine.plan(desired).has_changes
    for field, (expected, edit) in SERVICE_EDITS.items():
        observed = engine.observe(desired)
        edit(observed.get("Service", "pol").body)
        action = engine.plan(desired, observed).get("Service", "pol")
        assert (field, action.action) == (field, expected)
        assert [c.path.split(".")[1] for c in action.changes] == [field]
        assert bool(action.reasons and field in action.reasons[0]) == (expected == "replace")
    observed = engine.observe(desired)
    observed.get("Cluster", "pol").body["settings"] = [{"name": "containerInsights", "value": "enabled"}]
    observed.get("ScheduledTask", "pol").body["rule"]["ScheduleExpression"] = "rate(2 hours)"
    plan = engine.plan(desired, observed)
    assert plan.get("Cluster", "pol").action == "update"
    assert plan.get("ScheduledTask", "pol").action == "update"
    assert [c.path for c in plan.get("ScheduledTask", "pol").changes] == ["spec.schedule"]
