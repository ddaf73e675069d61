"""`python -m build` makes an sdist and, from it, a wheel that installs into an empty environment
with pipx and runs; the base install works without the optional `local` extra and says so when
it is asked for the local endpoint. Run by `make package-test` (needs PyPI; about two minutes)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from reconciler.desired.loader import load_manifests

pytestmark = [pytest.mark.package, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "Building wheel from sdist" in build.stdout + build.stderr, "the wheel must come from the sdist"
    return out


def test_sdist_holds_the_sources_and_the_wheel_only_the_package(dist):
    with tarfile.open(dist / f"ecs_reconciler-{VERSION}.tar.gz") as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "reconciler/cli.py", "reconciler/local/server.py"} <= names
    with zipfile.ZipFile(dist / f"ecs_reconciler-{VERSION}-py3-none-any.whl") as wheel:
        files = wheel.namelist()
        metadata = Parser().parsestr(wheel.read(f"ecs_reconciler-{VERSION}.dist-info/METADATA").decode())
        entry_points = wheel.read(f"ecs_reconciler-{VERSION}.dist-info/entry_points.txt").decode()
    assert {f.split("/")[0] for f in files} == {"reconciler", f"ecs_reconciler-{VERSION}.dist-info"}
    assert "ecs-reconciler = reconciler.cli:main" in entry_points
    assert metadata["Version"] == VERSION and metadata["Requires-Python"] == ">=3.11.4"
    assert "local" in metadata.get_all("Provides-Extra")
    moto = [r for r in metadata.get_all("Requires-Dist") if r.startswith("moto")]
    assert any('extra == "local"' in r for r in moto)
    assert all("extra ==" in r for r in moto), "moto only with an extra, never in the base install"


def test_pipx_installs_the_wheel_into_an_empty_environment_and_it_runs(dist, tmp_path):
    env = {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
           "PIPX_MAN_DIR": str(tmp_path / "man")}
    env.pop("VIRTUAL_ENV", None)
    wheel = dist / f"ecs_reconciler-{VERSION}-py3-none-any.whl"
    install = subprocess.run([sys.executable, "-m", "pipx", "install", str(wheel)], env=env,
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    venv = tmp_path / "pipx" / "venvs" / "ecs-reconciler"
    assert not list(venv.glob("lib/python*/site-packages/moto")), "the base install has no moto"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(tmp_path / "bin" / "ecs-reconciler"), *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    version = cli("--version")
    assert (version.returncode, version.stdout) == (0, f"ecs-reconciler, version {VERSION}\n")
    validate = cli("validate", str(ROOT / "manifests"))
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout == f"{len(load_manifests([str(ROOT / 'manifests')]))} manifests valid.\n"
    for args in (["--local", "plan", str(ROOT / "manifests")], ["local"]):
        result = cli(*args)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "needs the optional 'local' extra (moto is not installed)" in result.stderr
        assert "pip install 'ecs-reconciler[local]'" in result.stderr
