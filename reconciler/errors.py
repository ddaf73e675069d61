"""Errors that carry where they come from, so a person can fix the manifest at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ManifestError:
    file: str
    line: int | None
    resource: str | None  # "Kind/name"
    path: str | None  # "spec.containerDefinitions[0].image"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.resource:
            parts.append(self.resource)
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)


class InvalidManifests(Exception):
    """Raised with every problem found, so one run reports them all."""

    def __init__(self, errors: list[ManifestError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ReconcileError(Exception):
    """An AWS-side failure or a refused action (ownership conflict, replace without permission)."""
