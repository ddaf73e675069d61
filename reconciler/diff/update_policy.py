"""Which changes ECS applies in place and which need the resource replaced, per kind and spec field.

Derived from the request shapes in the ECS and EventBridge API references (botocore's models):
- Service: UpdateService accepts every CreateService field except `serviceName`, `clientToken`,
  `launchType`, `schedulingStrategy`, `role` (and `tags`, which go through TagResource). `cluster`
  is in UpdateService only to locate the service: a service cannot move to another cluster.
- Cluster: UpdateCluster (settings, configuration, serviceConnectDefaults) and
  PutClusterCapacityProviders (capacityProviders, defaultCapacityProviderStrategy) cover every
  CreateCluster field but the name.
- TaskDefinition: revisions are immutable; any change registers a new revision of the family,
  which is an in-place update of what the manifest names.
- CapacityProvider: UpdateCapacityProvider changes managed scaling, termination protection and
  draining; another Auto Scaling group is another capacity provider (replace).
- Schedule: UpdateSchedule rewrites every field but the name and the group.
- ScheduledTask: PutRule (schedule, state, description) and PutTargets (everything else) rewrite
  the rule and its target in place.
"""

from __future__ import annotations

from ..desired.shapes import service_model
from .compare import Change
from .service import reset_value

_ECS = service_model("ecs")


def _members(operation: str) -> set[str]:
    return set(_ECS.operation_model(operation).input_shape.members)


REPLACE_FIELDS: dict[str, dict[str, str]] = {
    "Service": {
        "cluster": "a service cannot move to another cluster",
        "launchType": "UpdateService cannot change launchType",
        "schedulingStrategy": "UpdateService cannot change schedulingStrategy",
        "role": "UpdateService cannot change the service role",
    },
    "Cluster": {},
    "TaskDefinition": {},
    "ScheduledTask": {},
    "CapacityProvider": {"cluster": "a capacity provider cannot move to another cluster"},
    "Schedule": {"GroupName": "a schedule cannot move to another group (created in the new one, then deleted)"},
}

# How each updatable field is written, per kind.
_RULE_FIELDS = {"schedule", "state", "description", "roleArn"}


def _scheduled_task_fields() -> set[str]:
    from ..desired.scheduled_task import ScheduledTaskSpec

    return set(ScheduledTaskSpec.model_fields)


UPDATE_FIELDS: dict[str, dict[str, str]] = {
    "Service": {f: "UpdateService" for f in _members("UpdateService") - {"service", "forceNewDeployment"}},
    "Cluster": {
        **{f: "UpdateCluster" for f in _members("UpdateCluster") - {"cluster"}},
        **{f: "PutClusterCapacityProviders" for f in _members("PutClusterCapacityProviders") - {"cluster"}},
    },
    "TaskDefinition": {f: "RegisterTaskDefinition (new revision)"
                       for f in _members("RegisterTaskDefinition") - {"family", "tags"}},
    "ScheduledTask": {f: ("PutRule" if f in _RULE_FIELDS else "PutTargets")
                      for f in _scheduled_task_fields() - {"tags"}},
}
UPDATE_FIELDS["Schedule"] = {f: "UpdateSchedule" for f in set(service_model("scheduler").operation_model(
    "UpdateSchedule").input_shape.members) - {"Name", "ClientToken", "GroupName"}}
UPDATE_FIELDS["CapacityProvider"] = {f: "UpdateCapacityProvider" for f in _members("UpdateCapacityProvider") - {"name", "cluster"}}
UPDATE_FIELDS["Service"].pop("cluster", None)
UPDATE_FIELDS["Service"]["autoScaling"] = "RegisterScalableTarget / PutScalingPolicy / PutScheduledAction / Delete*"
for _kind in UPDATE_FIELDS:
    UPDATE_FIELDS[_kind]["tags"] = "TagResource / UntagResource"

IN_PLACE_HOW = {
    "Cluster": "UpdateCluster / PutClusterCapacityProviders / TagResource",
    "TaskDefinition": "registers a new revision (revisions are immutable)",
    "Service": "UpdateService / TagResource",
    "ScheduledTask": "PutRule / PutTargets / TagResource",
    "Schedule": "UpdateSchedule (the whole schedule)",
    "CapacityProvider": "UpdateCapacityProvider / TagResource",
}


# Service fields removed in place by their own calls, not UpdateService: a dropped `autoScaling`
# deregisters our scalable target (apply/scaling.py).
CLEARED_IN_PLACE = frozenset({"autoScaling"})


def top_field(path: str) -> str:
    bare = path[5:] if path.startswith("spec.") else path
    for sep in (".", "["):
        bare = bare.split(sep, 1)[0]
    return bare


def classify(kind: str, field: str) -> str:
    """`replace`, `update`, or `unknown` for a spec field that neither list names."""
    if field in REPLACE_FIELDS.get(kind, {}):
        return "replace"
    if field in UPDATE_FIELDS.get(kind, {}):
        return "update"
    return "unknown"


def replace_reasons(kind: str, changes: list[Change], request: dict | None = None) -> list[str]:
    """Why `changes` need the resource replaced: a field the update call cannot change, or (for a
    service) a field removed from the manifest that UpdateService cannot clear."""
    fields = REPLACE_FIELDS.get(kind, {})
    reasons = {f"{top_field(c.path)}: {fields[top_field(c.path)]}" for c in changes if top_field(c.path) in fields}
    if kind == "Service":
        reasons |= {f"{top_field(c.path)}: removed from the manifest, and UpdateService cannot clear it"
                    for c in changes if c.desired is None and c.path == f"spec.{top_field(c.path)}"
                    and top_field(c.path) not in fields and top_field(c.path) not in CLEARED_IN_PLACE
                    and reset_value(top_field(c.path), request or {}) is None}
    return sorted(reasons)


def only_tags(changes: list[Change]) -> bool:
    return bool(changes) and all(top_field(c.path) == "tags" for c in changes)
