"""Application Auto Scaling as AWS answers it, where moto differs.

- A scalable target registered without `SuspendedState` is returned with all three flags false
  (AWS always returns the structure; moto returns null).
- Every write is reported as a CloudTrail API call (local/api_calls.py), so the event stream sees
  out-of-band RegisterScalableTarget / PutScalingPolicy / PutScheduledAction calls.
- Scalable targets carry tags as in AWS (moto ignores `Tags` and has no tagging calls):
  RegisterScalableTarget applies `Tags` only when it creates the target ("To tag an existing
  scalable target, use the TagResource operation"), TagResource / UntagResource /
  ListTagsForResource take the target's ARN, and an unknown ARN is a ResourceNotFoundException.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from moto.applicationautoscaling import models as aas_models
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.exceptions import JsonRESTError

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
    _install_tags(ApplicationAutoScalingResponse, bound)


def _target_by_arn(response: Any, arn: str) -> Any:
    for targets in response.applicationautoscaling_backend.targets.values():
        for target in targets.values():
            if target.arn == arn:
                return target
    raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for ARN: {arn}")


def _install_tags(cls: type, bound: Callable[[], Any]) -> None:
    original = cls.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        body = original(self)
        if bound() is None:
            return body
        target = _target_by_arn(self, json.loads(body)["ScalableTargetARN"])
        if not hasattr(target, "tags"):  # created by this call: AWS tags only at creation
            target.tags = dict(self._get_param("Tags") or {})
        return body

    def tag_resource(self: Any) -> str:
        target = _target_by_arn(self, self._get_param("ResourceARN"))
        target.tags = {**getattr(target, "tags", {}), **(self._get_param("Tags") or {})}
        return "{}"

    def untag_resource(self: Any) -> str:
        target = _target_by_arn(self, self._get_param("ResourceARN"))
        drop = set(self._get_param("TagKeys") or [])
        target.tags = {k: v for k, v in getattr(target, "tags", {}).items() if k not in drop}
        return "{}"

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": getattr(_target_by_arn(self, self._get_param("ResourceARN")), "tags", {})})

    cls.register_scalable_target = register_scalable_target
    cls.tag_resource = tag_resource
    cls.untag_resource = untag_resource
    cls.list_tags_for_resource = list_tags_for_resource
