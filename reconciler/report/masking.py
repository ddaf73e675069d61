"""Keep secret values out of every output: plans, logs, status reports.

An environment variable whose name looks sensitive has its value replaced, wherever it appears
(a change at `...environment[DB_PASSWORD]`, or a whole container shown in a create).
"""

from __future__ import annotations

import re
from typing import Any

SENSITIVE_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH|(^|_)KEY($|_))",
                            re.IGNORECASE)
MASK = "(sensitive value)"
_ENV_PATH = re.compile(r"environment\[([^\]]+)\]")


def is_sensitive(name: str) -> bool:
    return bool(SENSITIVE_NAME.search(name))


def mask_value(path: str, value: Any) -> Any:
    """Mask `value` found at `path` (a change path) if it is, or contains, a sensitive value."""
    if value is None:
        return None
    match = None
    for match in _ENV_PATH.finditer(path):
        pass
    if match and is_sensitive(match.group(1)) and path.endswith(match.group(0)):
        return MASK
    return mask_tree(value, inside_environment=path.endswith("environment"))


def mask_tree(value: Any, inside_environment: bool = False) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if inside_environment and isinstance(key, str) and is_sensitive(key.strip("[]")):
                out[key] = MASK
            elif key in ("environment",) and isinstance(item, (dict, list)):
                out[key] = mask_tree(item, inside_environment=True)
            else:
                out[key] = mask_tree(item)
        if {"name", "value"} <= set(value) and inside_environment and is_sensitive(str(value["name"])):
            out["value"] = MASK
        return out
    if isinstance(value, list):
        return [mask_tree(v, inside_environment) for v in value]
    return value
