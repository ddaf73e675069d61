"""EventBridge Scheduler on the local endpoint: UpdateSchedule replaces the whole schedule, as in AWS."""

from __future__ import annotations

TARGET = {"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"}


def test_update_without_state_enables_and_action_after_completion_is_written(local):
    scheduler = local.client("scheduler")
    scheduler.create_schedule(Name="s", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                              Target=TARGET, State="DISABLED", ActionAfterCompletion="DELETE")
    scheduler.update_schedule(Name="s", ScheduleExpression="rate(2 hours)", FlexibleTimeWindow={"Mode": "OFF"},
                              Target=TARGET, ActionAfterCompletion="NONE")
    schedule = scheduler.get_schedule(Name="s")
    assert (schedule["State"], schedule["ActionAfterCompletion"], schedule["ScheduleExpression"]) == (
        "ENABLED", "NONE", "rate(2 hours)")
