"""Kustomize overlays rendered by kustomize itself: two environments from one base, errors located in
the source files, bounded rendering, and which directories the loader renders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.desired.loader import load_manifests
from reconciler.desired.lookups import Lookups
from reconciler.desired.substitution import Substitution
from reconciler.errors import InvalidManifests
from reconciler.sources import kustomize
from reconciler.sources.directory import DirectorySource

ROOT = Path(__file__).resolve().parents[2]
BASE = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: shop}
spec: {}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: web
      image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:base
      environment:
        - {name: STAGE, value: "${env:STAGE:-base}"}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: shop
  taskDefinition: web
  desiredCount: 1
"""
OVERLAY = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../base]
namePrefix: {env}-
labels:
  - pairs: {{env: {env}}}
images:
  - name: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web
    newTag: "{tag}"
patches:
  - target: {{kind: Service, name: web}}
    patch: |
      - {{op: replace, path: /spec/desiredCount, value: {count}}}
"""


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "app.yaml").write_text(BASE)
    (tmp_path / "base" / "kustomizeconfig.yaml").write_text(kustomize.KUSTOMIZE_CONFIG)
    (tmp_path / "base" / "kustomization.yaml").write_text(
        "resources: [app.yaml]\nconfigurations: [kustomizeconfig.yaml]\n")
    for env, tag, count in (("dev", "1.1-rc", 1), ("prod", "1.0", 4)):
        (tmp_path / "overlays" / env).mkdir(parents=True)
        (tmp_path / "overlays" / env / "kustomization.yaml").write_text(OVERLAY.format(env=env, tag=tag, count=count))
    return tmp_path


def summary(state):
    out = {}
    for item in state.resources:
        spec = item.manifest.spec.to_api()
        out[item.label] = {k: spec.get(k) for k in ("cluster", "taskDefinition", "desiredCount") if k in spec}
        if item.manifest.KIND == "TaskDefinition":
            out[item.label]["image"] = spec["containerDefinitions"][0]["image"]
        out[item.label]["labels"] = item.manifest.metadata.labels
        assert not item.manifest.metadata.annotations  # kustomize's origin annotation is gone
    return out


def test_two_environments_from_one_base(repo):
    dev = summary(load_manifests([str(repo / "overlays" / "dev")]))
    prod = summary(load_manifests([str(repo / "overlays" / "prod")]))
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"
    assert dev == {
        "Cluster/dev-shop": {"labels": {"env": "dev"}},
        "TaskDefinition/dev-web": {"image": f"{registry}:1.1-rc", "labels": {"env": "dev"}},
        # namePrefix renames the references too (our transformer configuration).
        "Service/dev-web": {"cluster": "dev-shop", "taskDefinition": "dev-web", "desiredCount": 1, "labels": {"env": "dev"}},
    }
    assert prod["Service/prod-web"]["desiredCount"] == 4
    assert prod["TaskDefinition/prod-web"]["image"] == f"{registry}:1.0"


def test_references_are_substituted_after_rendering_and_located_in_the_base(repo):
    state = load_manifests([str(repo / "overlays" / "prod")], Substitution(Lookups(environ={"STAGE": "prod"})))
    web = state.get("TaskDefinition", "prod-web")
    assert web.manifest.spec.to_api()["containerDefinitions"][0]["environment"] == [{"name": "STAGE", "value": "prod"}]
    [origin] = state.origins
    assert (origin.file, origin.line) == (str(repo / "base" / "app.yaml"), 18)


def test_errors_name_the_source_file_line_and_document(repo):
    (repo / "base" / "app.yaml").write_text(BASE.replace("desiredCount: 1", "desiredCount: 1\n  launchType: FARGATEE"))
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([str(repo / "overlays" / "prod")])
    [error] = caught.value.errors
    assert str(error).startswith(f"{repo}/base/app.yaml:27: Service/prod-web: spec.launchType: ")


def test_invalid_yaml_under_a_kustomization_is_located(repo):
    (repo / "base" / "app.yaml").write_text(BASE.replace("  desiredCount: 1", "  desiredCount: [1"))
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([str(repo / "overlays" / "dev")])
    assert [str(e) for e in caught.value.errors] == [f"{repo}/base/app.yaml:27: invalid YAML: did not find expected ',' or ']'"]


def test_kustomize_errors_are_reported_at_the_kustomization(repo):
    (repo / "overlays" / "dev" / "kustomization.yaml").write_text("resources: [../../missing]\n")
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([str(repo / "overlays" / "dev")])
    [error] = caught.value.errors
    assert error.file == str(repo / "overlays" / "dev" / "kustomization.yaml") and "missing" in error.message


def test_remote_bases_are_not_fetched(repo):
    (repo / "overlays" / "dev" / "kustomization.yaml").write_text(
        "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0\n")
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([str(repo / "overlays" / "dev")])
    assert "kustomize:" in caught.value.errors[0].message


def test_rendering_is_bounded_in_time_and_output(repo, tmp_path):
    with pytest.raises(kustomize.KustomizeError, match="longer than 0.5 s"):
        kustomize._run(["sleep", "30"], tmp_path, "k", kustomize.Limits(timeout=0.5))
    with pytest.raises(kustomize.KustomizeError, match="larger than 1000 bytes"):
        kustomize.render(repo / "overlays" / "prod", kustomize.Limits(max_output=1000))


def test_a_directory_with_base_and_overlays_loads_each_manifest_once(repo):
    # The example app: manifests/ renders its kustomization (the base); overlays/prod is loaded only by name.
    assert len(load_manifests([str(ROOT / "manifests")])) == 8
    prod = load_manifests([str(ROOT / "manifests" / "overlays" / "prod")])
    assert prod.get("Service", "shop-web").manifest.spec.to_api()["desiredCount"] == 4
    # A plain directory holding base/ and overlays/*: kustomizations inside are skipped, not loaded twice.
    (repo / "plain.yaml").write_text(BASE.split("---\n")[0])
    state = load_manifests([str(repo)])
    assert [r.label for r in state.resources] == ["Cluster/shop"]
    assert {w.file for w in state.warnings} == {str(repo / "base"), str(repo / "overlays" / "dev"),
                                                str(repo / "overlays" / "prod")}


def test_directory_source_revision_follows_a_base_outside_the_directory(repo):
    source = DirectorySource(repo / "overlays" / "prod")
    before = source.snapshot().revision
    assert repo / "base" / "app.yaml" in source.manifest_files()
    (repo / "base" / "app.yaml").write_text(BASE.replace("desiredCount: 1", "desiredCount: 2"))
    assert source.snapshot().revision != before


def test_git_source_with_an_overlay_path_extracts_its_bases(repo, tmp_path):
    from reconciler.sources.git import GitSource

    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", *ident, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", *ident, "-C", str(repo), "commit", "-qm", "envs"], check=True)
    snap = GitSource(f"file://{repo}", "main", "overlays/prod", workdir=tmp_path / "work").poll()
    assert (snap.path.parent.parent / "base" / "app.yaml").exists()
    assert len(load_manifests([str(snap.path)])) == 3
