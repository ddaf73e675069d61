"""Pydantic models generated from botocore's own service shapes.

The manifest `spec` of each kind mirrors an AWS request shape. Rather than hand-copying hundreds of
ECS fields (and drifting from the API), we build the models from the botocore service model that
ships with boto3: every field, its type, its enum values and its required flag come from there, and
unknown fields are errors. A newer botocore brings new ECS fields with no code change.
"""

from __future__ import annotations

import datetime
import html
import re
from functools import lru_cache
from typing import Any, Literal, Optional

import botocore.session
from pydantic import BaseModel, ConfigDict, Field, create_model

# Attribute names a generated field must not shadow on BaseModel; such fields get a trailing "_"
# in Python and keep the API name as their alias.
_RESERVED = {name for name in dir(BaseModel) if not name.startswith("_")}
_TAG_RE = re.compile(r"<[^>]+>")


class SpecModel(BaseModel):
    """Base of every spec model: API field names, unknown fields rejected, numbers accepted as strings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, coerce_numbers_to_str=True)

    def to_api(self) -> dict[str, Any]:
        """The request-shaped dict: API names, only what the manifest set."""
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True, mode="json")


@lru_cache(maxsize=None)
def service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def describe(shape: Any) -> str | None:
    """First sentence of the botocore documentation, as plain text, for editor tooltips."""
    doc = getattr(shape, "documentation", "") or ""
    text = html.unescape(_TAG_RE.sub("", doc)).strip()
    if not text:
        return None
    first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
    return first[:300]


class ShapeModels:
    """Builds (and memoizes) one pydantic model per botocore structure shape of a service."""

    _SCALARS = {
        "integer": int,
        "long": int,
        "boolean": bool,
        "double": float,
        "float": float,
        "timestamp": datetime.datetime,
        "blob": bytes,
    }

    def __init__(self, service: str, camel: bool = False):
        """`camel`: field names with their first letter lowered (an API whose members are PascalCase,
        written inside a camelCase ECS spec, e.g. Application Auto Scaling under `Service.spec`)."""
        self.service = service
        self.camel = camel
        self._models: dict[str, type[BaseModel]] = {}

    def field_name(self, name: str) -> str:
        return name[:1].lower() + name[1:] if self.camel else name

    def shape(self, name: str) -> Any:
        return service_model(self.service).shape_for(name)

    def type_for(self, shape: Any) -> Any:
        kind = shape.type_name
        if kind == "string":
            enum = getattr(shape, "enum", None)
            return Literal[tuple(enum)] if enum else str
        if kind in self._SCALARS:
            return self._SCALARS[kind]
        if kind == "list":
            return list[self.type_for(shape.member)]
        if kind == "map":
            return dict[self.type_for(shape.key), self.type_for(shape.value)]
        if kind == "structure":
            return self.model_for(shape)
        raise TypeError(f"unsupported botocore shape type {kind} ({shape.name})")

    def model_for(
        self,
        shape: Any,
        *,
        exclude: tuple[str, ...] = (),
        overrides: dict[str, tuple[Any, Any]] | None = None,
        model_name: str | None = None,
        base: type[BaseModel] = SpecModel,
    ) -> type[BaseModel]:
        """The model of a structure shape; `overrides` replace or add fields (name -> (type, FieldInfo))."""
        key = model_name or shape.name
        if key in self._models and not (exclude or overrides):
            return self._models[key]
        fields: dict[str, Any] = {}
        for api_name, member in shape.members.items():
            if api_name in exclude:
                continue
            name = self.field_name(api_name)
            py_name = f"{name}_" if name in _RESERVED else name
            required = api_name in shape.required_members
            annotation = self.type_for(member)
            info = Field(
                ... if required else None,
                alias=name,
                description=describe(member),
            )
            fields[py_name] = (annotation if required else Optional[annotation], info)
        for name, (annotation, info) in (overrides or {}).items():
            py_name = f"{name}_" if name in _RESERVED else name
            fields[py_name] = (annotation, info)
        model = create_model(key, __base__=base, __doc__=describe(shape), **fields)
        self._models[key] = model
        return model


ECS = ShapeModels("ecs")
EVENTS = ShapeModels("events")
SCHEDULER = ShapeModels("scheduler")
AUTOSCALING = ShapeModels("application-autoscaling", camel=True)


def pascal_keys(value: Any) -> Any:
    """A camelCase request (as `ShapeModels(camel=True)` models write it) with the API's PascalCase
    member names again; valid for shapes without map members (their keys are data, not names)."""
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: pascal_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal_keys(v) for v in value]
    return value


def camel_keys(value: Any) -> Any:
    """The inverse of `pascal_keys`: an API response in the camelCase a manifest writes."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value
