"""Kubernetes objects -> manifest documents, with references resolved to the named objects.

An EcsService's `spec.cluster` / `spec.taskDefinition` name other objects in the same namespace;
the manifest sent to the engine names their AWS names instead, and carries them along so the
engine can resolve the managed task definition revision.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from ..desired.base import API_VERSION
from ..desired.loader import DesiredState, Located, validate_document
from ..desired.references import is_external_cluster, is_external_task_definition
from ..errors import ManifestError
from .crds import CRD_KINDS
from .tenancy import owner_of

OPERATOR_FIELDS = ("deletionPolicy", "awsName", "target")
REFERENCES = {"cluster": "EcsCluster", "taskDefinition": "EcsTaskDefinition"}
# Where each kind names other objects: spec path -> the kind of object it names. An EcsSchedule
# running ECS tasks names its cluster in Target.Arn and its task definition in EcsParameters.
REFERENCE_PATHS: dict[str, dict[tuple[str, ...], str]] = {
    "EcsService": {(k,): v for k, v in REFERENCES.items()},
    "EcsScheduledTask": {(k,): v for k, v in REFERENCES.items()},
    "EcsSchedule": {("Target", "Arn"): "EcsCluster", ("Target", "EcsParameters", "TaskDefinitionArn"): "EcsTaskDefinition"},
}


def _at(spec: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        spec = spec.get(part) if isinstance(spec, dict) else None
    return spec


def references_of(body: dict[str, Any]) -> list[tuple[tuple[str, ...], str, str]]:
    """(spec path, kind of object named, the name) for each reference `body` makes by name; an ARN
    (or `family:revision`) names something managed elsewhere."""
    spec = body.get("spec") or {}
    if body["kind"] == "EcsSchedule" and _at(spec, ("Target", "EcsParameters")) is None:
        return []  # a target that runs no ECS task names no cluster
    out = []
    for path, crd_kind in REFERENCE_PATHS.get(body["kind"], {}).items():
        ref = _at(spec, path)
        if not isinstance(ref, str) or not ref or ref.startswith("arn:"):
            continue
        if crd_kind == "EcsTaskDefinition" and is_external_task_definition(ref):
            continue
        out.append((path, crd_kind, ref))
    return out

# (crd kind, namespace, name) -> the object's body, or None when it does not exist.
Lookup = Callable[[str, str, str], "dict[str, Any] | None"]


class InvalidObject(Exception):
    """The object cannot become a valid manifest: a permanent problem until its spec changes."""


class DependencyNotReady(Exception):
    """A referenced object is missing or not yet synced: retry later."""


@dataclass
class Converted:
    located: Located
    desired: DesiredState
    # Resource label (Kind/name) -> owner tag value of the object it comes from: this object and
    # each dependency it writes along (see tenancy.owner_of).
    owners: dict[str, str] = field(default_factory=dict)
    target: str | None = None  # the EcsTarget (account and Region) it lives in; None: the operator's own


def target_of(body: dict[str, Any]) -> str | None:
    return (body.get("spec") or {}).get("target") or None


def aws_name(body: dict[str, Any]) -> str:
    return (body.get("spec") or {}).get("awsName") or body["metadata"]["name"]


def deletion_policy(body: dict[str, Any]) -> str:
    return (body.get("spec") or {}).get("deletionPolicy") or "Retain"


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def to_document(body: dict[str, Any], references: dict[Any, str] | None = None) -> dict[str, Any]:
    """The manifest document of one object; `references` maps spec fields (or paths) to resolved AWS names."""
    spec = {k: copy.deepcopy(v) for k, v in dict(body.get("spec") or {}).items() if k not in OPERATOR_FIELDS}
    for key, value in (references or {}).items():
        path = key if isinstance(key, tuple) else (key,)
        node = spec
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    meta = body.get("metadata", {})
    metadata: dict[str, Any] = {"name": aws_name(body)}
    if meta.get("labels"):
        metadata["labels"] = dict(meta["labels"])
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k.startswith("ecs-reconciler.io/")}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": CRD_KINDS[body["kind"]], "metadata": metadata, "spec": spec}


def validate(body: dict[str, Any], references: dict[Any, str] | None = None) -> Located:
    errors: list[ManifestError] = []
    namespace = body.get("metadata", {}).get("namespace", "")
    source = f"{body['kind']}/{namespace}/{body['metadata']['name']}"
    located = validate_document(to_document(body, references), source, errors)
    if located is None:
        raise InvalidObject("; ".join(_short(e) for e in errors))
    return located


def _short(error: ManifestError) -> str:
    return f"{error.path}: {error.message}" if error.path else error.message


def convert(body: dict[str, Any], lookup: Lookup) -> Converted:
    """Validate `body` and its references; the DesiredState holds it plus every dependency."""
    located = validate(body)  # the object alone first: its own errors win over missing references
    namespace = body["metadata"].get("namespace", "")
    resolved: dict[Any, str] = {}
    dependencies: list[Located] = []
    owners = {_label(located): owner_of(body)}
    for path, crd_kind, ref in references_of(body):
        spec_field = path if len(path) > 1 else path[0]
        if spec_field == "cluster" and is_external_cluster(ref):
            continue
        dependency = lookup(crd_kind, namespace, ref)
        if dependency is None:
            raise DependencyNotReady(f"{crd_kind} {namespace}/{ref} does not exist")
        if target_of(dependency) != target_of(body):
            raise InvalidObject(f"spec.{'.'.join(path)}: {crd_kind} {namespace}/{ref} is in target "
                                f"{target_of(dependency) or '(the operator’s own)'!s}, this object in "
                                f"{target_of(body) or '(the operator’s own)'!s}; a reference resolves within its "
                                "target (reference a resource of another account or Region by its ARN)")
        if not (dependency.get("status") or {}).get("synced"):
            raise DependencyNotReady(f"{crd_kind} {namespace}/{ref} is not synced yet")
        resolved[spec_field] = aws_name(dependency)
        try:
            dependencies.append(validate(dependency))
        except InvalidObject as exc:
            raise DependencyNotReady(f"{crd_kind} {namespace}/{ref} is invalid: {exc}") from exc
        owners[_label(dependencies[-1])] = owner_of(dependency)
    if resolved:
        located = validate(body, resolved)
    return Converted(located, DesiredState([located, *dependencies]), owners, target_of(body))


def _label(located: Located) -> str:
    return f"{located.manifest.KIND}/{located.manifest.name}"
