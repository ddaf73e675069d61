"""Fields AWS accepts but never returns are compared with what we last wrote.

CreateService takes `monitoring` and `gatewayConnectors`, but neither the Service nor the Deployment
shape of DescribeServices carries them, so a describe can neither confirm nor contradict them. Every
write records a hash of their values on the resource (`ecs-reconciler.io/write-only`); a manifest
whose values hash differently plans an update of those fields, shown with the observed side as
unknown. A change made out of band to such a field cannot be seen by anyone reading the API, and a
field the manifest stops setting is left as AWS has it (it can be neither read nor always cleared);
the stale hash goes with the next write.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .compare import Change

UNKNOWN = "(not returned by AWS)"


def write_only_hash(request: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    """A short hash of the write-only fields the request sets; None when it sets none."""
    values = {name: request[name] for name in fields if request.get(name) not in (None, [], {})}
    if not values:
        return None
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_only_changes(request: dict[str, Any], fields: tuple[str, ...], recorded: str | None) -> list[Change]:
    """Changes for the write-only fields the request sets, when their hash differs from the one
    recorded at the last write."""
    current = write_only_hash(request, fields)
    if current is None or current == recorded:
        return []
    return [Change(f"spec.{name}", request[name], UNKNOWN) for name in fields if request.get(name) not in (None, [], {})]
