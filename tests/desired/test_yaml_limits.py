"""Hostile manifests: alias bombs, recursive aliases, deep nesting and oversized files are located
errors, found quickly and without memory growth, never a traceback; one rule says which files are
manifests, for the loader and the directory source alike."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from reconciler.desired import files
from reconciler.desired.loader import load_manifests, load_text
from reconciler.desired.yaml_source import ALIAS_FLOOR, MAX_DEPTH
from reconciler.errors import InvalidManifests
from reconciler.sources.directory import DirectorySource

HEAD = "apiVersion: ecs-reconciler.io/v1alpha1\nkind: Cluster\nmetadata: {name: bomb}\n"
# The classic "billion laughs", as a manifest: 9 levels of 9 aliases, 9^9 strings once expanded.
LAUGHS = HEAD + "x0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)) + "spec: {tags: {t: *a8}}\n"
CLUSTER = HEAD.replace("bomb", "c") + "spec: {}\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(InvalidManifests) as caught:
        load_text(text, "m.yaml")
    return [str(e) for e in caught.value.errors]


def test_billion_laughs_is_a_located_error_in_bounded_time_and_memory():
    assert len(LAUGHS.encode()) < 600  # 9^9 = 387 million strings once expanded
    tracemalloc.start()
    started = time.monotonic()
    try:
        errors = errors_of(LAUGHS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 64 * 1024 * 1024, peak
    [error] = errors
    assert error.startswith("m.yaml:") and "alias limit" in error and "expected at most" in error, error
    line = int(error.split(":")[1])
    assert LAUGHS.splitlines()[line - 1].startswith("x"), error  # the line of an alias that expands


@pytest.mark.parametrize("text, line", [
    (HEAD + "spec: &a {x: *a}\n", 4),
    (HEAD + "spec:\n  tags: &t\n    self: *t\n", 6),
    (HEAD + "spec:\n  capacityProviders: &l [FARGATE, *l]\n", 5),
    (HEAD + "spec:\n  <<: &m {x: {<<: *m}}\n", 5),
])
def test_an_alias_inside_its_own_anchor_is_a_located_error(text, line):
    [error] = errors_of(text)
    assert error.startswith(f"m.yaml:{line}: invalid YAML: alias limit:"), error
    assert "contains the alias" in error


def test_nesting_deeper_than_the_limit_is_a_located_error():
    for depth in (MAX_DEPTH + 1, 500, 990):
        [error] = errors_of(HEAD + "spec: {tags: " + "[" * depth + "]" * depth + "}\n")
        assert error.startswith("m.yaml:4: invalid YAML: depth limit:") and f"at most {MAX_DEPTH}" in error, error


def test_real_alias_use_stays_within_the_budget():
    """Anchors live in one document (one manifest): the most a real one shares is a task definition
    whose ten containers (the ECS maximum) reuse one environment and one log configuration."""
    env = "".join(f"        - {{name: VAR_{i}, value: value-{i}}}\n" for i in range(60))
    first = ("    - name: c0\n      image: nginx\n      environment: &env\n" + env +
             "      logConfiguration: &log\n        logDriver: awslogs\n"
             "        options: {awslogs-group: /ecs/web, awslogs-region: us-east-1, awslogs-stream-prefix: web}\n")
    others = "".join(f"    - name: c{i}\n      image: nginx\n      environment: *env\n      logConfiguration: *log\n"
                     for i in range(1, 10))
    text = ("apiVersion: ecs-reconciler.io/v1alpha1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n"
            "  cpu: 256\n  memory: 512\n  containerDefinitions:\n" + first + others)
    containers = load_text(text, "m.yaml").get("TaskDefinition", "web").manifest.spec.to_api()["containerDefinitions"]
    assert len(containers) == 10 and all(len(c["environment"]) == 60 for c in containers)
    assert containers[9]["logConfiguration"]["options"]["awslogs-group"] == "/ecs/web"


def test_the_alias_budget_grows_with_the_document():
    """Expansion above the floor is allowed in proportion to what is written."""
    block = "[" + ", ".join(f"v{i}" for i in range(99)) + "]"  # 100 nodes
    uses = ALIAS_FLOOR // 100 + 20  # more than the floor through aliases ...
    padding = "".join(f"  k{i}: {block}\n" for i in range(uses // 5))  # ... but under 10x what is written
    text = HEAD + f"x-block: &b {block}\nx-pad:\n{padding}spec:\n  capacityProviders: [{', '.join(['*b'] * uses)}]\n"
    errors = errors_of(text)  # the expansion is fine: the error is only the field's type
    assert not any("alias limit" in e for e in errors), errors


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(CLUSTER + "# " + "x" * files.MAX_FILE_BYTES + "\n")
    (tmp_path / "ok.yaml").write_text(CLUSTER.replace("name: c", "name: d"))
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([tmp_path])
    [error] = caught.value.errors
    assert error.file == str(big) and "size limit" in error.message and "at most 4.0 MiB" in error.message
    with pytest.raises(InvalidManifests) as caught:
        load_text(big.read_text(), "big.yaml")
    assert "document limit" in str(caught.value)


def test_the_source_total_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_SOURCE_BYTES", 4 * len(CLUSTER) + 10)
    for i in range(6):
        (tmp_path / f"c{i}.yaml").write_text(CLUSTER.replace("name: c", f"name: c{i}"))
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([tmp_path])
    refused = [e.file.rsplit("/", 1)[-1] for e in caught.value.errors]
    assert refused == ["c4.yaml", "c5.yaml"]
    assert all("size limit" in e.message and "in all" in e.message for e in caught.value.errors)


def test_too_many_files_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setattr("reconciler.desired.loader.MAX_FILES", 3)
    for i in range(4):
        (tmp_path / f"c{i}.yaml").write_text(CLUSTER.replace("name: c", f"name: c{i}"))
    with pytest.raises(InvalidManifests) as caught:
        load_manifests([tmp_path])
    [error] = caught.value.errors
    assert "file limit: 4 manifest files; expected at most 3" in error.message


def test_one_rule_for_which_files_are_manifests(tmp_path):
    """A file that changes the directory source's revision is a file the loader reads."""
    (tmp_path / "a.yaml").write_text(CLUSTER)
    (tmp_path / "B.YAML").write_text(CLUSTER.replace("name: c", "name: b"))
    (tmp_path / "c.Yml").write_text(CLUSTER.replace("name: c", "name: c2"))
    (tmp_path / ".hidden.yaml").write_text("not: [valid")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("not: [valid")
    (tmp_path / "notes.txt").write_text("x")
    source = DirectorySource(tmp_path)
    names = {r.manifest.name for r in load_manifests([tmp_path]).resources}
    assert names == {"c", "b", "c2"}
    assert sorted(p.name for p in source.manifest_files()) == ["B.YAML", "a.yaml", "c.Yml"]
    before = source.snapshot().revision
    (tmp_path / "B.YAML").write_text(CLUSTER.replace("name: c", "name: b2"))
    assert source.snapshot().revision != before
    assert "b2" in {r.manifest.name for r in load_manifests([tmp_path]).resources}
