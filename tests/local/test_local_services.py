"""CreateService/UpdateService/DeleteService over HTTP answer like real ECS."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import awsvpc, describe, fargate_service, fargate_task_definition


@pytest.fixture
def cluster(ecs, local):
    ecs.create_cluster(clusterName="main")
    fargate_task_definition(ecs)
    return "main"


def test_create_service_returns_real_ecs_defaults(ecs, local, cluster):
    created = fargate_service(ecs, local)
    described = describe(ecs)
    for service in (created, described):
        assert service["deploymentConfiguration"] == {
            "deploymentCircuitBreaker": {
                "enable": False,
                "rollback": False,
                "resetOnHealthyTask": True,
                "thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 50},
            },
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "alarms": {"alarmNames": [], "enable": False, "rollback": False},
            "strategy": "ROLLING",
            "bakeTimeInMinutes": 0,
        }
        assert service["platformVersion"] == "LATEST"
        assert service["platformFamily"] == "Linux"
        assert service["launchType"] == "FARGATE"
        assert service["enableECSManagedTags"] is False
        assert service["enableExecuteCommand"] is False
        assert service["placementConstraints"] == []
        assert service["placementStrategy"] == []
        assert service["propagateTags"] == "NONE"
        assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
        assert "healthCheckGracePeriodSeconds" not in service
        assert service["createdAt"] and service["createdBy"].startswith("arn:aws:iam::123456789012:")
        assert service["taskDefinition"].endswith(":task-definition/web:1")
        assert service["runningCount"] == 0
        [deployment] = service["deployments"]
        assert deployment["status"] == "PRIMARY" and deployment["rolloutState"] == "IN_PROGRESS"
        assert deployment["platformVersion"] == "1.4.0"


def test_create_service_keeps_every_sent_field(ecs, local, cluster):
    sent = {
        "deploymentConfiguration": {
            "maximumPercent": 150,
            "minimumHealthyPercent": 50,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        },
        "platformVersion": "1.4.0",
        "enableECSManagedTags": True,
        "enableExecuteCommand": True,
        "healthCheckGracePeriodSeconds": 30,
        "placementConstraints": [],
        "placementStrategy": [],
        "propagateTags": "SERVICE",
        "serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"}],
        "loadBalancers": [
            {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", "containerName": "app", "containerPort": 80}
        ],
        "networkConfiguration": awsvpc(local, assignPublicIp="ENABLED"),
        "tags": [{"key": "team", "value": "web"}],
    }
    fargate_service(ecs, local, **sent)
    service = describe(ecs, include=["TAGS"])
    reordered = {"deploymentConfiguration", "networkConfiguration", "tags"}  # defaults added / order not kept
    for field, value in sent.items():
        if field not in reordered:
            assert service[field] == value, field
    breaker = service["deploymentConfiguration"]["deploymentCircuitBreaker"]
    assert (breaker["enable"], breaker["rollback"]) == (True, True)
    assert service["deploymentConfiguration"]["maximumPercent"] == 150
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    vpc = service["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["assignPublicIp"] == "ENABLED"
    assert sorted(vpc["subnets"]) == sorted(sent["networkConfiguration"]["awsvpcConfiguration"]["subnets"])
    assert service["tags"] == sent["tags"]
    assert "tags" not in describe(ecs)


def test_capacity_provider_strategy_replaces_launch_type(ecs, local, cluster):
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    ecs.create_service(
        cluster="main", serviceName="api", taskDefinition="web", desiredCount=1,
        capacityProviderStrategy=strategy, networkConfiguration=awsvpc(local),
    )
    service = describe(ecs)
    assert service["capacityProviderStrategy"] == strategy
    assert "launchType" not in service
    assert service["platformVersion"] == "LATEST"
    assert service["deployments"][0]["capacityProviderStrategy"] == strategy


def test_cluster_default_strategy_applies_when_neither_is_sent(ecs, local, cluster):
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]
    ecs.put_cluster_capacity_providers(cluster="main", capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=strategy)
    ecs.create_service(cluster="main", serviceName="api", taskDefinition="web", desiredCount=1, networkConfiguration=awsvpc(local))
    service = describe(ecs)
    assert service["capacityProviderStrategy"] == strategy and "launchType" not in service


def test_launch_type_and_strategy_together_are_rejected(ecs, local, cluster):
    with pytest.raises(ClientError) as err:
        fargate_service(ecs, local, capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_client_token_makes_create_idempotent(ecs, local, cluster):
    first = fargate_service(ecs, local, clientToken="token-1", desiredCount=2)
    again = fargate_service(ecs, local, clientToken="token-1", desiredCount=5)
    assert again["serviceArn"] == first["serviceArn"]
    assert describe(ecs)["desiredCount"] == 2
    assert len(ecs.list_services(cluster="main")["serviceArns"]) == 1


@pytest.mark.parametrize("token", [None, "token-2"])
def test_create_of_active_name_without_same_token_fails(ecs, local, cluster, token):
    fargate_service(ecs, local, clientToken="token-1")
    kwargs = {"clientToken": token} if token else {}
    with pytest.raises(ClientError) as err:
        fargate_service(ecs, local, desiredCount=7, **kwargs)
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert err.value.response["Error"]["Message"] == "Creation of service was not idempotent."
    assert describe(ecs)["desiredCount"] == 2


def test_security_groups_may_be_omitted(ecs, local, cluster):
    network = {"awsvpcConfiguration": {"subnets": local.network()["subnets"][:1]}}
    service = fargate_service(ecs, local, networkConfiguration=network)
    assert service["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": local.network()["subnets"][:1],
        "assignPublicIp": "DISABLED",
    }


def test_awsvpc_task_definition_needs_network_configuration(ecs, local, cluster):
    with pytest.raises(ClientError) as err:
        ecs.create_service(cluster="main", serviceName="api", taskDefinition="web", desiredCount=1, launchType="FARGATE")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_unknown_subnet_is_a_validation_error(ecs, local, cluster):
    with pytest.raises(ClientError) as err:
        fargate_service(ecs, local, networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0nope"]}})
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_update_applies_every_updatable_field(ecs, local, cluster):
    fargate_service(ecs, local)
    changes = {
        "desiredCount": 4,
        "deploymentConfiguration": {"maximumPercent": 300, "minimumHealthyPercent": 0},
        "placementConstraints": [],
        "placementStrategy": [],
        "healthCheckGracePeriodSeconds": 45,
        "enableExecuteCommand": True,
        "enableECSManagedTags": True,
        "propagateTags": "TASK_DEFINITION",
        "loadBalancers": [
            {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/2", "containerName": "app", "containerPort": 8080}
        ],
        "serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-2"}],
        "networkConfiguration": awsvpc(local, assignPublicIp="ENABLED"),
        "platformVersion": "1.4.0",
    }
    returned = ecs.update_service(cluster="main", service="api", **changes)["service"]
    described = describe(ecs)
    for service in (returned, described):
        for field, value in changes.items():
            if field not in ("deploymentConfiguration", "networkConfiguration"):
                assert service[field] == value, field
        vpc = service["networkConfiguration"]["awsvpcConfiguration"]
        assert vpc["assignPublicIp"] == "ENABLED"
        assert sorted(vpc["subnets"]) == sorted(changes["networkConfiguration"]["awsvpcConfiguration"]["subnets"])
        config = service["deploymentConfiguration"]
        assert (config["maximumPercent"], config["minimumHealthyPercent"]) == (300, 0)
        assert config["deploymentCircuitBreaker"]["enable"] is False and config["strategy"] == "ROLLING"


def test_update_capacity_provider_strategy(ecs, local, cluster):
    fargate_service(ecs, local)
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 0}]
    service = ecs.update_service(cluster="main", service="api", capacityProviderStrategy=strategy)["service"]
    assert service["capacityProviderStrategy"] == strategy and "launchType" not in service
    assert service["deployments"][0]["capacityProviderStrategy"] == strategy
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY", "ACTIVE"]


@pytest.mark.parametrize("reference", ["web", "web:2", "ARN"])
def test_task_definition_is_stored_as_arn(ecs, local, cluster, reference):
    fargate_service(ecs, local)
    arn = fargate_task_definition(ecs, image="nginx:2")
    ecs.update_service(cluster="main", service="api", taskDefinition=arn if reference == "ARN" else reference)
    assert describe(ecs)["taskDefinition"] == arn


def test_family_means_latest_active_revision(ecs, local, cluster):
    fargate_task_definition(ecs, image="nginx:2")
    ecs.deregister_task_definition(taskDefinition="web:2")
    service = fargate_service(ecs, local, taskDefinition="web")
    assert service["taskDefinition"].endswith("task-definition/web:1")
    with pytest.raises(ClientError) as err:
        ecs.update_service(cluster="main", service="api", taskDefinition="web:2")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_desired_count_alone_starts_no_deployment_and_runs_nothing(ecs, local, cluster):
    local.scheduler.stop()
    try:
        first = fargate_service(ecs, local)
        updated = ecs.update_service(cluster="main", service="api", desiredCount=5)["service"]
        assert updated["desiredCount"] == 5
        assert updated["runningCount"] == 0
        assert [d["id"] for d in updated["deployments"]] == [first["deployments"][0]["id"]]
        assert updated["deployments"][0]["desiredCount"] == 5
    finally:
        local.scheduler.start()


@pytest.mark.parametrize(
    "change",
    [
        {"taskDefinition": "NEW"},
        {"forceNewDeployment": True},
        {"platformVersion": "1.3.0"},
        {"networkConfiguration": "PUBLIC"},
    ],
)
def test_changes_that_start_a_new_deployment(ecs, local, cluster, change):
    local.scheduler.stop()
    try:
        old = fargate_service(ecs, local)["deployments"][0]
        if change.get("taskDefinition") == "NEW":
            change = {"taskDefinition": fargate_task_definition(ecs, image="nginx:2")}
        if change.get("networkConfiguration") == "PUBLIC":
            change = {"networkConfiguration": awsvpc(local, assignPublicIp="ENABLED")}
        service = ecs.update_service(cluster="main", service="api", **change)["service"]
        primary, previous = service["deployments"]
        assert primary["status"] == "PRIMARY" and primary["id"] != old["id"]
        assert primary["rolloutState"] == "IN_PROGRESS" and primary["runningCount"] == 0
        assert previous["id"] == old["id"] and previous["status"] == "ACTIVE"
        assert primary["taskDefinition"] == service["taskDefinition"]
    finally:
        local.scheduler.start()


def test_delete_marks_inactive_and_allows_recreate(ecs, local, cluster):
    fargate_service(ecs, local, desiredCount=0)
    other = fargate_service(ecs, local, name="keep")
    ecs.delete_service(cluster="main", service="api")
    assert ecs.list_services(cluster="main")["serviceArns"] == [other["serviceArn"]]
    assert describe(ecs)["status"] == "INACTIVE"
    with pytest.raises(ClientError) as err:
        ecs.update_service(cluster="main", service="api", desiredCount=1)
    assert err.value.response["Error"]["Code"] == "ServiceNotActiveException"
    again = fargate_service(ecs, local, desiredCount=3)
    assert again["status"] == "ACTIVE"
    assert describe(ecs)["desiredCount"] == 3


def test_list_services_paginates_like_ecs(ecs, local, cluster):
    for index in range(13):
        fargate_service(ecs, local, name=f"svc-{index:02d}", desiredCount=0)
    first = ecs.list_services(cluster="main")
    assert len(first["serviceArns"]) == 10 and first["nextToken"]
    second = ecs.list_services(cluster="main", nextToken=first["nextToken"])
    assert len(second["serviceArns"]) == 3 and "nextToken" not in second
    pages = ecs.get_paginator("list_services").paginate(cluster="main")
    assert sum(len(page["serviceArns"]) for page in pages) == 13


def test_describe_services_accepts_at_most_ten(ecs, local, cluster):
    with pytest.raises(ClientError) as err:
        ecs.describe_services(cluster="main", services=[f"s{i}" for i in range(11)])
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
