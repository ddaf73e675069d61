"""Every real-world fixture, applied to the local endpoint, plans clean; one edited field out of
band shows up as exactly that path."""

from __future__ import annotations

import copy

import pytest

from reconciler.engine import Engine, EngineOptions
from reconciler.export import export_documents, task_definition_document

from support.fixture_manifests import ADJUSTMENTS, CLUSTER, desired_state, fixture_files, manifests_for

ALL = fixture_files("taskdefs") + fixture_files("services")


@pytest.fixture
def engine(local_clients):
    return Engine(local_clients, EngineOptions())


def _pending(plan):
    return {a.label: [(c.path, c.desired, c.observed) for c in a.changes] for a in plan.pending}


@pytest.mark.parametrize("name", ALL)
def test_fixture_applies_then_plans_clean(engine, name):
    desired = desired_state(manifests_for(name))
    first = engine.plan(desired)
    assert {a.action for a in first.actions} == {"create"}
    engine.apply(first)
    assert _pending(engine.plan(desired)) == {}
    # Exported back (defaults stripped), the same resources still plan clean.
    exported = export_documents(engine.clients, CLUSTER)
    if name.startswith("taskdefs/"):  # no service runs it, so export it on its own
        described = engine.clients.ecs.describe_task_definition(taskDefinition="fixture", include=["TAGS"])
        exported.append(task_definition_document(described["taskDefinition"], described.get("tags")))
    expected = [d for d in manifests_for(name)
                if d["kind"] != "TaskDefinition" or all("taskDefinition" in s["spec"] for s in manifests_for(name)
                                                        if s["kind"] == "Service")]
    assert sorted(d["kind"] for d in exported) == sorted(d["kind"] for d in expected)
    assert _pending(engine.plan(desired_state(exported))) == {}


def test_every_adjustment_names_an_existing_fixture_and_a_reason():
    for name, (reason, _) in ADJUSTMENTS.items():
        assert name in ALL and len(reason) > 20


def _by_name(items, name):
    return next(i for i in items if i["name"] == name)


# (fixture, kind, edit of the observed describe body, expected change path)
TD_PERTURBATIONS = [
    ("taskdefs/01-fargate-webserver.json", lambda b: b["containerDefinitions"][0].update(image="httpd:2.5"),
     "spec.containerDefinitions[sample-fargate-app].image"),
    ("taskdefs/09-ec2-wordpress-mysql-links.json",
     lambda b: _by_name(_by_name(b["containerDefinitions"], "mysql")["environment"], "MYSQL_ROOT_PASSWORD").update(
         value="x"), "spec.containerDefinitions[mysql].environment[MYSQL_ROOT_PASSWORD]"),
    ("taskdefs/01-fargate-webserver.json",
     lambda b: b["containerDefinitions"][0]["portMappings"][0].update(containerPort=8080, hostPort=8080),
     "spec.containerDefinitions[sample-fargate-app].portMappings"),
    ("taskdefs/01-fargate-webserver.json", lambda b: b.update(cpu="512"), "spec.cpu"),
    ("taskdefs/17-ec2-secretsmanager-secret.json",
     lambda b: b["containerDefinitions"][0]["secrets"][0].update(valueFrom="arn:aws:secretsmanager:x:1:secret:other"),
     "spec.containerDefinitions[ecs-secrets-container].secrets[username_value]"),
    ("taskdefs/08-ec2-web-timer-host-volume.json",
     lambda b: b["volumes"][0]["host"].update(sourcePath="/srv/other"), "spec.volumes[webdata].host.sourcePath"),
    ("taskdefs/01-fargate-webserver.json",
     lambda b: b["containerDefinitions"][0]["logConfiguration"]["options"].update({"awslogs-region": "eu-west-1"}),
     "spec.containerDefinitions[sample-fargate-app].logConfiguration.options[awslogs-region]"),
    ("taskdefs/05-appmesh-envoy-dependson.json",
     lambda b: _by_name(b["containerDefinitions"], "envoy")["healthCheck"].update(command=["CMD", "true"]),
     "spec.containerDefinitions[envoy].healthCheck.command"),
    ("taskdefs/05-appmesh-envoy-dependson.json",
     lambda b: _by_name(b["containerDefinitions"], "app")["dependsOn"][0].update(condition="START"),
     "spec.containerDefinitions[app].dependsOn[envoy].condition"),
]
SVC_PERTURBATIONS = [
    ("services/03-fargate-tags-cli.json", lambda b: b.update(desiredCount=7), "spec.desiredCount"),
    ("services/03-fargate-tags-cli.json",
     lambda b: b["networkConfiguration"]["awsvpcConfiguration"].update(subnets=["subnet-00000000000000002"]),
     "spec.networkConfiguration.awsvpcConfiguration.subnets"),
]


@pytest.mark.parametrize("name,edit,path", [(n, e, p) for n, e, p in TD_PERTURBATIONS + SVC_PERTURBATIONS],
                         ids=[p for _, _, p in TD_PERTURBATIONS + SVC_PERTURBATIONS])
def test_one_observed_edit_shows_exactly_that_path(engine, name, edit, path):
    desired = desired_state(manifests_for(name))
    engine.apply(engine.plan(desired))
    observed = engine.observe(desired)
    kind = "TaskDefinition" if name.startswith("taskdefs/") else "Service"
    target = observed.get(kind, "fixture" if kind == "TaskDefinition" else "fixture-svc")
    before = copy.deepcopy(target.body)
    edit(target.body)
    assert target.body != before, "the edit must change the describe body"
    plan = engine.plan(desired, observed)
    assert [(a.label, [c.path for c in a.changes]) for a in plan.pending] == [(target.kind + "/" + target.name, [path])]
