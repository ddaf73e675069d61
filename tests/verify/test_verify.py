"""verify on the local endpoint, over HTTP: every check failing and passing, permission denied as
"not verified", and the CLI (verify, plan --verify) and the controller's preflight."""

from __future__ import annotations

import json

import yaml

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.desired.loader import load_text
from reconciler.verify import NG, OK, SKIP, UNVERIFIED, verify

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
API = "ecs-reconciler.io/v1alpha1"


def doc(kind, name, spec):
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def container(name="web", image="nginx:1.27", **extra):
    return {"name": name, "image": image, **extra}


def task(name, containers, **spec):
    return doc("TaskDefinition", name, {"containerDefinitions": containers, **spec})


def statuses(report):
    """(resource, path) -> status; several checks on one path must agree."""
    out = {}
    for check in report.checks:
        key = (check.resource, check.path)
        assert out.get(key, check.status) == check.status, (key, report.checks)
        out[key] = check.status
    return out


def run(clients, *docs):
    report = verify(load_text(yaml.safe_dump_all(docs), "m.yaml"), clients)
    return report, statuses(report)


def role(iam, name, service):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
                                                     "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def test_roles_exist_and_trust_the_right_service(local, local_clients):
    iam = local.client("iam")
    lambda_role = role(iam, "lambdaRole", "lambda.amazonaws.com")
    scheduler_role = role(iam, "schedulerRole", "scheduler.amazonaws.com")
    execution = local.roles()["ecsTaskExecutionRole"]
    report, got = run(local_clients,
                      task("t", [container()], executionRoleArn=execution, taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/app/missing"),
                      task("u", [container()], taskRoleArn=lambda_role),
                      doc("ScheduledTask", "a", {"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "taskDefinition": "t:1",
                                                 "schedule": "rate(1 hour)", "roleArn": scheduler_role}),
                      doc("ScheduledTask", "b", {"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "taskDefinition": "t:1",
                                                 "schedule": "rate(1 hour)", "roleArn": execution}))
    assert got[("TaskDefinition/t", "spec.executionRoleArn")] == OK
    assert got[("TaskDefinition/t", "spec.taskRoleArn")] == NG
    assert got[("TaskDefinition/u", "spec.taskRoleArn")] == NG
    assert got[("ScheduledTask/a", "spec.roleArn")] == OK
    assert got[("ScheduledTask/b", "spec.roleArn")] == NG
    messages = {c.message for c in report.failures}
    assert "role missing does not exist" in messages
    assert any(m.startswith("role lambdaRole does not trust ecs-tasks.amazonaws.com") for m in messages)
    assert any(m.startswith("role ecsTaskExecutionRole does not trust events.amazonaws.com or scheduler") for m in messages)
    assert report.failures[0].file == "m.yaml" and report.failures[0].line


def test_images_in_ecr_by_tag_and_digest_and_others_skipped(local, local_clients):
    ecr = local.client("ecr")
    ecr.create_repository(repositoryName="shop/web")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                           "digest": "sha256:" + "1" * 64}, "layers": []}
    digest = ecr.put_image(repositoryName="shop/web", imageManifest=json.dumps(manifest), imageTag="1.0")["image"]["imageId"]["imageDigest"]
    report, got = run(local_clients, task("t", [
        container("a", f"{REGISTRY}/shop/web:1.0"), container("b", f"{REGISTRY}/shop/web@{digest}"),
        container("c", f"{REGISTRY}/shop/web:2.0"), container("d", f"{REGISTRY}/shop/api:1.0"),
        container("e", "public.ecr.aws/nginx/nginx:1.27")]))
    path = "spec.containerDefinitions[{}].image".format
    assert [got[("TaskDefinition/t", path(i))] for i in range(5)] == [OK, OK, NG, NG, SKIP]
    assert {c.message for c in report.failures} == {
        "image shop/web:2.0 not found in ECR", f"ECR repository shop/api does not exist in {ACCOUNT}/us-east-1"}


def test_secrets_and_repository_credentials_exist(local, local_clients):
    local.client("ssm").put_parameter(Name="/shop/db", Value="x", Type="SecureString")
    arn = local.client("secretsmanager").create_secret(Name="shop/token", SecretString="x")["ARN"]
    report, got = run(local_clients, task("t", [container(
        secrets=[{"name": "A", "valueFrom": "/shop/db"},
                 {"name": "B", "valueFrom": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/shop/db"},
                 {"name": "C", "valueFrom": "/shop/nope"},
                 {"name": "D", "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:shop/token"},
                 {"name": "E", "valueFrom": f"{arn}:password::"},
                 {"name": "F", "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:shop/nope"}],
        repositoryCredentials={"credentialsParameter": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:registry"})]))
    path = "spec.containerDefinitions[0].secrets[{}].valueFrom".format
    assert [got[("TaskDefinition/t", path(i))] for i in range(6)] == [OK, OK, NG, OK, OK, NG]
    assert got[("TaskDefinition/t", "spec.containerDefinitions[0].repositoryCredentials.credentialsParameter")] == NG
    assert "SSM parameter /shop/nope does not exist" in {c.message for c in report.failures}


def test_log_groups_exist_unless_the_driver_creates_them(local, local_clients):
    def logging(group, **options):
        return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": "us-east-1", **options}}

    report, got = run(local_clients, task("t", [
        container("a", logConfiguration=logging("/ecs/shop-web")),  # seeded for the example app
        container("b", logConfiguration=logging("/ecs/missing")),
        container("c", logConfiguration=logging("/ecs/created", **{"awslogs-create-group": "true"}))]))
    path = "spec.containerDefinitions[{}].logConfiguration.options.awslogs-group".format
    assert [got[("TaskDefinition/t", path(i))] for i in range(3)] == [OK, NG, SKIP]


def service(name, **spec):
    return doc("Service", name, {"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "taskDefinition": "t:1", **spec})


def network(subnets, groups):
    return {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups}}


def test_subnets_and_security_groups_exist_and_share_a_vpc(local, local_clients):
    ec2 = local.client("ec2")
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other_sg = ec2.create_security_group(GroupName="other", Description="other", VpcId=other_vpc)["GroupId"]
    subnets, groups = local.network()["subnets"], local.network()["securityGroups"]
    base = "spec.networkConfiguration.awsvpcConfiguration"
    report, got = run(local_clients,
                      service("good", networkConfiguration=network(subnets[:2], groups)),
                      service("mixed", networkConfiguration=network(subnets[:1], [other_sg])),
                      service("missing", networkConfiguration=network(["subnet-0000000000000dead"], groups)))
    assert got[("Service/good", base)] == OK and got[("Service/good", base + ".subnets[1]")] == OK
    assert got[("Service/mixed", base + ".securityGroups[0]")] == OK and got[("Service/mixed", base)] == NG
    assert got[("Service/missing", base + ".subnets[0]")] == NG
    assert any(c.message.startswith("subnets and security groups are in different VPCs") for c in report.failures)


def test_target_groups_exist_and_fit_the_container_port(local, local_clients):
    elb = local.client("elbv2")
    vpc = local.network()["vpcId"]

    def target_group(name, protocol="HTTP", target_type="ip"):
        return elb.create_target_group(Name=name, Protocol=protocol, Port=80, VpcId=vpc,
                                       TargetType=target_type)["TargetGroups"][0]["TargetGroupArn"]

    ip, instance, udp = target_group("web-ip"), target_group("web-instance", target_type="instance"), target_group("dns", "UDP")
    missing = ip.replace("web-ip", "gone")
    web = task("web", [container("web", portMappings=[{"containerPort": 80}])], networkMode="awsvpc")

    def lb(arn, port=80, name="web"):
        return {"targetGroupArn": arn, "containerName": name, "containerPort": port}

    report, got = run(local_clients, web, service(
        "s", taskDefinition="web",
        loadBalancers=[lb(ip), lb(instance), lb(udp), lb(missing), lb(ip, 8080), lb(ip, name="sidecar")]))
    path = "spec.loadBalancers[{}].{}".format
    assert got[("Service/s", path(0, "targetGroupArn"))] == OK and got[("Service/s", path(0, "containerPort"))] == OK
    assert got[("Service/s", path(1, "containerPort"))] == NG  # instance targets with awsvpc
    assert got[("Service/s", path(2, "containerPort"))] == NG  # UDP target group, tcp port
    assert got[("Service/s", path(3, "targetGroupArn"))] == NG
    assert got[("Service/s", path(4, "containerPort"))] == NG
    assert got[("Service/s", path(5, "containerName"))] == NG
    text = " | ".join(c.message for c in report.failures)
    assert "network mode awsvpc needs ip" in text and "protocol UDP, but container port 80 is tcp" in text
    assert "maps no port 8080 (its container ports: 80)" in text and "has no container 'sidecar'" in text


def test_capacity_providers_and_namespaces(local, local_clients):
    sd = local.client("servicediscovery")
    sd.create_http_namespace(Name="shop.local")
    namespace_id = sd.list_namespaces()["Namespaces"][0]["Id"]
    registry = sd.create_service(Name="web", NamespaceId=namespace_id)["Service"]["Arn"]
    local.client("ecs").create_cluster(clusterName="external", capacityProviders=["FARGATE"])
    cluster = doc("Cluster", "shop", {"capacityProviders": ["FARGATE", "ec2-spot"],
                                      "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}],
                                      "serviceConnectDefaults": {"namespace": "shop.local"}})
    report, got = run(local_clients, cluster,
                      service("a", cluster="shop", capacityProviderStrategy=[{"capacityProvider": "FARGATE"},
                                                                             {"capacityProvider": "FARGATE_SPOT"}],
                              serviceConnectConfiguration={"enabled": True, "namespace": "nope.local"},
                              serviceRegistries=[{"registryArn": registry}, {"registryArn": registry[:-4] + "dead"}]),
                      service("b", cluster=f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/external",
                              capacityProviderStrategy=[{"capacityProvider": "FARGATE"}, {"capacityProvider": "FARGATE_SPOT"}]))
    assert got[("Cluster/shop", "spec.capacityProviders[1]")] == NG  # ec2-spot does not exist
    assert got[("Cluster/shop", "spec.defaultCapacityProviderStrategy[0].capacityProvider")] == NG
    assert got[("Cluster/shop", "spec.serviceConnectDefaults.namespace")] == OK
    strategy = "spec.capacityProviderStrategy[{}].capacityProvider".format
    assert [got[("Service/a", strategy(i))] for i in range(2)] == [OK, NG]
    assert [got[("Service/b", strategy(i))] for i in range(2)] == [OK, NG]  # read with DescribeClusters
    assert got[("Service/a", "spec.serviceConnectConfiguration.namespace")] == NG
    assert [got[("Service/a", f"spec.serviceRegistries[{i}].registryArn")] for i in range(2)] == [OK, NG]


def test_fargate_cpu_memory_pairs(local_clients, local):
    fargate = {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc"}
    report, got = run(local_clients,
                      task("ok", [container()], cpu="0.25 vCPU", memory="0.5GB", **fargate),
                      task("big", [container()], cpu="4096", memory="30720", **fargate),
                      task("bad", [container()], cpu="256", memory="4096", **fargate),
                      task("none", [container()], cpu="256", **fargate),
                      task("ec2", [container()], cpu="256", memory="4096"))
    assert got[("TaskDefinition/ok", "spec.memory")] == OK and got[("TaskDefinition/big", "spec.memory")] == OK
    assert got[("TaskDefinition/bad", "spec.memory")] == NG and got[("TaskDefinition/none", "spec.memory")] == NG
    assert not any(c.resource == "TaskDefinition/ec2" and c.path in ("spec.cpu", "spec.memory") for c in report.checks)
    assert "memory 4096 MiB does not go with cpu 256 on Fargate (512, 1024, 2048 MiB)" in {c.message for c in report.failures}


def test_permission_denied_is_not_verified_never_a_pass(local, monkeypatch):
    from moto.core.authorization import enable_iam_authentication

    iam = local.client("iam")
    iam.create_user(UserName="deployer")
    iam.put_user_policy(UserName="deployer", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["iam:GetRole", "logs:DescribeLogGroups"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="deployer")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    clients = Clients(AwsSettings(region="us-east-1", endpoint_url=local.url), CallLog())
    logging = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shop-web"}}
    with enable_iam_authentication():
        report, got = run(clients, task("t", [container(logConfiguration=logging)], cpu="256", memory="512",
                                        requiresCompatibilities=["FARGATE"], executionRoleArn=local.roles()["ecsTaskExecutionRole"]))
    assert got[("TaskDefinition/t", "spec.executionRoleArn")] == UNVERIFIED
    assert got[("TaskDefinition/t", "spec.containerDefinitions[0].logConfiguration.options.awslogs-group")] == UNVERIFIED
    assert got[("TaskDefinition/t", "spec.memory")] == OK and not report.failed
    assert any("iam:GetRole denied" in c.message for c in report.unverified)


def test_cli_verify_and_plan_verify_exit_1_on_a_failure(run_cli, local, tmp_path):
    code, out, err, _ = run_cli("verify", "manifests")
    assert code == 0, out + err
    assert "verify: 23 OK, 0 NG, 3 skipped, 0 not verified" in out
    assert "SKIP         manifests/base/web.yaml:18: TaskDefinition/shop-web: spec.containerDefinitions[0].image" in out
    local.client("logs").delete_log_group(logGroupName="/ecs/shop-web")
    code, out, err, writes = run_cli("verify", "manifests")
    assert code == 1
    assert ("NG           manifests/base/web.yaml:33: TaskDefinition/shop-web: "
            "spec.containerDefinitions[0].logConfiguration.options.awslogs-group: log group /ecs/shop-web does not exist") in out
    code, out, err, writes = run_cli("plan", "manifests", "--verify", "--output", "json")
    assert code == 1 and sum(writes.values()) == 0
    assert json.loads(out)["verify"]["summary"]["NG"] == 1


def test_controller_preflight_holds_a_failing_resource_and_its_dependents(local, local_clients, tmp_path):
    import shutil
    from pathlib import Path

    from reconciler.controller.loop import Controller, ControllerConfig

    source = tmp_path / "m"
    shutil.copytree(Path(__file__).resolve().parents[2] / "manifests" / "base", source)
    local.client("logs").delete_log_group(logGroupName="/ecs/shop-web")
    controller = Controller(local_clients, ControllerConfig(source=str(source), workdir=str(tmp_path / "w"), rollout_poll=0.2))
    try:
        assert not controller.sync_once()
        rows = {f"{r['kind']}/{r['name']}": r for r in controller.status.document()["resources"]}
        assert rows["TaskDefinition/shop-web"]["state"] == "failed"
        assert "log group /ecs/shop-web does not exist" in rows["TaskDefinition/shop-web"]["error"]
        assert rows["Service/shop-web"]["error"] == "not applied: depends on TaskDefinition/shop-web, which failed verify"
        ecs = local.client("ecs")
        assert ecs.list_services(cluster="shop")["serviceArns"] == [
            f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/shop-worker"]
    finally:
        controller.stop()
