"""Property tests: what AWS returns for a request normalizes like the request; a semantic edit never
normalizes away."""

from __future__ import annotations

import copy
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.diff import service, task_definition

names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
env_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
ports = st.integers(min_value=1, max_value=65535)


@st.composite
def containers(draw, network_mode):
    port_list = draw(st.lists(ports, unique=True, max_size=3))
    container = {
        "name": draw(names),
        "image": draw(st.sampled_from(["nginx:1.27", "public.ecr.aws/x/app:1", "busybox"])),
        "memory": draw(st.integers(min_value=4, max_value=4096)),
        "portMappings": [{"containerPort": p} for p in port_list],
        "environment": [{"name": n, "value": draw(st.text(max_size=5))}
                        for n in draw(st.lists(env_names, unique=True, max_size=4))],
        "secrets": [{"name": n, "valueFrom": f"arn:aws:ssm:us-east-1:1:parameter/{n}"}
                    for n in draw(st.lists(env_names, unique=True, max_size=2))],
    }
    if draw(st.booleans()):
        container["healthCheck"] = {"command": ["CMD-SHELL", draw(st.sampled_from(["true", "curl -f localhost"]))]}
    if draw(st.booleans()):
        container["essential"] = draw(st.booleans())
    if draw(st.booleans()):
        container["cpu"] = draw(st.sampled_from([0, 128, 256]))
    return container


@st.composite
def task_definitions(draw):
    mode = draw(st.sampled_from([None, "bridge", "awsvpc", "host"]))
    cs = draw(st.lists(containers(mode), min_size=1, max_size=3, unique_by=lambda c: c["name"]))
    td = {"containerDefinitions": cs}
    if mode:
        td["networkMode"] = mode
    cpu_form = draw(st.sampled_from([None, ("256", "256"), ("0.25 vCPU", "256"), ("1 vCPU", "1024"), (1024, "1024")]))
    if cpu_form:
        td["cpu"] = cpu_form[0]
    mem_form = draw(st.sampled_from([None, ("512", "512"), ("1GB", "1024"), ("0.5 GB", "512"), ("2048", "2048")]))
    if mem_form:
        td["memory"] = mem_form[0]
    if draw(st.booleans()):
        td["volumes"] = [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}},
                         {"name": "scratch", "host": {"sourcePath": "/tmp"}}]
    return td


def what_aws_returns(request, rng):
    """A DescribeTaskDefinition body for `request`: defaults filled, lists reordered, output fields added."""
    td = copy.deepcopy(request)
    mode = td.setdefault("networkMode", "bridge")
    if "cpu" in td:
        td["cpu"] = task_definition.task_cpu(td["cpu"])
    if "memory" in td:
        td["memory"] = task_definition.task_memory(td["memory"])
    for c in td["containerDefinitions"]:
        c.setdefault("essential", True)
        c.setdefault("cpu", 0)
        for m in c["portMappings"]:
            m["protocol"] = "tcp"
            if mode in ("awsvpc", "host"):
                m["hostPort"] = m["containerPort"]
        if "healthCheck" in c:
            c["healthCheck"].update(interval=30, timeout=5, retries=3)
        for key in ("mountPoints", "volumesFrom"):
            c.setdefault(key, [])
        for key in ("portMappings", "environment", "secrets"):
            rng.shuffle(c[key])
    for v in td.get("volumes") or []:
        if "efsVolumeConfiguration" in v:
            v["efsVolumeConfiguration"]["rootDirectory"] = "/"
    rng.shuffle(td["containerDefinitions"])
    td.setdefault("volumes", [])
    rng.shuffle(td["volumes"])
    td.update(taskDefinitionArn="arn:aws:ecs:us-east-1:123456789012:task-definition/f:3", family="f", revision=3,
              status="ACTIVE", compatibilities=["EC2"], requiresAttributes=[{"name": "x"}], placementConstraints=[],
              registeredAt="2024-01-01T00:00:00Z", registeredBy="arn:aws:iam::123456789012:root")
    return td


EDITS = [
    lambda td: td["containerDefinitions"][0].update(image="changed:2"),
    lambda td: td["containerDefinitions"][0].update(memory=td["containerDefinitions"][0]["memory"] + 1),
    lambda td: td["containerDefinitions"][0]["environment"].append({"name": "ADDED_1", "value": "v"}),
    lambda td: td["containerDefinitions"][0]["portMappings"].append({"containerPort": 65536}),
    lambda td: td.update(cpu="4 vCPU"),
    lambda td: td["containerDefinitions"][0].update(essential=not td["containerDefinitions"][0].get("essential", True)),
]


@settings(max_examples=150, deadline=None)
@given(task_definitions(), st.randoms(use_true_random=False))
def test_task_definition_request_and_response_normalize_alike(request, rng):
    assert task_definition.normalize(request) == task_definition.normalize(what_aws_returns(request, rng))


@settings(max_examples=150, deadline=None)
@given(task_definitions(), st.randoms(use_true_random=False), st.sampled_from(range(len(EDITS))))
def test_a_semantic_edit_is_never_normalized_away(request, rng, edit):
    observed = what_aws_returns(request, rng)
    edited = copy.deepcopy(request)
    EDITS[edit](edited)
    assert task_definition.normalize(edited) != task_definition.normalize(observed)


@st.composite
def services(draw):
    subnets = draw(st.lists(st.sampled_from([f"subnet-{i:017d}" for i in range(1, 7)]), min_size=1, unique=True))
    svc = {"cluster": "c", "taskDefinition": "web:3", "desiredCount": draw(st.integers(0, 10)),
           "launchType": "FARGATE",
           "networkConfiguration": {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": ["sg-1", "sg-2"]}}}
    if draw(st.booleans()):
        svc["deploymentConfiguration"] = {"maximumPercent": 200, "minimumHealthyPercent": draw(st.sampled_from([50, 100]))}
    return svc


def what_ecs_returns(request: dict, rng: random.Random) -> dict:
    body = copy.deepcopy(request)
    vpc = body["networkConfiguration"]["awsvpcConfiguration"]
    rng.shuffle(vpc["subnets"])
    vpc["securityGroups"].reverse()
    vpc["assignPublicIp"] = "DISABLED"
    deployment = body.setdefault("deploymentConfiguration", {})
    deployment.setdefault("maximumPercent", 200)
    deployment.setdefault("minimumHealthyPercent", 100)
    deployment["deploymentCircuitBreaker"] = {"enable": False, "rollback": False}
    body.update(clusterArn="arn:aws:ecs:us-east-1:123456789012:cluster/c", serviceName="s",
                taskDefinition="arn:aws:ecs:us-east-1:123456789012:task-definition/web:3", platformVersion="LATEST",
                propagateTags="NONE", schedulingStrategy="REPLICA", deploymentController={"type": "ECS"},
                enableECSManagedTags=False, enableExecuteCommand=False, loadBalancers=[], serviceRegistries=[],
                runningCount=0, pendingCount=0, status="ACTIVE", events=[], deployments=[])
    body.pop("cluster")
    return body


@settings(max_examples=100, deadline=None)
@given(services(), st.randoms(use_true_random=False))
def test_service_request_and_response_normalize_alike(request, rng):
    assert service.normalize(request) == service.normalize(what_ecs_returns(request, rng))
    edited = copy.deepcopy(request)
    edited["desiredCount"] += 1
    assert service.normalize(edited) != service.normalize(what_ecs_returns(request, rng))


def test_service_connect_is_read_from_the_primary_deployment():
    config = {"enabled": True, "namespace": "arn:aws:servicediscovery:us-east-1:1:namespace/shop", "services": []}
    body = {"clusterArn": "arn:aws:ecs:us-east-1:1:cluster/c", "taskDefinition": "web:1",
            "deployments": [{"status": "ACTIVE", "serviceConnectConfiguration": {"enabled": False}},
                            {"status": "PRIMARY", "serviceConnectConfiguration": config}]}
    request = {"cluster": "c", "taskDefinition": "web:1", "serviceConnectConfiguration": {"enabled": True, "namespace": "shop"}}
    assert service.normalize(body) == service.normalize(request)
