"""Build the container image with buildah (`make image-base image`, on a Debian base made from
Debian's mirror) and run the CLI in it: as the image's numeric non-root user, and on a read-only
root filesystem whose only writable path is the emptyDir the chart mounts. Run by
`make image-test` (root, buildah and mmdebstrap; several minutes, not part of `make test`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from reconciler.desired.loader import load_manifests

pytestmark = [pytest.mark.image, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
BUILDAH = ["buildah", "--storage-driver", "vfs"]
LOCAL_BASE = "localhost/ecs-reconciler-base:trixie"
IMAGE = "localhost/ecs-reconciler-test"
TAG = f"{VERSION}-local"
# The chart's view of the container: the root read-only, an emptyDir on /tmp, the image's user.
READ_ONLY_RUN = """
set -e
root=$1 data=$2 user=$3; shift 3
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --bind "$data" "$root/mnt"
mount -o remount,bind,ro "$root/mnt"
exec chroot --userspec="$user" "$root" "$@"
"""


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def image():
    missing = [tool for tool in ("buildah", "mmdebstrap", "unshare", "chroot") if not shutil.which(tool)]
    assert not missing, f"make image-test needs {missing}: run `make image-tools` (as root)"
    assert os.geteuid() == 0, "buildah with vfs storage and mmdebstrap run as root here"
    timings = {}
    for target, args in (("image-base", []),
                         ("image", [f"BASE_IMAGE={LOCAL_BASE}", "EXTRAS=local", f"IMAGE={IMAGE}"])):
        started = time.monotonic()
        build = _run(["make", "-C", str(ROOT), target, *args], timeout=3600)
        timings[target] = time.monotonic() - started
        assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    print(f"\nimage build: base {timings['image-base']:.0f} s, image {timings['image']:.0f} s")
    return f"{IMAGE}:{TAG}"


@pytest.fixture(scope="module")
def container(image):
    name = _run([*BUILDAH, "from", image], check=True).stdout.strip()
    yield name
    _run([*BUILDAH, "umount", name])
    _run([*BUILDAH, "rm", name])


@pytest.fixture(scope="module")
def config(image) -> dict:
    return json.loads(_run([*BUILDAH, "inspect", "--type", "image", image], check=True).stdout)["OCIv1"]["config"]


def _in_container(container: str, *argv: str) -> subprocess.CompletedProcess:
    """The command in the container as the image configures it (its user, PATH and environment)."""
    return _run([*BUILDAH, "run", "--isolation", "chroot", container, "--", *argv], timeout=300)


def _read_only(container: str, config: dict, data: Path, *argv: str) -> subprocess.CompletedProcess:
    """The command as the chart runs it: read-only root, /tmp an empty tmpfs, the image's user and
    environment (its PATH also finds the host's mount and chroot, which run first)."""
    root = _run([*BUILDAH, "mount", container], check=True).stdout.strip()
    env = dict(item.split("=", 1) for item in config["Env"])
    return _run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", READ_ONLY_RUN, "sh",
                 root, str(data), config["User"], *argv], env=env, timeout=600)


def test_image_config_numeric_user_labels_entrypoint(config):
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/opt/ecs-reconciler/bin/ecs-reconciler"]
    assert "Healthcheck" not in config
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.source"] == "https://github.com/ecs-reconciler/ecs-reconciler"


def test_cli_runs_as_the_non_root_user(container):
    version = _in_container(container, "ecs-reconciler", "--version")
    assert (version.returncode, version.stdout) == (0, f"ecs-reconciler, version {VERSION}\n"), version.stderr
    ids = _in_container(container, "id", "-u")
    assert ids.returncode == 0 and ids.stdout.strip() == "10001"
    git = _in_container(container, "git", "--version")
    assert git.returncode == 0 and git.stdout.startswith("git version")


def test_local_plan_and_a_git_controller_pass_on_a_read_only_root(container, config, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "manifests", data / "manifests")
    repo = data / "deploy"
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    git = ["git", "-C", str(repo), "-c", "user.name=release", "-c", "user.email=release@example.com"]
    for step in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "shop app"]):
        _run([*git, *step], check=True)
    _run(["chown", "-R", "10001:10001", str(repo)], check=True)
    expected = len(load_manifests([str(ROOT / "manifests")]))

    denied = _read_only(container, config, data, "touch", "/opt/ecs-reconciler/x")
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr

    plan = _read_only(container, config, data, "ecs-reconciler", "--local", "plan", "--output", "json",
                      "/mnt/manifests")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert json.loads(plan.stdout)["summary"]["create"] == expected

    # The controller fetches into a bare repository under TMPDIR and extracts the commit there.
    run = _read_only(container, config, data, "ecs-reconciler", "--local", "run", "--once",
                     "--source", "file:///mnt/deploy#main:manifests")
    assert run.returncode == 0, run.stderr[-3000:]
    logs = [json.loads(line) for line in (run.stdout + run.stderr).splitlines() if line.startswith("{")]
    reconciled = [entry for entry in logs if entry["message"] == "reconciled"]
    assert reconciled and reconciled[-1]["applied"] == expected, logs[-5:]
