"""Reading a service's rollout from its DescribeServices body: finished, moving, failed, or stuck."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from reconciler.observed.rollouts import rollout_of

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def deployment(status: str, state: str, minutes_ago: float = 1, reason: str | None = None, **extra) -> dict:
    return {"id": f"ecs-svc/{status.lower()}-{state.lower()}", "status": status, "rolloutState": state,
            "rolloutStateReason": reason, "createdAt": NOW - timedelta(minutes=minutes_ago),
            "runningCount": extra.get("running", 1), "desiredCount": extra.get("desired", 2)}


def test_a_single_completed_deployment_is_done():
    assert rollout_of({"deployments": [deployment("PRIMARY", "COMPLETED")]}, NOW).state == "done"
    assert rollout_of({}, NOW).state == "done"  # nothing deployed yet, nothing moving


def test_a_deployment_in_progress_within_the_deadline_is_moving():
    body = {"deployments": [deployment("PRIMARY", "IN_PROGRESS", 3), deployment("ACTIVE", "COMPLETED", 60)]}
    rollout = rollout_of(body, NOW, timeout=600)
    assert (rollout.state, rollout.in_progress, rollout.reason) == ("in-progress", True, None)


def test_a_deployment_in_progress_past_the_deadline_is_failed_but_still_watched():
    body = {"deployments": [deployment("PRIMARY", "IN_PROGRESS", 11, reason="ECS deployment ecs-svc/1 in progress.",
                                       running=1, desired=4)]}
    rollout = rollout_of(body, NOW, timeout=600)
    assert rollout.state == "failed" and rollout.in_progress
    assert "has not finished after 660 s" in rollout.reason and "rollout timeout 600 s" in rollout.reason
    assert "1 of 4 tasks running" in rollout.reason and "in progress." in rollout.reason
    assert rollout_of(body, NOW, timeout=0).state == "in-progress"  # 0: no deadline
    assert rollout_of(body, NOW, timeout=None).state == "in-progress"


def test_a_circuit_breaker_failure_without_rollback_is_failed_with_its_reason():
    breaker = "ECS deployment circuit breaker: tasks failed to start."
    body = {"deployments": [deployment("PRIMARY", "FAILED", reason=breaker), deployment("ACTIVE", "COMPLETED", 60)]}
    rollout = rollout_of(body, NOW)
    assert rollout.state == "failed" and breaker in rollout.reason and "ecs-svc/primary-failed" in rollout.reason
    assert rollout.in_progress  # the old deployment is still there: ECS is still moving tasks


def test_a_rollback_under_way_is_failed_and_names_the_failed_deployment():
    breaker = "ECS deployment circuit breaker: tasks failed to start."
    body = {"deployments": [deployment("PRIMARY", "IN_PROGRESS"), deployment("ACTIVE", "FAILED", 2, reason=breaker)]}
    rollout = rollout_of(body, NOW)
    assert rollout.state == "failed" and rollout.in_progress
    assert "ecs-svc/active-failed failed and ECS is rolling back" in rollout.reason and breaker in rollout.reason


def test_created_at_may_be_text_or_epoch_seconds():
    started = NOW - timedelta(minutes=30)
    for value in (started.isoformat(), started.isoformat().replace("+00:00", "Z"), started.timestamp()):
        body = {"deployments": [dict(deployment("PRIMARY", "IN_PROGRESS"), createdAt=value)]}
        assert rollout_of(body, NOW, timeout=600).state == "failed", value
