"""Ownership tags: what marks a resource as created (or adopted) by this reconciler instance."""

from __future__ import annotations

MANAGED_BY = "ecs-reconciler.io/managed-by"
MANIFEST = "ecs-reconciler.io/manifest"
REVISION = "ecs-reconciler.io/revision"
# The fingerprint of the fields the manifest declared at the last write (see diff/declared.py).
FIELDS = "ecs-reconciler.io/fields"
# A hash of the values of fields AWS never returns, as last written (see diff/write_only.py).
WRITE_ONLY = "ecs-reconciler.io/write-only"
# The object that owns the resource within the instance (the operator writes `namespace/name/uid`):
# another object naming the same resource is refused.
OWNER = "ecs-reconciler.io/owner"
# A manual `ecs-reconciler rollback`: what was put back, from what, and when (plan/manual_rollback.py).
# While it is set, the controller and the operator do not deploy the service again.
ROLLED_BACK = "ecs-reconciler.io/rolled-back"
OWNERSHIP_KEYS = frozenset({MANAGED_BY, MANIFEST, REVISION, FIELDS, WRITE_ONLY, OWNER, ROLLED_BACK})
DEFAULT_INSTANCE = "ecs-reconciler"


def ownership_tags(instance: str, kind: str, name: str, revision: str | None = None,
                   fields: str | None = None, write_only: str | None = None,
                   owner: str | None = None) -> dict[str, str]:
    tags = {MANAGED_BY: instance, MANIFEST: f"{kind}/{name}"}
    if revision:
        tags[REVISION] = revision
    if fields:
        tags[FIELDS] = fields
    if write_only:
        tags[WRITE_ONLY] = write_only
    if owner:
        tags[OWNER] = owner
    return tags


def is_owned(tags: dict[str, str] | None, instance: str) -> bool:
    return bool(tags) and tags.get(MANAGED_BY) == instance


def user_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """Tags without ours: what a manifest's `spec.tags` is compared with."""
    return {k: v for k, v in (tags or {}).items() if k not in OWNERSHIP_KEYS}


def tag_list_to_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """ECS `[{key, value}]` and EventBridge `[{Key, Value}]` lists as a mapping."""
    out: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("key", tag.get("Key"))
        value = tag.get("value", tag.get("Value", ""))
        if key is not None:
            out[key] = value
    return out


def ecs_tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def events_tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
