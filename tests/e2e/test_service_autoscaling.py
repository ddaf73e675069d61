"""`Service.spec.autoScaling`: applied as declared, clean after, out-of-band edits are drift at their paths."""

from __future__ import annotations

import pytest

from reconciler.desired.loader import load_text
from reconciler.engine import Engine, EngineOptions
from reconciler.errors import InvalidManifests
from reconciler.plan.impact import impact_of

BASE = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: scale}
spec: {}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: scale}
spec:
  containerDefinitions: [{name: app, image: nginx, memory: 128}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: scale
  taskDefinition: scale
  desiredCount: 2
  launchType: EC2
  autoScaling:
    minCapacity: 2
    maxCapacity: 8
    policies:
      - policyName: cpu60
        policyType: TargetTrackingScaling
        targetTrackingScalingPolicyConfiguration:
          targetValue: 60
          predefinedMetricSpecification: {predefinedMetricType: ECSServiceAverageCPUUtilization}
          scaleInCooldown: 120
%(extra_policy)s
    scheduledActions:
      - scheduledActionName: night
        schedule: cron(0 22 * * ? *)
        timezone: Europe/Berlin
        scalableTargetAction: {minCapacity: 1, maxCapacity: 2}
"""
MEMORY = """      - policyName: mem70
        policyType: TargetTrackingScaling
        targetTrackingScalingPolicyConfiguration:
          targetValue: 70
          predefinedMetricSpecification: {predefinedMetricType: ECSServiceAverageMemoryUtilization}"""
RID = {"ServiceNamespace": "ecs", "ResourceId": "service/scale/web", "ScalableDimension": "ecs:service:DesiredCount"}


def _manifests(extra_policy: str = "") -> str:
    return BASE % {"extra_policy": extra_policy}


@pytest.fixture
def applied(local, local_clients):
    engine = Engine(local_clients, EngineOptions())
    desired = load_text(_manifests(MEMORY))
    engine.apply(engine.plan(desired))
    return engine, desired, local.client("application-autoscaling")


def test_applied_as_declared_and_clean_after(applied):
    engine, desired, aas = applied
    target = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RID["ResourceId"]])["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in target] == [(2, 8)]
    policies = {p["PolicyName"]: p for p in aas.describe_scaling_policies(**RID)["ScalingPolicies"]}
    assert sorted(policies) == ["cpu60", "mem70"]
    config = policies["cpu60"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 60 and config["ScaleInCooldown"] == 120
    assert config["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}
    actions = aas.describe_scheduled_actions(**RID)["ScheduledActions"]
    assert [(a["ScheduledActionName"], a["Schedule"], a["Timezone"], a["ScalableTargetAction"]) for a in actions] == [
        ("night", "cron(0 22 * * ? *)", "Europe/Berlin", {"MinCapacity": 1, "MaxCapacity": 2})]
    assert not engine.plan(desired).has_changes


def _paths(engine, desired):
    action = engine.plan(desired).get("Service", "web")
    return action.action, {c.path: (c.desired, c.observed) for c in action.changes}


def test_out_of_band_edits_are_drift_at_their_paths_and_healed(applied, local):
    engine, desired, aas = applied
    aas.register_scalable_target(**RID, MinCapacity=1, MaxCapacity=20)
    aas.put_scaling_policy(**RID, PolicyName="cpu60", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 90.0, "ScaleInCooldown": 120,
                               "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    aas.put_scheduled_action(**RID, ScheduledActionName="night", Schedule="cron(0 23 * * ? *)",
                             Timezone="Europe/Berlin", ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2})
    aas.put_scheduled_action(**RID, ScheduledActionName="extra", Schedule="rate(1 hour)",
                             ScalableTargetAction={"MinCapacity": 3})
    action, changes = _paths(engine, desired)
    assert action == "update"
    assert changes == {
        "spec.autoScaling.minCapacity": (2, 1),
        "spec.autoScaling.maxCapacity": (8, 20),
        "spec.autoScaling.policies[cpu60].targetTrackingScalingPolicyConfiguration.targetValue": (60.0, 90.0),
        "spec.autoScaling.scheduledActions[night].schedule": ("cron(0 22 * * ? *)", "cron(0 23 * * ? *)"),
        "spec.autoScaling.scheduledActions[extra]": (None, {"schedule": "rate(1 hour)", "timezone": "UTC",
                                                             "scalableTargetAction": {"minCapacity": 3}}),
    }
    engine.apply(engine.plan(desired))
    assert [a["ScheduledActionName"] for a in aas.describe_scheduled_actions(**RID)["ScheduledActions"]] == ["night"]
    assert not engine.plan(desired).has_changes


def test_a_policy_removed_from_the_manifest_is_deleted(applied):
    engine, _, aas = applied
    desired = load_text(_manifests())
    action, changes = _paths(engine, desired)
    assert action == "update" and list(changes) == ["spec.autoScaling.policies[mem70]"]
    engine.apply(engine.plan(desired))
    assert [p["PolicyName"] for p in aas.describe_scaling_policies(**RID)["ScalingPolicies"]] == ["cpu60"]
    assert not engine.plan(desired).has_changes


def test_desired_count_belongs_to_the_scaler(applied, local):
    engine, desired, _ = applied
    local.client("ecs").update_service(cluster="scale", service="web", desiredCount=7)
    assert not engine.plan(desired).has_changes


def test_bad_autoscaling_is_a_clear_error_before_any_write():
    with pytest.raises(InvalidManifests) as error:
        load_text(_manifests().replace("maxCapacity: 8", "maxCapacity: 1"))
    assert "autoScaling" in str(error.value) and "greater than maxCapacity" in str(error.value)
    with pytest.raises(InvalidManifests) as error:
        load_text(_manifests(MEMORY.replace("mem70", "cpu60")))
    assert "cpu60 appears more than once" in str(error.value)


def test_scaling_of_many_services_is_read_in_a_few_calls(local, local_clients):
    from reconciler.observed.autoscaling import scaling_of_many

    aas, ecs = local.client("application-autoscaling"), local.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="t", containerDefinitions=[{"name": "a", "image": "nginx", "memory": 64}])
    for i in range(12):
        ecs.create_service(cluster="c", serviceName=f"s{i}", taskDefinition="t", desiredCount=0)
        rid = {"ServiceNamespace": "ecs", "ResourceId": f"service/c/s{i}", "ScalableDimension": "ecs:service:DesiredCount"}
        aas.register_scalable_target(**rid, MinCapacity=1, MaxCapacity=2)
        aas.put_scaling_policy(**rid, PolicyName="cpu", PolicyType="TargetTrackingScaling",
                               TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0 + i})
    found = scaling_of_many(local_clients, [("c", f"s{i}") for i in range(12)] + [("c", "none")])
    assert sorted(found) == sorted(("c", f"s{i}") for i in range(12))
    assert all(found[("c", f"s{i}")]["policies"][0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
               == 50.0 + i for i in range(12))  # s1 does not pick up s10's or s11's policies
    calls = {op: n for (svc, op), n in local_clients.call_log.calls.items() if svc == "application-autoscaling"}
    assert calls == {"DescribeScalableTargets": 1, "DescribeScalingPolicies": 1, "DescribeScheduledActions": 1}


def _without_autoscaling(count: int = 3) -> str:
    return _manifests().split("  autoScaling:")[0].replace("desiredCount: 2", f"desiredCount: {count}")


def test_our_target_is_tagged_and_removing_autoscaling_deregisters_it(applied, local):
    engine, _, aas = applied
    arn = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RID["ResourceId"]]
                                        )["ScalableTargets"][0]["ScalableTargetARN"]
    tags = aas.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert tags["ecs-reconciler.io/managed-by"] == "ecs-reconciler" and tags["ecs-reconciler.io/manifest"] == "Service/web"
    local.client("ecs").update_service(cluster="scale", service="web", desiredCount=7)  # as the scaler would
    desired = load_text(_without_autoscaling())
    plan = engine.plan(desired)
    action = plan.get("Service", "web")
    assert action.action == "update", (action.reasons, [(c.path, c.desired) for c in action.changes])
    assert {c.path: c.desired for c in action.changes} == {"spec.autoScaling": None, "spec.desiredCount": 3}
    impact = impact_of(action)
    assert "removes the service's Application Auto Scaling" in impact.text
    assert "2 scaling policies and 1 scheduled action" in impact.text and "returns to the manifest's 3" in impact.text
    assert ("ecs", "UpdateService") in impact.calls  # desiredCount
    assert [op for svc, op in impact.calls if svc == "application-autoscaling"] == [
        "DeleteScalingPolicy", "DeleteScalingPolicy", "DeleteScheduledAction", "DeregisterScalableTarget"]
    engine.apply(plan)
    assert aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RID["ResourceId"]])["ScalableTargets"] == []
    assert aas.describe_scaling_policies(**RID)["ScalingPolicies"] == []
    assert aas.describe_scheduled_actions(**RID)["ScheduledActions"] == []
    service = local.client("ecs").describe_services(cluster="scale", services=["web"])["services"][0]
    assert service["desiredCount"] == 3
    assert not engine.plan(desired).has_changes


def test_a_replaced_service_that_drops_autoscaling_loses_its_target(applied, local_clients):
    _, _, aas = applied
    engine = Engine(local_clients, EngineOptions(allow_replace=True))
    desired = load_text(_without_autoscaling(2).replace("launchType: EC2", "launchType: FARGATE"))
    plan = engine.plan(desired)
    assert plan.get("Service", "web").action == "replace"
    assert ("application-autoscaling", "DeregisterScalableTarget") in impact_of(plan.get("Service", "web")).calls
    engine.apply(plan)
    assert aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RID["ResourceId"]])["ScalableTargets"] == []
    assert aas.describe_scaling_policies(**RID)["ScalingPolicies"] == []
    assert not engine.plan(desired).has_changes


def test_a_target_that_is_not_ours_is_left_alone(local, local_clients):
    engine = Engine(local_clients, EngineOptions())
    desired = load_text(_without_autoscaling(2))
    engine.apply(engine.plan(desired))
    aas = local.client("application-autoscaling")
    aas.register_scalable_target(**RID, MinCapacity=1, MaxCapacity=4,
                                 Tags={"team": "ops"})  # by hand, or another tool: no ownership tag
    aas.put_scaling_policy(**RID, PolicyName="theirs", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={"TargetValue": 50.0})
    local.client("ecs").update_service(cluster="scale", service="web", desiredCount=4)
    assert not engine.plan(desired).has_changes  # desiredCount still belongs to their scaler
    assert [p["PolicyName"] for p in aas.describe_scaling_policies(**RID)["ScalingPolicies"]] == ["theirs"]
