"""Schedule and CapacityProvider in targeting and plan impact (pure: no AWS)."""

from __future__ import annotations

from reconciler.desired.loader import load_text
from reconciler.observed.state import ObservedState
from reconciler.plan.impact import impact_of, planned_calls
from reconciler.plan.planner import Planner
from reconciler.plan.targeting import select

MANIFESTS = """apiVersion: ecs-reconciler.io/v1alpha1
kind: CapacityProvider
metadata: {name: ec2}
spec: {autoScalingGroupProvider: {autoScalingGroupArn: ec2-asg}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {capacityProviders: [ec2]}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec: {containerDefinitions: [{name: job, image: "job:1", memory: 64}]}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Schedule
metadata: {name: hourly}
spec:
  ScheduleExpression: rate(1 hour)
  ScheduleExpressionTimezone: Europe/Paris
  FlexibleTimeWindow: {Mode: "OFF"}
  Target: {Arn: c, RoleArn: "arn:aws:iam::123456789012:role/r", EcsParameters: {TaskDefinitionArn: job}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: c
  taskDefinition: job
  autoScaling:
    minCapacity: 1
    maxCapacity: 3
    policies: [{policyName: cpu, policyType: TargetTrackingScaling,
                targetTrackingScalingPolicyConfiguration: {targetValue: 50}}]
"""


def test_a_schedule_target_brings_its_cluster_task_definition_and_the_clusters_capacity_provider():
    subset, targeting = select(load_text(MANIFESTS), ["Schedule/hourly"])
    assert sorted(r.label for r in subset.resources) == [
        "CapacityProvider/ec2", "Cluster/c", "Schedule/hourly", "TaskDefinition/job"]
    assert targeting.dependencies["CapacityProvider/ec2"] == ["Cluster/c"]


def test_creates_say_what_they_do_and_which_calls_they_make():
    plan = Planner("ecs-reconciler").plan(load_text(MANIFESTS), ObservedState())
    assert impact_of(plan.get("Schedule", "hourly")).text == "creates Scheduler schedule hourly (rate(1 hour) in Europe/Paris)"
    assert impact_of(plan.get("CapacityProvider", "ec2")).calls == [("ecs", "CreateCapacityProvider")]
    calls = planned_calls(plan)
    assert calls[("scheduler", "CreateSchedule")] == 1
    assert calls[("application-autoscaling", "RegisterScalableTarget")] == 1
    assert calls[("application-autoscaling", "PutScalingPolicy")] == 1
    assert plan.get("Cluster", "c").depends_on == ["CapacityProvider/ec2"]
    assert plan.get("Schedule", "hourly").depends_on == ["Cluster/c", "TaskDefinition/job"]


def test_a_schedule_in_sync_under_an_owning_object_plans_nothing():
    """No owner tag can be recorded on a schedule: the operator's owner must not plan a write forever."""
    from reconciler.observed.state import Observed
    from reconciler.ownership import MANAGED_BY

    desired = load_text(MANIFESTS)
    request = Planner("ecs-reconciler").plan(desired, ObservedState()).get("Schedule", "hourly").request
    body = {**request, "Arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/ecs-reconciler/hourly",
            "Target": {**request["Target"], "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
                       "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/job:1"}}}
    state = ObservedState()
    state.put(Observed("Schedule", "hourly", body["Arn"], body, {MANAGED_BY: "ecs-reconciler"}))
    state.put(Observed("TaskDefinition", "job", "arn:aws:ecs:us-east-1:123456789012:task-definition/job:1",
                       {"family": "job", "revision": 1,
                        "containerDefinitions": [{"name": "job", "image": "job:1", "memory": 64}]},
                       {MANAGED_BY: "ecs-reconciler"}))
    plan = Planner("ecs-reconciler", owners={"Schedule/hourly": "team/hourly/uid-1"}).plan(desired, state)
    assert plan.get("Schedule", "hourly").action == "none"
