"""A validated set of manifests: what every layer after loading reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import ManifestError
from .base import ManifestBase
from .kinds import KIND_ORDER
from .positions import line_of
from .substitution import Origin


@dataclass
class Located:
    """A validated manifest and where it was written."""

    manifest: ManifestBase
    file: str
    line: int
    node: Any = field(repr=False, default=None)  # the YAML node tree, for locating fields later
    target: str | None = None  # the Target it lives in (desired/targeting.py); None: ambient credentials and Region

    @property
    def key(self) -> tuple[str, str]:
        return self.manifest.key

    @property
    def label(self) -> str:
        return f"{self.manifest.KIND}/{self.manifest.name}"

    def line_of(self, path: Iterable[Any]) -> int:
        return line_of(self.node, list(path)) or self.line


@dataclass
class DesiredState:
    """Every manifest of a source, in apply order (clusters, task definitions, services, scheduled tasks)."""

    resources: list[Located]
    # What was accepted but not taken as written (output-only fields, empty enums, ...), located.
    warnings: list[ManifestError] = field(default_factory=list)
    # Where each `${...}` value came from (plan --show-origins); empty when nothing was substituted.
    origins: list[Origin] = field(default_factory=list)
    uses_references: bool = False  # some value came from elsewhere, so it can change without a commit
    # `kind: Target` manifests by name (desired/targeting.py). Names are unique per target, so with
    # more than one target `get` is ambiguous: the layers after loading work on `by_target()` parts.
    targets: dict[str, Located] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.resources.sort(key=lambda r: (KIND_ORDER[r.manifest.KIND], r.manifest.name, r.target or ""))
        self._by_key = {r.key: r for r in self.resources}

    def by_target(self) -> dict[str | None, DesiredState]:
        """One state per target the resources live in (None: the ambient one), each holding only its own
        Target; a declared Target without resources still gets an (empty) part, so it is planned and reported."""
        names: list[str | None] = sorted({r.target for r in self.resources} | set(self.targets),
                                         key=lambda n: (n is not None, n or ""))
        return {name: DesiredState([r for r in self.resources if r.target == name], list(self.warnings),
                                   list(self.origins), self.uses_references,
                                   {name: self.targets[name]} if name in self.targets else {})
                for name in names}

    def get(self, kind: str, name: str) -> Located | None:
        return self._by_key.get((kind, name))

    def of_kind(self, kind: str) -> list[Located]:
        return [r for r in self.resources if r.manifest.KIND == kind]

    def __len__(self) -> int:
        return len(self.resources)
