"""CreateService / UpdateService / DescribeServices / clusters: the defaults, shapes and orders of real ECS.

Evidence for every rule: docs/normalization.md, "What the local endpoint fills in, like AWS".
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import describe, fargate_service, fargate_task_definition, wait_for

HOOK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:pre-scale-up"
HOOK_ROLE = "arn:aws:iam::123456789012:role/ecs-hooks"


@pytest.fixture
def cluster(ecs, local):
    ecs.create_cluster(clusterName="main")
    fargate_task_definition(ecs)
    return "main"


@pytest.fixture
def namespace(local):
    """An HTTP Cloud Map namespace `shop`: (name, ARN)."""
    cloud_map = local.client("servicediscovery")
    cloud_map.create_http_namespace(Name="shop")
    [found] = [n for n in cloud_map.list_namespaces()["Namespaces"] if n["Name"] == "shop"]
    return found["Name"], found["Arn"]


def primary(service: dict) -> dict:
    [deployment] = [d for d in service["deployments"] if d["status"] == "PRIMARY"]
    return deployment


# -- deploymentConfiguration --------------------------------------------------------------------


def test_daemon_service_gets_daemon_percentages(ecs, local, cluster):
    ecs.register_task_definition(family="agent", containerDefinitions=[{"name": "a", "image": "agent", "memory": 64}])
    ecs.create_service(cluster="main", serviceName="agent", taskDefinition="agent", schedulingStrategy="DAEMON")
    config = describe(ecs, "agent")["deploymentConfiguration"]
    assert (config["maximumPercent"], config["minimumHealthyPercent"]) == (100, 0)
    assert config["strategy"] == "ROLLING" and config["bakeTimeInMinutes"] == 0


def test_sent_deployment_configuration_is_kept_and_the_rest_filled_in(ecs, local, cluster):
    sent = {
        "minimumHealthyPercent": 50,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True,
                                     "thresholdConfiguration": {"type": "COUNT", "value": 3}},
        "alarms": {"alarmNames": ["high-5xx"], "enable": True, "rollback": True},
    }
    created = fargate_service(ecs, local, deploymentConfiguration=sent)
    for service in (created, describe(ecs)):
        assert service["deploymentConfiguration"] == {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True, "resetOnHealthyTask": True,
                                         "thresholdConfiguration": {"type": "COUNT", "value": 3}},
            "maximumPercent": 200,
            "minimumHealthyPercent": 50,
            "alarms": {"alarmNames": ["high-5xx"], "enable": True, "rollback": True},
            "strategy": "ROLLING",
            "bakeTimeInMinutes": 0,
        }


def test_update_of_one_percentage_keeps_the_rest(ecs, local, cluster):
    fargate_service(ecs, local, deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5})
    ecs.update_service(cluster="main", service="api", deploymentConfiguration={"minimumHealthyPercent": 50})
    config = describe(ecs)["deploymentConfiguration"]
    assert config["minimumHealthyPercent"] == 50 and config["maximumPercent"] == 200
    assert (config["strategy"], config["bakeTimeInMinutes"]) == ("BLUE_GREEN", 5)


def test_lifecycle_hooks_get_their_defaults(ecs, local, cluster):
    hooks = [
        {"hookTargetArn": HOOK_ARN, "roleArn": HOOK_ROLE, "lifecycleStages": ["PRE_SCALE_UP"]},
        {"hookTargetArn": HOOK_ARN, "roleArn": HOOK_ROLE, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
         "timeoutConfiguration": {"timeoutInMinutes": 30}},
    ]
    fargate_service(ecs, local, deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5,
                                                        "lifecycleHooks": hooks})
    returned = describe(ecs)["deploymentConfiguration"]["lifecycleHooks"]
    assert returned == [
        {**hooks[0], "targetType": "AWS_LAMBDA", "timeoutConfiguration": {"action": "ROLLBACK", "timeoutInMinutes": 1440}},
        {**hooks[1], "targetType": "AWS_LAMBDA", "timeoutConfiguration": {"action": "ROLLBACK", "timeoutInMinutes": 30}},
    ]


# -- placement, order, availability zones -------------------------------------------------------


def test_placement_strategy_fields_come_back_as_ecs_stores_them(ecs, local, cluster):
    ecs.register_task_definition(family="ec2", containerDefinitions=[{"name": "a", "image": "x", "memory": 64}])
    sent = [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "spread", "field": "host"},
        {"type": "binpack", "field": "memory"},
        {"type": "binpack", "field": "cpu"},
        {"type": "random"},
    ]
    created = ecs.create_service(cluster="main", serviceName="ec2", taskDefinition="ec2", desiredCount=1,
                                 placementStrategy=sent)["service"]
    for service in (created, describe(ecs, "ec2")):
        assert service["placementStrategy"] == [
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "spread", "field": "instanceId"},
            {"type": "binpack", "field": "MEMORY"},
            {"type": "binpack", "field": "CPU"},
            {"type": "random"},
        ]
    updated = ecs.update_service(cluster="main", service="ec2", placementStrategy=[{"type": "binpack", "field": "cpu"}])
    assert updated["service"]["placementStrategy"] == [{"type": "binpack", "field": "CPU"}]


def test_subnets_security_groups_and_tags_come_back_in_another_order(ecs, local, cluster):
    net = local.network()
    ec2 = local.client("ec2")
    extra = ec2.create_security_group(GroupName="web", Description="web", VpcId=net["vpcId"])["GroupId"]
    subnets, groups = net["subnets"][:3], [*net["securityGroups"], extra]
    tags = [{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}]
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}
    fargate_service(ecs, local, networkConfiguration=network, tags=tags)
    service = describe(ecs, include=["TAGS"])
    vpc = service["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc["subnets"] != subnets and sorted(vpc["subnets"]) == sorted(subnets)
    assert vpc["securityGroups"] != groups and sorted(vpc["securityGroups"]) == sorted(groups)
    assert service["tags"] != tags and sorted(service["tags"], key=str) == sorted(tags, key=str)

    # The same sets in any order are no change: no new deployment.
    ecs.update_service(cluster="main", service="api", networkConfiguration={"awsvpcConfiguration": dict(vpc)})
    assert len(describe(ecs)["deployments"]) == 1


def test_availability_zone_rebalancing(ecs, local, cluster):
    fargate_service(ecs, local, name="default")
    fargate_service(ecs, local, name="off", availabilityZoneRebalancing="DISABLED")
    ecs.register_task_definition(family="ec2", containerDefinitions=[{"name": "a", "image": "x", "memory": 64}])
    ecs.create_service(cluster="main", serviceName="packed", taskDefinition="ec2", desiredCount=1,
                       placementStrategy=[{"type": "binpack", "field": "memory"}])
    assert describe(ecs, "default")["availabilityZoneRebalancing"] == "ENABLED"
    assert describe(ecs, "off")["availabilityZoneRebalancing"] == "DISABLED"
    assert describe(ecs, "packed")["availabilityZoneRebalancing"] == "DISABLED"

    ecs.update_service(cluster="main", service="off", desiredCount=3)
    assert describe(ecs, "off")["availabilityZoneRebalancing"] == "DISABLED"
    ecs.update_service(cluster="main", service="default", availabilityZoneRebalancing="DISABLED")
    service = describe(ecs, "default")
    assert service["availabilityZoneRebalancing"] == "DISABLED"
    assert len(service["deployments"]) == 1  # the parameter starts no deployment


# -- fields that live on the deployment --------------------------------------------------------


def test_deployment_fields_live_on_the_primary_deployment_and_carry_over(ecs, local, cluster, namespace):
    name, _ = namespace
    connect = {"enabled": True, "namespace": name, "services": [{"portName": "http", "discoveryName": "api"}]}
    volumes = [{"name": "data", "managedEBSVolume": {"roleArn": HOOK_ROLE, "sizeInGiB": 20}}]
    lattice = [{"roleArn": HOOK_ROLE, "portName": "http",
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1"}]
    created = fargate_service(ecs, local, serviceConnectConfiguration=connect, volumeConfigurations=volumes,
                              vpcLatticeConfigurations=lattice)
    for service in (created, describe(ecs)):
        for field in ("serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations"):
            assert field not in service, field
        deployment = primary(service)
        assert deployment["serviceConnectConfiguration"] == connect
        assert deployment["volumeConfigurations"] == volumes
        assert deployment["vpcLatticeConfigurations"] == lattice

    # A new deployment for another reason carries the service's current configuration.
    fargate_task_definition(ecs, image="nginx:2")
    ecs.update_service(cluster="main", service="api", taskDefinition="web")
    service = describe(ecs)
    assert len(service["deployments"]) == 2
    assert primary(service)["serviceConnectConfiguration"] == connect
    assert primary(service)["volumeConfigurations"] == volumes

    # Changing one of them starts a deployment with the new value; the old one keeps its own.
    changed = {**connect, "services": [{"portName": "http", "discoveryName": "api-v2"}]}
    ecs.update_service(cluster="main", service="api", serviceConnectConfiguration=changed)
    service = describe(ecs)
    assert primary(service)["serviceConnectConfiguration"] == changed
    assert primary(service)["vpcLatticeConfigurations"] == lattice
    older = [d for d in service["deployments"] if d["status"] != "PRIMARY"]
    assert older and all(d["serviceConnectConfiguration"] == connect for d in older)


# -- Service Connect namespaces -----------------------------------------------------------------


def test_service_connect_with_unknown_namespace_is_refused(ecs, local, cluster):
    connect = {"enabled": True, "namespace": "missing", "services": [{"portName": "http"}]}
    with pytest.raises(ClientError) as error:
        fargate_service(ecs, local, serviceConnectConfiguration=connect)
    assert error.value.response["Error"]["Code"] == "NamespaceNotFoundException"
    assert error.value.response["Error"]["Message"] == "Failed to retrieve namespace for missing"
    assert ecs.list_services(cluster="main")["serviceArns"] == []

    fargate_service(ecs, local)
    with pytest.raises(ClientError) as error:
        ecs.update_service(cluster="main", service="api", serviceConnectConfiguration=connect)
    assert error.value.response["Error"]["Code"] == "NamespaceNotFoundException"
    assert "serviceConnectConfiguration" not in primary(describe(ecs))


@pytest.mark.parametrize("by", ["name", "arn"])
def test_service_connect_namespace_by_name_or_arn_is_kept_as_sent(ecs, local, cluster, namespace, by):
    reference = namespace[0] if by == "name" else namespace[1]
    logs = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/sc"}}
    connect = {"enabled": True, "namespace": reference, "services": [{"portName": "http"}], "logConfiguration": logs}
    fargate_service(ecs, local, serviceConnectConfiguration=connect)
    assert primary(describe(ecs))["serviceConnectConfiguration"] == {
        **connect, "logConfiguration": {**logs, "secretOptions": []}}


def test_cluster_default_namespace(ecs, local, namespace):
    name, arn = namespace
    created = ecs.create_cluster(clusterName="main", serviceConnectDefaults={"namespace": name})["cluster"]
    described = ecs.describe_clusters(clusters=["main"])["clusters"][0]
    for cluster in (created, described):
        assert cluster["serviceConnectDefaults"] == {"namespace": arn}

    fargate_task_definition(ecs)
    fargate_service(ecs, local, serviceConnectConfiguration={"enabled": True, "services": [{"portName": "http"}]})
    assert primary(describe(ecs))["serviceConnectConfiguration"]["namespace"] == name

    ecs.update_cluster(cluster="main", serviceConnectDefaults={"namespace": ""})
    assert "serviceConnectDefaults" not in ecs.describe_clusters(clusters=["main"])["clusters"][0]
    with pytest.raises(ClientError) as error:
        fargate_service(ecs, local, name="other",
                        serviceConnectConfiguration={"enabled": True, "services": [{"portName": "http"}]})
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_cluster_default_with_a_new_name_creates_the_namespace(ecs, local):
    cluster = ecs.create_cluster(clusterName="main", serviceConnectDefaults={"namespace": "fresh"})["cluster"]
    namespaces = {n["Name"]: n for n in local.client("servicediscovery").list_namespaces()["Namespaces"]}
    assert namespaces["fresh"]["Type"] == "HTTP"
    assert cluster["serviceConnectDefaults"] == {"namespace": namespaces["fresh"]["Arn"]}

    unknown = "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-doesnotexist00"
    with pytest.raises(ClientError) as error:
        ecs.update_cluster(cluster="main", serviceConnectDefaults={"namespace": unknown})
    assert error.value.response["Error"]["Code"] == "NamespaceNotFoundException"


def test_rollback_returns_to_the_configuration_of_the_last_completed_deployment(ecs, local, cluster, namespace):
    name, _ = namespace
    first = {"enabled": True, "namespace": name, "services": [{"portName": "http", "discoveryName": "api"}]}
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    good = fargate_service(ecs, local, desiredCount=1, deploymentConfiguration=breaker,
                           serviceConnectConfiguration=first)["taskDefinition"]
    wait_for(lambda: primary(describe(ecs))["rolloutState"] == "COMPLETED")
    bad = fargate_task_definition(ecs, image="example/fail-deploy:2")
    second = {**first, "services": [{"portName": "http", "discoveryName": "api-v2"}]}
    ecs.update_service(cluster="main", service="api", taskDefinition=bad, serviceConnectConfiguration=second)
    service = wait_for(lambda: (s := describe(ecs))["taskDefinition"] == good and s)
    assert primary(service)["serviceConnectConfiguration"] == first
