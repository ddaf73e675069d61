"""ECS events reach an SQS queue through a real EventBridge rule and target."""

from __future__ import annotations

import json

import pytest

from reconciler.local import LocalEndpoint

from .helpers import awsvpc, fargate_task_definition, wait_for


@pytest.fixture(scope="module")
def emitting():
    with LocalEndpoint(settle_seconds=0.3, emit_events=True, duplicate_rate=0.0) as ep:
        yield ep


@pytest.fixture
def queue(emitting):
    emitting.reset()
    sqs, events = emitting.client("sqs"), emitting.client("events")
    url = sqs.create_queue(QueueName="ecs-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="ecs-to-queue", EventPattern=json.dumps({"source": ["aws.ecs"]}))
    events.put_targets(Rule="ecs-to-queue", Targets=[{"Id": "queue", "Arn": arn}])
    return url


def drain(endpoint, url, until, timeout=10.0):
    sqs, bodies = endpoint.client("sqs"), []

    def check():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return until(bodies)

    wait_for(check, timeout=timeout)
    return bodies


def start_service(endpoint):
    ecs = endpoint.client("ecs")
    ecs.create_cluster(clusterName="main")
    fargate_task_definition(ecs)
    return ecs.create_service(
        cluster="main", serviceName="api", taskDefinition="web", desiredCount=1,
        launchType="FARGATE", networkConfiguration=awsvpc(endpoint),
    )["service"]


def test_deployment_and_task_events_reach_sqs(emitting, queue):
    service = start_service(emitting)

    def has_steady(bodies):
        return any(b["detail-type"] == "ECS Service Action" for b in bodies)

    bodies = drain(emitting, queue, has_steady)
    kinds = {b["detail-type"] for b in bodies}
    assert {"ECS Deployment State Change", "ECS Task State Change", "ECS Service Action"} <= kinds
    completed = [b for b in bodies if b["detail"].get("eventName") == "SERVICE_DEPLOYMENT_COMPLETED"]
    assert completed[0]["resources"] == [service["serviceArn"]]
    assert completed[0]["detail"]["deploymentId"] == service["deployments"][0]["id"]
    assert all(b["source"] == "aws.ecs" and b["account"] == "123456789012" for b in bodies)


def test_write_calls_arrive_as_cloudtrail_events(emitting, queue):
    start_service(emitting)
    ecs = emitting.client("ecs")
    ecs.update_service(cluster="main", service="api", desiredCount=2)
    ecs.describe_services(cluster="main", services=["api"])

    def has_update(bodies):
        return [b for b in bodies if b["detail"].get("eventName") == "UpdateService"]

    bodies = drain(emitting, queue, has_update)
    calls = [b for b in bodies if b["detail-type"] == "AWS API Call via CloudTrail"]
    names = [b["detail"]["eventName"] for b in calls]
    assert {"CreateCluster", "RegisterTaskDefinition", "CreateService", "UpdateService"} <= set(names)
    assert not [n for n in names if n.startswith(("Describe", "List"))]
    update = next(b for b in calls if b["detail"]["eventName"] == "UpdateService")
    assert update["detail"]["eventSource"] == "ecs.amazonaws.com"
    assert update["detail"]["requestParameters"] == {"cluster": "main", "service": "api", "desiredCount": 2}


def test_duplicates_and_delays_when_asked():
    with LocalEndpoint(settle_seconds=0.2, emit_events=True, duplicate_rate=1.0, reorder_seconds=0.3) as endpoint:
        endpoint.reset()  # moto state is per process: start from an empty account
        sqs, events = endpoint.client("sqs"), endpoint.client("events")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="r", EventPattern=json.dumps({"detail-type": ["ECS Service Action"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
        start_service(endpoint)
        bodies = drain(endpoint, url, lambda bodies: len(bodies) >= 2)
        assert len(bodies) == 2
        assert bodies[0]["detail"] == bodies[1]["detail"]
        assert bodies[0]["detail"]["version"] == 3  # in progress, completed, steady state


def test_plain_endpoint_emits_nothing(local):
    assert local.emitter is None
    assert not local.scheduler.has_listeners()


def test_write_calls_emit_cloudtrail_events_naming_the_caller(emitting, queue):
    """ECS and EventBridge write calls come back as "AWS API Call via CloudTrail" events whose
    userIdentity is the IAM user of the signing access key, and whose parameters map to our keys."""
    import boto3

    from reconciler.observed.attribution import ChangeLog
    from reconciler.observed.events import parse_message

    events = emitting.client("events")
    sqs = emitting.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="trail-to-queue", EventPattern=json.dumps({"detail-type": ["AWS API Call via CloudTrail"]}))
    events.put_targets(Rule="trail-to-queue", Targets=[{"Id": "queue", "Arn": arn}])
    bob = boto3.client("events", endpoint_url=emitting.url, region_name="us-east-1", aws_access_key_id="bob",
                       aws_secret_access_key="bob")
    bob.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    events.put_events(Entries=[{"Source": "app", "DetailType": "x", "Detail": "{}"}])  # a data event: not reported

    bodies = drain(emitting, queue, lambda bs: any(b["detail"].get("userIdentity", {}).get("userName") == "bob"
                                                    for b in bs))
    calls = [b for b in bodies if b["detail-type"] == "AWS API Call via CloudTrail"]
    assert "PutEvents" not in {b["detail"]["eventName"] for b in calls}
    put = next(b for b in calls if b["detail"]["userIdentity"].get("userName") == "bob")
    assert put["source"] == "aws.events" and put["detail"]["eventSource"] == "events.amazonaws.com"
    assert put["detail"]["requestParameters"] == {"name": "nightly", "scheduleExpression": "rate(1 day)"}
    log = ChangeLog()
    log.record(parse_message(json.dumps(put)))
    who = log.document("ScheduledTask", "nightly")
    assert who["principal"] == "arn:aws:iam::123456789012:user/bob" and who["call"] == "PutRule"
