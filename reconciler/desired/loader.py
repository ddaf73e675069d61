"""Load manifests from files and directories into validated models, with file:line on every error.

All problems are collected and raised together as `InvalidManifests`; nothing downstream (and so
nothing in AWS) runs unless the whole set is valid.

A directory that holds a kustomization.yaml is rendered by kustomize (`kustomized`) and only what
the kustomization renders is loaded. A directory without one is read recursively, except that its
subdirectories holding a kustomization.yaml (bases, overlays) are skipped with a warning: an overlay
is loaded by naming its directory, so a repository with base/ and overlays/*/ never loads a
manifest twice. `${kind:...}` references are substituted (`substitution`) in every document before
it is validated.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from ..errors import InvalidManifests, ManifestError
from ..report.masking import mask_at
from .files import MAX_FILES, ReadBudget, TooLarge, is_manifest
from .kinds import MANIFEST_KINDS
from .positions import format_path, line_of
from .published_forms import accept_published_forms, warning
from .state import DesiredState, Located  # noqa: F401 (re-exported: most callers import them from here)
from .yaml_source import YamlProblem, parse_documents
from .references import check_all_references
from .target import TargetManifest
from .targeting import split_targets
from .substitution import Substitution

def manifest_files(paths: Iterable[str | Path], errors: list[ManifestError],
                   warnings: list[ManifestError] | None = None) -> list[Path]:
    """The files and kustomization directories to load under `paths`, in a stable order."""
    from ..sources.kustomize import KUSTOMIZATION_FILES, is_kustomization, kustomization_file

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file() and kustomization_file(path.parent) == path:
            path = path.parent  # naming a kustomization.yaml means its directory
        if is_kustomization(path):
            files.append(path)
        elif path.is_dir():
            nested = [d for d in sorted({p.parent for p in path.rglob("*") if p.name in KUSTOMIZATION_FILES})
                      if d != path and not any(part.startswith(".") for part in d.relative_to(path).parts)]
            found = sorted(p for p in path.rglob("*") if is_manifest(p.relative_to(path)) and p.is_file()
                           and not any(d in p.parents for d in nested))
            for directory in nested:
                if warnings is not None and not any(d in directory.parents for d in nested):
                    warnings.append(ManifestError(str(directory), None, None, None,
                                                  "skipped: a kustomization (base or overlay) is loaded only when its "
                                                  "directory is named"))
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


def load_manifests(paths: Iterable[str | Path], substitution: Substitution | None = None) -> DesiredState:
    """Parse, validate and cross-check every manifest under `paths`; raise InvalidManifests on any error.
    References are resolved through `substitution` (by default: the environment only)."""
    from .kustomized import load_kustomization

    paths = list(paths)
    substitution = substitution if substitution is not None else Substitution()
    errors: list[ManifestError] = []
    warnings: list[ManifestError] = []
    located: list[Located] = []
    budget = ReadBudget()
    for file in manifest_files(paths, errors, warnings):
        if file.is_dir():
            for doc in load_kustomization(file, str(file), errors):
                item = _validate(doc.data, doc.node, doc.file, errors, warnings, substitution)
                if item is not None:
                    located.append(item)
        else:
            located.extend(_load_file(file, errors, warnings, budget, substitution))
    if not located and not errors:
        errors.append(ManifestError(", ".join(map(str, paths)) or ".", None, None, None, "no manifests found"))
    located, targets = split_targets(located, errors)
    seen: dict[tuple[str | None, str, str], Located] = {}
    for item in located:
        if (item.target, *item.key) in seen:
            first = seen[(item.target, *item.key)]
            name_path = ["metadata", "name"]
            errors.append(
                ManifestError(item.file, item.line_of(name_path), item.label, "metadata.name",
                              f"duplicate {item.label}{_in_target(item)}: also defined at "
                              f"{first.file}:{first.line_of(name_path)}")
            )
        else:
            seen[(item.target, *item.key)] = item
    if not errors:
        state = DesiredState(list(seen.values()), warnings, list(substitution.origins), substitution.used, targets)
        errors.extend(check_all_references(state))
        if not errors:
            return state
    raise InvalidManifests(errors)


def _in_target(item: Located) -> str:
    return f" in target {item.target!r}" if item.target else ""


def load_text(text: str, file: str = "<input>") -> DesiredState:
    """Validate manifests given as a string (used by the operator and tests)."""
    errors: list[ManifestError] = []
    warnings: list[ManifestError] = []
    located, targets = split_targets(list(_load_documents(text, file, errors, warnings)), errors)
    if errors:
        raise InvalidManifests(errors)
    state = DesiredState(located, warnings, targets=targets)
    errors.extend(check_all_references(state))
    if errors:
        raise InvalidManifests(errors)
    return state


def _load_file(file: Path, errors: list[ManifestError], warnings: list[ManifestError], budget: ReadBudget,
               substitution: Substitution | None = None) -> list[Located]:
    try:
        text = budget.read_text(file)
    except TooLarge as exc:
        errors.append(ManifestError(str(file), None, None, None, f"size limit: {exc}"))
        return []
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(ManifestError(str(file), None, None, None, f"cannot read: {exc}"))
        return []
    return list(_load_documents(text, str(file), errors, warnings, substitution))


def _load_documents(text: str, file: str, errors: list[ManifestError],
                    warnings: list[ManifestError], substitution: Substitution | None = None) -> Iterable[Located]:
    try:
        documents = parse_documents(text)
    except YamlProblem as exc:
        errors.append(ManifestError(file, exc.line, None, None, f"invalid YAML: {exc.message}"))
        return
    for document in documents:
        item = _validate(document.data, document.node, file, errors, warnings, substitution)
        if item is not None:
            yield item


def _validate(data: Any, node: Any, file: str, errors: list[ManifestError], warnings: list[ManifestError],
              substitution: Substitution | None) -> Located | None:
    """Substitute references (a document whose references do not all resolve is not validated further),
    then validate."""
    if substitution is not None:
        data, resolved = substitution.document(data, node, file, errors)
        if not resolved:
            return None
    return validate_document(data, file, errors, node, warnings)


def validate_document(document: Any, file: str, errors: list[ManifestError], node: Any = None,
                      warnings: list[ManifestError] | None = None) -> Located | None:
    """Validate one parsed document (plain data; `node` locates its fields when it came from YAML
    text); append located errors and return None when it is invalid. What was accepted but not
    taken as written (published_forms) is appended to `warnings`."""
    line = line_of(node, []) or 1
    if not isinstance(document, dict):
        errors.append(ManifestError(file, line, None, None, f"expected a mapping with apiVersion, kind, metadata, spec; got {type(document).__name__}"))
        return None
    kind = document.get("kind")
    name = document.get("metadata", {}).get("name") if isinstance(document.get("metadata"), dict) else None
    resource = f"{kind}/{name}" if isinstance(kind, str) and name else None
    kinds: dict[str, type[BaseModel]] = {**MANIFEST_KINDS, TargetManifest.KIND: TargetManifest}
    model = kinds.get(kind) if isinstance(kind, str) else None
    if model is None:
        errors.append(ManifestError(file, line_of(node, ["kind"]) or line, resource, "kind",
                                    f"expected one of {', '.join(kinds)}; got {kind!r}"))
        return None
    document, notes = accept_published_forms(document, kind)
    if notes and warnings is not None:
        warnings.append(warning(file, line_of(node, ["spec"]) or line, resource, notes))
    try:
        manifest = model.model_validate(document)
    except ValidationError as exc:
        for err in exc.errors():
            loc = list(err["loc"])
            errors.append(ManifestError(file, line_of(node, loc) or line, resource,
                                        format_path(loc) or None, _message(model, err)))
        return None
    return Located(manifest, file, line, node)


_NAME_FIELDS = {"family", "serviceName", "clusterName"}


def _message(model: type[BaseModel], err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden" and len(err["loc"]) == 2 and err["loc"][1] in _NAME_FIELDS:
        return f"differs from metadata.name, which is the {err['loc'][1]}; remove it or make the two equal"
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
