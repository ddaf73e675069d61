"""Creates and removes the EventBridge rule and SQS queue that carry ECS events to the consumer.

Both directions are idempotent, so `setup` can run at every start and `teardown` twice. Everything
is tagged with the instance that owns it, and marked as the event stream's plumbing
(`ecs-reconciler.io/component=event-stream`) rather than made from a manifest, so prune never takes
it for a scheduled task; a queue or rule of the same name without our tag belongs to someone else,
so setup refuses to adopt it and teardown leaves it alone.

One rule with an `$or` pattern covers ECS's own events (source aws.ecs) and CloudTrail API calls
to ECS, EventBridge, EventBridge Scheduler and Application Auto Scaling, the services whose writes change what we manage.
"""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger(__name__)

MANAGED_BY = "ecs-reconciler.io/managed-by"
COMPONENT = "ecs-reconciler.io/component"
COMPONENT_VALUE = "event-stream"
TARGET_ID = "ecs-reconciler-queue"
API_CALL_SOURCES = ["ecs.amazonaws.com", "events.amazonaws.com", "application-autoscaling.amazonaws.com",
                    "scheduler.amazonaws.com"]
EVENT_PATTERN = {
    "$or": [
        {"source": ["aws.ecs"]},
        {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventSource": API_CALL_SOURCES}},
    ]
}


class OwnershipError(RuntimeError):
    """A queue or rule with our name exists but is not tagged as ours."""


def setup_event_stream(clients: Any, name: str = "ecs-reconciler", instance: str = "ecs-reconciler") -> dict:
    """Ensure queue, queue policy, rule and target exist; return their identifiers."""
    sqs, events = clients.client("sqs"), clients.events
    queue_url = _existing_queue(sqs, name)
    if queue_url is None:
        queue_url = sqs.create_queue(QueueName=name, tags={MANAGED_BY: instance, COMPONENT: COMPONENT_VALUE})["QueueUrl"]
        log.info("created event queue %s", queue_url)
    elif _queue_owner(sqs, queue_url) != instance:
        raise OwnershipError(f"queue {name} exists but is not tagged {MANAGED_BY}={instance}")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    rule = _existing_rule(events, name)
    if rule is not None and _rule_owner(events, rule["Arn"]) != instance:
        raise OwnershipError(f"rule {name} exists but is not tagged {MANAGED_BY}={instance}")
    put: dict[str, Any] = dict(
        Name=name,
        EventPattern=json.dumps(EVENT_PATTERN),
        State="ENABLED",
        Description=f"ECS and API-call events for {instance}",
    )
    if rule is None:
        put["Tags"] = [{"Key": MANAGED_BY, "Value": instance}, {"Key": COMPONENT, "Value": COMPONENT_VALUE}]
    rule_arn = events.put_rule(**put)["RuleArn"]
    if rule is not None:  # made before the marker existed: mark it now
        events.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": COMPONENT, "Value": COMPONENT_VALUE}])

    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(_queue_policy(queue_arn, rule_arn))})
    events.put_targets(Rule=name, Targets=[{"Id": TARGET_ID, "Arn": queue_arn}])
    return {"queue_url": queue_url, "queue_arn": queue_arn, "rule_names": [name], "rule_arns": [rule_arn]}


def teardown_event_stream(clients: Any, name: str = "ecs-reconciler", instance: str = "ecs-reconciler") -> dict:
    """Remove rule (targets first) and queue, only where tagged as ours; report what was removed."""
    sqs, events = clients.client("sqs"), clients.events
    removed: dict[str, list[str]] = {"rules": [], "queues": []}
    rule = _existing_rule(events, name)
    if rule is not None and _rule_owner(events, rule["Arn"]) == instance:
        target_ids = [t["Id"] for t in _rule_targets(events, name)]
        if target_ids:
            events.remove_targets(Rule=name, Ids=target_ids)
        events.delete_rule(Name=name)
        removed["rules"].append(name)
    elif rule is not None:
        log.warning("leaving rule %s: not tagged %s=%s", name, MANAGED_BY, instance)
    queue_url = _existing_queue(sqs, name)
    if queue_url is not None and _queue_owner(sqs, queue_url) == instance:
        sqs.delete_queue(QueueUrl=queue_url)
        removed["queues"].append(queue_url)
    elif queue_url is not None:
        log.warning("leaving queue %s: not tagged %s=%s", queue_url, MANAGED_BY, instance)
    return removed


def _queue_policy(queue_arn: str, rule_arn: str) -> dict:
    """Only our rule may send: EventBridge is a shared principal, the SourceArn pins it down."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowEventBridgeRule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def _existing_queue(sqs: Any, name: str) -> str | None:
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return None


def _queue_owner(sqs: Any, queue_url: str) -> str | None:
    return sqs.list_queue_tags(QueueUrl=queue_url).get("Tags", {}).get(MANAGED_BY)


def _existing_rule(events: Any, name: str) -> dict | None:
    try:
        return events.describe_rule(Name=name)
    except events.exceptions.ResourceNotFoundException:
        return None


def _rule_owner(events: Any, rule_arn: str) -> str | None:
    tags = events.list_tags_for_resource(ResourceARN=rule_arn).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == MANAGED_BY), None)


def _rule_targets(events: Any, name: str) -> list[dict]:
    targets, token = [], None
    while True:
        kwargs = {"Rule": name, **({"NextToken": token} if token else {})}
        page = events.list_targets_by_rule(**kwargs)
        targets += page.get("Targets", [])
        token = page.get("NextToken")
        if not token:
            return targets
