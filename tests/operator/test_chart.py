"""The chart and CRDs: generated CRDs are committed fresh, structural, and every rendered object
validates against a Kubernetes version's schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from reconciler.cli import cli
from reconciler.operator import crds

sys.path.insert(0, str(Path(__file__).parent))
from render import render_chart  # noqa: E402

CHART = Path(__file__).resolve().parents[2] / "helm"
K8S = "1.30.0"


def test_peering_crds_validate_and_are_structural():
    for body in yaml.safe_load_all((CHART / "crds" / "kopf-peering.yaml").read_text()):
        kubernetes_validate.validate(body, K8S, strict=True)
        _structural(body["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "")


def test_committed_crds_are_fresh_and_structural():
    for crd_kind in crds.CRD_KINDS:
        path = CHART / "crds" / crds.filename(crd_kind)
        assert path.read_text() == crds.render(crd_kind), f"{path} is stale: run python -m reconciler.operator.crds"
        body = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(body, K8S, strict=True)
        assert len(json.dumps(body)) < 256 * 1024
        schema = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        _structural(schema, "")
        spec = schema["properties"]["spec"]["properties"]
        assert spec["deletionPolicy"]["enum"] == ["Retain", "Delete"] and "awsName" in spec


def _structural(node, path):
    assert not {"$ref", "anyOf", "title", "const", "$schema", "$defs"} & set(node), path
    assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields") or node.get(
        "x-kubernetes-int-or-string"), path
    assert not ("properties" in node and "additionalProperties" in node), path
    for name, sub in node.get("properties", {}).items():
        _structural(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        _structural(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        _structural(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("values", [{}, {"watch": {"allNamespaces": True}, "selfHeal": False, "eventsQueue": "q",
                                         "aws": {"roleArn": "arn:aws:iam::123456789012:role/ecs"},
                                         "serviceMonitor": {"enabled": True}}])
def test_rendered_chart_validates(values):
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(defaults, json.loads((CHART / "values.schema.json").read_text()))
    objects = render_chart(CHART, values)
    kinds = {o["kind"]: o for o in objects}
    for obj in objects:
        # ServiceMonitor (prometheus-operator) and the kopf peering objects are custom resources,
        # not in Kubernetes' own schema.
        if obj["kind"] not in ("ServiceMonitor", "KopfPeering", "ClusterKopfPeering"):
            kubernetes_validate.validate(obj, K8S, strict=True)
    peering = kinds.get("ClusterKopfPeering") if values else kinds.get("KopfPeering")
    assert peering and peering["metadata"]["name"] == "ecs-reconciler" and peering["apiVersion"] == "kopf.dev/v1"
    args_peering = [a for a in kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
                    if a.startswith("--peering=")]
    assert args_peering == ["--peering=ecs-reconciler"]
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert f"--metrics-listen=0.0.0.0:{ports['http']}" in container["args"]
    assert f"--liveness=http://0.0.0.0:{ports['health']}/healthz" in container["args"]
    assert container["livenessProbe"]["httpGet"]["port"] == "health"
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    args = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    # Every rendered flag is one the CLI knows (global options, then the operator command's).
    split = args.index("operator")
    root = cli.make_context("ecs-reconciler", args[:split] + ["operator"])
    params = cli.get_command(root, "operator").make_context("operator", args[split + 1:], parent=root).params
    assert params["rollout_timeout"] == 900 and params["resync_seconds"] == 300
    annotations = kinds["ServiceAccount"]["metadata"].get("annotations", {})
    if values:
        assert "--all-namespaces" in args and "--no-self-heal" in args and "--events-queue=q" in args
        assert annotations["eks.amazonaws.com/role-arn"] == "arn:aws:iam::123456789012:role/ecs"
        assert kinds["ServiceMonitor"]["spec"]["endpoints"][0]["port"] == "http"
    else:
        assert "--namespace=ecs" in args and "--self-heal" in args and "ServiceMonitor" not in kinds
        assert not annotations
    statuses = [r for r in kinds["ClusterRole"]["rules"] if any(x.endswith("/status") for x in r["resources"])]
    assert statuses and statuses[0]["verbs"] == ["get", "patch"]
