"""Render a plan for people (terraform-style text), machines (JSON) and pull requests (Markdown).

All three come from the same pieces: each action's impact (plan/impact.py), its field changes
(updates), and, for creates and deletes, the whole resource in its manifest's shape
(manifest_shape.py). Every renderer goes through `masked_changes`, `masked_reasons` and the masked
specs, so no secret value reaches any output unless `show_sensitive` asks for it. The JSON document
is a stable, versioned contract: docs/plan-json.md.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ..plan.impact import impact_of, planned_calls, services_rolling
from ..plan.model import Action, Plan
from ..ratelimit import projected_seconds
from .manifest_shape import desired_spec, observed_spec, yaml_lines
from .masking import mask_text, mask_value

FORMAT_VERSION = 1
SYMBOLS = {"create": ("+", "green"), "update": ("~", "yellow"), "replace": ("-/+", "magenta"),
           "delete": ("-", "red"), "conflict": ("!", "red"), "none": (" ", None)}
# GitHub refuses a comment longer than this many characters.
COMMENT_LIMIT = 65536


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


def impact_text(action: Action, show_sensitive: bool = False) -> str:
    text = impact_of(action).text
    return text if show_sensitive else mask_text(text)


def impact_notes(action: Action, show_sensitive: bool = False) -> list[str]:
    notes = impact_of(action).notes
    return list(notes) if show_sensitive else [mask_text(n) for n in notes]


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, default=str)


def body_lines(action: Action, show_sensitive: bool = False) -> list[tuple[str, str]]:
    """(sign, text) lines of one action's body: the whole spec for a create or delete, the field
    changes for an update (a replace shows both: what changes, then what is created)."""
    lines: list[tuple[str, str]] = []
    if action.action in ("update", "replace", "conflict"):
        for change in masked_changes(action, show_sensitive):
            if change["desired"] is None:
                lines.append(("-", f"{change['path']} = {_value(change['observed'])}"))
            elif change["observed"] is None:
                lines.append(("+", f"{change['path']} = {_value(change['desired'])}"))
            else:
                lines.append(("~", f"{change['path']}: {_value(change['observed'])} -> {_value(change['desired'])}"))
    spec = desired_spec(action, show_sensitive) if action.action == "create" else observed_spec(action, show_sensitive)
    if spec is not None:
        sign = "+" if action.action == "create" else "-"
        lines.append((sign, "spec:"))
        lines += [(sign, "  " + line) for line in yaml_lines(spec)]
    return lines


def api_calls_line(plan: Plan) -> str:
    calls = planned_calls(plan)
    if not calls:
        return "API calls: none."
    projected = projected_seconds(calls)
    listed = ", ".join(f"{op} x{n}" for (_, op), n in sorted(calls.items(), key=lambda kv: kv[0][1]))
    return (f"API calls: {sum(calls.values())} ({listed}); the ECS rate limits allow them in "
            f"{projected['seconds']:.1f} s at least.")


def render_text(plan: Plan, color: bool = True, show_sensitive: bool = False) -> str:
    def style(text: str, fg: str | None) -> str:
        return click.style(text, fg=fg) if color and fg else text

    colors = {"+": "green", "-": "red", "~": "yellow"}
    lines: list[str] = []
    for action in plan.pending:
        symbol, fg = SYMBOLS[action.action]
        reasons = masked_reasons(action, show_sensitive)
        note = f"  ({'; '.join(reasons)})" if reasons else ""
        lines.append(style(f"{symbol} {action.label}", fg) + note)
        lines.append(f"    impact: {impact_text(action, show_sensitive)}")
        lines += [f"    note: {note}" for note in impact_notes(action, show_sensitive)]
        for sign, text in body_lines(action, show_sensitive):
            lines.append(style(f"    {sign} {text}", colors[sign]))
        lines.append("")
    lines.append(summary_line(plan))
    if plan.has_changes:
        lines.append(api_calls_line(plan))
    if plan.targeting is not None:
        lines += plan.targeting.lines()
    return "\n".join(lines)


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    if not plan.has_changes:
        return f"No changes. {s['none']} resources in sync."
    text = (f"Plan: {s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
            f"{s['delete']} to delete, {s['none']} in sync.")
    rolling = len(services_rolling(plan))
    text += f" {rolling} service{'s' if rolling != 1 else ''} will roll."
    if s["conflict"]:
        text += f" {s['conflict']} conflict(s): apply will refuse."
    return text


def render_json(plan: Plan, show_sensitive: bool = False) -> str:
    return json.dumps(plan_document(plan, show_sensitive), indent=2, sort_keys=False, default=str)


def resource_document(action: Action, show_sensitive: bool = False) -> dict[str, Any]:
    impact = impact_of(action).document()
    if not show_sensitive:
        impact["text"] = mask_text(impact["text"])
        impact["notes"] = [mask_text(n) for n in impact["notes"]]
    doc: dict[str, Any] = {"kind": action.kind, "name": action.name, "action": action.action,
                           "reasons": masked_reasons(action, show_sensitive), "impact": impact,
                           "dependsOn": list(action.depends_on),
                           "changes": masked_changes(action, show_sensitive)}
    if action.action in ("create", "replace"):
        doc["desiredSpec"] = desired_spec(action, show_sensitive)
    if action.action == "delete":
        doc["observedSpec"] = observed_spec(action, show_sensitive)
    return doc


def plan_document(plan: Plan, show_sensitive: bool = False) -> dict[str, Any]:
    calls = planned_calls(plan)
    projected = projected_seconds(calls)
    return {
        "formatVersion": FORMAT_VERSION,
        "resources": [resource_document(a, show_sensitive) for a in plan.actions],
        "summary": {**plan.summary(), "servicesRolling": len(services_rolling(plan))},
        "apiCalls": {"calls": {f"{service}:{op}": n for (service, op), n in sorted(calls.items())},
                     "total": sum(calls.values()), "leastSeconds": round(projected["seconds"], 3),
                     "secondsByClass": {k: round(v, 3) for k, v in projected["by_class"].items()}},
        "targeting": plan.targeting.document() if plan.targeting is not None else None,
    }


def _details(action: Action, show_sensitive: bool) -> str:
    reasons = masked_reasons(action, show_sensitive)
    lines = [f"<details><summary>{SYMBOLS[action.action][0]} {action.action} <code>{action.label}</code>: "
             f"{_html(impact_text(action, show_sensitive))}</summary>", ""]
    if reasons:
        lines += ["Why: " + _html("; ".join(reasons)), ""]
    lines += [f"> **Note:** {_html(note)}\n" for note in impact_notes(action, show_sensitive)]
    lines.append("```diff")
    for sign, text in body_lines(action, show_sensitive):
        lines.append(f"{'!' if sign == '~' else sign} {text}")
    lines += ["```", "", "</details>", ""]
    return "\n".join(lines)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def render_markdown(plan: Plan, show_sensitive: bool = False, limit: int = COMMENT_LIMIT) -> str:
    """A pull-request comment: the summary, one collapsible section per resource, kept under
    `limit` characters; what does not fit is named in a note that says how to see it."""
    head = ["### ecs-reconciler plan", "", summary_line(plan), ""]
    if plan.targeting is not None:
        head[3:3] = ["", *[f"- {_html(line)}" for line in plan.targeting.lines()]]
    if plan.has_changes:
        head += [api_calls_line(plan), ""]
        head += ["| action | resource | impact |", "| --- | --- | --- |"]
        head += [f"| {a.action} | `{a.label}` | {_html(impact_text(a, show_sensitive))} |" for a in plan.pending]
        head.append("")
    text = "\n".join(head)
    if len(text) > limit - NOTE_RESERVE:  # even the table does not fit: the summary alone, and the note
        text = "\n".join(head[:6])
    sections = [_details(a, show_sensitive) for a in plan.pending]
    left: list[Action] = []
    for action, section in zip(plan.pending, sections):
        if not left and len(text) + len(section) + 1 <= limit - NOTE_RESERVE:
            text += "\n" + section
        else:
            left.append(action)
    if left:
        text += _truncation_note(left, limit)
    return text[:limit]


NOTE_RESERVE = 2000  # room kept for the truncation note


def _truncation_note(left: list[Action], limit: int) -> str:
    names, size = [], 0
    for action in left:
        if size > NOTE_RESERVE - 600:
            names.append(f"and {len(left) - len(names)} more")
            break
        names.append(f"`{action.label}`")
        size += len(names[-1]) + 2
    return (f"\n**{len(left)} more resource(s) not shown** (a GitHub comment holds {limit} characters): "
            f"{', '.join(names)}. Run `ecs-reconciler plan PATH...` (or `--output json`) to see the whole plan, "
            "or download the plan artifact of this workflow run.\n")
