"""`kind: CapacityProvider`: an Auto Scaling group capacity provider a Cluster names."""

from __future__ import annotations

import pytest

from reconciler.desired.loader import load_text
from reconciler.engine import Engine, EngineOptions

PROVIDER = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: CapacityProvider
metadata: {name: workers}
spec:
  autoScalingGroupProvider:
    autoScalingGroupArn: workers-asg
    managedScaling: {status: ENABLED, targetCapacity: 90, maximumScalingStepSize: 4}
    managedTerminationProtection: DISABLED
  tags: {team: platform}
"""
CLUSTER = """
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: fleet}
spec:
  capacityProviders: [workers]
  defaultCapacityProviderStrategy: [{capacityProvider: workers, weight: 1}]
"""


@pytest.fixture
def asg(local):
    ec2, autoscaling = local.client("ec2"), local.client("autoscaling")
    template = ec2.create_launch_template(LaunchTemplateName="workers", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})["LaunchTemplate"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="workers-asg", MinSize=0, MaxSize=4, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
        VPCZoneIdentifier=local.network()["subnets"][0])
    return autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["workers-asg"])["AutoScalingGroups"][0]["AutoScalingGroupARN"]


@pytest.fixture
def applied(local_clients, asg):
    engine = Engine(local_clients, EngineOptions())
    desired = load_text(PROVIDER + CLUSTER)
    plan = engine.plan(desired)
    assert [(a.kind, a.action) for a in plan.actions] == [("CapacityProvider", "create"), ("Cluster", "create")]
    assert plan.get("Cluster", "fleet").depends_on == ["CapacityProvider/workers"]
    engine.apply(plan)
    return engine, desired


def _provider(local):
    return local.client("ecs").describe_capacity_providers(capacityProviders=["workers"], include=["TAGS"])[
        "capacityProviders"][0]


def test_created_as_declared_named_by_the_cluster_and_clean_after(applied, local):
    engine, desired = applied
    provider = _provider(local)
    asg = provider["autoScalingGroupProvider"]
    assert asg["managedScaling"]["status"] == "ENABLED" and asg["managedScaling"]["targetCapacity"] == 90
    assert asg["managedScaling"]["maximumScalingStepSize"] == 4
    assert {t["key"]: t["value"] for t in provider["tags"]}["team"] == "platform"
    assert {t["key"] for t in provider["tags"]} >= {"ecs-reconciler.io/managed-by", "ecs-reconciler.io/manifest"}
    cluster = local.client("ecs").describe_clusters(clusters=["fleet"])["clusters"][0]
    assert cluster["capacityProviders"] == ["workers"]
    assert not engine.plan(desired).has_changes


def test_out_of_band_edits_are_drift_at_their_paths_and_healed(applied, local):
    engine, desired = applied
    local.client("ecs").update_capacity_provider(name="workers", autoScalingGroupProvider={
        "managedScaling": {"status": "ENABLED", "targetCapacity": 50}, "managedDraining": "DISABLED"})
    action = engine.plan(desired).get("CapacityProvider", "workers")
    assert action.action == "update"
    assert {c.path: (c.desired, c.observed) for c in action.changes} == {
        "spec.autoScalingGroupProvider.managedScaling.targetCapacity": (90, 50),
        "spec.autoScalingGroupProvider.managedDraining": ("ENABLED", "DISABLED"),
    }
    engine.apply(engine.plan(desired))
    assert not engine.plan(desired).has_changes


def test_another_group_is_a_replace(applied):
    engine, _ = applied
    desired = load_text(PROVIDER.replace("workers-asg", "other-asg") + CLUSTER)
    action = engine.plan(desired).get("CapacityProvider", "workers")
    assert action.action == "replace"
    assert action.reasons == ["autoScalingGroupProvider.autoScalingGroupArn: the Auto Scaling group of a capacity "
                              "provider cannot change"]


def test_prune_deletes_the_provider_after_the_cluster_lets_go(applied, local, local_clients):
    keep = load_text(CLUSTER.replace("capacityProviders: [workers]", "capacityProviders: []").replace(
        "defaultCapacityProviderStrategy: [{capacityProvider: workers, weight: 1}]", "defaultCapacityProviderStrategy: []"))
    engine = Engine(local_clients, EngineOptions(prune=True))
    plan = engine.plan(keep)
    assert [(a.kind, a.action) for a in plan.pending] == [("Cluster", "update"), ("CapacityProvider", "delete")]
    engine.apply(plan)
    assert local.client("ecs").describe_capacity_providers(capacityProviders=["workers"])["capacityProviders"] == []


def test_a_delete_waits_while_a_cluster_uses_it_and_says_which(applied, local, local_clients):
    local.client("ecs").create_cluster(clusterName="theirs", capacityProviders=["workers"])
    engine = Engine(local_clients, EngineOptions(prune=True))
    keep = load_text("apiVersion: ecs-reconciler.io/v1alpha1\nkind: Cluster\nmetadata: {name: other}\nspec: {}\n")
    plan = engine.plan(keep)
    assert ("CapacityProvider", "workers", "delete") in [(a.kind, a.name, a.action) for a in plan.pending]
    from reconciler.apply.executor import Applier
    applier = Applier(local_clients, engine.reader, "ecs-reconciler")
    applier.capacity_provider_wait = 0
    with pytest.raises(Exception, match="still used by cluster.s. theirs"):
        applier.apply(plan)
    assert _provider(local)["name"] == "workers"
