"""Event plumbing against the moto server: idempotent setup/teardown and real rule -> queue delivery."""

from __future__ import annotations

import json

import pytest

from reconciler.observed.event_plumbing import (
    COMPONENT,
    COMPONENT_VALUE,
    MANAGED_BY,
    OwnershipError,
    setup_event_stream,
    teardown_event_stream,
)


def _receive_all(sqs, queue_url):
    bodies = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return bodies
        bodies += [json.loads(m["Body"]) for m in msgs]


def test_setup_twice_gives_one_queue_and_one_rule(clients):
    first = setup_event_stream(clients)
    second = setup_event_stream(clients)
    assert first == second
    sqs, events = clients.client("sqs"), clients.events
    assert len(sqs.list_queues().get("QueueUrls", [])) == 1
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["ecs-reconciler"]
    targets = events.list_targets_by_rule(Rule="ecs-reconciler")["Targets"]
    assert [t["Arn"] for t in targets] == [first["queue_arn"]]
    assert sqs.list_queue_tags(QueueUrl=first["queue_url"])["Tags"] == {MANAGED_BY: "ecs-reconciler",
                                                                     COMPONENT: COMPONENT_VALUE}
    rule_tags = events.list_tags_for_resource(ResourceARN=first["rule_arns"][0])["Tags"]
    assert {"Key": MANAGED_BY, "Value": "ecs-reconciler"} in rule_tags


def test_queue_policy_lets_only_our_rule_send(clients):
    out = setup_event_stream(clients, name="stream-a", instance="prod")
    attrs = clients.client("sqs").get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["Policy"])
    [statement] = json.loads(attrs["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == out["queue_arn"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": out["rule_arns"][0]}}


def _put(events, source, detail_type, detail):
    response = events.put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert response["FailedEntryCount"] == 0


def test_rule_pattern_routes_ecs_and_api_call_events_only(clients):
    out = setup_event_stream(clients)
    events = clients.events
    _put(events, "aws.ecs", "ECS Service Action", {"eventName": "SERVICE_STEADY_STATE"})
    _put(events, "aws.events", "AWS API Call via CloudTrail", {"eventSource": "events.amazonaws.com", "eventName": "PutRule"})
    _put(events, "aws.application-autoscaling", "AWS API Call via CloudTrail",
         {"eventSource": "application-autoscaling.amazonaws.com", "eventName": "RegisterScalableTarget"})
    _put(events, "aws.s3", "AWS API Call via CloudTrail", {"eventSource": "s3.amazonaws.com", "eventName": "PutObject"})
    _put(events, "my.app", "ECS Service Action", {"eventName": "SERVICE_STEADY_STATE"})
    received = _receive_all(clients.client("sqs"), out["queue_url"])
    assert sorted(b["detail"]["eventName"] for b in received) == ["PutRule", "RegisterScalableTarget", "SERVICE_STEADY_STATE"]


def test_teardown_removes_everything_and_is_safe_twice(clients):
    out = setup_event_stream(clients)
    removed = teardown_event_stream(clients)
    assert removed == {"rules": ["ecs-reconciler"], "queues": [out["queue_url"]]}
    assert teardown_event_stream(clients) == {"rules": [], "queues": []}
    assert clients.client("sqs").list_queues().get("QueueUrls", []) == []
    assert clients.events.list_rules()["Rules"] == []
    # and it can be set up again afterwards
    assert setup_event_stream(clients)["rule_names"] == ["ecs-reconciler"]


def test_foreign_queue_and_rule_are_left_alone(clients):
    sqs, events = clients.client("sqs"), clients.events
    url = sqs.create_queue(QueueName="shared", tags={"team": "other"})["QueueUrl"]
    events.put_rule(Name="shared", EventPattern=json.dumps({"source": ["x"]}), Tags=[{"Key": "team", "Value": "other"}])
    assert teardown_event_stream(clients, name="shared") == {"rules": [], "queues": []}
    assert sqs.get_queue_url(QueueName="shared")["QueueUrl"] == url
    assert events.describe_rule(Name="shared")["EventPattern"] == json.dumps({"source": ["x"]})
    with pytest.raises(OwnershipError):
        setup_event_stream(clients, name="shared")
    # another instance's stream is not ours either
    setup_event_stream(clients, name="mine", instance="blue")
    with pytest.raises(OwnershipError):
        setup_event_stream(clients, name="mine", instance="green")
    assert teardown_event_stream(clients, name="mine", instance="green") == {"rules": [], "queues": []}
    assert teardown_event_stream(clients, name="mine", instance="blue")["rules"] == ["mine"]
