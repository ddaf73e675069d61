"""The manifest envelope shared by every kind: apiVersion, kind, metadata, spec."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

API_VERSION = "ecs-reconciler.io/v1alpha1"
ADOPT_ANNOTATION = "ecs-reconciler.io/adopt"

def _tag_mapping(value: Any) -> Any:
    """Tags as ECS writes them (`[{key, value}]`, EventBridge `[{Key, Value}]`) as a mapping."""
    if not isinstance(value, list):
        return value
    out: dict[Any, Any] = {}
    for item in value:
        if not (isinstance(item, dict) and ("key" in item or "Key" in item)):
            raise ValueError("expected tags as a mapping {key: value} or a list of {key, value}")
        out[item.get("key", item.get("Key"))] = item.get("value", item.get("Value", ""))
    return out


# Tag keys a manifest may not set: ours record ownership (reconciler/ownership.py) and would plan a
# change that never clears; AWS reserves `aws:` for itself.
RESERVED_TAG_PREFIXES = ("ecs-reconciler.io/", "aws:")


def _no_reserved_keys(tags: dict[str, str]) -> dict[str, str]:
    reserved = sorted(k for k in tags if k.lower().startswith(RESERVED_TAG_PREFIXES))
    if reserved:
        raise ValueError(f"{', '.join(reserved)}: tag keys under {' or '.join(RESERVED_TAG_PREFIXES)} are reserved "
                         "(ownership tags are written by ecs-reconciler; aws: by AWS)")
    return tags


# AWS tag keys/values are strings; a manifest may write `version: 2` and mean "2".
Tags = Annotated[dict[str, str], BeforeValidator(_tag_mapping), AfterValidator(_no_reserved_keys)]


def tags_field() -> Any:
    return Field(None, description="Resource tags as a mapping {key: value} (a list of {key, value}, as ECS "
                 "writes them, is accepted too).")


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    name: str = Field(description="The AWS name: cluster name, task definition family, service name or rule name.")
    labels: dict[str, str] = Field(default_factory=dict, description="Free-form labels for selection; not sent to AWS.")
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description=f"Free-form annotations. `{ADOPT_ANNOTATION}: \"true\"` adopts an existing unowned resource.",
    )
    target: Optional[str] = Field(
        None, description="The Target (a `kind: Target` manifest of the same set: account and Region) this resource "
        "lives in. Default: the set's Target with `default: true`, else the ambient credentials and Region.")
    ignoreDifferences: list[str] = Field(
        default_factory=list,
        description="Spec field paths whose differences are not drift, e.g. `desiredCount` or "
        "`containerDefinitions[web].image`.",
    )


class ManifestBase(BaseModel):
    """One resource document. Subclasses fix `kind` and the `spec` model."""

    model_config = ConfigDict(extra="forbid")
    KIND: ClassVar[str] = ""
    NAME_PATTERN: ClassVar[str] = r"^[A-Za-z0-9_-]{1,255}$"
    NAME_RULE: ClassVar[str] = "1 to 255 letters, numbers, hyphens and underscores"

    apiVersion: str = Field(description=f"Always `{API_VERSION}`.")
    kind: str
    metadata: Metadata

    @field_validator("apiVersion")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if value != API_VERSION:
            raise ValueError(f"expected {API_VERSION!r}")
        return value

    @field_validator("metadata")
    @classmethod
    def _name(cls, value: Metadata) -> Metadata:
        if not re.match(cls.NAME_PATTERN, value.name):
            raise ValueError(f"metadata.name {value.name!r} is not a valid {cls.KIND} name ({cls.NAME_RULE})")
        return value

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def key(self) -> tuple[str, str]:
        return (self.KIND, self.metadata.name)

    @property
    def adopt(self) -> bool:
        return self.metadata.annotations.get(ADOPT_ANNOTATION, "").lower() == "true"
