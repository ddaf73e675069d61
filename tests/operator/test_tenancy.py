"""Tenancy end to end (kmock as Kubernetes, the local ECS endpoint as AWS): an object owns what it
writes (owner tag `namespace/name/uid`); an object in another namespace naming the same AWS
resource is Stalled without a write; Delete deletes only what the object owns; Retain releases;
the policy gates adoption and AWS names."""

from __future__ import annotations

import asyncio

import boto3
import pytest

from reconciler.aws import CallLog
from reconciler.operator.handlers import OperatorConfig
from reconciler.operator.tenancy import Policy
from reconciler.ownership import MANAGED_BY, OWNER

from test_operator_flow import CLUSTER, TASK_DEFINITION, service

A, B = "team-a", "team-b"
CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/shop"
WRITES = (("ecs", "UpdateService"), ("ecs", "RegisterTaskDefinition"), ("ecs", "CreateService"),
          ("ecs", "TagResource"), ("ecs", "UntagResource"), ("ecs", "UpdateCluster"), ("ecs", "DeleteService"),
          ("ecs", "DeleteCluster"), ("ecs", "DeregisterTaskDefinition"), ("ecs", "CreateCluster"))


def synced(kube, crd_kind, name, namespace, **expect):
    async def check():
        status = await kube.status(crd_kind, name, namespace)
        return status if status.get("synced") and all(status.get(k) == v for k, v in expect.items()) else None
    return kube.wait_for(check, what=f"{namespace}/{crd_kind}/{name} synced {expect}")


def ready(kube, crd_kind, name, namespace):
    async def check():
        status = await kube.status(crd_kind, name, namespace)
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        return status if status.get("synced") and conditions.get("Ready", {}).get("status") == "True" else None
    return kube.wait_for(check, what=f"{namespace}/{crd_kind}/{name} ready")


def stalled(kube, crd_kind, name, namespace, reason):
    async def check():
        conditions = {c["type"]: c for c in (await kube.status(crd_kind, name, namespace)).get("conditions") or []}
        stall = conditions.get("Stalled") or {}
        return stall if stall.get("status") == "True" and stall.get("reason") == reason else None
    return kube.wait_for(check, what=f"{namespace}/{crd_kind}/{name} Stalled/{reason}")


def writes(calls: CallLog) -> dict:
    return {op: calls.calls[op] for op in WRITES}


def ecs_tags(ecs, **kind) -> dict[str, str]:
    if "service" in kind:
        found = ecs.describe_services(cluster="shop", services=[kind["service"]], include=["TAGS"])["services"][0]
    elif "cluster" in kind:
        found = ecs.describe_clusters(clusters=[kind["cluster"]], include=["TAGS"])["clusters"][0]
    else:
        return {t["key"]: t["value"] for t in ecs.describe_task_definition(
            taskDefinition=kind["family"], include=["TAGS"])["tags"]}
    return {t["key"]: t["value"] for t in found.get("tags") or []}


async def create_app(kube, namespace: str) -> dict[str, dict]:
    """Cluster shop, task definition web and service web (Retain) in `namespace`; their bodies."""
    return {"cluster": await kube.create("EcsCluster", "shop", CLUSTER, namespace),
            "td": await kube.create("EcsTaskDefinition", "web", TASK_DEFINITION, namespace),
            "service": await kube.create("EcsService", "web", service("Retain"), namespace)}


def owner(body: dict) -> str:
    meta = body["metadata"]
    return f"{meta['namespace']}/{meta['name']}/{meta['uid']}"


@pytest.mark.asyncio
async def test_an_object_in_another_namespace_naming_a_service_is_refused_and_the_service_untouched(
        kube, local, run_operator):
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    calls = CallLog()
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, retry_delay=0.5,
                            call_log=calls)
    async with run_operator(kube.url, config, (A, B)):
        app = await create_app(kube, A)
        await ready(kube, "EcsService", "web", A)
        assert ecs_tags(ecs, service="web")[OWNER] == owner(app["service"])
        before = writes(calls)

        intruder = {**service("Retain"), "awsName": "web", "cluster": CLUSTER_ARN, "taskDefinition": "web:1",
                    "desiredCount": 3}
        await kube.create("EcsService", "intruder", intruder, B)
        condition = await stalled(kube, "EcsService", "intruder", B, "OwnedByAnotherObject")
        assert f"{A}/web (uid {app['service']['metadata']['uid']})" in condition["message"]
        await kube.wait_for_event("OwnedByAnotherObject")
        await asyncio.sleep(2)  # four resync periods
        assert writes(calls) == before
        svc = ecs.describe_services(cluster="shop", services=["web"])["services"][0]
        assert svc["desiredCount"] == 1
        assert ecs_tags(ecs, service="web")[OWNER] == owner(app["service"])
        status = await kube.status("EcsService", "web", A)
        assert status["synced"] is True and not status.get("drifted")


@pytest.mark.asyncio
async def test_two_namespaces_applying_the_same_manifests_do_not_fight(kube, local, run_operator):
    """A second team applies the same cluster, task definition and service names with its own
    values, with self-heal on: the second claimant is Stalled and no write repeats; the first keeps
    working (a new image rolls out)."""
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    calls = CallLog()
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, retry_delay=0.5,
                            self_heal=True, call_log=calls)
    async with run_operator(kube.url, config, (A, B)):
        await create_app(kube, A)
        await ready(kube, "EcsService", "web", A)

        image = [{**TASK_DEFINITION["containerDefinitions"][0], "image": "nginx:team-b"}]
        await kube.create("EcsCluster", "shop", {**CLUSTER, "tags": {"team": "b"}}, B)
        await kube.create("EcsTaskDefinition", "web", {**TASK_DEFINITION, "containerDefinitions": image}, B)
        await kube.create("EcsService", "web", {**service("Retain"), "desiredCount": 2}, B)
        await stalled(kube, "EcsCluster", "shop", B, "OwnedByAnotherObject")
        await stalled(kube, "EcsTaskDefinition", "web", B, "OwnedByAnotherObject")
        before = writes(calls)
        await asyncio.sleep(3)  # six resync periods, each of which would heal a change by the other
        assert writes(calls) == before
        assert before[("ecs", "RegisterTaskDefinition")] == 1 and before[("ecs", "UpdateService")] == 0
        assert ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]["revision"] == 1
        assert ecs_tags(ecs, cluster="shop").get("team") == "shop"
        waiting = await kube.status("EcsService", "web", B)
        assert not waiting.get("synced")  # its cluster and task definition objects never synced

        # The first claimant keeps working.
        await kube.patch_spec("EcsTaskDefinition", "web", {"containerDefinitions": [
            {**TASK_DEFINITION["containerDefinitions"][0], "image": "nginx:1.27"}]}, A)
        await synced(kube, "EcsTaskDefinition", "web", A, lastAppliedRevision="web:2")
        await kube.wait_for(lambda: _runs(ecs, "web:2"), what="service web deploys web:2")
        assert ecs.describe_services(cluster="shop", services=["web"])["services"][0]["desiredCount"] == 1


async def _runs(ecs, revision: str) -> bool:
    return ecs.describe_services(cluster="shop", services=["web"])["services"][0]["taskDefinition"].endswith(revision)


@pytest.mark.asyncio
async def test_delete_policy_deletes_only_what_the_object_owns_and_retain_releases(kube, local, run_operator):
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    calls = CallLog()
    # Without self-heal, so that a deleted cluster would stay deleted (not be created again by A).
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, retry_delay=0.5,
                            call_log=calls, self_heal=False)
    async with run_operator(kube.url, config, (A, B)):
        first = await kube.create("EcsCluster", "shop", {**CLUSTER, "deletionPolicy": "Retain"}, A)
        await synced(kube, "EcsCluster", "shop", A)
        await kube.create("EcsCluster", "other", {**CLUSTER, "awsName": "shop", "deletionPolicy": "Delete"}, B)
        await stalled(kube, "EcsCluster", "other", B, "OwnedByAnotherObject")

        await kube.delete("EcsCluster", "other", B)
        await kube.wait_for(lambda: _gone(kube, "EcsCluster", "other", B), what="B's object deleted")
        assert ecs.describe_clusters(clusters=["shop"])["clusters"][0]["status"] == "ACTIVE"
        assert calls.calls[("ecs", "DeleteCluster")] == 0
        await kube.wait_for_event("NotOwned", f"{A}/shop")
        assert ecs_tags(ecs, cluster="shop")[OWNER] == owner(first)

        # Retain releases: the owner tag goes, the instance's tag stays, and another object (the
        # policy allows every name here) takes the cluster over without adoption.
        await kube.delete("EcsCluster", "shop", A)
        await kube.wait_for(lambda: _gone(kube, "EcsCluster", "shop", A), what="A's object deleted")
        tags = ecs_tags(ecs, cluster="shop")
        assert OWNER not in tags and tags[MANAGED_BY] == "ecs-reconciler"
        heir = await kube.create("EcsCluster", "shop", {**CLUSTER, "deletionPolicy": "Delete"}, B)
        await synced(kube, "EcsCluster", "shop", B)
        assert ecs_tags(ecs, cluster="shop")[OWNER] == owner(heir)
        await kube.delete("EcsCluster", "shop", B)
        await kube.wait_for(lambda: _gone(kube, "EcsCluster", "shop", B), what="the heir deleted")
        assert [c["status"] for c in ecs.describe_clusters(clusters=["shop"])["clusters"]] in ([], ["INACTIVE"])


async def _gone(kube, crd_kind, name, namespace) -> bool:
    return await kube.get(crd_kind, name, namespace) is None


@pytest.mark.asyncio
async def test_the_policy_gates_adoption_and_aws_names(kube, local, run_operator):
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    ecs.create_cluster(clusterName="team-b-legacy")  # made outside the operator: no ownership tags
    calls = CallLog()
    policy = Policy.parse('adoptNamespaces: [platform]\nnamePrefixes: {platform: [""], "*": ["{namespace}-"]}\n',
                          "policy.yaml")
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, retry_delay=0.5,
                            call_log=calls, policy=policy)
    adopt = {"ecs-reconciler.io/adopt": "true"}
    async with run_operator(kube.url, config, (B, "platform")):
        await kube.create("EcsCluster", "legacy", {**CLUSTER, "awsName": "team-b-legacy"}, B, annotations=adopt)
        condition = await stalled(kube, "EcsCluster", "legacy", B, "PolicyViolation")
        assert "adoption" in condition["message"] and "platform" in condition["message"]
        assert ecs_tags(ecs, cluster="team-b-legacy") == {}

        await kube.create("EcsCluster", "shop", CLUSTER, B)
        condition = await stalled(kube, "EcsCluster", "shop", B, "PolicyViolation")
        assert "'team-b-'" in condition["message"] and "'shop'" in condition["message"]
        assert ecs.describe_clusters(clusters=["shop"])["clusters"] == []
        assert writes(calls) == {op: 0 for op in WRITES}

        await kube.create("EcsCluster", "team-b-shop", CLUSTER, B)  # a name the policy allows
        await synced(kube, "EcsCluster", "team-b-shop", B)
        mine = await kube.create("EcsCluster", "legacy", {**CLUSTER, "awsName": "team-b-legacy"}, "platform",
                                 annotations=adopt)
        await synced(kube, "EcsCluster", "legacy", "platform")
        tags = ecs_tags(ecs, cluster="team-b-legacy")
        assert tags[OWNER] == owner(mine) and tags[MANAGED_BY] == "ecs-reconciler"
