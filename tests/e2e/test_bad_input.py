"""Bad input: exit 1, a located message, and zero AWS write calls (counted by a botocore hook)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

GOOD = Path("manifests/base")  # the example app's manifests, copied as a plain directory


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "m"
    shutil.copytree(GOOD, target, ignore=shutil.ignore_patterns("kustomiz*.yaml"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


CASES = {
    "unknown field": ("web.yaml", "      portMappings:\n", "      portMapings:\n", "web.yaml:19", "unknown field"),
    "wrong type": ("web.yaml", "  desiredCount: 2", "  desiredCount: two", "web.yaml:46", "spec.desiredCount"),
    "missing required field": ("nightly-report.yaml", "  roleArn: arn:aws:iam::123456789012:role/ecsEventsRole\n", "",
                               "nightly-report.yaml:26", "spec.roleArn"),
    "dangling reference": ("worker.yaml", "  taskDefinition: shop-worker", "  taskDefinition: shop-wrker",
                           "worker.yaml:41", "spec.taskDefinition"),
    "invalid enum": ("web.yaml", "  launchType: FARGATE", "  launchType: FARGATEE", "web.yaml:47", "spec.launchType"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_invalid_manifest_is_rejected_before_any_write(case, command, tmp_path, run_cli):
    file, old, new, where, field = CASES[case]
    directory = _copy(tmp_path)
    _edit(directory / file, old, new)
    args = [command, str(directory)] + (["--yes"] if command == "apply" else [])
    code, out, err, writes = run_cli(*args)
    assert code == 1
    assert where in err, err
    assert field in err, err
    assert sum(writes.values()) == 0


def test_duplicate_name_names_both_places(tmp_path, run_cli):
    directory = _copy(tmp_path)
    (directory / "again.yaml").write_text((directory / "cluster.yaml").read_text())
    code, out, err, writes = run_cli("apply", str(directory), "--yes")
    assert code == 1
    assert "duplicate Cluster/shop" in err and "cluster.yaml:5" in err and "again.yaml:5" in err
    assert sum(writes.values()) == 0


def test_invalid_yaml_is_located(tmp_path, run_cli):
    directory = _copy(tmp_path)
    (directory / "broken.yaml").write_text("apiVersion: x\nkind: [Cluster\n")
    code, out, err, writes = run_cli("apply", str(directory), "--yes")
    assert code == 1
    assert "broken.yaml:" in err and "invalid YAML" in err
    assert sum(writes.values()) == 0


def test_empty_directory_is_an_error(tmp_path, run_cli):
    code, out, err, writes = run_cli("plan", str(tmp_path))
    assert code == 1
    assert str(tmp_path) in err and "no manifest files" in err
    assert sum(writes.values()) == 0


HOSTILE = {
    # 9 levels of 9 aliases: 9^9 strings once expanded (the 421-byte manifest took 9 GB).
    "alias bomb": ("x0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
        f"x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)) + "spec: {tags: {t: *a8}}\n",
        "alias limit"),
    "recursive alias": ("spec: &a {x: *a}\n", "alias limit"),
    "deep nesting": ("spec: {tags: " + "[" * 500 + "]" * 500 + "}\n", "depth limit"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_hostile_yaml_is_a_located_error_not_a_traceback(case, command, tmp_path, run_cli):
    directory = _copy(tmp_path)
    body, limit = HOSTILE[case]
    (directory / "hostile.yaml").write_text(
        "apiVersion: ecs-reconciler.io/v1alpha1\nkind: Cluster\nmetadata: {name: hostile}\n" + body)
    code, out, err, writes = run_cli(command, str(directory))
    assert code == 1
    assert "hostile.yaml:" in err and limit in err and "expected" in err, err
    assert "Traceback" not in err + out
    assert sum(writes.values()) == 0
