"""Compare two canonical forms with deepdiff and report field-level changes with readable paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from deepdiff import DeepDiff

_MISSING = object()


@dataclass(frozen=True)
class Change:
    """One differing field: `path` like `spec.containerDefinitions[web].image`. None means absent."""

    path: str
    desired: Any
    observed: Any


def format_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith("[") and part.endswith("]"):
            out += part
        else:
            out += ("." if out else "") + str(part)
    return out


def _get(tree: Any, parts: list[Any]) -> Any:
    for part in parts:
        try:
            tree = tree[part]
        except (KeyError, IndexError, TypeError):
            return None
    return tree


def compare(desired: dict[str, Any], observed: dict[str, Any], prefix: str = "spec") -> list[Change]:
    """Field changes from observed to desired. A list that differs is reported whole, at its own path."""
    if desired == observed:
        return []  # the common case (in sync): plain equality is far cheaper than a deepdiff walk
    diff = DeepDiff(observed, desired, view="tree", ignore_order=False, verbose_level=2)
    paths: dict[str, list[Any]] = {}
    for levels in diff.values():
        for level in levels:
            parts = level.path(output_format="list")
            # Collapse changes inside a list to the list itself: a list is one value to a person.
            for index, part in enumerate(parts):
                if isinstance(part, int):
                    parts = parts[:index]
                    break
            paths.setdefault(format_path(parts), parts)
    changes = [
        Change(f"{prefix}.{path}" if path else prefix, _get(desired, parts), _get(observed, parts))
        for path, parts in paths.items()
    ]
    return sorted(changes, key=lambda c: c.path)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """`containerDefinitions[*].image` style patterns: `[*]` is any key, `*` any field name."""
    pattern = pattern[5:] if pattern.startswith("spec.") else pattern
    regex = re.escape(pattern).replace(r"\[\*\]", r"\[[^\]]*\]").replace(r"\*", r"[^.\[]*")
    return re.compile(rf"^{regex}(?:[.\[].*)?$")


def is_ignored(path: str, patterns: Iterable[str]) -> bool:
    """True when `path` is, or lies under, one of the ignore patterns (`spec.` prefix optional)."""
    bare = path[5:] if path.startswith("spec.") else path
    return any(_pattern_regex(p).match(bare) for p in patterns)
