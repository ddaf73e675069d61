"""Parsing EventBridge envelopes: documented payloads, key mapping, tolerance and rejection."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.observed.events import MAX_BODY_BYTES, ParsedEvent, Rejected, parse_message
from test_events_samples import (
    CONTAINER_INSTANCE_EVENT,
    DEPLOYMENT_EVENT,
    INSTANCE_ARN,
    SERVICE_ACTION_EVENT,
    SERVICE_ARN,
    TASK_ARN,
    TASK_EVENT,
    api_call,
    body,
)


def parsed(text: str) -> ParsedEvent:
    result = parse_message(text)
    assert isinstance(result, ParsedEvent), result
    return result


def test_task_state_change_maps_to_its_service():
    event = parsed(body(TASK_EVENT))
    assert event.kind == "task"
    assert event.resource == f"task:{TASK_ARN}"
    assert event.version == 4 and event.order == (4,)
    assert event.time == datetime(2020, 1, 23, 17, 57, 58, 103000, tzinfo=timezone.utc)
    assert event.affects == {("Service", "FargateCluster", "sample-fargate")}
    assert event.name == "RUNNING"
    assert event.unknown_fields == ()


def test_standalone_task_affects_nothing_and_scheduled_task_maps_to_rule():
    assert parsed(body(TASK_EVENT, group="family:sample-fargate")).affects == frozenset()
    scheduled = parsed(body(TASK_EVENT, group="family:batch", startedBy="events-rule/nightly-report"))
    assert scheduled.affects == {("ScheduledTask", "nightly-report")}


def test_container_instance_state_change_maps_to_cluster():
    event = parsed(json.dumps(CONTAINER_INSTANCE_EVENT))
    assert event.kind == "container-instance"
    assert event.resource == f"container-instance:{INSTANCE_ARN}"
    assert event.version == 14801
    assert event.affects == {("Cluster", "default")}


def test_service_action_has_no_version_and_orders_by_time():
    event = parsed(json.dumps(SERVICE_ACTION_EVENT))
    assert event.kind == "service-action"
    assert event.resource == f"service:{SERVICE_ARN}"
    assert event.version is None
    assert event.order == (datetime(2019, 11, 19, 19, 27, 22, 695000, tzinfo=timezone.utc).timestamp(), SERVICE_ACTION_EVENT["id"])
    assert event.affects == {("Service", "default", "servicetest")}
    assert event.name == "SERVICE_STEADY_STATE"


def test_deployment_state_change_is_keyed_by_deployment_id():
    event = parsed(json.dumps(DEPLOYMENT_EVENT))
    assert event.kind == "deployment"
    assert event.resource == "deployment:ecs-svc/123"
    assert event.affects == {("Service", "default", "servicetest")}
    assert event.time == datetime(2020, 5, 23, 11, 11, 11, tzinfo=timezone.utc)


def test_short_service_arn_means_default_cluster():
    env = dict(SERVICE_ACTION_EVENT, resources=["arn:aws:ecs:us-west-2:111122223333:service/legacy"])
    assert parsed(json.dumps(env)).affects == {("Service", "default", "legacy")}


@pytest.mark.parametrize(
    "source, name, params, expected",
    [
        ("ecs.amazonaws.com", "UpdateService", {"cluster": "prod", "service": "web", "desiredCount": 3},
         {("Service", "prod", "web")}),
        ("ecs.amazonaws.com", "UpdateService", {"service": "web"}, {("Service", "default", "web")}),
        ("ecs.amazonaws.com", "UpdateService",
         {"cluster": "arn:aws:ecs:us-west-2:1:cluster/prod", "service": "arn:aws:ecs:us-west-2:1:service/prod/web"},
         {("Service", "prod", "web")}),
        ("ecs.amazonaws.com", "CreateService", {"cluster": "prod", "serviceName": "api"}, {("Service", "prod", "api")}),
        ("ecs.amazonaws.com", "DeleteService", {"cluster": "prod", "service": "api"}, {("Service", "prod", "api")}),
        ("ecs.amazonaws.com", "RegisterTaskDefinition", {"family": "web", "containerDefinitions": []},
         {("TaskDefinition", "web")}),
        ("ecs.amazonaws.com", "DeregisterTaskDefinition", {"taskDefinition": "web:7"}, {("TaskDefinition", "web")}),
        ("ecs.amazonaws.com", "DeleteTaskDefinitions",
         {"taskDefinitions": ["arn:aws:ecs:us-west-2:1:task-definition/a:1", "b:2"]},
         {("TaskDefinition", "a"), ("TaskDefinition", "b")}),
        ("ecs.amazonaws.com", "CreateCluster", {"clusterName": "prod"}, {("Cluster", "prod")}),
        ("ecs.amazonaws.com", "UpdateCluster", {"cluster": "prod", "settings": []}, {("Cluster", "prod")}),
        ("ecs.amazonaws.com", "PutClusterCapacityProviders", {"cluster": "arn:aws:ecs:us-west-2:1:cluster/prod"},
         {("Cluster", "prod")}),
        ("ecs.amazonaws.com", "TagResource", {"resourceArn": "arn:aws:ecs:us-west-2:1:service/prod/web", "tags": []},
         {("Service", "prod", "web")}),
        ("ecs.amazonaws.com", "RunTask", {"cluster": "prod", "taskDefinition": "web:1"}, set()),
        ("events.amazonaws.com", "PutRule", {"name": "nightly", "scheduleExpression": "rate(1 day)"},
         {("ScheduledTask", "nightly")}),
        ("events.amazonaws.com", "PutTargets", {"rule": "nightly", "targets": [{"id": "1"}]},
         {("ScheduledTask", "nightly")}),
        ("events.amazonaws.com", "DisableRule", {"name": "nightly"}, {("ScheduledTask", "nightly")}),
        ("application-autoscaling.amazonaws.com", "RegisterScalableTarget",
         {"serviceNamespace": "ecs", "resourceId": "service/prod/web", "scalableDimension": "ecs:service:DesiredCount"},
         {("Service", "prod", "web")}),
        ("application-autoscaling.amazonaws.com", "PutScalingPolicy",
         {"serviceNamespace": "ecs", "resourceId": "service/prod/web"}, {("Service", "prod", "web")}),
        ("application-autoscaling.amazonaws.com", "RegisterScalableTarget",
         {"serviceNamespace": "dynamodb", "resourceId": "table/orders"}, set()),
    ],
)
def test_api_call_maps_request_parameters_to_managed_keys(source, name, params, expected):
    event = parsed(json.dumps(api_call(source, name, params)))
    assert event.kind == "api-call"
    assert event.version is None
    assert event.affects == expected


def test_api_calls_on_one_resource_share_a_key_and_order_by_event_time():
    early = parsed(json.dumps(api_call("ecs.amazonaws.com", "UpdateService", {"cluster": "p", "service": "w"},
                                       "2024-03-01T10:00:00Z", "a")))
    late = parsed(json.dumps(api_call("ecs.amazonaws.com", "UpdateService", {"cluster": "p", "service": "w"},
                                      "2024-03-01T10:00:05Z", "b")))
    assert early.resource == late.resource == "api:Service/p/w"
    assert early.order < late.order


def test_failed_api_call_changes_nothing():
    env = api_call("ecs.amazonaws.com", "UpdateService", {"cluster": "p", "service": "w"})
    env["detail"]["errorCode"] = "AccessDenied"
    event = parsed(json.dumps(env))
    assert event.affects == frozenset()
    assert event.resource == "api-call:e1"


def test_unknown_fields_are_tolerated_and_reported():
    env = json.loads(body(TASK_EVENT, brandNewField={"x": 1}))
    env["futureEnvelopeField"] = True
    event = parsed(json.dumps(env))
    assert event.affects == {("Service", "FargateCluster", "sample-fargate")}
    assert event.unknown_fields == ("detail.brandNewField", "futureEnvelopeField")


def test_unknown_detail_type_is_rejected_as_unknown_not_malformed():
    env = dict(SERVICE_ACTION_EVENT, **{"detail-type": "ECS Daemon Service Action"})
    result = parse_message(json.dumps(env))
    assert isinstance(result, Rejected)
    assert result.category == "unknown"
    assert result.detail_type == "ECS Daemon Service Action"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({"detail-type": "ECS Task State Change", "id": "x", "time": "2020-01-01T00:00:00Z"}), "missing detail"),
        (json.dumps(dict(TASK_EVENT, detail=["a"])), "detail is list"),
        (json.dumps({k: v for k, v in TASK_EVENT.items() if k != "detail-type"}), "detail-type"),
        (body(TASK_EVENT, version="4"), "detail.version"),
        (body(TASK_EVENT, version=True), "detail.version"),
        (body(TASK_EVENT, version=-1), "detail.version"),
        (body(TASK_EVENT, taskArn=None), "detail.taskArn"),
        (body(TASK_EVENT, group=7), "detail.group"),
        (body(TASK_EVENT, updatedAt="yesterday"), "ISO 8601"),
        (json.dumps(dict(TASK_EVENT, time=12345)), "envelope.time"),
        (json.dumps(dict(SERVICE_ACTION_EVENT, resources=["arn:aws:ecs:us-west-2:1:cluster/x"])), "no ECS service ARN"),
        (json.dumps(dict(SERVICE_ACTION_EVENT, resources="arn")), "resources"),
        (json.dumps(dict(TASK_EVENT, padding="x" * MAX_BODY_BYTES)), "byte limit"),
        (b"\xff\xfe garbage", "not JSON"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason(text, reason):
    result = parse_message(text)
    assert isinstance(result, Rejected)
    assert result.category == "malformed"
    assert reason in result.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_parse_never_raises_on_arbitrary_input(text):
    result = parse_message(text)
    assert isinstance(result, (ParsedEvent, Rejected))
    assert not isinstance(result, Rejected) or not result.reason.startswith("unexpected")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([TASK_EVENT, CONTAINER_INSTANCE_EVENT, SERVICE_ACTION_EVENT, DEPLOYMENT_EVENT,
                     api_call("ecs.amazonaws.com", "UpdateService", {"cluster": "p", "service": "w"})]),
    st.sampled_from(["detail", "envelope"]),
    st.text(min_size=1, max_size=15),
    json_values,
)
def test_overwriting_any_field_with_any_value_never_raises(sample, where, key, value):
    env = json.loads(json.dumps(sample))
    (env["detail"] if where == "detail" else env)[key] = value
    result = parse_message(json.dumps(env))
    assert isinstance(result, (ParsedEvent, Rejected))
    assert not isinstance(result, Rejected) or not result.reason.startswith("unexpected"), result
