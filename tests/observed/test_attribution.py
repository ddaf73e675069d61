"""Who made a drift: the newest outside write call CloudTrail reported on the resource."""

from __future__ import annotations

import json

from test_events_samples import ACCOUNT, api_call

from reconciler.observed.attribution import ChangeLog, principal_of
from reconciler.observed.events import parse_message

SCALER_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForApplicationAutoScaling_ECSService/AutoScaling"


def event(name="UpdateService", params=None, at="2024-03-01T10:00:00Z", identity=None, agent="aws-cli/2", eid="e1",
          **detail):
    envelope = api_call("ecs.amazonaws.com", name, params or {"cluster": "prod", "service": "web"}, at, eid)
    if identity is not None:
        envelope["detail"]["userIdentity"] = identity
    envelope["detail"]["userAgent"] = agent
    envelope["detail"].update(detail)
    return parse_message(json.dumps(envelope))


def test_the_newest_outside_write_names_principal_call_and_time():
    log = ChangeLog()
    assert log.document("Service", "web")["principal"] == "unknown"
    log.record(event(at="2024-03-01T10:00:00Z", eid="a"))
    log.record(event(identity={"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice"},
                     at="2024-03-01T10:05:00Z", eid="b"))
    log.record(event(at="2024-03-01T10:01:00Z", eid="c"))  # delivered late: older than alice's
    who = log.document("Service", "web")
    assert who == {"principal": f"arn:aws:iam::{ACCOUNT}:user/alice", "call": "UpdateService",
                   "time": "2024-03-01T10:05:00Z", "label": f"arn:aws:iam::{ACCOUNT}:user/alice"}
    assert log.who("Service", "api") is None


def test_our_own_writes_and_failed_calls_are_never_blamed():
    log = ChangeLog()
    log.record(event(agent="Boto3/1.34 ecs-reconciler", eid="ours"))
    log.record(event(eid="failed", errorCode="AccessDeniedException"))
    assert log.who("Service", "web") is None


def test_the_autoscaler_is_labelled_as_such_not_as_a_person():
    identity = {"type": "AssumedRole", "arn": SCALER_ROLE, "invokedBy": "application-autoscaling.amazonaws.com"}
    assert principal_of(identity) == (SCALER_ROLE, "Application Auto Scaling (scaler)")
    log = ChangeLog()
    log.record(event(identity=identity))
    assert log.document("Service", "web")["label"] == "Application Auto Scaling (scaler)"
    assert principal_of(None) == ("unknown", "unknown")


def test_the_memory_is_bounded():
    log = ChangeLog(max_resources=2)
    for n in range(5):
        log.record(event(params={"cluster": "prod", "service": f"s{n}"}, eid=str(n)))
    assert log.who("Service", "s0") is None and log.who("Service", "s4") is not None
