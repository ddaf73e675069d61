"""Fields AWS never returns (CreateService's `monitoring`) are compared with what we last wrote."""

from __future__ import annotations

from reconciler.desired.loader import load_text
from reconciler.diff import service as service_rules
from reconciler.diff.write_only import UNKNOWN, write_only_hash
from reconciler.observed.state import Observed, ObservedState
from reconciler.ownership import WRITE_ONLY, ownership_tags
from reconciler.plan.planner import Planner

SERVICE = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  taskDefinition: web:3
  desiredCount: 1
  monitoring: {metricConfigurations: [{metricNames: [CPUUtilization], resolutionSeconds: SECONDS}]}
"""


def _plan(seconds: int, recorded: str | None):
    desired = load_text(SERVICE.replace("SECONDS", str(seconds)))
    tags = ownership_tags("ecs-reconciler", "Service", "web", write_only=recorded)
    body = {"serviceName": "web", "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/default",
            "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", "desiredCount": 1,
            "status": "ACTIVE"}  # as DescribeServices answers: no monitoring
    state = ObservedState()
    state.put(Observed("Service", "web", "arn:service/web", body, tags, cluster="default"))
    return Planner("ecs-reconciler").plan(desired, state).get("Service", "web")


def test_write_only_fields_are_not_drift_when_they_hash_as_last_written():
    assert "monitoring" in service_rules.WRITE_ONLY_FIELDS
    request = load_text(SERVICE.replace("SECONDS", "60")).resources[0].manifest.spec.to_api()
    action = _plan(60, write_only_hash(request, service_rules.WRITE_ONLY_FIELDS))
    assert action.action == "none"


def test_a_changed_write_only_field_is_an_update_with_an_unknown_observed_side():
    request = load_text(SERVICE.replace("SECONDS", "60")).resources[0].manifest.spec.to_api()
    action = _plan(10, write_only_hash(request, service_rules.WRITE_ONLY_FIELDS))
    assert action.action == "update"
    assert [(c.path, c.observed) for c in action.changes] == [("spec.monitoring", UNKNOWN)]
    assert action.write_only != write_only_hash(request, service_rules.WRITE_ONLY_FIELDS)
    assert WRITE_ONLY in ownership_tags("i", "Service", "web", write_only=action.write_only)
