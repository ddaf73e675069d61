"""Checks that run before the first write: a plan that cannot be applied whole is not started."""

from __future__ import annotations

from ..errors import ReconcileError
from ..plan.model import Plan


def check_applicable(plan: Plan, allow_replace: bool) -> None:
    problems = [f"{a.label}: conflict: {'; '.join(a.reasons)}" for a in plan.conflicts]
    if not allow_replace:
        problems += [f"{a.label}: needs a replace ({'; '.join(a.reasons)}); re-run with --allow-replace"
                     for a in plan.actions if a.action == "replace"]
    if problems:
        raise ReconcileError("nothing was applied:\n  " + "\n  ".join(problems))
