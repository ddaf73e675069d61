"""LocalEndpoint: free or fixed port, seeding, reset, and isolation from a plain moto server."""

from __future__ import annotations

import socket
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from reconciler.local import LocalEndpoint


def test_seeded_network_and_roles_exist(local):
    ec2, iam = local.client("ec2"), local.client("iam")
    net = local.network()
    assert net["vpcId"].startswith("vpc-") and net["subnets"] and net["securityGroups"]
    subnets = ec2.describe_subnets(SubnetIds=net["subnets"])["Subnets"]
    assert {s["VpcId"] for s in subnets} == {net["vpcId"]}
    [group] = ec2.describe_security_groups(GroupIds=net["securityGroups"])["SecurityGroups"]
    assert group["VpcId"] == net["vpcId"]
    for name, arn in local.roles().items():
        assert iam.get_role(RoleName=name)["Role"]["Arn"] == arn == f"arn:aws:iam::123456789012:role/{name}"


def test_reset_wipes_state_and_seeds_again(local):
    ecs = local.client("ecs")
    ecs.create_cluster(clusterName="main")
    local.reset()
    assert ecs.list_clusters()["clusterArns"] == []
    assert local.client("iam").get_role(RoleName="ecsEventsRole")
    assert local.client("ec2").describe_subnets(SubnetIds=local.network()["subnets"])["Subnets"]
    assert local.client("ssm").get_parameter(Name="/shop/database-url")["Parameter"]["Type"] == "SecureString"
    assert local.client("secretsmanager").describe_secret(SecretId="shop/payment-token")["Name"] == "shop/payment-token"


def test_other_services_are_served(local):
    local.client("logs").create_log_group(logGroupName="/ecs/web")
    groups = [g["logGroupName"] for g in local.client("logs").describe_log_groups()["logGroups"]]
    # Next to the example app's groups, which every fresh account holds (example_dependencies).
    assert sorted(groups) == ["/ecs/shop-web", "/ecs/shop-worker", "/ecs/web"]
    assert local.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert local.client("sqs").list_queues().get("QueueUrls", []) == []


def test_env_points_at_the_endpoint(local):
    env = local.env()
    assert env["AWS_ENDPOINT_URL"] == local.url and local.url.startswith("http://127.0.0.1:")
    assert env["AWS_REGION"] == "us-east-1"


def test_fixed_port_and_stop():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = LocalEndpoint(port=port, settle_seconds=0.2).start()
    try:
        assert endpoint.url == f"http://127.0.0.1:{port}"
        assert endpoint.client("ecs").list_clusters()["clusterArns"] == []
    finally:
        endpoint.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2)


def test_plain_moto_server_in_same_process_keeps_moto_behaviour(local):
    """The fidelity patches apply only to requests served by a LocalEndpoint."""
    plain = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    plain.start()
    try:
        host, port = plain.get_host_and_port()
        ecs = boto3.client(
            "ecs", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="x",
        )
        ecs.create_cluster(clusterName="plain")
        ecs.register_task_definition(family="plain", containerDefinitions=[{"name": "a", "image": "x", "memory": 64}])
        first = ecs.create_service(cluster="plain", serviceName="s", taskDefinition="plain", desiredCount=1)["service"]
        assert "deploymentConfiguration" not in first
        ecs.create_service(cluster="plain", serviceName="s", taskDefinition="plain", desiredCount=2)  # moto overwrites
        updated = ecs.update_service(cluster="plain", service="s", desiredCount=3)["service"]
        assert updated["runningCount"] == 3  # moto's shortcut, untouched
        # ... while the same call through the LocalEndpoint behaves like ECS.
        local_ecs = local.client("ecs")
        with pytest.raises(ClientError):
            local_ecs.create_service(cluster="plain", serviceName="s", taskDefinition="plain", desiredCount=2)
        assert local.scheduler.tick() == []  # services made elsewhere are not scheduled here
    finally:
        plain.stop()



def test_reset_keeps_the_stable_network_ids_after_an_auto_scaling_group_existed(local):
    """moto's reset of Auto Scaling recreates this region's default VPC with ids numbered on; the
    endpoint's reset numbers it from the start again."""
    ec2, autoscaling = local.client("ec2"), local.client("autoscaling")
    template = ec2.create_launch_template(LaunchTemplateName="w", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})["LaunchTemplate"]
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="a", MinSize=0, MaxSize=1, VPCZoneIdentifier=
                                          local.network()["subnets"][0],
                                          LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]})
    local.reset()
    assert local.network()["subnets"][0] == "subnet-00000000000000001"
    assert local.network()["securityGroups"] == ["sg-00000000000000001"]
