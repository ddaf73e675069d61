"""Documents rendered by kustomize, located in the files they were written in.

kustomize's output has no file or line, so each rendered document is matched to the source document
it came from (the origin annotation names the file; kind and name pick the document in it), and the
rendered YAML nodes are given that document's lines, field by field: an error in a rendered manifest
names the source file, the document and, where the field is written there, its line. A field that a
patch added has the line of the nearest enclosing field of the source document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..errors import ManifestError
from ..sources.kustomize import KustomizeError, RenderedDocument, kustomization_file, local_bases, render
from .yaml_source import Document, YamlProblem, parse_documents


@dataclass
class SourcedDocument:
    data: Any
    node: Any
    file: str


def load_kustomization(directory: Path, shown_as: str, errors: list[ManifestError]) -> Iterator[SourcedDocument]:
    """Render the kustomization in `directory` (named `shown_as` in messages) and locate each document."""
    root = directory.resolve()
    try:
        rendered = render(directory)
    except KustomizeError as exc:
        # kustomize names neither line nor full path of a YAML mistake: find it with our own parser.
        located = list(_yaml_problems(root, shown_as))
        errors.extend(located or [ManifestError(_shown(Path(exc.file), root, shown_as), None, None, None,
                                                f"kustomize: {exc.message}")])
        return
    sources: dict[Path, list[Document]] = {}
    kustomization = kustomization_file(root) or root
    for item in rendered:
        origin = item.origin
        if origin is None:  # made by the kustomization itself (a generator): located at the kustomization
            _remap(item.node, None, 0)
            yield SourcedDocument(item.data, item.node, _shown(kustomization, root, shown_as))
            continue
        if origin not in sources:
            sources[origin] = _parse(origin)
        source = _match(item, sources[origin])
        _remap(item.node, source.node if source else None, source.node.start_mark.line if source else 0)
        yield SourcedDocument(item.data, item.node, _shown(origin, root, shown_as))


def _yaml_problems(root: Path, shown_as: str) -> Iterator[ManifestError]:
    """Located YAML errors in the files of the kustomization and its local bases."""
    for directory in [root, *local_bases(root)]:
        for file in sorted(directory.rglob("*")):
            if file.suffix not in (".yaml", ".yml") or not file.is_file():
                continue
            try:
                parse_documents(file.read_text(encoding="utf-8"))
            except YamlProblem as exc:
                yield ManifestError(_shown(file, root, shown_as), exc.line, None, None, f"invalid YAML: {exc.message}")
            except (OSError, UnicodeDecodeError):
                continue


def _shown(path: Path, root: Path, shown_as: str) -> str:
    """`path` as the person named it: relative to the path they gave when that was relative."""
    try:
        relative = os.path.relpath(path, root)
    except ValueError:
        return str(path)
    return os.path.normpath(os.path.join(shown_as, relative))


def _parse(file: Path) -> list[Document]:
    try:
        return parse_documents(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YamlProblem):
        return []


def _match(item: RenderedDocument, candidates: list[Document]) -> Document | None:
    """The source document `item` was rendered from: same kind, and the longest source name that the
    rendered name contains (namePrefix and nameSuffix only add to a name)."""
    data = item.data if isinstance(item.data, dict) else {}
    kind = data.get("kind")
    name = str((data.get("metadata") or {}).get("name") or "")
    same_kind = [d for d in candidates if isinstance(d.data, dict) and d.data.get("kind") == kind]
    named = [(len(str(n)), d) for d in same_kind
             if (n := (d.data.get("metadata") or {}).get("name") if isinstance(d.data.get("metadata"), dict) else None)
             and str(n) in name]
    if named:
        return max(named, key=lambda pair: pair[0])[1]
    return same_kind[0] if len(same_kind) == 1 else None


def _mark(line: int) -> yaml.Mark:
    return yaml.Mark("", 0, line, 0, None, None)


def _remap(node: Any, source: Any, line: int) -> None:
    """Give `node` (rendered) and its children the lines of the matching nodes under `source`."""
    if source is not None:
        line = source.start_mark.line
    node.start_mark = _mark(line)
    if isinstance(node, yaml.MappingNode):
        pairs = {}
        if isinstance(source, yaml.MappingNode):
            pairs = {getattr(k, "value", None): (k, v) for k, v in source.value}
        for key, value in node.value:
            source_key, source_value = pairs.get(key.value, (None, None))
            key_line = source_key.start_mark.line if source_key is not None else line
            key.start_mark = _mark(key_line)
            _remap(value, source_value, key_line)
    elif isinstance(node, yaml.SequenceNode):
        items = source.value if isinstance(source, yaml.SequenceNode) else []
        by_name = {n: item for item in items if (n := _item_name(item)) is not None}
        for index, item in enumerate(node.value):
            name = _item_name(item)
            match = by_name.get(name) if name is not None else (items[index] if index < len(items) else None)
            _remap(item, match, line)


def _item_name(node: Any) -> str | None:
    """A list item's `name` (containers, environment variables): items are matched by it when present."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "name" and isinstance(value, yaml.ScalarNode):
                return value.value
    return None
