"""Fuzzed manifests: the loader raises nothing but InvalidManifests, and validate/plan never print a
traceback, exit 1 with located (`file:line`) messages, and make no AWS write call."""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.aws import PROCESS_CALL_LOG
from reconciler.cli import cli
from reconciler.desired.loader import load_text
from reconciler.errors import InvalidManifests

from .helpers import EXAMPLE

SOURCES = {p.name: p.read_text() for p in sorted(Path(EXAMPLE).glob("*.yaml")) if not p.name.startswith("kustomiz")}
_yaml = YAML(typ="safe")
DOCS = [doc for text in SOURCES.values() for doc in _yaml.load_all(text) if doc]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                    st.text(max_size=20), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def _containers(node, trail=()):
    """Every (container, key) path in a parsed document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield node, key
            yield from _containers(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield node, index
            yield from _containers(value)


@st.composite
def mutated_text(draw) -> str:
    docs = copy.deepcopy(DOCS)
    for _ in range(draw(st.integers(1, 3))):
        doc = docs[draw(st.integers(0, len(docs) - 1))]
        spots = list(_containers(doc))
        parent, key = spots[draw(st.integers(0, len(spots) - 1))]
        how = draw(st.sampled_from(["delete", "retype", "unknown"]))
        if how == "delete":
            del parent[key]
        elif how == "retype":
            parent[key] = draw(SCALARS)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(SCALARS)
        else:
            parent.append(draw(SCALARS))
    out = io.StringIO()
    YAML(typ="safe").dump_all(docs, out)
    return out.getvalue()


RAW = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(list(SOURCES.values())).flatmap(
        lambda text: st.tuples(st.integers(0, len(text)), st.integers(0, 40), st.text(max_size=10)).map(
            lambda cut: text[:cut[0]] + cut[2] + text[cut[0] + cut[1]:])),
)


def _load(text: str) -> None:
    try:
        load_text(text, "fuzz.yaml")
    except InvalidManifests as exc:
        assert exc.errors and all(str(e).startswith("fuzz.yaml") for e in exc.errors)


@FAST
@given(mutated_text())
def test_loader_raises_only_invalid_manifests_on_mutated_models(text):
    _load(text)


@FAST
@given(RAW)
def test_loader_raises_only_invalid_manifests_on_raw_text(text):
    _load(text)


@st.composite
def aliased_text(draw) -> str:
    """A manifest built of anchors and aliases: chains of any width and depth (alias bombs among
    them), mappings and sequences, merge keys, aliases inside their own anchor, deep nesting."""
    width, levels = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    lines = ["apiVersion: ecs-reconciler.io/v1alpha1", "kind: Cluster", "metadata: {name: c}",
             "x0: &a0 {" + ", ".join(f"k{j}: lol" for j in range(width)) + "}"]
    for i in range(1, levels):
        refs = [f"*a{draw(st.integers(0, i - 1))}" for _ in range(width)]
        shape = draw(st.sampled_from(["list", "map", "merge", "self"]))
        if shape == "list":
            body = "[" + ", ".join(refs) + "]"
        elif shape == "map":
            body = "{" + ", ".join(f"k{j}: {r}" for j, r in enumerate(refs)) + "}"
        elif shape == "merge":
            body = "{<<: [" + ", ".join(refs) + "]}"
        else:
            body = f"{{own: *a{i}, more: {refs[0]}}}"
        lines.append(f"x{i}: &a{i} {body}")
    depth = draw(st.integers(0, 200))
    lines.append(f"spec: {{tags: {'[' * depth}*a{levels - 1}{']' * depth}}}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=5000, suppress_health_check=list(HealthCheck))
@given(aliased_text())
def test_loader_raises_only_invalid_manifests_on_alias_structures(text):
    _load(text)


# `file:line: ...`; a file with no line to point at (empty, not UTF-8) is named alone.
LOCATED = re.compile(r"^error: (\S*bad\.yaml(:\d+)?: |\S+: no manifests found)", re.MULTILINE)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(mutated_text(), RAW), st.binary(max_size=40))
def test_cli_reports_located_errors_without_traceback_or_writes(tmp_path_factory, text, garbage):
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "bad.yaml").write_bytes(text.encode("utf-8", "surrogatepass") + garbage)
    for command in ("validate", "plan"):  # plan only for input validate rejected: it must stop before AWS
        PROCESS_CALL_LOG.reset()
        result = CliRunner().invoke(cli, ["--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1",
                                          command, str(directory)])
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output + result.stderr
        assert PROCESS_CALL_LOG.total() == 0
        if result.exit_code == 0:
            assert command == "validate"
            break
        assert result.exit_code == 1
        assert LOCATED.search(result.stderr), result.stderr
