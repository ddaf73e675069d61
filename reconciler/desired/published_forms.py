"""Accept definitions in the forms people have them, taken unchanged.

An existing definition comes from `aws ecs describe-*`, an ecspresso file or a console export, and
carries what the request shape cannot hold. Before the models validate a document, this removes or
reshapes exactly that, and says so in one warning per document:

- the `describe-task-definition` wrapper `{"taskDefinition": {...}, "tags": [...]}`;
- output-only fields that botocore's Describe response shape knows (`taskDefinitionArn`,
  `revision`, `deployments`, `runningCount`, ...). A field no shape knows is still an error, so a
  typo still fails;
- the resource's own name (`family`, `serviceName`, `clusterName`) when it equals `metadata.name`;
- empty strings in enum fields (`pidMode: ""`, `appProtocol: ""`, `launchType: ""`), which other
  tools export for "unset" and the API rejects: unset, as ecspresso does;
- `deploymentConfiguration.alarms` without `alarmNames`, the form AWS returns when alarms are off;
- `roleArn` and `clusterArn` (what DescribeServices returns) as `role` and `cluster`;
- tags AWS reserves for itself (`aws:cloudformation:stack-name`), which no request may set.

Tags as ECS writes them (a list of `{key, value}`) are accepted by the models themselves (`Tags`).
"""

from __future__ import annotations

from typing import Any

from ..errors import ManifestError
from .shapes import service_model

# kind -> (request shape, describe response shape, the spec field that repeats metadata.name)
_SHAPES = {
    "TaskDefinition": ("RegisterTaskDefinitionRequest", "TaskDefinition", "family"),
    "Service": ("CreateServiceRequest", "Service", "serviceName"),
    "Cluster": ("CreateClusterRequest", "Cluster", "clusterName"),
}


def _output_only(kind: str) -> frozenset[str]:
    request, response, _ = _SHAPES[kind]
    model = service_model("ecs")
    return frozenset(model.shape_for(response).members) - frozenset(model.shape_for(request).members)


OUTPUT_ONLY = {kind: _output_only(kind) for kind in _SHAPES}


def accept_published_forms(document: dict[str, Any], kind: str) -> tuple[dict[str, Any], list[str]]:
    """The document with what the request shape cannot hold taken out, and what was taken out (as
    notes for one warning). `document` is not modified."""
    spec = document.get("spec")
    if kind not in _SHAPES or not isinstance(spec, dict):
        return document, []
    notes: list[str] = []
    spec = dict(spec)
    if kind == "TaskDefinition" and isinstance(spec.get("taskDefinition"), dict) and set(spec) <= {"taskDefinition", "tags"}:
        inner = dict(spec["taskDefinition"])
        if "tags" in spec and "tags" not in inner:
            inner["tags"] = spec["tags"]
        spec = inner
        notes.append("unwrapped the describe-task-definition output (spec.taskDefinition)")
    request_shape, _, name_field = _SHAPES[kind]
    name = (document.get("metadata") or {}).get("name") if isinstance(document.get("metadata"), dict) else None
    if name_field in spec and spec[name_field] == name:
        del spec[name_field]
        notes.append(f"{name_field} (the same as metadata.name)")
    if kind == "Service":
        for output, request in (("roleArn", "role"), ("clusterArn", "cluster")):
            if output in spec and request not in spec:
                spec[request] = spec.pop(output)
                notes.append(f"{output} read as {request}")
    tags = spec.get("tags")
    if isinstance(tags, list):
        kept = [t for t in tags if not (isinstance(t, dict) and str(t.get("key", t.get("Key", ""))).startswith("aws:"))]
    elif isinstance(tags, dict):
        kept = {k: v for k, v in tags.items() if not str(k).startswith("aws:")}
    else:
        kept = tags
    if kept != tags:  # AWS's own tags (a CloudFormation stack's) come with exported definitions
        spec["tags"] = kept
        notes.append("ignored tags AWS reserves (aws:...)")
    ignored = sorted(k for k in spec if k in OUTPUT_ONLY[kind])
    for key in ignored:
        del spec[key]
    if ignored:
        notes.append("ignored output-only fields: " + ", ".join(ignored))
    emptied: list[str] = []
    spec = _drop_empty_enums(spec, service_model("ecs").shape_for(request_shape), "spec", emptied)
    if emptied:
        notes.append("empty enum values read as unset: " + ", ".join(emptied))
    config = spec.get("deploymentConfiguration") if kind == "Service" else None
    alarms = config.get("alarms") if isinstance(config, dict) else None
    if isinstance(alarms, dict) and "alarmNames" not in alarms:
        # Not worth a warning: it is how AWS itself writes "alarms off".
        spec["deploymentConfiguration"] = {**config, "alarms": {**alarms, "alarmNames": []}}
    elif not notes:
        return document, []
    return {**document, "spec": spec}, notes


def _drop_empty_enums(value: Any, shape: Any, path: str, dropped: list[str]) -> Any:
    """A copy of `value` (shaped like `shape`) without enum-typed members set to ""."""
    if isinstance(value, dict) and shape.type_name == "structure":
        out = {}
        for key, item in value.items():
            member = shape.members.get(key)
            if member is not None and member.type_name == "string" and getattr(member, "enum", None) and item == "":
                dropped.append(f"{path}.{key}")
                continue
            out[key] = _drop_empty_enums(item, member, f"{path}.{key}", dropped) if member is not None else item
        return out
    if isinstance(value, list) and shape.type_name == "list":
        return [_drop_empty_enums(item, shape.member, f"{path}[{index}]", dropped) for index, item in enumerate(value)]
    return value


def warning(file: str, line: int, resource: str | None, notes: list[str]) -> ManifestError:
    return ManifestError(file, line, resource, "spec", "; ".join(notes))
