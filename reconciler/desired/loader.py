"""Load manifests from files and directories into validated models, with file:line on every error.

All problems are collected and raised together as `InvalidManifests`; nothing downstream (and so
nothing in AWS) runs unless the whole set is valid.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from ..errors import InvalidManifests, ManifestError
from ..report.masking import mask_at
from .base import ManifestBase
from .files import MAX_FILES, ReadBudget, TooLarge, is_manifest
from .kinds import KIND_ORDER, MANIFEST_KINDS
from .positions import format_path, line_of
from .yaml_source import YamlProblem, parse_documents
from .references import check_references


@dataclass
class Located:
    """A validated manifest and where it was written."""

    manifest: ManifestBase
    file: str
    line: int
    node: Any = field(repr=False, default=None)  # the YAML node tree, for locating fields later

    @property
    def key(self) -> tuple[str, str]:
        return self.manifest.key

    @property
    def label(self) -> str:
        return f"{self.manifest.KIND}/{self.manifest.name}"

    def line_of(self, path: Iterable[Any]) -> int:
        return line_of(self.node, list(path)) or self.line


@dataclass
class DesiredState:
    """Every manifest of a source, in apply order (clusters, task definitions, services, scheduled tasks)."""

    resources: list[Located]

    def __post_init__(self) -> None:
        self.resources.sort(key=lambda r: (KIND_ORDER[r.manifest.KIND], r.manifest.name))
        self._by_key = {r.key: r for r in self.resources}

    def get(self, kind: str, name: str) -> Located | None:
        return self._by_key.get((kind, name))

    def of_kind(self, kind: str) -> list[Located]:
        return [r for r in self.resources if r.manifest.KIND == kind]

    def __len__(self) -> int:
        return len(self.resources)


def manifest_files(paths: Iterable[str | Path], errors: list[ManifestError]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if is_manifest(p.relative_to(path)) and p.is_file())
            if not found:
                errors.append(ManifestError(str(path), None, None, None, "no manifest files (*.yaml, *.yml) found"))
            elif len(found) > MAX_FILES:
                errors.append(ManifestError(str(path), None, None, None, f"file limit: {len(found)} manifest files; "
                                            f"expected at most {MAX_FILES} in one source"))
                continue
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            errors.append(ManifestError(str(path), None, None, None, "no such file or directory"))
    return files


def load_manifests(paths: Iterable[str | Path]) -> DesiredState:
    """Parse, validate and cross-check every manifest under `paths`; raise InvalidManifests on any error."""
    errors: list[ManifestError] = []
    located: list[Located] = []
    budget = ReadBudget()
    for file in manifest_files(paths, errors):
        located.extend(_load_file(file, errors, budget))
    if not located and not errors:
        errors.append(ManifestError(", ".join(map(str, paths)) or ".", None, None, None, "no manifests found"))
    seen: dict[tuple[str, str], Located] = {}
    for item in located:
        if item.key in seen:
            first = seen[item.key]
            name_path = ["metadata", "name"]
            errors.append(
                ManifestError(item.file, item.line_of(name_path), item.label, "metadata.name",
                              f"duplicate {item.label}: also defined at {first.file}:{first.line_of(name_path)}")
            )
        else:
            seen[item.key] = item
    if not errors:
        state = DesiredState(list(seen.values()))
        errors.extend(check_references(state))
        if not errors:
            return state
    raise InvalidManifests(errors)


def load_text(text: str, file: str = "<input>") -> DesiredState:
    """Validate manifests given as a string (used by the operator and tests)."""
    errors: list[ManifestError] = []
    located = list(_load_documents(text, file, errors))
    if errors:
        raise InvalidManifests(errors)
    state = DesiredState(located)
    errors.extend(check_references(state))
    if errors:
        raise InvalidManifests(errors)
    return state


def _load_file(file: Path, errors: list[ManifestError], budget: ReadBudget) -> list[Located]:
    try:
        text = budget.read_text(file)
    except TooLarge as exc:
        errors.append(ManifestError(str(file), None, None, None, f"size limit: {exc}"))
        return []
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(ManifestError(str(file), None, None, None, f"cannot read: {exc}"))
        return []
    return list(_load_documents(text, str(file), errors))


def _load_documents(text: str, file: str, errors: list[ManifestError]) -> Iterable[Located]:
    try:
        documents = parse_documents(text)
    except YamlProblem as exc:
        errors.append(ManifestError(file, exc.line, None, None, f"invalid YAML: {exc.message}"))
        return
    for document in documents:
        item = validate_document(document.data, file, errors, document.node)
        if item is not None:
            yield item


def validate_document(document: Any, file: str, errors: list[ManifestError], node: Any = None) -> Located | None:
    """Validate one parsed document (plain data; `node` locates its fields when it came from YAML
    text); append located errors and return None when it is invalid."""
    line = line_of(node, []) or 1
    if not isinstance(document, dict):
        errors.append(ManifestError(file, line, None, None, f"expected a mapping with apiVersion, kind, metadata, spec; got {type(document).__name__}"))
        return None
    kind = document.get("kind")
    name = document.get("metadata", {}).get("name") if isinstance(document.get("metadata"), dict) else None
    resource = f"{kind}/{name}" if isinstance(kind, str) and name else None
    model = MANIFEST_KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        errors.append(ManifestError(file, line_of(node, ["kind"]) or line, resource, "kind",
                                    f"expected one of {', '.join(MANIFEST_KINDS)}; got {kind!r}"))
        return None
    try:
        manifest = model.model_validate(document)
    except ValidationError as exc:
        for err in exc.errors():
            loc = list(err["loc"])
            errors.append(ManifestError(file, line_of(node, loc) or line, resource,
                                        format_path(loc) or None, _message(model, err)))
        return None
    return Located(manifest, file, line, node)


def _message(model: type[BaseModel], err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        loc = list(err["loc"])
        allowed = _allowed_fields(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        return "unknown field" + (f"; did you mean {hint[0]!r}?" if hint else
                                  (f"; expected one of: {', '.join(sorted(allowed))}" if allowed else ""))
    if err["type"] == "missing":
        return "required field is missing"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if "input" in err and err["type"] not in ("model_type", "dict_type", "list_type") and _short(err["input"]):
        message += f" (got {mask_at(err['loc'], err['input'])!r})"
    return message


def _short(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(repr(value)) < 80


def _allowed_fields(model: Any, loc: list[Any]) -> list[str]:
    """Field names (API aliases) accepted at `loc` inside `model`, for did-you-mean hints."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            args = typing.get_args(current)
            current = args[-1] if args else None
            continue
        field_info = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if field_info is None:
            return []
        current = field_info.annotation
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if args else None
    return annotation
