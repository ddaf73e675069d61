"""Which changes ECS applies in place and which need the resource replaced, per kind.

From the ECS API reference: UpdateService accepts every CreateService field except `cluster`,
`serviceName`, `launchType`, `schedulingStrategy`, `role` and `clientToken`; a task definition
revision is immutable (any spec change registers a new revision, which is an in-place update of
the family); UpdateCluster and PutClusterCapacityProviders cover every CreateCluster field but
the name; PutRule and PutTargets cover every ScheduledTask field.
"""

from __future__ import annotations

from .compare import Change

REPLACE_FIELDS: dict[str, dict[str, str]] = {
    "Service": {
        "cluster": "a service cannot move to another cluster",
        "launchType": "UpdateService cannot change launchType",
        "schedulingStrategy": "UpdateService cannot change schedulingStrategy",
        "role": "UpdateService cannot change the service role",
    },
}

IN_PLACE_HOW = {
    "Cluster": "UpdateCluster / PutClusterCapacityProviders / TagResource",
    "TaskDefinition": "registers a new revision (revisions are immutable)",
    "Service": "UpdateService / TagResource",
    "ScheduledTask": "PutRule / PutTargets / TagResource",
}


def top_field(path: str) -> str:
    bare = path[5:] if path.startswith("spec.") else path
    for sep in (".", "["):
        bare = bare.split(sep, 1)[0]
    return bare


def replace_reasons(kind: str, changes: list[Change]) -> list[str]:
    fields = REPLACE_FIELDS.get(kind, {})
    return sorted({f"{top_field(c.path)}: {fields[top_field(c.path)]}" for c in changes if top_field(c.path) in fields})


def only_tags(changes: list[Change]) -> bool:
    return bool(changes) and all(top_field(c.path) == "tags" for c in changes)
