"""Render a plan for people (terraform-style text), machines (JSON) and pull requests (Markdown).

Every renderer goes through `masked_changes` and `masked_reasons`, so no secret value reaches any
output unless `show_sensitive` asks for it.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ..plan.model import Action, Plan
from .masking import mask_text, mask_value

SYMBOLS = {"create": ("+", "green"), "update": ("~", "yellow"), "replace": ("-/+", "magenta"),
           "delete": ("-", "red"), "conflict": ("!", "red"), "none": (" ", None)}


def masked_changes(action: Action, show_sensitive: bool = False) -> list[dict[str, Any]]:
    out = []
    for change in action.changes:
        desired, observed = change.desired, change.observed
        if not show_sensitive:
            desired, observed = mask_value(change.path, desired), mask_value(change.path, observed)
        out.append({"path": change.path, "desired": desired, "observed": observed})
    return out


def masked_reasons(action: Action, show_sensitive: bool = False) -> list[str]:
    return list(action.reasons) if show_sensitive else [mask_text(r) for r in action.reasons]


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, default=str)


def render_text(plan: Plan, color: bool = True, show_sensitive: bool = False) -> str:
    def style(text: str, fg: str | None) -> str:
        return click.style(text, fg=fg) if color and fg else text

    lines: list[str] = []
    for action in plan.pending:
        symbol, fg = SYMBOLS[action.action]
        header = f"{symbol} {action.label}"
        reasons = masked_reasons(action, show_sensitive)
        note = f"  ({'; '.join(reasons)})" if reasons else ""
        lines.append(style(header, fg) + note)
        for change in masked_changes(action, show_sensitive):
            if action.action == "create":
                lines.append(style(f"    + {change['path']} = {_value(change['desired'])}", "green"))
            elif change["desired"] is None:
                lines.append(style(f"    - {change['path']} = {_value(change['observed'])}", "red"))
            elif change["observed"] is None:
                lines.append(style(f"    + {change['path']} = {_value(change['desired'])}", "green"))
            else:
                lines.append(style(f"    ~ {change['path']}: {_value(change['observed'])} -> {_value(change['desired'])}",
                                   "yellow"))
        lines.append("")
    lines.append(summary_line(plan))
    return "\n".join(lines)


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    if not plan.has_changes:
        return f"No changes. {s['none']} resources in sync."
    text = (f"Plan: {s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
            f"{s['delete']} to delete, {s['none']} in sync.")
    if s["conflict"]:
        text += f" {s['conflict']} conflict(s): apply will refuse."
    return text


def render_json(plan: Plan, show_sensitive: bool = False) -> str:
    return json.dumps(plan_document(plan, show_sensitive), indent=2, sort_keys=False, default=str)


def plan_document(plan: Plan, show_sensitive: bool = False) -> dict[str, Any]:
    return {
        "resources": [
            {"kind": a.kind, "name": a.name, "action": a.action, "reasons": masked_reasons(a, show_sensitive),
             "changes": masked_changes(a, show_sensitive)}
            for a in plan.actions
        ],
        "summary": plan.summary(),
    }


def render_markdown(plan: Plan, show_sensitive: bool = False) -> str:
    lines = ["### ecs-reconciler plan", "", summary_line(plan), ""]
    if plan.has_changes:
        lines += ["| action | resource | why |", "| --- | --- | --- |"]
        lines += [f"| {a.action} | `{a.label}` | {'; '.join(masked_reasons(a, show_sensitive))} |" for a in plan.pending]
        lines.append("")
        for action in plan.pending:
            lines += [f"<details><summary>{action.action} <code>{action.label}</code></summary>", "", "```diff"]
            for change in masked_changes(action, show_sensitive):
                if change["observed"] is not None and action.action != "create":
                    lines.append(f"- {change['path']}: {_value(change['observed'])}")
                if change["desired"] is not None:
                    lines.append(f"+ {change['path']}: {_value(change['desired'])}")
            lines += ["```", "", "</details>", ""]
    return "\n".join(lines)
