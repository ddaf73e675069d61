"""Plans as people and machines read them: creates and deletes in the manifest's shape, the impact
of every action, API calls and their least time, Markdown sized for a pull-request comment."""

from __future__ import annotations

import json

from reconciler.desired.loader import load_text
from reconciler.observed.state import Observed, ObservedState
from reconciler.ownership import ownership_tags
from reconciler.plan.impact import impact_of, planned_calls
from reconciler.plan.planner import Planner
from reconciler.report.render import FORMAT_VERSION, render_json, render_markdown, render_text

TASK_DEFINITION = """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec:
  networkMode: awsvpc
  containerDefinitions:
    - name: web
      image: nginx:1
      portMappings:
        - containerPort: 80
      environment:
        - {name: LOG_LEVEL, value: info}
        - {name: DB_PASSWORD, value: hunter2-hunter2}
      logConfiguration:
        logDriver: awslogs
        options: {awslogs-group: /ecs/web}
"""

SERVICE = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: arn:aws:ecs:us-east-1:123456789012:cluster/c
  taskDefinition: "web:7"
  desiredCount: 4
  deploymentConfiguration: {maximumPercent: 150, minimumHealthyPercent: 50}
"""


def owned(kind: str, name: str) -> dict[str, str]:
    return ownership_tags("ecs-reconciler", kind, name)


def plan_of(text: str, state: ObservedState | None = None):
    return Planner("ecs-reconciler").plan(load_text(text), state or ObservedState())


def service_body(**fields) -> dict:
    body = {"serviceName": "web", "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "status": "ACTIVE",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:7", "desiredCount": 4, "runningCount": 4,
            "launchType": "EC2", "schedulingStrategy": "REPLICA",
            "deploymentConfiguration": {"maximumPercent": 150, "minimumHealthyPercent": 50}}
    body.update(fields)
    return body


def observed_service(**fields) -> ObservedState:
    state = ObservedState()
    state.put(Observed("Service", "web", "arn:svc/web", service_body(**fields), owned("Service", "web"), cluster="c"))
    return state


def test_a_create_is_shown_as_the_manifest_wrote_it_masked_in_every_format():
    plan = plan_of(TASK_DEFINITION)
    text = render_text(plan, color=False)
    assert "[80/tcp]" not in text and "[LOG_LEVEL]" not in text and "options[" not in text
    body = [line[6:] for line in text.splitlines() if line.startswith("    + ")]
    assert body[:3] == ["spec:", "  networkMode: awsvpc", "  containerDefinitions:"]
    assert "        - containerPort: 80" in body and "          awslogs-group: /ecs/web" in body
    assert "        - name: DB_PASSWORD" in body and "          value: (sensitive value)" in body
    doc = json.loads(render_json(plan))
    assert doc["formatVersion"] == FORMAT_VERSION
    spec = doc["resources"][0]["desiredSpec"]
    assert spec["containerDefinitions"][0]["portMappings"] == [{"containerPort": 80}]
    assert spec["containerDefinitions"][0]["environment"][1] == {"name": "DB_PASSWORD", "value": "(sensitive value)"}
    markdown = render_markdown(plan)
    assert "+         - containerPort: 80" in markdown
    for rendered in (text, json.dumps(doc), markdown):
        assert "hunter2" not in rendered


def test_a_delete_shows_what_goes_in_manifest_shape():
    state = ObservedState()
    state.prune_candidates[("Service", "c/old")] = Observed(
        "Service", "old", "arn:svc/old", service_body(serviceName="old"), owned("Service", "old"), cluster="c")
    plan = plan_of(TASK_DEFINITION, state)
    action = plan.get("Service", "old")
    assert impact_of(action).text == "deletes service old: stops its 4 running tasks"
    text = render_text(plan, color=False)
    assert "    -   desiredCount: 4" in text and "    -   cluster: c" in text
    spec = next(r for r in json.loads(render_json(plan))["resources"] if r["name"] == "old")["observedSpec"]
    assert spec["deploymentConfiguration"] == {"maximumPercent": 150, "minimumHealthyPercent": 50}


def test_a_new_revision_rolls_the_service_with_figures_from_its_deployment_configuration():
    plan = plan_of(SERVICE.replace("web:7", "web:8"), observed_service())
    impact = impact_of(plan.get("Service", "web"))
    assert impact.category == "rolling" and impact.rolls
    assert impact.text == "a rolling deployment of service web: replaces 4 tasks, at most 6 running, at least 2 healthy"
    text = render_text(plan, color=False)
    assert "    impact: a rolling deployment of service web" in text
    assert "1 service will roll." in text
    doc = json.loads(render_json(plan))
    assert doc["summary"]["servicesRolling"] == 1
    assert doc["resources"][0]["impact"]["category"] == "rolling"
    assert "replaces 4 tasks" in render_markdown(plan)


def test_each_kind_of_change_names_its_impact():
    scale = plan_of(SERVICE.replace("desiredCount: 4", "desiredCount: 6"), observed_service())
    assert impact_of(scale.get("Service", "web")).text == "in place, no new deployment: scales from 4 to 6 tasks"
    assert "0 services will roll." in render_text(scale, color=False)
    tags = plan_of(SERVICE + "  tags: {team: a}\n", observed_service())
    assert impact_of(tags.get("Service", "web")).category == "metadata"
    codedeploy = plan_of(SERVICE.replace("web:7", "web:8"), observed_service(deploymentController={"type": "CODE_DEPLOY"}))
    assert impact_of(codedeploy.get("Service", "web")).category == "blue-green"
    ecs_blue_green = plan_of(SERVICE.replace("web:7", "web:8").replace("maximumPercent: 150", "strategy: BLUE_GREEN"),
                             observed_service())
    assert "blue/green" in impact_of(ecs_blue_green.get("Service", "web")).text
    replace = plan_of(SERVICE + "  launchType: FARGATE\n", observed_service())
    assert impact_of(replace.get("Service", "web")).category == "replace"
    assert "down in between" in impact_of(replace.get("Service", "web")).text
    revision = plan_of(TASK_DEFINITION)
    assert impact_of(revision.get("TaskDefinition", "web")).text == "registers the first revision of web: no deployment by itself"


def test_schedule_changes_are_named_so():
    manifest = """apiVersion: ecs-reconciler.io/v1alpha1
kind: ScheduledTask
metadata: {name: nightly}
spec: {cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/c", taskDefinition: "job:3", schedule: "rate(2 days)", roleArn: "arn:aws:iam::1:role/r"}
"""
    rule = {"Name": "nightly", "ScheduleExpression": "rate(1 day)", "State": "ENABLED", "Arn": "arn:rule/nightly"}
    target = {"Id": "ecs-reconciler", "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "RoleArn": "arn:aws:iam::1:role/r",
              "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/job:3", "TaskCount": 1}}
    state = ObservedState()
    state.put(Observed("ScheduledTask", "nightly", rule["Arn"], {"rule": rule, "target": target},
                       owned("ScheduledTask", "nightly"), cluster="c"))
    impact = impact_of(plan_of(manifest, state).get("ScheduledTask", "nightly"))
    assert impact.category == "schedule"
    assert impact.text == "schedule change: rate(1 day) -> rate(2 days)"


def test_api_calls_and_the_least_time_the_rate_limits_allow():
    services = "---\n".join(SERVICE.replace("name: web", f"name: web{i}") for i in range(60))
    plan = plan_of(services)
    assert planned_calls(plan)[("ecs", "CreateService")] == 60
    text = render_text(plan, color=False)
    # service-modify: a burst of 50, then 5 a second: 10 more take 2 s.
    assert "API calls: 60 (CreateService x60); the ECS rate limits allow them in 2.0 s at least." in text
    assert json.loads(render_json(plan))["apiCalls"]["leastSeconds"] == 2.0


def test_markdown_has_one_section_per_resource_and_fits_a_comment():
    plan = plan_of(TASK_DEFINITION + "---\n" + SERVICE)
    markdown = render_markdown(plan)
    assert markdown.count("<details>") == 2 and markdown.count("</details>") == 2
    assert "<code>Service/web</code>" in markdown
    many = "---\n".join(TASK_DEFINITION.replace("name: web}", f"name: web{i}}}") for i in range(400))
    big = plan_of(many)
    assert len(render_text(big, color=False)) > 65536
    markdown = render_markdown(big)
    assert len(markdown) <= 65536 - 100  # room for the marker line docs/ci.md's workflow adds
    assert "more resource(s) not shown" in markdown and "`TaskDefinition/web399`" in markdown
    assert "ecs-reconciler plan" in markdown.split("not shown")[1]
    shown = markdown.count("<details>")
    assert 0 < shown < 400 and markdown.count("</details>") == shown
    small = render_markdown(big, limit=3000)
    assert len(small) <= 3000 and "not shown" in small


def test_a_circuit_breaker_rollback_is_told_in_the_plan():
    deployments = [
        {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:7",
         "rolloutState": "IN_PROGRESS"},
        {"id": "ecs-svc/1", "status": "ACTIVE", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:8",
         "rolloutState": "FAILED", "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start."}]
    plan = plan_of(SERVICE.replace("web:7", "web:8"), observed_service(deployments=deployments))
    note = "ECS rolled web:8 back to web:7 (circuit breaker: ECS deployment circuit breaker: tasks failed to start.)"
    assert any(n.startswith(note) for n in impact_of(plan.get("Service", "web")).notes)
    assert f"    note: {note}" in render_text(plan, color=False)
    assert json.loads(render_json(plan))["resources"][0]["impact"]["notes"][0].startswith(note)
    assert "**Note:** ECS rolled web:8 back" in render_markdown(plan)
    in_sync = plan_of(SERVICE, observed_service())
    assert impact_of(in_sync.get("Service", "web")).notes == []
