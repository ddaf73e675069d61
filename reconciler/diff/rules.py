"""Small, named normalization steps shared by the per-kind normalizers.

Each normalizer turns a request-shaped dict (desired) or a describe response (observed) into one
canonical form, applying the same steps to both sides: fill the defaults AWS fills in, turn
order-insensitive lists into keyed maps or sorted sets, and drop what carries no meaning (None,
empty lists and maps). Keyed maps use "[key]" keys so change paths read like
`containerDefinitions[web].environment[LOG_LEVEL]`.
"""

from __future__ import annotations

import datetime
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


def bracket(mapping: dict[str, Any] | None) -> dict[str, Any]:
    """An API map (log options, docker labels) keyed like a collection, so it is compared whole and
    paths read `options[awslogs-group]`."""
    return {f"[{k}]": v for k, v in (mapping or {}).items()} if isinstance(mapping, dict) else mapping


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def as_set(items: Iterable[Any] | None) -> list[Any]:
    """An order-insensitive list, sorted canonically (dicts by their JSON)."""
    values = list(items or [])
    if len(values) < 2:
        return values
    if all(type(v) is str for v in values):
        return sorted(values)  # canonical too (both sides sort the same way), and far cheaper
    return sorted(values, key=_json_key)


def clone(value: Any) -> Any:
    """A copy of a JSON-shaped tree (maps, lists, immutable leaves): what `copy.deepcopy` gives for
    manifests and API responses, without its memo bookkeeping (normalizing a fleet copies a lot)."""
    if isinstance(value, dict):
        return {k: clone(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def fill(target: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Fill missing keys (recursively into nested maps that are present) with AWS defaults."""
    for key, default in defaults.items():
        if key not in target or target[key] is None:
            target[key] = clone(default)
        elif isinstance(default, dict) and isinstance(target[key], dict):
            fill(target[key], default)
    return target


def prune_empty(value: Any) -> Any:
    """Drop None, empty lists and empty maps at every depth: AWS returns [] for what was never set."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            if isinstance(v, (dict, list)):
                v = prune_empty(v)
                if not v:
                    continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [prune_empty(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def project(body: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Keep only request fields: everything else in a describe response is output-only."""
    allowed = set(fields)
    return {k: clone(v) for k, v in body.items() if k in allowed}


# placementStrategy `field` as ECS returns it: MEMORY / CPU upper case, `host` as `instanceId`.
PLACEMENT_FIELDS = {"memory": "MEMORY", "cpu": "CPU", "host": "instanceId"}


def placement_strategy(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """An ordered list (strategies apply in order) with `field` spelled the way ECS returns it."""
    out = []
    for item in items or []:
        item = dict(item)
        if isinstance(item.get("field"), str):
            item["field"] = PLACEMENT_FIELDS.get(item["field"].lower(), item["field"])
        out.append(item)
    return out


def squash_spaces(text: str | None) -> str | None:
    return " ".join(text.split()) if isinstance(text, str) else text


def arn_name(value: str | None) -> str | None:
    """`arn:...:cluster/name` -> `name`; a plain name stays as it is."""
    if isinstance(value, str) and value.startswith("arn:"):
        return value.rsplit("/", 1)[-1]
    return value


def namespace_name(value: Any, namespaces: dict[str, str]) -> Any:
    """A Cloud Map namespace as its name: AWS returns the ARN, a manifest may give either; an ARN
    whose name was not read stays its last segment (the namespace id)."""
    if isinstance(value, str) and value.startswith("arn:"):
        return namespaces.get(value, arn_name(value))
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


def instant(value: Any) -> Any:
    """A timestamp as ISO 8601 in UTC: a manifest writes a string, boto3 returns a datetime, and
    some APIs answer epoch seconds. Anything else is left as it is, for the diff to show."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat()
    return value
