"""EventBridge rules with ECS targets, as the ScheduledTask kind uses them."""

from __future__ import annotations

import json

ECS_PARAMETERS = {
    "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
    "TaskCount": 2,
    "LaunchType": "FARGATE",
    "NetworkConfiguration": {
        "awsvpcConfiguration": {"Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}
    },
    "PlatformVersion": "LATEST",
    "Group": "nightly",
    "PropagateTags": "TASK_DEFINITION",
    "EnableECSManagedTags": True,
    "EnableExecuteCommand": False,
    "PlacementConstraints": [{"type": "distinctInstance"}],
    "PlacementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
    "ReferenceId": "ref-1",
    "Tags": [{"Key": "team", "Value": "web"}],
}


def scheduled_rule(events, local, **parameters):
    rule = events.put_rule(
        Name="nightly", ScheduleExpression="cron(0 3 * * ? *)", State="ENABLED", Tags=[{"Key": "owner", "Value": "me"}]
    )
    target = {
        "Id": "run",
        "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/main",
        "RoleArn": local.roles()["ecsEventsRole"],
        "EcsParameters": parameters,
        "Input": json.dumps({"containerOverrides": [{"name": "app", "command": ["backup"]}]}),
    }
    events.put_targets(Rule="nightly", Targets=[target])
    return rule["RuleArn"], target


def test_ecs_target_round_trips(local):
    events = local.client("events")
    rule_arn, target = scheduled_rule(events, local, **ECS_PARAMETERS)
    [stored] = events.list_targets_by_rule(Rule="nightly")["Targets"]
    assert stored == target
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [{"Key": "owner", "Value": "me"}]
    rule = events.describe_rule(Name="nightly")
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)" and rule["State"] == "ENABLED"


def test_capacity_provider_strategy_target_round_trips(local):
    events = local.client("events")
    parameters = {k: v for k, v in ECS_PARAMETERS.items() if k != "LaunchType"}
    parameters["CapacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    scheduled_rule(events, local, **parameters)
    [stored] = events.list_targets_by_rule(Rule="nightly")["Targets"]
    assert stored["EcsParameters"] == parameters


def test_put_events_skips_schedule_rules_and_reaches_sqs(local):
    events, sqs = local.client("events"), local.client("sqs")
    scheduled_rule(events, local, **ECS_PARAMETERS)  # moto 500s on this rule without the fidelity layer
    queue = sqs.create_queue(QueueName="ecs-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="to-queue", EventPattern=json.dumps({"source": ["aws.ecs"]}))
    events.put_targets(Rule="to-queue", Targets=[{"Id": "q", "Arn": queue_arn}])
    answer = events.put_events(
        Entries=[{"Source": "aws.ecs", "DetailType": "ECS Service Action", "Detail": json.dumps({"version": 1}), "Resources": ["r"]}]
    )
    assert answer["FailedEntryCount"] == 0
    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    body = json.loads(message["Body"])
    assert body["account"] == "123456789012" and body["detail-type"] == "ECS Service Action"
    assert body["detail"] == {"version": 1} and body["resources"] == ["r"]
    assert "ingestion-time" not in body
