"""One version everywhere: pyproject.toml holds it; the package, --version, the chart and the
changelog follow it, so a release cannot ship a chart that pulls some other image."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from packaging.version import Version

import reconciler
from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_installed_package_carries_the_pyproject_version():
    assert reconciler.__version__ == VERSION, "stale installed metadata: run `make venv`"


def test_version_option_prints_it():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"ecs-reconciler, version {VERSION}\n"


def test_the_chart_is_versioned_with_the_app_and_deploys_its_image():
    chart = yaml.safe_load((ROOT / "helm" / "Chart.yaml").read_text())
    values = yaml.safe_load((ROOT / "helm" / "values.yaml").read_text())
    assert chart["appVersion"] == VERSION
    assert chart["version"] == VERSION
    assert values["image"]["tag"] in ("", VERSION), "empty: the chart's appVersion, which is this version"
    assert values["image"]["digest"] == "", "the chart's default pulls the release tag; a digest is set per install"


def test_changelog_follows_keep_a_changelog_and_has_this_release():
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", ""), "the first section is [Unreleased]"
    released = headings[1:]
    assert released and all(date for _, date in released), "every release has a date"
    versions = [Version(name) for name, _ in released]
    assert versions == sorted(versions, reverse=True), "newest release first"
    assert str(versions[0]) == VERSION, f"no CHANGELOG.md section for {VERSION}"
    for name, _ in headings:
        assert re.search(rf"^\[{re.escape(name)}\]: https://\S+$", text, re.M), f"no link for [{name}]"


# The CLI in a fresh interpreter where moto cannot be imported, as in a base install. (A fresh
# process, because unloading the local endpoint in this one would leave moto patched twice.)
WITHOUT_MOTO = """
import importlib.abc, sys
class NoMoto(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "moto":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoMoto())
from reconciler.cli import main
sys.argv[0] = "ecs-reconciler"
main()
"""


@pytest.mark.parametrize("args", [["--local", "plan", str(ROOT / "manifests")], ["local", "--port", "0"]])
def test_local_commands_without_the_local_extra_name_the_extra(args):
    result = subprocess.run([sys.executable, "-c", WITHOUT_MOTO, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "needs the optional 'local' extra (moto is not installed)" in result.stderr
    assert "pip install 'ecs-reconciler[local]'" in result.stderr
