"""Definitions load in the forms people have them: describe-* output, ecspresso files, console exports.

Every real-world fixture in tests/fixtures/ is fed to the loader exactly as published (its own name
as metadata.name); what the request shape cannot hold is ignored with one warning that names it,
and a field no AWS shape knows is still an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.desired.loader import load_text, validate_document
from reconciler.errors import InvalidManifests

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TASKDEFS = sorted((FIXTURES / "taskdefs").glob("*.json"))
SERVICES = sorted((FIXTURES / "services").glob("*.json"))
# Published files that are not definitions AWS would take as they are, and the error the loader gives.
NOT_REGISTRABLE = {"45-render-template-empty-images-links.json": "containerDefinitions[1] (session-service): image is required"}


def _document(kind: str, body: dict) -> dict:
    inner = body["taskDefinition"] if isinstance(body.get("taskDefinition"), dict) and kind == "TaskDefinition" else body
    name = inner.get("family") or body.get("serviceName") or "published"
    if "{{" in name or "${" in name:
        name = "templated"  # an ecspresso template expression is not a name AWS takes
        body = {k: v for k, v in body.items() if k not in ("family", "serviceName")}
    return {"apiVersion": "ecs-reconciler.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": body}


def _load(kind: str, path: Path):
    errors, warnings = [], []
    item = validate_document(_document(kind, json.loads(path.read_text())), path.name, errors, warnings=warnings)
    return item, errors, warnings


@pytest.mark.parametrize("path", TASKDEFS + SERVICES, ids=[f"{p.parent.name}/{p.stem}" for p in TASKDEFS + SERVICES])
def test_every_published_definition_loads_as_it_is(path):
    kind = "TaskDefinition" if path.parent.name == "taskdefs" else "Service"
    item, errors, warnings = _load(kind, path)
    if path.name in NOT_REGISTRABLE:
        assert item is None and [e.message for e in errors] == [NOT_REGISTRABLE[path.name]]
        assert errors[0].path == "spec" and errors[0].resource.startswith("TaskDefinition/")
        return
    assert item is not None, [str(e) for e in errors]
    assert len(warnings) <= 1, "one warning per document"


def test_describe_task_definition_output_loads_with_one_warning_naming_what_was_ignored():
    item, errors, warnings = _load("TaskDefinition", next((FIXTURES / "taskdefs").glob("42-*.json")))
    assert item is not None and not errors
    (warning,) = warnings
    assert "family (the same as metadata.name)" in warning.message
    assert ("ignored output-only fields: compatibilities, registeredAt, registeredBy, requiresAttributes, revision, "
            "status, taskDefinitionArn") in warning.message
    assert item.manifest.spec.to_api()["tags"] == {}


def test_the_describe_wrapper_and_tag_lists_are_taken():
    item, errors, warnings = _load("TaskDefinition", next((FIXTURES / "taskdefs").glob("37-*.json")))
    assert item is not None, errors
    assert "unwrapped the describe-task-definition output" in warnings[0].message
    body = json.loads(next((FIXTURES / "taskdefs").glob("37-*.json")).read_text())
    assert item.manifest.spec.tags == {t["key"]: t["value"] for t in body["tags"]}


def test_describe_services_output_names_its_cluster_and_role_by_arn():
    path = next((FIXTURES / "services").glob("25-*.json"))
    body = json.loads(path.read_text())
    item, errors, warnings = _load("Service", path)
    assert item is not None, errors
    assert item.manifest.spec.cluster == body["clusterArn"]
    assert "clusterArn read as cluster" in warnings[0].message
    assert "deployments" in warnings[0].message and "events" in warnings[0].message


EMPTY_ENUMS = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec:
  pidMode: ""
  ipcMode: ""
  containerDefinitions:
    - name: web
      image: nginx
      memory: 128
      versionConsistency: ""
      portMappings: [{containerPort: 80, appProtocol: ""}]
"""


def test_empty_enum_values_are_unset_with_a_warning():
    state = load_text(EMPTY_ENUMS, "web.yaml")
    request = state.resources[0].manifest.spec.to_api()
    assert "pidMode" not in request and "ipcMode" not in request
    assert request["containerDefinitions"][0]["portMappings"] == [{"containerPort": 80}]
    (warning,) = state.warnings
    assert warning.file == "web.yaml" and warning.line == 5
    assert warning.message == ("empty enum values read as unset: spec.pidMode, spec.ipcMode, "
                               "spec.containerDefinitions[0].versionConsistency, "
                               "spec.containerDefinitions[0].portMappings[0].appProtocol")


def test_a_field_no_shape_knows_is_still_an_error():
    with pytest.raises(InvalidManifests) as caught:
        load_text(EMPTY_ENUMS.replace("pidMode", "pidMood"), "web.yaml")
    (error,) = caught.value.errors
    assert error.path == "spec.pidMood" and "did you mean 'pidMode'" in error.message and error.line == 6


def test_a_family_that_differs_from_the_name_is_an_error_that_says_so():
    with pytest.raises(InvalidManifests) as caught:
        load_text(EMPTY_ENUMS.replace('pidMode: ""', "family: api"), "web.yaml")
    (error,) = caught.value.errors
    assert error.path == "spec.family" and "differs from metadata.name" in error.message


def test_alarms_without_names_are_alarms_off():
    text = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  taskDefinition: web:3
  deploymentConfiguration: {alarms: {enable: false, rollback: false}}
"""
    spec = load_text(text).resources[0].manifest.spec.to_api()
    assert spec["deploymentConfiguration"]["alarms"] == {"alarmNames": [], "enable": False, "rollback": False}
    assert "cluster" not in spec, "no cluster: the account's default cluster, as in CreateService"


def test_ownership_and_aws_tag_keys_are_refused_in_every_kind():
    text = """
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  taskDefinition: web:3
  tags: [{key: ecs-reconciler.io/managed-by, value: someone-else}, {key: "aws:cloudformation:stack-name", value: s}]
"""
    # AWS's own tags come with exported definitions: ignored with a warning; ours are an error.
    state = load_text(text.replace("{key: ecs-reconciler.io/managed-by, value: someone-else}, ", ""), "web.yaml")
    assert state.resources[0].manifest.spec.tags == {} and "ignored tags AWS reserves" in state.warnings[0].message
    with pytest.raises(InvalidManifests) as caught:
        load_text(text, "web.yaml")
    (error,) = caught.value.errors
    assert error.path == "spec.tags" and error.line == 7
    assert "ecs-reconciler.io/managed-by: tag keys under" in error.message
