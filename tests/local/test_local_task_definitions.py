"""RegisterTaskDefinition / DescribeTaskDefinition over HTTP answer the way real ECS does.

Each test checks both the RegisterTaskDefinition response and a later DescribeTaskDefinition, and
that what the request set is kept. Evidence for every rule: docs/normalization.md, "What the local
endpoint fills in, like AWS".
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1"


@pytest.fixture
def ecs(endpoint):
    """The module's endpoint without a reset (each test registers its own family), so these stay fast."""
    return endpoint.client("ecs")


@pytest.fixture
def family(request) -> str:
    return "td-" + "".join(ch if ch.isalnum() else "-" for ch in request.node.name)[:200]


def register(ecs, family: str, **kwargs) -> list[dict]:
    """Register, describe the same revision, and return both views of the definition."""
    registered = ecs.register_task_definition(family=family, **kwargs)["taskDefinition"]
    described = ecs.describe_task_definition(taskDefinition=registered["taskDefinitionArn"])["taskDefinition"]
    return [registered, described]


def container(definition: dict, name: str) -> dict:
    return next(c for c in definition["containerDefinitions"] if c["name"] == name)


def test_volumes_come_back_with_configured_at_launch_false(ecs, family):
    volumes = [
        {"name": "data", "host": {"sourcePath": "/data"}},
        {"name": "ebs", "configuredAtLaunch": True},
    ]
    containers = [{"name": "app", "image": "nginx", "memory": 64}]
    for definition in register(ecs, family, containerDefinitions=containers, volumes=volumes):
        by_name = {v["name"]: v for v in definition["volumes"]}
        assert by_name["data"] == {"name": "data", "host": {"sourcePath": "/data"}, "configuredAtLaunch": False}
        assert by_name["ebs"]["configuredAtLaunch"] is True


def test_firelens_router_runs_as_root_unless_a_user_was_sent(ecs, family):
    containers = [
        {"name": "app", "image": "nginx", "memory": 64},
        {"name": "router", "image": "fluent-bit", "memory": 64, "firelensConfiguration": {"type": "fluentbit"}},
        {"name": "router2", "image": "fluent-bit", "memory": 64, "user": "0:1337",
         "firelensConfiguration": {"type": "fluentd"}},
    ]
    for definition in register(ecs, family, containerDefinitions=containers):
        assert container(definition, "router")["user"] == "0"
        assert container(definition, "router2")["user"] == "0:1337"
        assert "user" not in container(definition, "app")


def test_firelens_router_with_another_uid_is_refused(ecs, family):
    router = {"name": "router", "image": "fluent-bit", "memory": 64, "user": "1000",
              "firelensConfiguration": {"type": "fluentbit"}}
    with pytest.raises(ClientError) as error:
        ecs.register_task_definition(family=family, containerDefinitions=[router])
    assert error.value.response["Error"]["Code"] == "ClientException"
    assert "'UID' has to be '0'" in error.value.response["Error"]["Message"]
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == []


def test_proxy_configuration_properties_come_back_in_another_order(ecs, family):
    properties = [
        {"name": "IgnoredUID", "value": "1337"},
        {"name": "ProxyIngressPort", "value": "15000"},
        {"name": "ProxyEgressPort", "value": "15001"},
        {"name": "AppPorts", "value": "9080"},
    ]
    proxy = {"type": "APPMESH", "containerName": "envoy", "properties": properties}
    containers = [{"name": "app", "image": "app", "memory": 64}, {"name": "envoy", "image": "envoy", "memory": 64}]
    for definition in register(ecs, family, containerDefinitions=containers, proxyConfiguration=proxy,
                               networkMode="awsvpc"):
        returned = definition["proxyConfiguration"]["properties"]
        assert returned != properties
        assert sorted(returned, key=lambda p: p["name"]) == sorted(properties, key=lambda p: p["name"])


@pytest.mark.parametrize(
    ("sent_mode", "expected_mode"), [(None, "bridge"), ("bridge", "bridge"), ("host", "host"), ("none", "none")]
)
def test_ecs_anywhere_keeps_its_network_mode(ecs, family, sent_mode, expected_mode):
    kwargs = {"networkMode": sent_mode} if sent_mode else {}
    containers = [{"name": "app", "image": "nginx", "memory": 64}]
    for definition in register(ecs, family, containerDefinitions=containers, requiresCompatibilities=["EXTERNAL"],
                               **kwargs):
        assert definition["networkMode"] == expected_mode
        assert definition["requiresCompatibilities"] == ["EXTERNAL"]
        assert definition["compatibilities"] == ["EXTERNAL", "EC2"]


def test_fargate_definition_is_awsvpc_and_fargate_compatible(ecs, family):
    containers = [{"name": "app", "image": "nginx"}]
    for definition in register(ecs, family, containerDefinitions=containers, requiresCompatibilities=["FARGATE"],
                               networkMode="awsvpc", cpu="256", memory="512"):
        assert definition["networkMode"] == "awsvpc"
        assert definition["compatibilities"] == ["EC2", "FARGATE"]


def test_port_mappings_get_protocol_and_static_host_port(ecs, family):
    ports = [{"containerPort": 80}, {"containerPort": 53, "protocol": "udp"}, {"containerPort": 8080, "hostPort": 8080}]
    for definition in register(ecs, family, containerDefinitions=[{"name": "app", "image": "nginx", "memory": 64,
                                                           "portMappings": ports}], networkMode="awsvpc"):
        assert container(definition, "app")["portMappings"] == [
            {"containerPort": 80, "hostPort": 80, "protocol": "tcp"},
            {"containerPort": 53, "hostPort": 53, "protocol": "udp"},
            {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"},
        ]


def test_bridge_port_mapping_without_host_port_stays_dynamic(ecs, family):
    ports = [{"containerPort": 80}, {"containerPort": 443, "hostPort": 8443}]
    for definition in register(ecs, family, containerDefinitions=[{"name": "app", "image": "nginx", "memory": 64,
                                                           "portMappings": ports}]):
        assert definition["networkMode"] == "bridge"
        assert container(definition, "app")["portMappings"] == [
            {"containerPort": 80, "protocol": "tcp"},
            {"containerPort": 443, "hostPort": 8443, "protocol": "tcp"},
        ]


def test_health_check_defaults_are_filled_in_and_sent_values_kept(ecs, family):
    containers = [
        {"name": "app", "image": "nginx", "memory": 64, "healthCheck": {"command": ["CMD", "true"]}},
        {"name": "side", "image": "nginx", "memory": 64,
         "healthCheck": {"command": ["CMD", "true"], "interval": 10, "startPeriod": 20}},
    ]
    for definition in register(ecs, family, containerDefinitions=containers):
        assert container(definition, "app")["healthCheck"] == {
            "command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3}
        assert container(definition, "side")["healthCheck"] == {
            "command": ["CMD", "true"], "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 20}


def test_environment_and_secrets_come_back_in_another_order(ecs, family):
    environment = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    secrets = [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"},
               {"name": "API", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api"}]
    containers = [{"name": "app", "image": "nginx", "memory": 64, "environment": environment, "secrets": secrets}]
    for definition in register(ecs, family, containerDefinitions=containers):
        app = container(definition, "app")
        assert app["environment"] != environment and sorted(app["environment"], key=str) == sorted(environment, key=str)
        assert app["secrets"] != secrets and sorted(app["secrets"], key=str) == sorted(secrets, key=str)


def test_describe_tags_come_back_in_another_order(ecs, family):
    tags = [{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}, {"key": "cost", "value": "42"}]
    ecs.register_task_definition(family=family, containerDefinitions=[{"name": "app", "image": "nginx", "memory": 64}],
                                 tags=tags)
    returned = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])["tags"]
    assert returned != tags and sorted(returned, key=str) == sorted(tags, key=str)


def test_output_only_fields_are_filled_in(ecs, family):
    containers = [{"name": "app", "image": ECR_IMAGE,
                   "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}}]
    for definition in register(
        ecs, family, containerDefinitions=containers, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512", executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        taskRoleArn="arn:aws:iam::123456789012:role/web",
    ):
        assert definition["registeredAt"] is not None
        assert definition["registeredBy"] == "arn:aws:iam::123456789012:root"
        assert {a["name"] for a in definition["requiresAttributes"]} == {
            "com.amazonaws.ecs.capability.logging-driver.awslogs",
            "ecs.capability.execution-role-awslogs",
            "com.amazonaws.ecs.capability.ecr-auth",
            "ecs.capability.execution-role-ecr-pull",
            "com.amazonaws.ecs.capability.task-iam-role",
            "ecs.capability.task-eni",
        }
        assert container(definition, "app")["systemControls"] == []


def test_plain_moto_keeps_moto_behaviour(endpoint, endpoint_url):
    """The rules apply to the local endpoint only: a plain moto server in the same process is untouched."""
    plain = boto3.client("ecs", endpoint_url=endpoint_url, region_name="us-east-1",
                         aws_access_key_id="testing", aws_secret_access_key="testing")
    definition = plain.register_task_definition(
        family="plain-external", requiresCompatibilities=["EXTERNAL"],
        containerDefinitions=[{"name": "app", "image": "nginx", "memory": 64, "portMappings": [{"containerPort": 80}]}],
        volumes=[{"name": "data", "host": {"sourcePath": "/data"}}],
    )["taskDefinition"]
    assert definition["networkMode"] == "awsvpc"  # moto's own choice for anything not EC2-only
    assert "configuredAtLaunch" not in definition["volumes"][0]
    assert definition["containerDefinitions"][0]["portMappings"] == [{"containerPort": 80}]
    assert "registeredAt" not in definition
