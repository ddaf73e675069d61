"""An out-of-band change to a managed field of each kind is an update at that path; apply removes it."""

from __future__ import annotations

import json

import boto3
import pytest

MANIFESTS = "manifests"


def _plan(run_cli):
    code, out, err, _ = run_cli("plan", MANIFESTS, "--output", "json", "--detailed-exitcode")
    return code, json.loads(out)


def _changes(doc, kind, name):
    resource = next(r for r in doc["resources"] if r["kind"] == kind and r["name"] == name)
    return resource["action"], {c["path"]: c for c in resource["changes"]}


def _cluster_settings(local):
    boto3.client("ecs", endpoint_url=local.url).update_cluster(
        cluster="shop", settings=[{"name": "containerInsights", "value": "disabled"}])


def _cluster_tag(local):
    ecs = boto3.client("ecs", endpoint_url=local.url)
    arn = ecs.describe_clusters(clusters=["shop"])["clusters"][0]["clusterArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "someone-else"}])


def _service_deployment(local):
    boto3.client("ecs", endpoint_url=local.url).update_service(
        cluster="shop", service="shop-web",
        deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 100,
                                 "deploymentCircuitBreaker": {"enable": True, "rollback": True}})


def _service_subnets(local):
    boto3.client("ecs", endpoint_url=local.url).update_service(
        cluster="shop", service="shop-worker",
        networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-00000000000000003"],
                                                      "securityGroups": ["sg-00000000000000001"]}})


def _rule_schedule(local):
    events = boto3.client("events", endpoint_url=local.url)
    rule = events.describe_rule(Name="shop-nightly-report")
    events.put_rule(Name="shop-nightly-report", ScheduleExpression="cron(0 4 * * ? *)", State=rule["State"],
                    Description=rule.get("Description", ""))


def _rule_task_count(local):
    events = boto3.client("events", endpoint_url=local.url)
    target = events.list_targets_by_rule(Rule="shop-nightly-report")["Targets"][0]
    target["EcsParameters"]["TaskCount"] = 3
    events.put_targets(Rule="shop-nightly-report", Targets=[target])


DRIFTS = {
    "cluster setting": (_cluster_settings, "Cluster", "shop", "spec.settings[containerInsights]", "disabled", "enabled"),
    "cluster tag": (_cluster_tag, "Cluster", "shop", "spec.tags.team", "someone-else", "storefront"),
    "service deployment": (_service_deployment, "Service", "shop-web",
                           "spec.deploymentConfiguration.maximumPercent", 150, 200),
    "service subnets": (_service_subnets, "Service", "shop-worker",
                        "spec.networkConfiguration.awsvpcConfiguration.subnets",
                        ["subnet-00000000000000003"], ["subnet-00000000000000001", "subnet-00000000000000002"]),
    "rule schedule": (_rule_schedule, "ScheduledTask", "shop-nightly-report", "spec.schedule",
                      "cron(0 4 * * ? *)", "cron(0 3 * * ? *)"),
    "target task count": (_rule_task_count, "ScheduledTask", "shop-nightly-report", "spec.taskCount", 3, 1),
}


@pytest.mark.parametrize("case", sorted(DRIFTS))
def test_out_of_band_change_is_reported_at_its_path_and_healed(case, run_cli, local):
    change, kind, name, path, observed, desired = DRIFTS[case]
    code, _, err, _ = run_cli("apply", MANIFESTS, "--yes")
    assert code == 0, err
    change(local)
    code, doc = _plan(run_cli)
    assert code == 2
    pending = [(r["kind"], r["name"]) for r in doc["resources"] if r["action"] != "none"]
    assert pending == [(kind, name)], pending
    action, changes = _changes(doc, kind, name)
    assert action == "update"
    assert list(changes) == [path]
    assert changes[path]["observed"] == observed and changes[path]["desired"] == desired
    code, _, err, writes = run_cli("apply", MANIFESTS, "--yes")
    assert code == 0, err
    assert sum(writes.values()) >= 1
    code, doc = _plan(run_cli)
    assert code == 0, [r for r in doc["resources"] if r["action"] != "none"]
