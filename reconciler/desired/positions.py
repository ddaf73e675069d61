"""Map a field path inside a parsed YAML document back to the line it was written on."""

from __future__ import annotations

from typing import Any, Sequence

import yaml


def line_of(node: Any, path: Sequence[Any]) -> int | None:
    """1-based line of the deepest element of `path` that exists under `node` (a document's root
    node); None when there is no node (a document that did not come from YAML text)."""
    if not isinstance(node, yaml.Node):
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def format_path(path: Sequence[Any]) -> str:
    """('spec', 'containerDefinitions', 0, 'image') -> 'spec.containerDefinitions[0].image'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
