"""For every real-world fixture, every meaningful one-field change shows up at exactly its path.

The observed side is what AWS returns for the fixture (defaults filled in, lists reordered, output
fields added); each edit changes one field of that response. Normalization must absorb the first
and never the second.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from reconciler.desired.loader import validate_document
from reconciler.diff import service as service_rules
from reconciler.diff import task_definition as td_rules
from reconciler.diff.compare import compare
from reconciler.diff.declared import comparable, fields_fingerprint
from support.fixture_manifests import published_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TASKDEFS = sorted((FIXTURES / "taskdefs").glob("*.json"))
SERVICES = sorted((FIXTURES / "services").glob("*.json"))

Edit = tuple[str, Callable[[dict], None], str, bool]  # (id, mutate, path, exact: else path prefix)


def request_of(path: Path) -> dict[str, Any]:
    """The request a fixture makes once loaded as a manifest (as published: describe output, tag
    lists, empty enums and nulls are taken the way the loader takes them)."""
    kind = "TaskDefinition" if path.parent.name == "taskdefs" else "Service"
    name = "fixture"
    spec = published_spec(f"{path.parent.name}/{path.name}")
    errors: list = []
    item = validate_document({"apiVersion": "ecs-reconciler.io/v1alpha1", "kind": kind, "metadata": {"name": name},
                              "spec": spec}, path.name, errors, warnings=[])
    assert item is not None, [str(e) for e in errors]
    request = item.manifest.spec.to_api()
    request.pop("tags", None)
    if kind == "TaskDefinition":
        request["family"] = name
    return request


def planned(desired: dict[str, Any], observed: dict[str, Any]) -> list:
    """Changes as the planner finds them after a write of ours (the declared-fields rule)."""
    return compare(desired, comparable(desired, observed, fields_fingerprint(desired)))


def aws_view(request: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A DescribeTaskDefinition body for `request`, as ECS returns it."""
    td = copy.deepcopy(request)
    mode = td.setdefault("networkMode", "bridge")
    for c in td["containerDefinitions"]:
        c.setdefault("essential", True)
        c.setdefault("cpu", 0)
        for key in ("mountPoints", "volumesFrom", "environment", "portMappings"):
            c.setdefault(key, [])
        for m in c["portMappings"]:
            m.setdefault("protocol", "tcp")
            if mode in ("awsvpc", "host") and "containerPort" in m:
                m.setdefault("hostPort", m["containerPort"])
        if "healthCheck" in c:
            for key, value in (("interval", 30), ("timeout", 5), ("retries", 3)):
                c["healthCheck"].setdefault(key, value)
        for key in ("portMappings", "environment", "secrets"):
            rng.shuffle(c.get(key) or [])
    for v in td.get("volumes") or []:
        if "efsVolumeConfiguration" in v:
            v["efsVolumeConfiguration"].setdefault("rootDirectory", "/")
    rng.shuffle(td["containerDefinitions"])
    td.setdefault("volumes", [])
    td.update(taskDefinitionArn=f"arn:aws:ecs:us-east-1:123456789012:task-definition/{td['family']}:3",
              revision=3, status="ACTIVE", compatibilities=["EC2", "FARGATE"], requiresAttributes=[],
              registeredAt="2024-01-01T00:00:00Z", registeredBy="arn:aws:iam::123456789012:root")
    return td


def _container(body: dict, name: str) -> dict:
    return next(c for c in body["containerDefinitions"] if c["name"] == name)


def task_definition_edits(request: dict) -> Iterator[Edit]:
    for c in request["containerDefinitions"]:
        name, base = c["name"], f"spec.containerDefinitions[{c['name']}]"
        yield (f"{name}.image", lambda b, n=name: _container(b, n).update(image=_container(b, n)["image"] + "-x"),
               f"{base}.image", True)
        if isinstance(c.get("memory"), int):
            yield (f"{name}.memory", lambda b, n=name: _container(b, n).update(memory=_container(b, n)["memory"] + 1),
                   f"{base}.memory", True)
        names = [e["name"] for e in c.get("environment") or []]
        for env in sorted(set(n for n in names if names.count(n) == 1)):
            def edit(b, n=name, e=env):
                item = next(i for i in _container(b, n)["environment"] if i["name"] == e)
                item["value"] = str(item.get("value", "")) + "-x"
            yield (f"{name}.env.{env}", edit, f"{base}.environment[{env}]", True)
        for secret in c.get("secrets") or []:
            def edit(b, n=name, s=secret["name"]):
                item = next(i for i in _container(b, n)["secrets"] if i["name"] == s)
                item["valueFrom"] += "-x"
            yield (f"{name}.secret.{secret['name']}", edit, f"{base}.secrets[{secret['name']}]", True)
        for index, mapping in enumerate(c.get("portMappings") or []):
            if "containerPort" in mapping:
                def edit(b, n=name, port=mapping["containerPort"]):
                    item = next(m for m in _container(b, n)["portMappings"] if m.get("containerPort") == port)
                    item["containerPort"] = port + 1
                    if item.get("hostPort") == port:
                        item["hostPort"] = port + 1
                yield (f"{name}.port{index}", edit, f"{base}.portMappings", False)
        for option in ((c.get("logConfiguration") or {}).get("options") or {}):
            def edit(b, n=name, o=option):
                options = _container(b, n)["logConfiguration"]["options"]
                options[o] = str(options[o]) + "-x"
            yield (f"{name}.log.{option}", edit, f"{base}.logConfiguration.options[{option}]", True)
        if (c.get("healthCheck") or {}).get("command"):
            yield (f"{name}.healthCheck", lambda b, n=name: _container(b, n)["healthCheck"].update(
                command=["CMD-SHELL", "exit 0"]), f"{base}.healthCheck.command", True)
        for dep in c.get("dependsOn") or []:
            def edit(b, n=name, d=dep["containerName"]):
                item = next(i for i in _container(b, n)["dependsOn"] if i["containerName"] == d)
                item["condition"] = "COMPLETE" if item.get("condition") != "COMPLETE" else "SUCCESS"
            yield (f"{name}.dependsOn.{dep['containerName']}", edit, f"{base}.dependsOn[{dep['containerName']}].condition",
                   True)
    for volume in request.get("volumes") or []:
        if (volume.get("host") or {}).get("sourcePath"):
            def edit(b, v=volume["name"]):
                next(i for i in b["volumes"] if i["name"] == v)["host"]["sourcePath"] += "-x"
            yield (f"volume.{volume['name']}", edit, f"spec.volumes[{volume['name']}].host.sourcePath", True)
        if (volume.get("efsVolumeConfiguration") or {}).get("fileSystemId"):
            def edit(b, v=volume["name"]):
                next(i for i in b["volumes"] if i["name"] == v)["efsVolumeConfiguration"]["fileSystemId"] = "fs-other"
            yield (f"volume.{volume['name']}.efs", edit,
                   f"spec.volumes[{volume['name']}].efsVolumeConfiguration.fileSystemId", True)
    if request.get("cpu"):
        yield ("cpu", lambda b: b.update(cpu=str(int(td_rules.task_cpu(b["cpu"])) * 2)), "spec.cpu", True)
    if request.get("memory"):
        yield ("memory", lambda b: b.update(memory=str(int(td_rules.task_memory(b["memory"])) * 2)), "spec.memory",
               True)


def _td_cases() -> list:
    cases = []
    for path in TASKDEFS:
        request = request_of(path)
        for edit_id, mutate, expected, exact in task_definition_edits(request):
            cases.append(pytest.param(path.name, mutate, expected, exact, id=f"{path.stem}:{edit_id}"))
    return cases


def _load(name: str) -> dict:
    return request_of(FIXTURES / "taskdefs" / name)


@pytest.mark.parametrize("path", TASKDEFS, ids=[p.stem for p in TASKDEFS])
def test_what_aws_returns_for_each_fixture_is_no_change(path):
    request = request_of(path)
    desired, observed = td_rules.normalize(request), td_rules.normalize(aws_view(request, random.Random(path.name)))
    assert compare(desired, observed) == [], "the table of defaults covers what AWS fills in"
    assert planned(desired, observed) == []


@pytest.mark.parametrize("name,mutate,expected,exact", _td_cases())
def test_each_task_definition_field_change_shows_exactly_its_path(name, mutate, expected, exact):
    request = _load(name)
    observed = aws_view(request, random.Random(name))
    mutate(observed)
    paths = [c.path for c in planned(td_rules.normalize(request), td_rules.normalize(observed))]
    if exact:
        assert paths == [expected]
    else:
        assert paths and all(p.startswith(expected) for p in paths), paths


def service_edits(request: dict) -> Iterator[Edit]:
    if "desiredCount" in request:
        yield ("desiredCount", lambda b: b.update(desiredCount=b["desiredCount"] + 1), "spec.desiredCount", True)
    vpc = (request.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if vpc:
        yield ("subnets", lambda b: b["networkConfiguration"]["awsvpcConfiguration"].update(
            subnets=["subnet-other"]), "spec.networkConfiguration.awsvpcConfiguration.subnets", True)
        if vpc.get("securityGroups"):
            yield ("securityGroups", lambda b: b["networkConfiguration"]["awsvpcConfiguration"].update(
                securityGroups=["sg-other"]), "spec.networkConfiguration.awsvpcConfiguration.securityGroups", True)
    if request.get("loadBalancers"):
        def edit(b):
            b["loadBalancers"][0]["containerPort"] = b["loadBalancers"][0].get("containerPort", 80) + 1
        yield ("loadBalancers", edit, "spec.loadBalancers", True)
    yield ("deployment.maximumPercent", lambda b: b.setdefault("deploymentConfiguration", {}).update(
        maximumPercent=(b.get("deploymentConfiguration") or {}).get("maximumPercent", 200) + 7),
        "spec.deploymentConfiguration.maximumPercent", True)
    if "taskDefinition" in request:  # ecspresso service files leave it to the deploy
        yield ("taskDefinition", lambda b: b.update(taskDefinition="other-family:9"), "spec.taskDefinition", True)
    yield ("enableExecuteCommand", lambda b: b.update(enableExecuteCommand=not b.get("enableExecuteCommand", False)),
           "spec.enableExecuteCommand", True)


def _svc_cases() -> list:
    cases = []
    for path in SERVICES:
        request = request_of(path)
        for edit_id, mutate, expected, exact in service_edits(request):
            cases.append(pytest.param(path.name, mutate, expected, id=f"{path.stem}:{edit_id}"))
    return cases


@pytest.mark.parametrize("name,mutate,expected", _svc_cases())
def test_each_service_field_change_shows_exactly_its_path(name, mutate, expected):
    request = request_of(FIXTURES / "services" / name)
    observed = copy.deepcopy(request)
    mutate(observed)
    desired_form, observed_form = service_rules.normalize(request), service_rules.normalize(observed)
    service_rules.drop_server_chosen(desired_form, observed_form)
    assert [c.path for c in planned(desired_form, observed_form)] == [expected]
