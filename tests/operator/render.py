"""Render the chart without helm, for the small subset of Go templates the chart uses.

Supported: `{{ .Values.x }}`, `.Release.Name/Namespace`, `{{- if X }}`/`{{- else }}`/`{{- end }}`,
`{{ include "name" . }}` with `define` in _helpers.tpl, and the pipes `quote`, `default V`,
`toYaml`, `nindent N`. `{{-`/`-}}` trim whitespace as in Go templates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

TOKEN = re.compile(r"(\s*)\{\{(-?)\s*(.*?)\s*(-?)\}\}(\s*)", re.S)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    for m in TOKEN.finditer(text):
        lead, ltrim, body, rtrim, trail = m.groups()
        out.append(("text", text[pos:m.start()] + ("" if ltrim else lead)))
        out.append(("action", body))
        out.append(("trim" if rtrim else "text", trail))
        pos = m.end()
    out.append(("text", text[pos:]))
    merged: list[tuple[str, str]] = []
    for kind, value in out:
        merged.append(("text", "") if kind == "trim" else (kind, value))
    return merged


def _lookup(path: str, ctx: dict[str, Any]) -> Any:
    value: Any = ctx
    for part in path.lstrip(".").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _value(expr: str, ctx: dict[str, Any], defines: dict[str, str]) -> Any:
    stages = [s.strip() for s in expr.split("|")]
    head = stages[0]
    if head.startswith("include "):
        value: Any = render_text(defines[head.split('"')[1]], ctx, defines)
    elif head.startswith("toYaml "):
        value = yaml.safe_dump(_lookup(head.split()[1], ctx), sort_keys=False).rstrip("\n")
    elif head.startswith('"'):
        value = json.loads(head)
    else:
        value = _lookup(head, ctx)
    for stage in stages[1:]:
        name, *args = stage.split()
        if name == "quote":
            value = json.dumps("" if value is None else str(value))
        elif name == "default":
            value = value if value not in (None, "", False) else _value(args[0], ctx, defines)
        elif name == "nindent":
            value = "\n" + "\n".join(" " * int(args[0]) + line if line else line for line in str(value).splitlines())
        else:
            raise ValueError(f"unsupported pipe {name!r}")
    return value


def render_text(text: str, ctx: dict[str, Any], defines: dict[str, str]) -> str:
    tokens = _tokens(text)
    # trailing `-}}` removes whitespace that follows; handled by dropping the text token above
    out: list[str] = []
    stack: list[bool] = []  # whether the current branch is emitted
    for kind, value in tokens:
        active = all(stack)
        if kind == "text":
            if active:
                out.append(value)
        elif value.startswith("if "):
            stack.append(bool(_value(value[3:], ctx, defines)) if active else False)
        elif value == "else":
            stack[-1] = not stack[-1] and all(stack[:-1])
        elif value == "end":
            stack.pop()
        elif value.startswith("/*") or value.startswith("define"):
            continue
        elif active:
            rendered = _value(value, ctx, defines)
            out.append("" if rendered is None else (json.dumps(rendered) if isinstance(rendered, bool) else str(rendered)))
    return "".join(out)


def _defines(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(
        r'\{\{-?\s*define\s+"([^"]+)"\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}', text, re.S)}


def render_chart(chart: str | Path, values: dict[str, Any] | None = None, release: str = "rel",
                 namespace: str = "ecs") -> list[dict[str, Any]]:
    chart = Path(chart)
    merged = yaml.safe_load((chart / "values.yaml").read_text())
    _merge(merged, values or {})
    ctx = {"Values": merged, "Release": {"Name": release, "Namespace": namespace}}
    defines: dict[str, str] = {}
    for helper in sorted((chart / "templates").glob("_*.tpl")):
        defines.update(_defines(helper.read_text()))
    objects = []
    for template in sorted((chart / "templates").glob("*.yaml")):
        rendered = render_text(template.read_text(), ctx, defines)
        objects.extend(doc for doc in yaml.safe_load_all(rendered) if doc)
    return objects


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
