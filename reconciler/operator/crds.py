"""CustomResourceDefinitions generated from the manifest models, so the CRDs never drift from them.

`python -m reconciler.operator.crds --output helm/crds/` writes one YAML file per kind. The spec
schemas are the pydantic JSON schemas made structural (refs inlined, `anyOf [X, null]` turned into
`nullable`, keywords Kubernetes rejects dropped) and without descriptions, to stay well under the
object size limit.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import yaml

from ..desired.kinds import MANIFEST_KINDS
from ..desired.target import TargetManifest, TargetSpec

GROUP = "ecs-reconciler.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PREFIX = "Ecs"
# CRD kind -> manifest kind, in apply order.
CRD_KINDS = {f"{PREFIX}{kind}": kind for kind in MANIFEST_KINDS}
# Not reconciled into AWS: an account and Region the other kinds name in `spec.target`.
TARGET_CRD_KIND = f"{PREFIX}Target"
KEEP = {"type", "properties", "items", "required", "enum", "minimum", "maximum", "minLength", "maxLength",
        "minItems", "maxItems", "pattern", "additionalProperties"}


def plural(crd_kind: str) -> str:
    return crd_kind.lower() + "s"


def manifest_kind(crd_kind: str) -> str:
    return CRD_KINDS[crd_kind]


def structural(schema: dict[str, Any]) -> dict[str, Any]:
    """A Kubernetes structural schema for one pydantic JSON schema."""
    defs = schema.get("$defs", {})
    return _convert(schema, defs, ())


def _convert(node: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:  # a recursive shape: accept anything below it
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return _convert(defs[name], defs, seen + (name,))
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        if len(options) == 1:
            out = _convert(options[0], defs, seen)
        else:
            types = {o.get("type") for o in options}
            if types <= {"integer", "string"}:
                out = {"x-kubernetes-int-or-string": True}
            elif len(types) == 1 and None not in types:
                out = _convert(options[0], defs, seen)
            else:
                out = {"x-kubernetes-preserve-unknown-fields": True}
        if nullable:
            out["nullable"] = True
        return out
    if "const" in node:
        return {"type": _json_type(node["const"]), "enum": [node["const"]]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in KEEP:
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, defs, seen) for name, sub in value.items()}
        elif key == "items":
            out[key] = _convert(value, defs, seen)
        elif key == "additionalProperties":
            if isinstance(value, dict) and value and "properties" not in node:
                out[key] = _convert(value, defs, seen)
        else:
            out[key] = copy.deepcopy(value)
    if not out.get("type"):
        # No type at all (an `Any` field): the one place free-form content is allowed.
        return {"x-kubernetes-preserve-unknown-fields": True, **({"nullable": True} if out.get("nullable") else {})}
    if out["type"] == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value), "string")


def spec_schema(kind: str) -> dict[str, Any]:
    model = MANIFEST_KINDS[kind].model_fields["spec"].annotation
    schema = structural(model.model_json_schema(by_alias=True))
    schema["properties"]["deletionPolicy"] = {
        "type": "string", "enum": ["Retain", "Delete"], "default": "Retain",
        "description": "Retain leaves the AWS resource when this object is deleted; Delete deletes it."}
    schema["properties"]["target"] = {
        "type": "string", "pattern": TargetManifest.NAME_PATTERN,
        "description": "The EcsTarget (account and Region, in the operator's targets namespace) this resource "
                       "lives in; the operator policy says which namespaces may use which target."}
    schema["properties"]["awsName"] = {
        "type": "string", "pattern": MANIFEST_KINDS[kind].NAME_PATTERN,
        "description": "The AWS name, when it must differ from metadata.name."}
    return schema


STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,  # kopf keeps its own progress records here
    "properties": {
        "synced": {"type": "boolean"},
        "drifted": {"type": "boolean"},
        "driftedPaths": {"type": "array", "items": {"type": "string"}},
        "driftedBy": {
            "type": "object", "nullable": True,
            "description": "Who made the drift, from the CloudTrail event of the write call: principal ARN, call "
                           "and time; principal \"unknown\" when no event was seen.",
            "properties": {"principal": {"type": "string"}, "call": {"type": "string", "nullable": True},
                           "time": {"type": "string", "nullable": True}, "label": {"type": "string"}},
        },
        "observedGeneration": {"type": "integer"},
        "arn": {"type": "string"},
        "specHash": {"type": "string"},
        "lastAppliedRevision": {"type": "string"},
        "reconciledBy": {"type": "string", "description": "The operator replica that wrote this status (sharded "
                                                          "operators: the one holding the target's Lease)."},
        "perpetualDiff": {
            "type": "object",
            "description": "Set while writes are stopped: applied this many times with the same diff, which "
                           "AWS still answers differently (values masked). Cleared when the spec changes or the "
                           "diff clears.",
            "properties": {
                "applies": {"type": "integer"},
                "changes": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            },
        },
        "conditions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "status"],
                "properties": {
                    "type": {"type": "string"},
                    "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                    "reason": {"type": "string"},
                    "message": {"type": "string"},
                    "lastTransitionTime": {"type": "string", "format": "date-time"},
                    "observedGeneration": {"type": "integer"},
                },
            },
        },
    },
}


def _definition(crd_kind: str, version: dict[str, Any]) -> dict[str, Any]:
    """The CustomResourceDefinition around one served version: what every kind's CRD shares."""
    name = plural(crd_kind)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{name}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": crd_kind, "plural": name, "singular": crd_kind.lower(),
                      "listKind": f"{crd_kind}List", "categories": ["ecs"]},
            "versions": [{"name": VERSION, "served": True, "storage": True, **version}],
        },
    }


def crd(crd_kind: str) -> dict[str, Any]:
    kind = manifest_kind(crd_kind)
    return _definition(crd_kind, {
        "subresources": {"status": {}},
        "additionalPrinterColumns": [
            {"name": "Synced", "type": "string", "jsonPath": ".status.synced"},
            {"name": "Drifted", "type": "string", "jsonPath": ".status.drifted"},
            {"name": "ARN", "type": "string", "jsonPath": ".status.arn", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
        "schema": {"openAPIV3Schema": {
            "type": "object",
            "description": f"An ECS {kind} reconciled by ecs-reconciler.",
            "required": ["spec"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": spec_schema(kind),
                "status": STATUS_SCHEMA,
            },
        }},
    })


def target_crd() -> dict[str, Any]:
    """EcsTarget: the operator's own configuration (kept in its targets namespace), no status."""
    spec = structural(TargetSpec.model_json_schema(by_alias=True))
    spec["properties"].pop("default", None)  # a directory default has no meaning for objects
    return _definition(TARGET_CRD_KIND, {
        "additionalPrinterColumns": [
            {"name": "Region", "type": "string", "jsonPath": ".spec.region"},
            {"name": "Role", "type": "string", "jsonPath": ".spec.roleArn"},
        ],
        "schema": {"openAPIV3Schema": {
            "type": "object",
            "description": "An AWS account (an assumed role) and Region that ECS objects name in spec.target.",
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"type": "object"}, "spec": spec},
        }},
    })


def render(crd_kind: str) -> str:
    header = "# Generated by `python -m reconciler.operator.crds`; do not edit.\n"
    document = target_crd() if crd_kind == TARGET_CRD_KIND else crd(crd_kind)
    return header + yaml.safe_dump(document, sort_keys=False, width=120)


def filename(crd_kind: str) -> str:
    return f"{plural(crd_kind)}.{GROUP}.yaml"


def write(output: Path) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for crd_kind in [*CRD_KINDS, TARGET_CRD_KIND]:
        path = output / filename(crd_kind)
        path.write_text(render(crd_kind), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="helm/crds", help="Directory for the CRD files.")
    args = parser.parse_args(argv)
    for path in write(Path(args.output)):
        print(path)


if __name__ == "__main__":
    main()
