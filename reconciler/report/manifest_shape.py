"""Show a whole resource the way its manifest is written: the spec a create will send, or the spec
(in manifest shape) of what a delete removes, as indented YAML, attribute by attribute.

The diff compares canonical forms (`portMappings: {"[80/tcp]": ...}`, `options[awslogs-group]`),
shapes nobody writes. A create shows the request-shaped spec the manifest gave (references
resolved); a delete shows the observed resource turned back into a manifest spec by the same
per-kind functions `export` uses (the normalizers run in reverse). One entry per kind in
`OBSERVED_SPEC`: a new kind adds its own.
"""

from __future__ import annotations

import io
from typing import Any, Callable

import yaml
from ruamel.yaml import YAML

from ..observed.state import Observed
from ..ownership import ecs_tag_list, user_tags
from ..plan.model import Action
from .masking import mask_tree


def _cluster(obs: Observed) -> dict[str, Any]:
    from ..export import cluster_document

    return cluster_document({**obs.body, "tags": ecs_tag_list(user_tags(obs.tags))})["spec"]


def _task_definition(obs: Observed) -> dict[str, Any]:
    from ..export import task_definition_document

    return task_definition_document(obs.body, ecs_tag_list(user_tags(obs.tags)))["spec"]


def _service(obs: Observed) -> dict[str, Any]:
    from ..export import service_document

    return service_document({**obs.body, "tags": ecs_tag_list(user_tags(obs.tags))})["spec"]


def _scheduled_task(obs: Observed) -> dict[str, Any]:
    from ..export import scheduled_task_document

    return scheduled_task_document(obs.body["rule"], obs.body.get("target") or {}, user_tags(obs.tags))["spec"]


def _schedule(obs: Observed) -> dict[str, Any]:
    from ..export import schedule_document

    if "EcsParameters" not in (obs.body.get("Target") or {}):
        return {k: v for k, v in obs.body.items() if k not in ("Arn", "Name", "CreationDate", "LastModificationDate")}
    return schedule_document(obs.body)["spec"]


def _capacity_provider(obs: Observed) -> dict[str, Any]:
    from ..export import capacity_provider_document

    return capacity_provider_document({**obs.body, "tags": ecs_tag_list(user_tags(obs.tags))})["spec"]


# kind -> the observed resource as a manifest spec
OBSERVED_SPEC: dict[str, Callable[[Observed], dict[str, Any]]] = {
    "Cluster": _cluster,
    "TaskDefinition": _task_definition,
    "Service": _service,
    "ScheduledTask": _scheduled_task,
    "Schedule": _schedule,
    "CapacityProvider": _capacity_provider,
}


def desired_spec(action: Action, show_sensitive: bool = False) -> dict[str, Any] | None:
    """The spec a create (or the create half of a replace) sends, in manifest shape, masked."""
    if action.action not in ("create", "replace") or not action.request:
        return None
    spec = dict(action.request)
    if action.desired is not None:
        if action.desired.manifest.spec.tags:
            spec["tags"] = dict(action.desired.manifest.spec.tags)
        node = _child(action.desired.node, "spec")
        spec = as_written(spec, node) if _hand_written(node) else person_order(spec)
    return spec if show_sensitive else mask_tree(spec)


def _child(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    return None


def as_written(value: Any, node: Any) -> Any:
    """`value` with its mappings' keys in the order the manifest's YAML `node` wrote them (keys the
    manifest did not write, such as a resolved reference, keep their place after them)."""
    if isinstance(value, dict):
        order = [getattr(k, "value", None) for k, _ in node.value] if isinstance(node, yaml.MappingNode) else []
        keys = [k for k in order if k in value] + [k for k in value if k not in order]
        return {k: as_written(value[k], _child(node, k)) for k in keys}
    if isinstance(value, list):
        items = node.value if isinstance(node, yaml.SequenceNode) else []
        return [as_written(v, items[i] if i < len(items) else None) for i, v in enumerate(value)]
    return value


def _hand_written(node: Any) -> bool:
    """A spec node in an order a person chose: kustomize writes every mapping's keys sorted."""
    if not isinstance(node, yaml.MappingNode):
        return False
    keys = [getattr(k, "value", "") for k, _ in node.value]
    return len(keys) < 3 or keys != sorted(keys)


NAMES_FIRST = ("name", "containerName", "capacityProvider", "containerPort", "key")


def person_order(spec: dict[str, Any]) -> dict[str, Any]:
    """The order a person writes (as `export` does): what and where first, container details and
    tags last; in nested mappings, the field that names the item first."""
    from ..export import _ordered

    def nested(value: Any) -> Any:
        if isinstance(value, dict):
            keys = [k for k in NAMES_FIRST if k in value] + [k for k in value if k not in NAMES_FIRST]
            return {k: nested(value[k]) for k in keys}
        if isinstance(value, list):
            return [nested(v) for v in value]
        return value

    return {k: nested(v) for k, v in _ordered(spec).items()}


def observed_spec(action: Action, show_sensitive: bool = False) -> dict[str, Any] | None:
    """What a delete removes, in manifest shape, masked; None when the kind has no converter or
    the observed body cannot be read back (the plan still names the resource)."""
    if action.action != "delete" or action.observed is None:
        return None
    convert = OBSERVED_SPEC.get(action.kind)
    if convert is None:
        return None
    try:
        spec = person_order(convert(action.observed))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return spec if show_sensitive else mask_tree(spec)


def yaml_lines(spec: dict[str, Any]) -> list[str]:
    """`spec` as block YAML lines (no trailing newline), in the order it was written."""
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    out = io.StringIO()
    yaml.dump(spec, out)
    return out.getvalue().rstrip("\n").splitlines()
