"""JSON Schema of the manifests, generated from the same models that validate them."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from .kinds import MANIFEST_KINDS


def kind_schema(kind: str) -> dict[str, Any]:
    return MANIFEST_KINDS[kind].model_json_schema(by_alias=True)


def json_schema(kind: str | None = None) -> dict[str, Any]:
    """One kind's schema, or a schema accepting any kind (discriminated by `kind`)."""
    if kind:
        schema = kind_schema(kind)
    else:
        from typing import Annotated, Union

        from pydantic import Field

        union = Annotated[Union[tuple(MANIFEST_KINDS.values())], Field(discriminator="kind")]
        schema = TypeAdapter(union).json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", "ecs-reconciler manifest")
    return schema
