"""`--target KIND/NAME`: plan and apply only some resources, and what they depend on.

A target keeps its dependencies (the cluster a service runs in, the task definition it runs,
transitively), never its dependents: the same rule as `terraform plan -target`. Dependencies are
found through the spec fields that name another manifest (`REFERENCE_FIELDS`, the same fields
desired/references.py resolves), whatever the kind, so a new kind with a `cluster` field is covered.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..desired.references import cluster_name
from ..desired.state import DesiredState, Located
from ..errors import ReconcileError

# spec field -> the kind of manifest it may name
REFERENCE_FIELDS = {"cluster": "Cluster", "taskDefinition": "TaskDefinition"}


@dataclass
class Targeting:
    targets: list[str]
    # dependency label -> the targeted (or included) resources that need it
    dependencies: dict[str, list[str]] = field(default_factory=dict)

    def document(self) -> dict:
        return {"targets": list(self.targets), "dependencies": {k: list(v) for k, v in self.dependencies.items()}}

    def lines(self) -> list[str]:
        out = [f"Targeted: {', '.join(self.targets)} (and what they depend on; nothing else is planned)."]
        out += [f"Included as a dependency: {label} (needed by {', '.join(by)})."
                for label, by in self.dependencies.items()]
        return out


def parse_target(text: str, desired: DesiredState) -> Located:
    kind, sep, name = text.partition("/")
    if not sep or not kind or not name:
        raise ReconcileError(f"--target {text!r}: expected KIND/NAME, e.g. Service/web")
    match = next((r for r in desired.resources if r.manifest.KIND.lower() == kind.lower() and r.manifest.name == name),
                 None)
    if match is None:
        known = ", ".join(r.label for r in desired.resources)
        raise ReconcileError(f"--target {text}: no such manifest (the manifests name: {known})")
    return match


def _named(item: Located) -> list[tuple[str, object]]:
    """(kind named, value) for each reference field of `item`: the shared fields, a Schedule's target
    (Target.Arn, EcsParameters.TaskDefinitionArn) and a Cluster's capacity providers."""
    manifest = item.manifest
    if manifest.KIND == "Schedule":
        return [("Cluster", manifest.cluster_ref), ("TaskDefinition", manifest.task_definition_ref)]
    named = [(kind, getattr(manifest.spec, name, None)) for name, kind in REFERENCE_FIELDS.items()]
    if manifest.KIND == "Cluster":
        named += [("CapacityProvider", p) for p in getattr(manifest.spec, "capacityProviders", None) or []]
    return named


def references(item: Located, desired: DesiredState) -> list[Located]:
    """The manifests `item` names through its reference fields."""
    found = []
    for kind, value in _named(item):
        if not isinstance(value, str) or not value:
            continue
        other = desired.get(kind, cluster_name(value) if kind == "Cluster" else value)
        if other is not None and other is not item:
            found.append(other)
    return found


def select(desired: DesiredState, targets: tuple[str, ...] | list[str]) -> tuple[DesiredState, Targeting | None]:
    """The targeted manifests and their dependencies, and how each dependency came in."""
    if not targets:
        return desired, None
    chosen = [parse_target(t, desired) for t in targets]
    targeting = Targeting([c.label for c in chosen])
    keep = {c.key: c for c in chosen}
    queue = list(chosen)
    while queue:
        item = queue.pop(0)
        for dep in references(item, desired):
            if dep.key not in keep:
                keep[dep.key] = dep
                queue.append(dep)
            if dep.label not in targeting.targets:
                needed = targeting.dependencies.setdefault(dep.label, [])
                if item.label not in needed:
                    needed.append(item.label)
    subset = dataclasses.replace(desired, resources=[r for r in desired.resources if r.key in keep])
    return subset, targeting
