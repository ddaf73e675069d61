"""Turn the real-world fixtures into manifests the local endpoint can take.

Every change made to a fixture beyond the network/cluster rewrite is listed in ADJUSTMENTS with
its reason (mirrored in docs/normalization.md); nothing else is dropped.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

from reconciler.desired.loader import DesiredState, InvalidManifests, validate_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SUBNET = "subnet-00000000000000001"
SG = "sg-00000000000000001"
CLUSTER = "fixtures"
API_VERSION = "ecs-reconciler.io/v1alpha1"


def _add_task_memory(spec: dict[str, Any]) -> None:
    spec["memory"] = "512"


def _render_images(spec: dict[str, Any]) -> None:
    for container in spec["containerDefinitions"]:
        if container.get("image") == "":
            container["image"] = f"public.ecr.aws/docker/library/busybox:{container['name']}"


# fixture file -> (reason, change applied to the spec)
ADJUSTMENTS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "taskdefs/05-appmesh-envoy-dependson.json": (
        "the published excerpt sets no memory at all; ECS rejects that (\"At least one of 'memory' or "
        "'memoryReservation' must be specified\"), so task memory 512 is added", _add_task_memory),
    "taskdefs/45-render-template-empty-images-links.json": (
        "a template for amazon-ecs-render-task-definition: most images are empty until CI fills them in, and "
        "RegisterTaskDefinition (and the loader, tests/desired) refuse an empty image; each is filled in as the "
        "render step would", _render_images),
}


def fixture_files(kind: str) -> list[str]:
    return [f"{kind}/{p.name}" for p in sorted((FIXTURES / kind).glob("*.json"))]


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def document(kind: str, name: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def desired_state(documents: list[dict[str, Any]]) -> DesiredState:
    errors: list[Any] = []
    warnings: list[Any] = []
    located = [validate_document(doc, "<fixture>", errors, warnings=warnings) for doc in documents]
    if errors:
        raise InvalidManifests(errors)
    return DesiredState([item for item in located if item is not None], warnings)


def _adjust(name: str, spec: dict[str, Any]) -> None:
    if name in ADJUSTMENTS:
        ADJUSTMENTS[name][1](spec)


def published_spec(name: str) -> dict[str, Any]:
    """The fixture as published (the loader takes tag lists, output-only fields, nulls and empty
    enums), but for its own name (the manifests are named "fixture") and the listed adjustments."""
    body = copy.deepcopy(load_fixture(name))
    spec = {k: v for k, v in body.items() if k not in ("family", "serviceName", "clientToken")}
    if isinstance(spec.get("taskDefinition"), dict):
        spec["taskDefinition"] = {k: v for k, v in spec["taskDefinition"].items() if k != "family"}
    _adjust(name, spec["taskDefinition"] if isinstance(spec.get("taskDefinition"), dict) else spec)
    return spec


def task_definition_spec(name: str) -> dict[str, Any]:
    return published_spec(name)


def service_spec(name: str, task_definition: str) -> dict[str, Any]:
    """The fixture's CreateService body, pointed at the managed cluster and task definition."""
    spec = published_spec(name)
    spec["cluster"] = CLUSTER
    if "taskDefinition" in spec or spec.get("deploymentController", {}).get("type") != "EXTERNAL":
        spec["taskDefinition"] = task_definition
    connect = spec.get("serviceConnectConfiguration")
    if isinstance(connect, dict) and connect.get("namespace"):
        connect["namespace"] = CLUSTER  # the managed cluster's default namespace
    vpc = (spec.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if vpc:
        vpc["subnets"] = [SUBNET]
        if vpc.get("securityGroups") is not None:
            vpc["securityGroups"] = [SG]
    return spec


def service_task_definition(service: dict[str, Any]) -> dict[str, Any]:
    """A small task definition that fits the service's network mode and launch type."""
    awsvpc = bool((service.get("networkConfiguration") or {}).get("awsvpcConfiguration"))
    spec: dict[str, Any] = {
        "networkMode": "awsvpc" if awsvpc else "bridge", "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27",
                                  "portMappings": [{"containerPort": 80}]}],
    }
    if awsvpc:
        spec["requiresCompatibilities"] = ["FARGATE"]
    return spec


def manifests_for(name: str) -> list[dict[str, Any]]:
    """Cluster + TaskDefinition (+ Service) documents for one fixture file. The cluster has a Service
    Connect namespace by default (AWS refuses Service Connect without one)."""
    docs = [document("Cluster", CLUSTER, {"serviceConnectDefaults": {"namespace": CLUSTER}})]
    if name.startswith("taskdefs/"):
        docs.append(document("TaskDefinition", "fixture", task_definition_spec(name)))
    else:
        service = service_spec(name, "fixture")
        docs.append(document("TaskDefinition", "fixture", service_task_definition(service)))
        docs.append(document("Service", "fixture-svc", service))
    return docs
