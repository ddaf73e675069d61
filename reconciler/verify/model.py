"""What `verify` reports: one line per check, each naming the manifest, the field and the thing checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK, NG, SKIP, UNVERIFIED = "OK", "NG", "skip", "not verified"


@dataclass(frozen=True)
class Check:
    status: str  # OK | NG | skip | not verified
    file: str
    line: int | None
    resource: str  # Kind/name
    path: str  # spec.containerDefinitions[0].image
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.status.upper() if self.status != UNVERIFIED else 'NOT VERIFIED':<12} {where}: {self.resource}: {self.path}: {self.message}"

    def document(self) -> dict[str, Any]:
        return {"status": self.status, "file": self.file, "line": self.line, "resource": self.resource,
                "path": self.path, "message": self.message}


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == NG]

    @property
    def unverified(self) -> list[Check]:
        return [c for c in self.checks if c.status == UNVERIFIED]

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def counts(self) -> dict[str, int]:
        out = {OK: 0, NG: 0, SKIP: 0, UNVERIFIED: 0}
        for check in self.checks:
            out[check.status] += 1
        return out

    def summary(self) -> str:
        c = self.counts()
        return f"{c[OK]} OK, {c[NG]} NG, {c[SKIP]} skipped, {c[UNVERIFIED]} not verified"

    def failed_resources(self) -> dict[str, list[Check]]:
        """Kind/name -> its NG checks."""
        out: dict[str, list[Check]] = {}
        for check in self.failures:
            out.setdefault(check.resource, []).append(check)
        return out

    def document(self) -> dict[str, Any]:
        return {"checks": [c.document() for c in self.checks], "summary": self.counts()}
