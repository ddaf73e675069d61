"""desiredCount of a service with an Application Auto Scaling target belongs to the scaler."""

from __future__ import annotations

from reconciler.desired.loader import load_text
from reconciler.engine import Engine, EngineOptions
from reconciler.observed.autoscaling import scaled_services

MANIFESTS = """
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
metadata: {name: scaled}
spec: {cluster: scale, taskDefinition: scale, desiredCount: 2, launchType: EC2}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: fixed}
spec: {cluster: scale, taskDefinition: scale, desiredCount: 2, launchType: EC2}
"""


def test_autoscaled_desired_count_is_not_drift_but_other_fields_are(local, local_clients):
    engine = Engine(local_clients, EngineOptions())
    desired = load_text(MANIFESTS)
    engine.apply(engine.plan(desired))
    aas = local.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/scale/scaled",
                                 ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=10)
    ecs = local.client("ecs")
    for name in ("scaled", "fixed"):
        ecs.update_service(cluster="scale", service=name, desiredCount=6)

    local_clients.call_log.reset()
    plan = engine.plan(desired)
    assert local_clients.call_log.calls[("application-autoscaling", "DescribeScalableTargets")] == 1
    # whether the target is ours (it is not: registered by hand), one call for the one scaled service
    assert local_clients.call_log.calls[("application-autoscaling", "ListTagsForResource")] == 1
    assert plan.get("Service", "scaled").action == "none"
    fixed = plan.get("Service", "fixed")
    assert [(c.path, c.desired, c.observed) for c in fixed.changes] == [("spec.desiredCount", 2, 6)]

    # Another field still shows, and apply leaves the scaler's count alone.
    ecs.update_service(cluster="scale", service="scaled", enableExecuteCommand=True)
    plan = engine.plan(desired)
    assert [c.path for c in plan.get("Service", "scaled").changes] == ["spec.enableExecuteCommand"]
    engine.apply(plan)
    service = ecs.describe_services(cluster="scale", services=["scaled", "fixed"])["services"]
    assert {s["serviceName"]: s["desiredCount"] for s in service} == {"scaled": 6, "fixed": 2}
    assert not engine.plan(desired).has_changes


def test_scalable_targets_are_read_fifty_ids_a_call(local, local_clients):
    aas, ecs = local.client("application-autoscaling"), local.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="t", containerDefinitions=[{"name": "a", "image": "nginx", "memory": 64}])
    for i in range(0, 120, 7):
        ecs.create_service(cluster="c", serviceName=f"s{i}", taskDefinition="t", desiredCount=0)
        aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/c/s{i}",
                                     ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=2)
    found = scaled_services(local_clients, [("c", f"s{i}") for i in range(120)])
    assert found == {("c", f"s{i}") for i in range(0, 120, 7)}
    assert local_clients.call_log.calls[("application-autoscaling", "DescribeScalableTargets")] == 3
