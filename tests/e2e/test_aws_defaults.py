"""What real ECS fills in or reorders is not a change; an out-of-band change to the same field is.

Each case is applied to the local endpoint, which answers in AWS's shapes (docs/normalization.md,
"What the local endpoint fills in"): the plan right after apply is clean. Then the same field is
changed out of band, the way someone would do it with the console or the CLI, and the plan shows
exactly that path. Published request/response pairs for the same rules are in tests/diff/test_pairs.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from reconciler.desired.loader import load_text
from reconciler.engine import Engine, EngineOptions

HEAD = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: defaults}
---
"""
FARGATE_TD = """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: app}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions: [{name: app, image: public.ecr.aws/nginx/nginx:1.27, portMappings: [{containerPort: 80, name: http}]}]
---
"""
EC2_TD = """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: app}
spec:
  containerDefinitions: [{name: app, image: public.ecr.aws/nginx/nginx:1.27, memory: 128}]
---
"""
NETWORK = "networkConfiguration: {awsvpcConfiguration: {subnets: [subnet-00000000000000002, subnet-00000000000000001], securityGroups: [sg-00000000000000001]}}"


def register_like(local, family: str, edit: Callable[[dict], None]) -> None:
    """Someone registers a revision of `family` by hand: the latest one, edited."""
    ecs = local.client("ecs")
    body = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
    td = copy.deepcopy(body["taskDefinition"])
    edit(td)
    request = {k: v for k, v in td.items() if k in ecs.meta.service_model.operation_model(
        "RegisterTaskDefinition").input_shape.members}
    ecs.register_task_definition(**request, tags=body.get("tags") or [])


def update_service(local, name: str, **fields: Any) -> None:
    local.client("ecs").update_service(cluster="defaults", service=name, **fields)


@dataclass
class Case:
    id: str
    manifests: str
    out_of_band: Callable[[Any], None] | None
    path: str | None


def _firelens_options(local):
    # ECS refuses any user but "0" on a FireLens router, so the user itself cannot drift: its options can.
    def edit(td):
        router = next(c for c in td["containerDefinitions"] if c["name"] == "log_router")
        router["firelensConfiguration"]["options"]["enable-ecs-log-metadata"] = "false"
    register_like(local, "app", edit)


def _proxy_property(local):
    def edit(td):
        for prop in td["proxyConfiguration"]["properties"]:
            if prop["name"] == "ProxyEgressPort":
                prop["value"] = "15002"
    register_like(local, "app", edit)


def _volume_at_launch(local):
    def edit(td):
        td["volumes"][0]["host"] = {"sourcePath": "/srv/other"}
    register_like(local, "app", edit)


def _network_mode(local):
    def edit(td):
        td["networkMode"] = "host"
    register_like(local, "app", edit)


CASES = [
    Case("volume-configuredAtLaunch", HEAD + """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: app}
spec:
  containerDefinitions:
    - {name: app, image: public.ecr.aws/nginx/nginx:1.27, memory: 128, mountPoints: [{sourceVolume: data, containerPath: /data}]}
  volumes: [{name: data, host: {sourcePath: /srv/data}}]
""", _volume_at_launch, "spec.volumes[data].host.sourcePath"),
    Case("firelens-user", HEAD + """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: app}
spec:
  containerDefinitions:
    - name: log_router
      image: public.ecr.aws/aws-observability/aws-for-fluent-bit:stable
      memory: 64
      firelensConfiguration: {type: fluentbit, options: {enable-ecs-log-metadata: "true"}}
    - name: app
      image: public.ecr.aws/nginx/nginx:1.27
      memory: 128
      logConfiguration: {logDriver: awsfirelens, options: {Name: cloudwatch, region: us-east-1}}
""", _firelens_options, "spec.containerDefinitions[log_router].firelensConfiguration.options[enable-ecs-log-metadata]"),
    Case("proxy-properties-order", HEAD + """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: app}
spec:
  networkMode: awsvpc
  requiresCompatibilities: [FARGATE]
  cpu: "256"
  memory: "512"
  proxyConfiguration:
    type: APPMESH
    containerName: envoy
    properties:
      - {name: IgnoredUID, value: "1337"}
      - {name: ProxyIngressPort, value: "15000"}
      - {name: ProxyEgressPort, value: "15001"}
      - {name: AppPorts, value: "8080"}
      - {name: EgressIgnoredIPs, value: "169.254.170.2,169.254.169.254"}
  containerDefinitions:
    - {name: envoy, image: public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.5.0-prod, user: "1337"}
    - {name: app, image: public.ecr.aws/nginx/nginx:1.27, dependsOn: [{containerName: envoy, condition: HEALTHY}]}
""", _proxy_property, "spec.proxyConfiguration.properties[ProxyEgressPort]"),
    Case("ecs-anywhere-network-mode", HEAD + """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: app}
spec:
  requiresCompatibilities: [EXTERNAL]
  containerDefinitions: [{name: app, image: public.ecr.aws/nginx/nginx:1.27, memory: 256, portMappings: [{containerPort: 80, hostPort: 8080}]}]
""", _network_mode, "spec.networkMode"),
    Case("replica-deployment-configuration", HEAD + FARGATE_TD + f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web}}
spec: {{cluster: defaults, taskDefinition: app, desiredCount: 1, launchType: FARGATE, {NETWORK}}}
""", lambda local: update_service(local, "web", deploymentConfiguration={"maximumPercent": 150}),
        "spec.deploymentConfiguration.maximumPercent"),
    Case("only-minimum-healthy-percent", HEAD + FARGATE_TD + f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web}}
spec:
  cluster: defaults
  taskDefinition: app
  desiredCount: 2
  launchType: FARGATE
  deploymentConfiguration: {{minimumHealthyPercent: 50}}
  {NETWORK}
""", lambda local: update_service(local, "web", deploymentConfiguration={"minimumHealthyPercent": 100}),
        "spec.deploymentConfiguration.minimumHealthyPercent"),
    Case("circuit-breaker", HEAD + FARGATE_TD + f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web}}
spec:
  cluster: defaults
  taskDefinition: app
  desiredCount: 1
  launchType: FARGATE
  deploymentConfiguration: {{deploymentCircuitBreaker: {{enable: true, rollback: true}}}}
  {NETWORK}
""", lambda local: update_service(local, "web", deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": False}}),
        "spec.deploymentConfiguration.deploymentCircuitBreaker.rollback"),
    Case("daemon", HEAD + EC2_TD + """apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: agent}
spec: {cluster: defaults, taskDefinition: app, schedulingStrategy: DAEMON, launchType: EC2}
""", lambda local: update_service(local, "agent", deploymentConfiguration={"minimumHealthyPercent": 50}),
        "spec.deploymentConfiguration.minimumHealthyPercent"),
    Case("placement-strategy", HEAD + EC2_TD + """apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: packed}
spec:
  cluster: defaults
  taskDefinition: app
  desiredCount: 1
  launchType: EC2
  placementStrategy:
    - {type: spread, field: "attribute:ecs.availability-zone"}
    - {type: spread, field: host}
    - {type: binpack, field: memory}
""", lambda local: update_service(local, "packed", placementStrategy=[
        {"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "instanceId"},
        {"type": "binpack", "field": "CPU"}]), "spec.placementStrategy"),
    Case("lifecycle-hooks", HEAD + FARGATE_TD + f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web}}
spec:
  cluster: defaults
  taskDefinition: app
  desiredCount: 1
  launchType: FARGATE
  deploymentConfiguration:
    lifecycleHooks:
      - hookTargetArn: arn:aws:lambda:us-east-1:123456789012:function:smoke-test
        roleArn: arn:aws:iam::123456789012:role/ecs-hooks
        lifecycleStages: [POST_SCALE_UP]
  {NETWORK}
""", lambda local: update_service(local, "web", deploymentConfiguration={"lifecycleHooks": [{
        "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke-test",
        "roleArn": "arn:aws:iam::123456789012:role/ecs-hooks", "lifecycleStages": ["POST_SCALE_UP"],
        "timeoutConfiguration": {"action": "CONTINUE", "timeoutInMinutes": 60}}]}),
        "spec.deploymentConfiguration.lifecycleHooks"),
    Case("subnets-and-tags-order", HEAD + FARGATE_TD + f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web}}
spec:
  cluster: defaults
  taskDefinition: app
  desiredCount: 1
  launchType: FARGATE
  {NETWORK}
  tags: {{team: shop, env: dev, tier: web}}
""", lambda local: update_service(local, "web", networkConfiguration={"awsvpcConfiguration": {
        "subnets": ["subnet-00000000000000003"], "securityGroups": ["sg-00000000000000001"]}}),
        "spec.networkConfiguration.awsvpcConfiguration.subnets"),
]


@pytest.fixture
def engine(local_clients):
    return Engine(local_clients, EngineOptions())


def _pending(plan):
    return {a.label: [c.path for c in a.changes] for a in plan.pending}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_aws_shaped_answers_plan_clean_and_out_of_band_changes_are_drift(engine, local, case):
    desired = load_text(case.manifests)
    engine.apply(engine.plan(desired))
    assert _pending(engine.plan(desired)) == {}, "what AWS filled in or reordered is not a change"
    if case.out_of_band is None:
        return
    case.out_of_band(local)
    pending = _pending(engine.plan(desired))
    assert len(pending) == 1 and case.path in next(iter(pending.values())), pending
    engine.apply(engine.plan(desired))
    assert _pending(engine.plan(desired)) == {}, "the heal converges"
