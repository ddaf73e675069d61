"""The demo flow end to end on the local endpoint: apply, in sync, out-of-band drift, heal."""

from __future__ import annotations

import json

import boto3

MANIFESTS = "manifests"


def plan_json(run_cli):
    code, out, err, _ = run_cli("plan", MANIFESTS, "--output", "json", "--detailed-exitcode")
    return code, json.loads(out)


def test_apply_then_plan_is_clean_and_drift_is_reported_and_healed(run_cli, local):
    code, out, err, writes = run_cli("apply", MANIFESTS, "--yes", "--wait", "--timeout", "30")
    assert code == 0, err
    assert writes[("ecs", "CreateService")] == 2
    assert writes[("ecs", "RegisterTaskDefinition")] == 3
    assert writes[("events", "PutRule")] == 1

    code, doc = plan_json(run_cli)
    assert code == 0, doc
    assert doc["summary"]["none"] == 8

    # Out of band: scale a service and register a revision with a changed env var, then run it.
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    ecs.update_service(cluster="shop", service="shop-web", desiredCount=5)
    current = ecs.describe_task_definition(taskDefinition="shop-web")["taskDefinition"]
    containers = current["containerDefinitions"]
    for env in containers[0]["environment"]:
        if env["name"] == "LOG_LEVEL":
            env["value"] = "debug"
    keep = ("networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "runtimePlatform")
    new = ecs.register_task_definition(family="shop-web", containerDefinitions=containers,
                                       **{k: current[k] for k in keep if k in current})["taskDefinition"]
    ecs.update_service(cluster="shop", service="shop-web", taskDefinition=new["taskDefinitionArn"])

    code, doc = plan_json(run_cli)
    assert code == 2
    changed = {r["name"]: r for r in doc["resources"] if r["action"] != "none"}
    assert set(changed) == {"shop-web"}, changed
    web_td = next(r for r in doc["resources"] if r["kind"] == "TaskDefinition" and r["name"] == "shop-web")
    assert web_td["action"] == "update"
    # The out-of-band revision changed one variable and (registered without tags) lost the app tag.
    td_changes = {c["path"]: c for c in web_td["changes"]}
    assert set(td_changes) == {"spec.containerDefinitions[web].environment[LOG_LEVEL]", "spec.tags.app"}
    env = td_changes["spec.containerDefinitions[web].environment[LOG_LEVEL]"]
    assert env["observed"] == "debug" and env["desired"] == "info"
    web_svc = next(r for r in doc["resources"] if r["kind"] == "Service" and r["name"] == "shop-web")
    paths = {c["path"]: c for c in web_svc["changes"]}
    assert paths["spec.desiredCount"]["observed"] == 5 and paths["spec.desiredCount"]["desired"] == 2
    assert "spec.taskDefinition" in paths

    code, out, err, writes = run_cli("apply", MANIFESTS, "--yes", "--wait", "--timeout", "30")
    assert code == 0, err
    assert writes[("ecs", "RegisterTaskDefinition")] == 1
    code, doc = plan_json(run_cli)
    assert code == 0, doc


def test_secret_looking_environment_values_are_masked(run_cli):
    code, out, err, _ = run_cli("plan", MANIFESTS, "--output", "json")
    assert code == 0
    assert "not-a-real-secret-local-demo-only" not in out
    assert "(sensitive value)" in out
    code, out, err, _ = run_cli("plan", MANIFESTS)
    assert "not-a-real-secret-local-demo-only" not in out + err


def test_debug_logging_never_prints_secret_values(run_cli, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    code, out, err, _ = run_cli("--log-level", "DEBUG", "apply", MANIFESTS, "--yes")
    assert code == 0, err
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG  # debug logging really was on
    assert "not-a-real-secret-local-demo-only" not in caplog.text + out + err
