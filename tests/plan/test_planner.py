"""Plan ordering, dependencies, ownership decisions and rendering, on hand-built observed state."""

from __future__ import annotations

import json

from reconciler.desired.loader import load_text
from reconciler.observed.state import Observed, ObservedState
from reconciler.ownership import ownership_tags
from reconciler.plan.planner import NEW_REVISION, Planner
from reconciler.report.render import render_json, render_markdown, render_text

MANIFESTS = """apiVersion: ecs-reconciler.io/v1alpha1
kind: ScheduledTask
metadata: {name: nightly}
spec: {cluster: c, taskDefinition: job, schedule: "rate(1 day)", roleArn: "arn:aws:iam::1:role/r"}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec: {cluster: c, taskDefinition: web, desiredCount: 2}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec:
  containerDefinitions:
    - {name: web, image: "nginx:1", environment: [{name: DB_PASSWORD, value: hunter2}]}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec:
  containerDefinitions: [{name: job, image: "job:1"}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {}
"""


def planner() -> Planner:
    # Planning is pure: no clients at all, only desired and observed state.
    return Planner("ecs-reconciler")


def owned(kind: str, name: str) -> dict[str, str]:
    return ownership_tags("ecs-reconciler", kind, name)


def test_creates_come_in_dependency_order_and_services_wait_for_a_new_revision():
    desired = load_text(MANIFESTS)
    plan = planner().plan(desired, ObservedState())
    assert [(a.action, a.label) for a in plan.actions] == [
        ("create", "Cluster/c"), ("create", "TaskDefinition/job"), ("create", "TaskDefinition/web"),
        ("create", "Service/web"), ("create", "ScheduledTask/nightly")]
    service = plan.get("Service", "web")
    assert service.depends_on == ["Cluster/c", "TaskDefinition/web"]
    assert service.request["taskDefinition"] == f"web:{NEW_REVISION}"


def test_deletes_come_last_in_reverse_order_and_only_for_listed_owned_resources():
    desired = load_text(MANIFESTS)
    state = ObservedState()
    for kind, name in [("Cluster", "old"), ("TaskDefinition", "old"), ("Service", "old"), ("ScheduledTask", "old")]:
        state.prune_candidates[(kind, name)] = Observed(kind, name, f"arn:{kind}/{name}", {}, owned(kind, name))
    plan = planner().plan(desired, state)
    assert [(a.action, a.label) for a in plan.actions[-4:]] == [
        ("delete", "ScheduledTask/old"), ("delete", "Service/old"), ("delete", "TaskDefinition/old"),
        ("delete", "Cluster/old")]


def test_unowned_resource_is_a_conflict_and_adoption_is_an_update():
    desired = load_text(MANIFESTS.split("---\n")[-1])
    state = ObservedState()
    state.put(Observed("Cluster", "c", "arn:cluster/c", {"clusterName": "c", "settings": []}, {"team": "x"}))
    plan = planner().plan(desired, state)
    assert plan.get("Cluster", "c").action == "conflict" and plan.conflicts
    adopted = load_text(MANIFESTS.split("---\n")[-1].replace(
        "metadata: {name: c}", "metadata: {name: c, annotations: {ecs-reconciler.io/adopt: 'true'}}"))
    action = planner().plan(adopted, state).get("Cluster", "c")
    assert action.action == "update" and action.adopt
    assert [c.path for c in action.changes] == ["spec.tags.team"]  # the stray tag goes; ours are added


def test_in_sync_revision_is_what_services_run_and_secrets_never_render():
    desired = load_text(MANIFESTS)
    body = {"family": "web", "revision": 3, "status": "ACTIVE", "taskDefinitionArn": "arn:td/web:3",
            "containerDefinitions": [{"name": "web", "image": "nginx:2", "cpu": 0, "essential": True,
                                      "environment": [{"name": "DB_PASSWORD", "value": "old-secret"}]}]}
    state = ObservedState()
    state.put(Observed("TaskDefinition", "web", body["taskDefinitionArn"], body, owned("TaskDefinition", "web")))
    plan = planner().plan(desired, state)
    action = plan.get("TaskDefinition", "web")
    assert action.action == "update"
    assert {c.path for c in action.changes} == {"spec.containerDefinitions[web].image",
                                                "spec.containerDefinitions[web].environment[DB_PASSWORD]"}
    for text in (render_text(plan, color=False), render_json(plan), render_markdown(plan)):
        assert "hunter2" not in text and "old-secret" not in text
        assert "(sensitive value)" in text
    assert json.loads(render_json(plan))["summary"]["update"] == 1
