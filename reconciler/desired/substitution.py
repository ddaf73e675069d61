"""`${kind:...}` references in manifest strings, replaced by values from elsewhere before validation.

`${env:NAME}`, `${env:NAME:-default}`, `${ssm:/path/name}`, `${cfn:STACK/OutputKey}`,
`${cfn-export:ExportName}` and `${tfstate:ADDRESS.ATTRIBUTE}` (see `lookups`). Substitution works on
the parsed data, not the text, so every error keeps the file and line of the string that held the
reference. A string that is one reference and nothing else takes the value as it is (a Terraform
list stays a list); inside a longer string a value must be a scalar. `$${...}` writes a literal
`${...}`, and anything else that looks like `${...}` (a shell variable in a command) is left alone.
Only mapping values are substituted, never keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ManifestError
from .lookups import KINDS, Lookups, Unresolved
from .positions import format_path, line_of

REFERENCE = re.compile(r"(\$?)\$\{(" + "|".join(map(re.escape, KINDS)) + r"):([^}]*)\}")


@dataclass(frozen=True)
class Origin:
    """Where one substituted value came from (never the value itself)."""

    file: str
    line: int | None
    resource: str | None
    path: str
    reference: str
    source: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.resource or '?'}: {self.path}: {self.reference} <- {self.source}"

    def document(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "resource": self.resource, "path": self.path,
                "reference": self.reference, "source": self.source}


def has_references(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value and REFERENCE.search(value) is not None
    if isinstance(value, dict):
        return any(has_references(v) for v in value.values())
    if isinstance(value, list):
        return any(has_references(v) for v in value)
    return False


def references_in(value: Any) -> set[str]:
    """The kinds of reference `value` uses (for `iam-policy`)."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(m.group(2) for m in REFERENCE.finditer(value) if not m.group(1))
    elif isinstance(value, dict):
        for v in value.values():
            found |= references_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= references_in(v)
    return found


class Substitution:
    """Substitutes documents with one `Lookups`; collects the origins of what it put in."""

    def __init__(self, lookups: Lookups | None = None):
        self.lookups = lookups if lookups is not None else Lookups()
        self.origins: list[Origin] = []
        self.used = False  # any reference seen: the desired state depends on values from elsewhere

    def document(self, data: Any, node: Any, file: str, errors: list[ManifestError]) -> tuple[Any, bool]:
        """`data` with every reference replaced, and whether all of them resolved (errors appended)."""
        if not has_references(data):
            return data, True
        self.used = True
        walker = _Walk(self.lookups, node, file, _label(data))
        out = walker.value(data, [])
        resource = _label(out) or walker.resource
        for origin in walker.origins:
            self.origins.append(Origin(origin.file, origin.line, resource, origin.path, origin.reference, origin.source))
        for error in walker.errors:
            errors.append(ManifestError(error.file, error.line, resource, error.path, error.message))
        return out, not walker.errors


class _Walk:
    def __init__(self, lookups: Lookups, node: Any, file: str, resource: str | None):
        self.lookups, self.node, self.file, self.resource = lookups, node, file, resource
        self.origins: list[Origin] = []
        self.errors: list[ManifestError] = []

    def value(self, value: Any, path: list[Any]) -> Any:
        if isinstance(value, str):
            return self.string(value, path) if "${" in value else value
        if isinstance(value, dict):
            return {k: self.value(v, path + [k]) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, path + [i]) for i, v in enumerate(value)]
        return value

    def string(self, text: str, path: list[Any]) -> Any:
        matches = list(REFERENCE.finditer(text))
        if not matches:
            return text
        whole = len(matches) == 1 and not matches[0].group(1) and matches[0].span() == (0, len(text))
        out, last = [], 0
        for match in matches:
            out.append(text[last:match.start()])
            last = match.end()
            escaped, kind, body = match.groups()
            if escaped:
                out.append(match.group(0)[1:])
                continue
            reference = match.group(0)
            try:
                resolved = self.lookups.resolve(kind, body)
            except Unresolved as exc:
                self._error(path, f"{reference}: {exc}")
                out.append(reference)
                continue
            self.origins.append(Origin(self.file, line_of(self.node, path), self.resource, format_path(path),
                                       reference, resolved.source))
            if whole:
                return resolved.value
            if isinstance(resolved.value, (dict, list)) or resolved.value is None:
                shape = "nothing" if resolved.value is None else f"a {type(resolved.value).__name__}"
                self._error(path, f"{reference}: is {shape}, which cannot be put inside a longer string "
                                  "(make the reference the whole value)")
                out.append(reference)
                continue
            out.append(_text(resolved.value))
        out.append(text[last:])
        return "".join(out)

    def _error(self, path: list[Any], message: str) -> None:
        self.errors.append(ManifestError(self.file, line_of(self.node, path), self.resource,
                                         format_path(path) or None, message))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def _label(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{kind}/{name}" if isinstance(kind, str) and isinstance(name, str) and name else None
