"""Parse manifest YAML fast (libyaml's C parser) into plain data plus the nodes that locate it.

Scalars are resolved the YAML 1.2 way, as Kubernetes users expect of a manifest: only
true/false are booleans (`yes`, `on` stay strings), and dates stay strings. A key written twice in
one mapping is an error, not a silent overwrite. Merge keys (`<<: *anchor`) work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$")

STR, INT, FLOAT, BOOL, NULL, MERGE = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "merge"))


class _Loader(yaml.CSafeLoader):
    """libyaml's parser with YAML 1.2 core-schema scalar resolution."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in ((BOOL, _BOOL, "tTfF"), (NULL, _NULL, ["~", "n", "N", ""]), (INT, _INT, "-+0123456789"),
                              (FLOAT, _FLOAT, "-+.0123456789"), (MERGE, re.compile(r"^<<$"), "<")):
    _Loader.add_implicit_resolver(_tag, _regexp, list(_first))


class YamlProblem(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


@dataclass
class Document:
    data: Any
    node: yaml.Node


def parse_documents(text: str) -> list[Document]:
    """Every non-empty document of `text`; raises YamlProblem (with a 1-based line) when it is not valid YAML."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(mark.line + 1 if mark else None, str(exc.problem or exc.context)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, str(exc)) from None
    documents = [Document(construct(node), node) for node in nodes if node is not None]
    return [d for d in documents if d.data is not None]  # an empty document (a trailing ---) is nothing


def construct(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                merges.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
                continue
            key = construct(key_node)
            if isinstance(key, (dict, list)):
                raise YamlProblem(key_node.start_mark.line + 1, "a mapping key must be a scalar")
            if key in out:
                raise YamlProblem(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = construct(value_node)
        for source in merges:  # explicit keys win over merged ones, wherever they are written
            merged = construct(source)
            if not isinstance(merged, dict):
                raise YamlProblem(source.start_mark.line + 1, "a merge key (<<) needs a mapping")
            for key, value in merged.items():
                out.setdefault(key, value)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [construct(item) for item in node.value]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    value, tag = node.value, node.tag
    if tag == NULL:
        return None
    if tag == BOOL:
        return value.lower() == "true"
    if tag == INT:
        text = value.replace("_", "")
        return int(text, 8) if text.startswith("0o") else int(text, 0) if text.startswith("0x") else int(text)
    if tag == FLOAT:
        lowered = value.lower()
        if lowered.endswith("inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(value.replace("_", ""))
    return value
