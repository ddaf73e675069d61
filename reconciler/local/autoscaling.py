"""Application Auto Scaling as AWS answers it, where moto differs.

- A scalable target registered without `SuspendedState` is returned with all three flags false
  (AWS always returns the structure; moto returns null).
- Every write is reported as a CloudTrail API call (local/api_calls.py), so the event stream sees
  out-of-band RegisterScalableTarget / PutScalingPolicy / PutScheduledAction calls.
"""

from __future__ import annotations

from typing import Any, Callable

from moto.applicationautoscaling import models as aas_models
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

from .api_calls import report_writes

SUSPENDED_DEFAULTS = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                      "ScheduledScalingSuspended": False}


def install(bound: Callable[[], Any], lock: Any) -> None:
    report_writes(ApplicationAutoScalingResponse, "application-autoscaling.amazonaws.com", bound, lock)
    backend = aas_models.ApplicationAutoscalingBackend
    original = backend.register_scalable_target

    def register_scalable_target(self: Any, *args: Any, **kwargs: Any) -> Any:
        target = original(self, *args, **kwargs)
        if bound() is not None:
            target.suspended_state = {**SUSPENDED_DEFAULTS, **(target.suspended_state or {})}
        return target

    backend.register_scalable_target = register_scalable_target
