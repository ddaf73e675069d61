"""The Dockerfile and the chart agree: the numeric user, the writable paths, the security context;
the base is pinned by digest and the Dockerfile passes hadolint. (Building the image itself is the
`image` test, `make image-test`.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = DockerfileParser(path=str(ROOT / "Dockerfile"))
HADOLINT = Path(sys.executable).parent / "hadolint"
DIGEST = "sha256:" + "0123456789abcdef" * 4


HELM = Path(sys.executable).parent / "helm"  # `make helm` puts the pinned helm in the venv


def _deployment(values: dict | None = None) -> dict:
    """The chart's Deployment as real helm renders it for these values."""
    args = [str(HELM), "template", "ecs-reconciler", str(ROOT / "helm")]
    for key, value in _flatten(values or {}):
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    rendered = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return next(o for o in yaml.safe_load_all(rendered) if o and o["kind"] == "Deployment")


def _flatten(values: dict, prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        out += _flatten(value, path) if isinstance(value, dict) and value else [(path, value)]
    return out


def _instructions(name: str) -> list[str]:
    return [i["value"] for i in DOCKERFILE.structure if i["instruction"] == name]


def test_hadolint_passes():
    lint = subprocess.run([str(HADOLINT), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_two_stages_on_one_base_pinned_by_digest():
    assert len(DOCKERFILE.parent_images) == 2, "a build stage and a runtime stage"
    assert re.search(r"\bAS build$", _instructions("FROM")[0])
    for image in DOCKERFILE.parent_images:
        assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image), image
    assert len(set(DOCKERFILE.parent_images)) == 1, "the venv built in the first stage runs on the second's Python"


def test_runs_as_the_charts_numeric_non_root_user():
    user = _instructions("USER")[-1]
    uid, gid = (int(part) for part in re.fullmatch(r"(\d+):(\d+)", user).groups())
    assert uid != 0 and gid != 0
    pod = _deployment()["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"], pod["runAsNonRoot"]) == (uid, gid, True)


def test_chart_security_context_is_locked_down():
    pod = _deployment()["spec"]["template"]["spec"]
    container = pod["containers"][0]["securityContext"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["runAsNonRoot"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}


def test_the_images_writable_path_is_an_emptydir_in_the_chart():
    tmpdir = DOCKERFILE.envs["TMPDIR"]
    pod = _deployment()["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert tmpdir in mounts, f"the image writes to TMPDIR={tmpdir}; the chart mounts {sorted(mounts)}"
    assert "emptyDir" in volumes[mounts[tmpdir]]


def test_exec_form_entrypoint_no_healthcheck_and_oci_labels():
    entrypoint = json.loads(_instructions("ENTRYPOINT")[-1])
    assert entrypoint == ["/opt/ecs-reconciler/bin/ecs-reconciler"], "exec form: no shell in between"
    assert not _instructions("HEALTHCHECK"), "health is the Kubernetes probes' job"
    labels = DOCKERFILE.labels
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert "org.opencontainers.image.version" in labels and "org.opencontainers.image.revision" in labels


@pytest.mark.parametrize("digest", ["", DIGEST])
def test_chart_pulls_the_image_by_tag_or_by_digest(digest):
    chart = yaml.safe_load((ROOT / "helm" / "Chart.yaml").read_text())
    image = _deployment({"image": {"digest": digest}})["spec"]["template"]["spec"]["containers"][0]["image"]
    repository = "ghcr.io/ecs-reconciler/ecs-reconciler"
    assert image == (f"{repository}@{digest}" if digest else f"{repository}:{chart['appVersion']}")
