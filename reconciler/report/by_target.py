"""Plans grouped by target (reconciler/target_engines.py): one section per target, failures on theirs."""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..plan.model import ACTIONS
from .render import plan_document, render_markdown, render_text


def render_text_by_target(runs: Iterable[Any], color: bool = True, show_sensitive: bool = False) -> str:
    sections = []
    for run in runs:
        body = (f"error: {run.error}" if run.error else
                render_text(run.plan, color=color, show_sensitive=show_sensitive) if run.plan else "not planned")
        sections.append(f"== {run.heading} ==\n{body}")
    return "\n\n".join(sections)


def render_markdown_by_target(runs: Iterable[Any], show_sensitive: bool = False) -> str:
    sections = []
    for run in runs:
        body = (f"**error:** {run.error}" if run.error else
                render_markdown(run.plan, show_sensitive) if run.plan else "not planned")
        sections.append(f"## {run.heading}\n\n{body}")
    return "\n\n".join(sections)


def document_by_target(runs: Iterable[Any], show_sensitive: bool = False) -> dict[str, Any]:
    """The single-target document's `resources` and `summary` over every target (each resource names
    its target), plus `targets`: per target its region, account, summary or error."""
    resources: list[dict[str, Any]] = []
    summary = {name: 0 for name in ACTIONS}
    targets = []
    for run in runs:
        entry: dict[str, Any] = {"target": run.name, "region": run.region, "account": run.account}
        if run.plan is not None:
            doc = plan_document(run.plan, show_sensitive)
            resources += [{"target": run.name, **r} for r in doc["resources"]]
            for name, count in doc["summary"].items():
                summary[name] = summary.get(name, 0) + count
            entry["summary"] = doc["summary"]
            entry["apiCalls"] = doc.get("apiCalls")  # per target: each has its own rate limits
        entry["error"] = run.error
        targets.append(entry)
    from .render import FORMAT_VERSION

    return {"formatVersion": FORMAT_VERSION, "resources": resources, "summary": summary, "targets": targets}


def render_json_by_target(runs: Iterable[Any], show_sensitive: bool = False) -> str:
    return json.dumps(document_by_target(runs, show_sensitive), indent=2, default=str)
