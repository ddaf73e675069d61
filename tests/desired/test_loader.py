"""The manifest loader: multi-document files, located errors, hints, references, schema."""

from __future__ import annotations

import json

import pytest

from reconciler.desired.loader import load_manifests, load_text
from reconciler.desired.schema import json_schema
from reconciler.errors import InvalidManifests

CLUSTER = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {}
"""
TASK = """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec:
  cpu: 256
  containerDefinitions:
    - name: web
      image: nginx
      environment:
        - {name: PORT, value: 8080}
"""
SERVICE = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: c
  taskDefinition: web
  desiredCount: 1
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(InvalidManifests) as caught:
        load_text(text, "m.yaml")
    return [str(e) for e in caught.value.errors]


def test_multi_document_text_loads_in_apply_order():
    state = load_text("---\n".join([SERVICE, TASK, CLUSTER]))
    assert [r.label for r in state.resources] == ["Cluster/c", "TaskDefinition/web", "Service/web"]


def test_numbers_become_the_strings_the_api_expects():
    state = load_text(TASK)
    spec = state.get("TaskDefinition", "web").manifest.spec.to_api()
    assert spec["cpu"] == "256"
    assert spec["containerDefinitions"][0]["environment"] == [{"name": "PORT", "value": "8080"}]


def test_unknown_field_gets_a_line_and_a_did_you_mean():
    text = TASK.replace("      image: nginx", "      imag: nginx")
    assert errors_of(text) == [
        "m.yaml:8: TaskDefinition/web: spec.containerDefinitions[0].imag: unknown field; did you mean 'image'?"]


def test_wrong_type_and_enum_errors_name_field_and_value():
    text = SERVICE.replace("desiredCount: 1", "desiredCount: many\n  launchType: FARGATEE")
    errors = errors_of(text)
    assert any(e.startswith("m.yaml:7: Service/web: spec.desiredCount:") and "'many'" in e for e in errors), errors
    assert any(e.startswith("m.yaml:8: Service/web: spec.launchType:") and "FARGATEE" in e for e in errors), errors


def test_missing_required_field_points_at_the_parent():
    errors = errors_of(TASK.replace("  containerDefinitions:", "  containerDefinition:"))
    assert any("spec.containerDefinitions: required field is missing" in e for e in errors), errors


def test_dangling_references_are_errors_but_arns_and_revisions_are_external():
    errors = errors_of(CLUSTER + "---\n" + SERVICE)
    assert errors == ["m.yaml:11: Service/web: spec.taskDefinition: no TaskDefinition manifest named 'web' "
                      "(reference one managed elsewhere as family:revision or by ARN)"]
    external = SERVICE.replace("taskDefinition: web", "taskDefinition: web:7").replace(
        "cluster: c", "cluster: arn:aws:ecs:us-east-1:123456789012:cluster/other")
    assert load_text(external).get("Service", "web") is not None


def test_duplicates_across_files_name_both_places(tmp_path):
    (tmp_path / "a.yaml").write_text(CLUSTER)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(CLUSTER)
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([tmp_path])
    [error] = caught.value.errors
    assert error.file.endswith("b.yml") and error.line == 3 and "a.yaml:3" in error.message


def test_invalid_names_and_api_versions_are_rejected():
    errors = errors_of(CLUSTER.replace("name: c", "name: 'bad name!'").replace("v1alpha1", "v2"))
    assert any("apiVersion" in e and "expected 'ecs-reconciler.io/v1alpha1'" in e for e in errors), errors
    assert any("not a valid Cluster name" in e for e in errors), errors


def test_hidden_directories_and_other_files_are_skipped(tmp_path):
    (tmp_path / "c.yaml").write_text(CLUSTER)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("not: [valid")
    (tmp_path / "README.md").write_text("# hi")
    assert len(load_manifests([tmp_path])) == 1


def test_schema_covers_every_kind_and_rejects_unknown_fields():
    schema = json_schema()
    text = json.dumps(schema)
    for kind in ("Cluster", "TaskDefinition", "Service", "ScheduledTask"):
        assert f'"{kind}"' in text
    task = json_schema("TaskDefinition")
    spec = task["$defs"][task["properties"]["spec"]["$ref"].rsplit("/", 1)[-1]]
    assert spec["additionalProperties"] is False and "containerDefinitions" in spec["properties"]


def test_yaml_1_2_scalars_keep_their_meaning():
    text = TASK.replace("{name: PORT, value: 8080}", "{name: FLAG, value: on}\n        - {name: DAY, value: 2024-01-01}"
                        "\n        - {name: ANSWER, value: yes}")
    env = load_text(text).get("TaskDefinition", "web").manifest.spec.to_api()["containerDefinitions"][0]["environment"]
    assert env == [{"name": "FLAG", "value": "on"}, {"name": "DAY", "value": "2024-01-01"},
                   {"name": "ANSWER", "value": "yes"}]


def test_a_key_written_twice_is_an_error_with_its_line():
    assert errors_of(SERVICE.replace("  desiredCount: 1", "  desiredCount: 1\n  desiredCount: 2")) == [
        "m.yaml:8: invalid YAML: duplicate key 'desiredCount'"]


def test_merge_keys_fill_what_is_not_written_explicitly():
    text = """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec:
  containerDefinitions:
    - &base {name: web, image: "nginx:1", essential: true}
    - <<: *base
      name: sidecar
"""
    containers = load_text(text).get("TaskDefinition", "web").manifest.spec.to_api()["containerDefinitions"]
    assert containers[1] == {"name": "sidecar", "image": "nginx:1", "essential": True}


def test_empty_documents_are_skipped():
    assert len(load_text("---\n" + CLUSTER + "---\n\n---\n")) == 1
