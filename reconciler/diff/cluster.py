"""Canonical form of a cluster, for desired specs and DescribeClusters responses alike."""

from __future__ import annotations

from typing import Any

from ..desired.shapes import service_model
from .rules import as_set, keyed, keyed_values, namespace_name, prune_empty, project

REQUEST_FIELDS = [m for m in service_model("ecs").operation_model("CreateCluster").input_shape.members
                  if m not in ("clusterName", "tags")]
SETTING_DEFAULTS = {"[containerInsights]": "disabled"}


def normalize(spec: dict[str, Any], namespaces: dict[str, str] | None = None) -> dict[str, Any]:
    """Canonical form of a CreateCluster request or a DescribeClusters response; `namespaces` maps
    Cloud Map namespace ARNs to names (read by the observed side)."""
    cluster = project(spec, REQUEST_FIELDS)
    settings = keyed_values(cluster.get("settings"), "name", "value")
    cluster["settings"] = {**SETTING_DEFAULTS, **settings}
    cluster["capacityProviders"] = as_set(cluster.get("capacityProviders"))
    strategy = [dict({"base": 0, "weight": 0}, **item) for item in cluster.get("defaultCapacityProviderStrategy") or []]
    cluster["defaultCapacityProviderStrategy"] = keyed(strategy, "capacityProvider")
    defaults = cluster.get("serviceConnectDefaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("namespace"), str):
        defaults["namespace"] = namespace_name(defaults["namespace"], namespaces or {})
    return prune_empty(cluster)
