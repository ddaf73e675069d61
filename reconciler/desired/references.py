"""Cross-manifest references: a Service or ScheduledTask names its cluster and task definition.

A plain name must be a manifest in the same set; anything managed elsewhere is referenced by ARN
(or `family:revision` for a task definition), so a typo is an error, not a silent external lookup.
"""

from __future__ import annotations

import re

from ..errors import ManifestError
from .state import DesiredState

ARN_RE = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:(cluster|task-definition)/(.+)$")
FAMILY_REVISION_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}:\d+$")


def is_external_cluster(ref: str) -> bool:
    match = ARN_RE.match(ref)
    return bool(match and match.group(1) == "cluster")


def is_external_task_definition(ref: str) -> bool:
    match = ARN_RE.match(ref)
    return bool(match and match.group(1) == "task-definition") or bool(FAMILY_REVISION_RE.match(ref))


DEFAULT_CLUSTER = "default"


def cluster_name(ref: str | None) -> str:
    """The cluster name of a manifest name or cluster ARN; the account's default cluster when unset."""
    if not ref:
        return DEFAULT_CLUSTER
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


def check_all_references(state: DesiredState) -> list[ManifestError]:
    """References resolve within their target: check each target's part, naming where a missing
    reference does exist when it lives in another target."""
    parts = state.by_target()
    if len(parts) <= 1:
        return check_references(state)
    errors: list[ManifestError] = []
    for name, part in parts.items():
        errors.extend(check_references(part, elsewhere=state, target=name))
    return errors


def _elsewhere(state: DesiredState | None, kind: str, name: str, target: str | None) -> str:
    if state is None:
        return ""
    found = sorted(r.target or "(ambient)" for r in state.resources if r.key == (kind, name) and r.target != target)
    if not found:
        return ""
    return (f"; {kind}/{name} is in target {found[0]!r}, and a reference resolves within its own target "
            f"({target or 'ambient'!r}): reference a resource of another account or Region by its ARN")


def check_references(state: DesiredState, elsewhere: DesiredState | None = None,
                     target: str | None = None) -> list[ManifestError]:
    errors: list[ManifestError] = _schedule_references(state)
    for item in state.resources:
        spec = item.manifest.spec
        if item.manifest.KIND not in ("Service", "ScheduledTask"):
            continue
        cluster = getattr(spec, "cluster", None)
        if cluster and not is_external_cluster(cluster) and state.get("Cluster", cluster) is None:
            errors.append(ManifestError(
                item.file, item.line_of(["spec", "cluster"]), item.label, "spec.cluster",
                f"no Cluster manifest named {cluster!r} (reference a cluster managed elsewhere by its ARN)"
                + _elsewhere(elsewhere, "Cluster", cluster, target)))
        task_definition = getattr(spec, "taskDefinition", None)
        if (task_definition and not is_external_task_definition(task_definition)
                and state.get("TaskDefinition", task_definition) is None):
            errors.append(ManifestError(
                item.file, item.line_of(["spec", "taskDefinition"]), item.label, "spec.taskDefinition",
                f"no TaskDefinition manifest named {task_definition!r} "
                "(reference one managed elsewhere as family:revision or by ARN)"
                + _elsewhere(elsewhere, "TaskDefinition", task_definition, target)))
    return errors


def _schedule_references(state: DesiredState) -> list[ManifestError]:
    """A Schedule running ECS tasks names its cluster in `Target.Arn` and its task definition in
    `Target.EcsParameters.TaskDefinitionArn`: a manifest name, or an ARN of one managed elsewhere."""
    errors: list[ManifestError] = []
    for item in state.of_kind("Schedule"):
        cluster, task_definition = item.manifest.cluster_ref, item.manifest.task_definition_ref
        if cluster is not None and not cluster.startswith("arn:") and state.get("Cluster", cluster) is None:
            errors.append(ManifestError(
                item.file, item.line_of(["spec", "Target", "Arn"]), item.label, "spec.Target.Arn",
                f"no Cluster manifest named {cluster!r} (reference a cluster managed elsewhere by its ARN)"))
        if (task_definition is not None and not task_definition.startswith("arn:")
                and state.get("TaskDefinition", task_definition) is None):
            errors.append(ManifestError(
                item.file, item.line_of(["spec", "Target", "EcsParameters", "TaskDefinitionArn"]), item.label,
                "spec.Target.EcsParameters.TaskDefinitionArn",
                f"no TaskDefinition manifest named {task_definition!r} (reference one managed elsewhere by its ARN)"))
    return errors
