"""EventBridge Scheduler as AWS answers it, where moto differs.

- UpdateSchedule replaces the whole schedule: a request without `State` leaves it `ENABLED` and
  `ActionAfterCompletion` is what the request says (moto stored `State: null` and ignored
  `ActionAfterCompletion` on update).
- Every write is reported as a CloudTrail API call (local/api_calls.py), with the schedule or group
  name from the request path, so the event stream sees out-of-band schedule changes.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import unquote

from moto.scheduler.responses import EventBridgeSchedulerResponse

from .api_calls import json_body, report_writes


def _request(response: Any) -> dict:
    """The JSON body plus the name the REST path carries (`/schedules/<name>`, `/schedule-groups/<name>`)."""
    body = json_body(response)
    path = response.uri.split("?")[0]
    if "/tags/" not in path:
        body.setdefault("Name", unquote(path.rstrip("/").split("/")[-1]))
    else:
        body.setdefault("ResourceArn", unquote(path.split("/tags/")[-1]))
    return body


def install(bound: Callable[[], Any], lock: Any) -> None:
    report_writes(EventBridgeSchedulerResponse, "scheduler.amazonaws.com", bound, lock, params=_request)
    original = EventBridgeSchedulerResponse.update_schedule

    def update_schedule(self: Any) -> str:
        result = original(self)
        if bound() is not None:
            group = self._get_param("GroupName")
            name = self.uri.split("?")[0].split("/")[-1]
            schedule = self.scheduler_backend.get_schedule(group, name)
            schedule.state = self._get_param("State") or "ENABLED"
            schedule.action_after_completion = self._get_param("ActionAfterCompletion")
        return result

    EventBridgeSchedulerResponse.update_schedule = update_schedule
