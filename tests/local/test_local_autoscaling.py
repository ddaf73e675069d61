"""Application Auto Scaling on the local endpoint answers as AWS does, and its writes are CloudTrail events."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from .helpers import wait_for
from .test_local_events import emitting, start_service  # noqa: F401  (module-scoped emitting endpoint)

RID = {"ServiceNamespace": "ecs", "ResourceId": "service/main/api", "ScalableDimension": "ecs:service:DesiredCount"}


def test_suspended_state_is_returned_all_false_when_never_set(local):
    start_service(local)
    aas = local.client("application-autoscaling")
    aas.register_scalable_target(**RID, MinCapacity=1, MaxCapacity=3)
    target = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert target["SuspendedState"] == {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                                        "ScheduledScalingSuspended": False}
    aas.register_scalable_target(**RID, SuspendedState={"ScheduledScalingSuspended": True})
    target = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert target["SuspendedState"]["ScheduledScalingSuspended"] is True
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)


def test_scalable_targets_carry_tags_set_at_creation_and_by_tag_resource(local):
    start_service(local)
    aas = local.client("application-autoscaling")
    arn = aas.register_scalable_target(**RID, MinCapacity=1, MaxCapacity=3, Tags={"a": "1"})["ScalableTargetARN"]
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"a": "1"}
    aas.register_scalable_target(**RID, MaxCapacity=4, Tags={"b": "2"})  # an update: Tags apply only at creation
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"a": "1"}
    aas.tag_resource(ResourceARN=arn, Tags={"b": "2"})
    aas.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"b": "2"}
    aas.deregister_scalable_target(**RID)
    with pytest.raises(botocore.exceptions.ClientError) as error:
        aas.list_tags_for_resource(ResourceARN=arn)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_autoscaling_writes_arrive_as_cloudtrail_events(emitting):  # noqa: F811
    emitting.reset()
    sqs, events = emitting.client("sqs"), emitting.client("events")
    url = sqs.create_queue(QueueName="calls")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="calls", EventPattern=json.dumps({"detail-type": ["AWS API Call via CloudTrail"]}))
    events.put_targets(Rule="calls", Targets=[{"Id": "queue", "Arn": arn}])
    start_service(emitting)
    aas = emitting.client("application-autoscaling")
    aas.register_scalable_target(**RID, MinCapacity=1, MaxCapacity=3)
    aas.describe_scalable_targets(ServiceNamespace="ecs")
    bodies: list[dict] = []

    def seen():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
        return any(b["detail"]["eventName"] == "RegisterScalableTarget" for b in bodies)

    wait_for(seen, timeout=10)
    call = next(b for b in bodies if b["detail"]["eventName"] == "RegisterScalableTarget")
    assert call["source"] == "aws.application-autoscaling"
    assert call["detail"]["eventSource"] == "application-autoscaling.amazonaws.com"
    assert call["detail"]["requestParameters"] == {
        "serviceNamespace": "ecs", "resourceId": "service/main/api", "scalableDimension": "ecs:service:DesiredCount",
        "minCapacity": 1, "maxCapacity": 3}
    assert not [b for b in bodies if b["detail"]["eventName"].startswith("Describe")]
