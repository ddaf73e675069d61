"""kstatus-style conditions (Ready / Reconciling / Stalled) and the rest of an object's status."""

from __future__ import annotations

import datetime
from typing import Any

from ..report.masking import mask_text

CONDITION_TYPES = ("Ready", "Reconciling", "Stalled")


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(previous: list[dict[str, Any]] | None, generation: int | None, **states: tuple[bool, str, str]) -> list[dict[str, Any]]:
    """Conditions with `states[type] = (status, reason, message)`; a condition whose status did not
    change keeps its lastTransitionTime, as kstatus readers expect."""
    old = {c.get("type"): c for c in previous or []}
    result = []
    for kind in CONDITION_TYPES:
        status, reason, message = states.get(kind, (False, "", ""))
        value = "True" if status else "False"
        before = old.get(kind) or {}
        condition = {
            "type": kind,
            "status": value,
            "reason": reason or ("Ready" if kind == "Ready" and status else "AsExpected"),
            "message": mask_text(message),  # an AWS or validation error may quote a value
            "lastTransitionTime": before.get("lastTransitionTime") if before.get("status") == value else now(),
        }
        if generation is not None:
            condition["observedGeneration"] = generation
        result.append(condition)
    return result


def ready(previous: Any, generation: int | None, message: str) -> list[dict[str, Any]]:
    return conditions(previous, generation, Ready=(True, "Synced", message))


def reconciling(previous: Any, generation: int | None, reason: str, message: str) -> list[dict[str, Any]]:
    return conditions(previous, generation, Reconciling=(True, reason, message), Ready=(False, reason, message))


def stalled(previous: Any, generation: int | None, reason: str, message: str) -> list[dict[str, Any]]:
    return conditions(previous, generation, Stalled=(True, reason, message), Ready=(False, reason, message))
