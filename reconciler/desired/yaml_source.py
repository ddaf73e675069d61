"""Parse manifest YAML fast (libyaml's C parser) into plain data plus the nodes that locate it.

Scalars are resolved the YAML 1.2 way, as Kubernetes users expect of a manifest: only
true/false are booleans (`yes`, `on` stay strings), and dates stay strings. A key written twice in
one mapping is an error, not a silent overwrite. Merge keys (`<<: *anchor`) work.

Anyone who can push to the deploy repository writes this input, so it is bounded: the text's size,
the nesting depth, and how much aliases may expand (see `_Builder`). Each is a located error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from .files import MAX_FILE_BYTES, size_text

MAX_DEPTH = 64  # mappings and lists inside each other; a real manifest needs about 8
ALIAS_FACTOR = 10  # nodes an alias may build, per node written in the document ...
ALIAS_FLOOR = 10_000  # ... but at least this many (a short file with a few shared blocks)

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
    """Every non-empty document of `text`; raises YamlProblem (with a 1-based line) when it is not
    valid YAML or passes a limit (size, nesting depth, alias expansion)."""
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise YamlProblem(None, f"document limit: the text is {size_text(size)}; "
                                f"expected at most {size_text(MAX_FILE_BYTES)}")
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(mark.line + 1 if mark else None, str(exc.problem or exc.context)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, str(exc)) from None
    documents = [Document(_Builder(node).build(node), node) for node in nodes if node is not None]
    return [d for d in documents if d.data is not None]  # an empty document (a trailing ---) is nothing


class _Builder:
    """Plain data from one document's node graph, within limits.

    The composed graph shares the node of an anchor between all its aliases, so it is as small as
    the text; building plain data copies the node once per alias, which is where a "billion laughs"
    document (aliases of aliases) explodes, and where an alias inside its own anchor never ends.
    So: a node met again while it is still being built is a recursive alias; nodes built through
    aliases may number at most ALIAS_FACTOR times the nodes written (and ALIAS_FLOOR at least); and
    mappings and sequences may nest MAX_DEPTH deep. `at` is the node whose line locates an error:
    the key an alias is the value of, or the node itself.
    """

    def __init__(self, root: yaml.Node) -> None:
        self.root = root
        self.written = 0  # counted only once aliases pass the floor: most documents have none
        self.budget = ALIAS_FLOOR
        self.expanded = 0
        self.seen: set[int] = set()  # collections built so far; a scalar cannot expand or recurse
        self.open: set[int] = set()  # collections being built: their ancestors in this walk

    def build(self, node: yaml.Node, depth: int = 0, at: yaml.Node | None = None, aliased: bool = False) -> Any:
        if node.__class__ is yaml.ScalarNode:  # most nodes: the fast path
            if aliased:
                self._expand(at)
            return _scalar(node)
        ident = id(node)
        if ident in self.seen:
            aliased = True
        else:
            self.seen.add(ident)
            if not aliased:
                at = node
        if aliased:
            self._expand(at)
        if ident in self.open:
            raise YamlProblem(_line(at), f"alias limit: this alias refers to the node anchored at line "
                                         f"{node.start_mark.line + 1}, which contains the alias; expected a value "
                                         f"that does not contain itself")
        if depth >= MAX_DEPTH:
            raise YamlProblem(_line(at), f"depth limit: mappings and lists nest more than {MAX_DEPTH} levels deep; "
                                         f"expected at most {MAX_DEPTH}")
        self.open.add(ident)
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, depth + 1, at, aliased)
            return [self.build(item, depth + 1, at if aliased else item, aliased) for item in node.value]
        finally:
            self.open.discard(ident)

    def _expand(self, at: yaml.Node | None) -> None:
        self.expanded += 1
        if self.expanded > self.budget and not self.written:
            self.written = _count_nodes(self.root)
            self.budget = max(ALIAS_FLOOR, ALIAS_FACTOR * self.written)
        if self.expanded > self.budget:
            raise YamlProblem(_line(at), f"alias limit: the aliases of this document expand to more than {self.budget} "
                                         f"nodes; expected at most {ALIAS_FACTOR} times the {self.written} nodes "
                                         f"written (and at least {ALIAS_FLOOR})")

    def _mapping(self, node: yaml.MappingNode, depth: int, at: yaml.Node | None, aliased: bool) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        merges: list[tuple[yaml.Node, yaml.Node | None]] = []
        for key_node, value_node in node.value:
            where = at if aliased else key_node
            if key_node.tag == MERGE:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                merges.extend((source, where) for source in sources)
                continue
            key = self.build(key_node, depth, where, aliased)
            if isinstance(key, (dict, list)):
                raise YamlProblem(_line(where), "a mapping key must be a scalar")
            if key in out:
                raise YamlProblem(_line(where), f"duplicate key {key!r}")
            out[key] = self.build(value_node, depth, where, aliased)
        for source, where in merges:  # explicit keys win over merged ones, wherever they are written
            merged = self.build(source, depth, where, aliased)
            if not isinstance(merged, dict):
                raise YamlProblem(source.start_mark.line + 1, "a merge key (<<) needs a mapping")
            for key, value in merged.items():
                out.setdefault(key, value)
        return out


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _count_nodes(root: yaml.Node) -> int:
    """Distinct nodes of a document's graph (an anchored node counts once, however often aliased)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            continue
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


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
