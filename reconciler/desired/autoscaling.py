"""`Service.spec.autoScaling`: the service's Application Auto Scaling, in that API's own shapes.

RegisterScalableTarget (`minCapacity`, `maxCapacity`, `suspendedState`), PutScalingPolicy and
PutScheduledAction, each without the resource ids (the service names them), with member names in
the camelCase of the ECS spec around them (`policyName`, `targetTrackingScalingPolicyConfiguration`).
With `autoScaling` set, the service's desiredCount belongs to the scaler.
"""

from __future__ import annotations

from typing import Optional

from pydantic import Field, model_validator

from .shapes import AUTOSCALING, SpecModel

RESOURCE_IDS = ("ServiceNamespace", "ResourceId", "ScalableDimension")

ScalingPolicy = AUTOSCALING.model_for(AUTOSCALING.shape("PutScalingPolicyRequest"), exclude=RESOURCE_IDS,
                                      model_name="ScalingPolicy")
ScheduledAction = AUTOSCALING.model_for(AUTOSCALING.shape("PutScheduledActionRequest"), exclude=RESOURCE_IDS,
                                        model_name="ScheduledAction")
SuspendedState = AUTOSCALING.model_for(AUTOSCALING.shape("SuspendedState"))


class AutoScaling(SpecModel):
    """The scalable target of the service's DesiredCount, its scaling policies and scheduled actions."""

    minCapacity: int = Field(ge=0, description="The fewest tasks the scaler keeps (RegisterScalableTarget MinCapacity).")
    maxCapacity: int = Field(ge=0, description="The most tasks the scaler starts (RegisterScalableTarget MaxCapacity).")
    suspendedState: Optional[SuspendedState] = Field(  # type: ignore[valid-type]
        None, description="Suspends scaling in, scaling out or scheduled scaling (all false when left out).")
    policies: list[ScalingPolicy] = Field(  # type: ignore[valid-type]
        default_factory=list, description="PutScalingPolicy requests without the resource ids; diffed by policyName, "
        "and a policy no longer listed is deleted.")
    scheduledActions: list[ScheduledAction] = Field(  # type: ignore[valid-type]
        default_factory=list, description="PutScheduledAction requests without the resource ids; diffed by "
        "scheduledActionName, and an action no longer listed is deleted.")

    @model_validator(mode="after")
    def _consistent(self) -> "AutoScaling":
        if self.minCapacity > self.maxCapacity:
            raise ValueError(f"minCapacity {self.minCapacity} is greater than maxCapacity {self.maxCapacity}")
        for label, items, key in (("policies", self.policies, "policyName"),
                                  ("scheduledActions", self.scheduledActions, "scheduledActionName")):
            names = [getattr(item, key) for item in items]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{label}: {key} {', '.join(duplicates)} appears more than once")
        return self
