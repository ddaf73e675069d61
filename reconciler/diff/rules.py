"""Small, named normalization steps shared by the per-kind normalizers.

Each normalizer turns a request-shaped dict (desired) or a describe response (observed) into one
canonical form, applying the same steps to both sides: fill the defaults AWS fills in, turn
order-insensitive lists into keyed maps or sorted sets, and drop what carries no meaning (None,
empty lists and maps). Keyed maps use "[key]" keys so change paths read like
`containerDefinitions[web].environment[LOG_LEVEL]`.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Iterable


def keyed(items: list[dict[str, Any]] | None, key: str | Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A list whose order means nothing, as a map from each item's identity to the item."""
    out: dict[str, Any] = {}
    for item in items or []:
        ident = key(item) if callable(key) else item.get(key)
        out[f"[{ident}]"] = item
    return out


def keyed_values(items: list[dict[str, Any]] | None, key: str, value: str) -> dict[str, Any]:
    """Name/value pair lists (environment, secrets) as `{"[NAME]": value}`."""
    return {f"[{item.get(key)}]": item.get(value) for item in items or []}


def as_set(items: Iterable[Any] | None) -> list[Any]:
    """An order-insensitive list, sorted canonically (dicts by their JSON)."""
    values = list(items or [])
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True, default=str))


def fill(target: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Fill missing keys (recursively into nested maps that are present) with AWS defaults."""
    for key, default in defaults.items():
        if key not in target or target[key] is None:
            target[key] = copy.deepcopy(default)
        elif isinstance(default, dict) and isinstance(target[key], dict):
            fill(target[key], default)
    return target


def prune_empty(value: Any) -> Any:
    """Drop None, empty lists and empty maps at every depth: AWS returns [] for what was never set."""
    if isinstance(value, dict):
        out = {k: prune_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [prune_empty(v) for v in value]
    return value


def project(body: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Keep only request fields: everything else in a describe response is output-only."""
    allowed = set(fields)
    return {k: copy.deepcopy(v) for k, v in body.items() if k in allowed}


def squash_spaces(text: str | None) -> str | None:
    return " ".join(text.split()) if isinstance(text, str) else text


def arn_name(value: str | None) -> str | None:
    """`arn:...:cluster/name` -> `name`; a plain name stays as it is."""
    if isinstance(value, str) and value.startswith("arn:"):
        return value.rsplit("/", 1)[-1]
    return value


def family_revision(value: str | None) -> str | None:
    """A task definition ARN as `family:revision`; other forms stay as they are."""
    if isinstance(value, str) and value.startswith("arn:") and ":task-definition/" in value:
        return value.split(":task-definition/", 1)[1]
    return value


def resolve_family(ref: str | None, latest: str | None) -> str | None:
    """A bare family means its latest ACTIVE revision: `web` with latest `web:7` -> `web:7`."""
    if isinstance(ref, str) and ":" not in ref and isinstance(latest, str) and latest.split(":", 1)[0] == ref:
        return latest
    return ref
