"""Export a cluster's capacity provider, an autoscaled service and a Scheduler schedule made out of
band; the manifests adopt them with one apply, and the plan after is clean."""

from __future__ import annotations

import json

from ruamel.yaml import YAML

RID = {"ServiceNamespace": "ecs", "ResourceId": "service/legacy/api", "ScalableDimension": "ecs:service:DesiredCount"}


def _create_untagged(local):
    ec2, autoscaling, ecs = local.client("ec2"), local.client("autoscaling"), local.client("ecs")
    template = ec2.create_launch_template(LaunchTemplateName="legacy", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})["LaunchTemplate"]
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="legacy-asg", MinSize=0, MaxSize=2,
                                          LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                                          VPCZoneIdentifier=local.network()["subnets"][0])
    asg_arn = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    ecs.create_capacity_provider(name="legacy-ec2", autoScalingGroupProvider={
        "autoScalingGroupArn": asg_arn, "managedScaling": {"status": "ENABLED", "targetCapacity": 80}})
    cluster = ecs.create_cluster(clusterName="legacy", capacityProviders=["legacy-ec2"])["cluster"]
    td = ecs.register_task_definition(family="legacy-job", containerDefinitions=[
        {"name": "job", "image": "busybox", "memory": 128}])["taskDefinition"]
    ecs.create_service(cluster="legacy", serviceName="api", taskDefinition="legacy-job", desiredCount=1,
                       launchType="EC2")
    aas = local.client("application-autoscaling")
    aas.register_scalable_target(**RID, MinCapacity=1, MaxCapacity=3)
    aas.put_scaling_policy(**RID, PolicyName="cpu", PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={
                               "TargetValue": 50.0,
                               "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    aas.put_scheduled_action(**RID, ScheduledActionName="night", Schedule="cron(0 22 * * ? *)",
                             ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 1})
    local.client("scheduler").create_schedule(
        Name="legacy-hourly", ScheduleExpression="rate(1 hour)", ScheduleExpressionTimezone="Asia/Tokyo",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": cluster["clusterArn"], "RoleArn": "arn:aws:iam::123456789012:role/schedulerRole",
                "EcsParameters": {"TaskDefinitionArn": td["taskDefinitionArn"], "LaunchType": "EC2"}})


def test_export_adopt_apply_then_plan_is_clean(run_cli, local, tmp_path):
    _create_untagged(local)
    code, out, err, writes = run_cli("export", "--cluster", "legacy", "--output", str(tmp_path))
    assert code == 0, err
    assert not writes
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "capacityprovider-legacy-ec2.yaml", "cluster-legacy.yaml", "schedule-legacy-hourly.yaml", "service-api.yaml",
        "taskdefinition-legacy-job.yaml"]
    service = YAML(typ="safe").load((tmp_path / "service-api.yaml").read_text())
    assert service["spec"]["autoScaling"] == {
        "minCapacity": 1, "maxCapacity": 3,
        "policies": [{"policyName": "cpu", "policyType": "TargetTrackingScaling",
                      "targetTrackingScalingPolicyConfiguration": {
                          "targetValue": 50.0,
                          "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}],
        "scheduledActions": [{"scheduledActionName": "night", "schedule": "cron(0 22 * * ? *)",
                              "scalableTargetAction": {"minCapacity": 1, "maxCapacity": 1}}]}
    schedule = YAML(typ="safe").load((tmp_path / "schedule-legacy-hourly.yaml").read_text())
    assert schedule["spec"]["Target"]["Arn"] == "legacy"
    assert schedule["spec"]["Target"]["EcsParameters"]["TaskDefinitionArn"] == "legacy-job"
    provider = YAML(typ="safe").load((tmp_path / "capacityprovider-legacy-ec2.yaml").read_text())
    assert provider["spec"]["autoScalingGroupProvider"]["autoScalingGroupArn"] == "legacy-asg"

    code, out, err, _ = run_cli("apply", str(tmp_path), "--yes")
    assert code == 0, err
    code, out, err, _ = run_cli("plan", str(tmp_path), "--output", "json", "--detailed-exitcode")
    assert code == 0, [r for r in json.loads(out)["resources"] if r["action"] != "none"]
