"""The issue's acceptance flow through the CLI: an autoscaled service on a cluster that names an
Auto Scaling group capacity provider, and a time-zoned Schedule running a task definition, are
created as declared, plan clean, and an out-of-band edit to each is drift at its field path."""

from __future__ import annotations

import json

MANIFESTS = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: CapacityProvider
metadata: {name: ec2-workers}
spec:
  autoScalingGroupProvider:
    autoScalingGroupArn: ec2-workers-asg
    managedScaling: {status: ENABLED, targetCapacity: 100}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: ops}
spec:
  capacityProviders: [ec2-workers]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: ops-app}
spec:
  containerDefinitions: [{name: app, image: nginx, memory: 128}]
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: ops-api}
spec:
  cluster: ops
  taskDefinition: ops-app
  desiredCount: 1
  capacityProviderStrategy: [{capacityProvider: ec2-workers, weight: 1}]
  autoScaling:
    minCapacity: 1
    maxCapacity: 5
    policies:
      - policyName: cpu50
        policyType: TargetTrackingScaling
        targetTrackingScalingPolicyConfiguration:
          targetValue: 50
          predefinedMetricSpecification: {predefinedMetricType: ECSServiceAverageCPUUtilization}
    scheduledActions:
      - scheduledActionName: weekend
        schedule: cron(0 0 ? * SAT *)
        timezone: America/New_York
        scalableTargetAction: {minCapacity: 1, maxCapacity: 1}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Schedule
metadata: {name: ops-cleanup}
spec:
  ScheduleExpression: cron(30 1 * * ? *)
  ScheduleExpressionTimezone: America/New_York
  FlexibleTimeWindow: {Mode: "OFF"}
  Target:
    Arn: ops
    RoleArn: arn:aws:iam::123456789012:role/schedulerRole
    EcsParameters: {TaskDefinitionArn: ops-app, TaskCount: 1}
"""
RID = {"ServiceNamespace": "ecs", "ResourceId": "service/ops/ops-api", "ScalableDimension": "ecs:service:DesiredCount"}


def _plan(run_cli, path):
    code, out, err, _ = run_cli("plan", str(path), "--output", "json", "--detailed-exitcode")
    doc = json.loads(out)
    return code, {(r["kind"], r["name"]): {c["path"]: (c["desired"], c["observed"]) for c in r["changes"]}
                  for r in doc["resources"] if r["action"] != "none"}


def test_created_as_declared_clean_after_and_out_of_band_edits_are_drift(run_cli, local, tmp_path):
    ec2, autoscaling = local.client("ec2"), local.client("autoscaling")
    template = ec2.create_launch_template(LaunchTemplateName="w", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})["LaunchTemplate"]
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="ec2-workers-asg", MinSize=0, MaxSize=3,
                                          LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                                          VPCZoneIdentifier=local.network()["subnets"][0])
    (tmp_path / "ops.yaml").write_text(MANIFESTS)
    code, _, err, writes = run_cli("apply", str(tmp_path), "--yes")
    assert code == 0, err
    assert writes[("application-autoscaling", "PutScalingPolicy")] == 1
    assert writes[("scheduler", "CreateSchedule")] == 1 and writes[("ecs", "CreateCapacityProvider")] == 1

    ecs, aas, scheduler = local.client("ecs"), local.client("application-autoscaling"), local.client("scheduler")
    provider = ecs.describe_capacity_providers(capacityProviders=["ec2-workers"])["capacityProviders"][0]
    assert provider["autoScalingGroupProvider"]["managedScaling"]["status"] == "ENABLED"
    assert ecs.describe_clusters(clusters=["ops"])["clusters"][0]["capacityProviders"] == ["ec2-workers"]
    assert [p["PolicyName"] for p in aas.describe_scaling_policies(**RID)["ScalingPolicies"]] == ["cpu50"]
    assert [a["Timezone"] for a in aas.describe_scheduled_actions(**RID)["ScheduledActions"]] == ["America/New_York"]
    schedule = scheduler.get_schedule(Name="ops-cleanup", GroupName="ecs-reconciler")
    assert schedule["ScheduleExpressionTimezone"] == "America/New_York"
    assert schedule["Target"]["EcsParameters"]["TaskDefinitionArn"].endswith(":task-definition/ops-app:1")
    assert _plan(run_cli, tmp_path) == (0, {})

    ecs.update_capacity_provider(name="ec2-workers", autoScalingGroupProvider={
        "managedScaling": {"status": "ENABLED", "targetCapacity": 70}})
    aas.put_scheduled_action(**RID, ScheduledActionName="weekend", Schedule="cron(0 0 ? * SUN *)",
                             Timezone="America/New_York", ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 1})
    scheduler.update_schedule(Name="ops-cleanup", GroupName="ecs-reconciler", ScheduleExpression="cron(30 1 * * ? *)",
                              ScheduleExpressionTimezone="UTC", FlexibleTimeWindow={"Mode": "OFF"},
                              Target=schedule["Target"])
    code, pending = _plan(run_cli, tmp_path)
    assert code == 2
    assert pending == {
        ("CapacityProvider", "ec2-workers"): {
            "spec.autoScalingGroupProvider.managedScaling.targetCapacity": (100, 70)},
        ("Service", "ops-api"): {
            "spec.autoScaling.scheduledActions[weekend].schedule": ("cron(0 0 ? * SAT *)", "cron(0 0 ? * SUN *)")},
        ("Schedule", "ops-cleanup"): {"spec.ScheduleExpressionTimezone": ("America/New_York", "UTC")},
    }
    code, _, err, _ = run_cli("apply", str(tmp_path), "--yes")
    assert code == 0, err
    assert _plan(run_cli, tmp_path) == (0, {})
