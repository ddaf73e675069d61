"""The general rule for fields a manifest does not set: they belong to AWS, unless we set them before.

Real ECS answers with more than it was sent: server-side defaults, fields added to the API after the
manifest was written, values chosen from the cluster or the account. A table of defaults
(`SERVICE_DEFAULTS`, `CONTAINER_DEFAULTS`, ...) documents the ones we know, but AWS adds response
fields every few months, so the table cannot be the only mechanism. The rule, after Kubernetes
server-side apply (a manager owns the fields it sets) and the late initialization of the ACK
controllers (what the server fills in is not a change):

1. **Declared fields are compared.** A canonical form is a tree of *structures* (API shapes whose
   keys are field names) and *collections* (keyed maps whose keys are written `[id]`, and lists).
   Every field of a structure that the desired form sets is compared with what AWS returns, at any
   depth, so an out-of-band change to a field the manifest sets is drift.
2. **A collection the manifest declares is compared whole**: an extra environment variable, volume
   or container on the AWS side is drift, and so is a missing one.
3. **Undeclared fields are AWS's** (a default, a value it chose), so they are never drift...
4. **...unless the manifest stopped declaring them.** Every write records a fingerprint of the
   declared field paths on the resource (`ecs-reconciler.io/fields`). When the manifest declares a
   different set of fields than that record says (or there is no record: a resource written before
   the rule, or one being adopted), the undeclared fields are compared too, so a removed field is
   planned as a reset. The write records the new fingerprint, so the comparison returns to rule 3
   on the next plan: an AWS default the table does not know costs at most one write, never a loop.

The fingerprint is of field *paths*, not values: changing an image leaves it alone, so a routine
deploy writes no extra tag.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator



def is_collection(value: Any) -> bool:
    """A keyed map made by the normalizers (`{"[web]": ...}`), as opposed to a structure."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and k.startswith("[") and k.endswith("]") for k in value)


def declared_paths(form: Any, prefix: str = "") -> Iterator[str]:
    """Every structure field the form sets, as a path; collection keys are part of the path of the
    structures inside them (`containerDefinitions[web].user`), never fields themselves."""
    if isinstance(form, dict):
        collection = is_collection(form)
        for key, value in form.items():
            path = f"{prefix}{key}" if collection else f"{prefix}.{key}" if prefix else key
            if not collection:
                yield path
            yield from declared_paths(value, path)
    elif isinstance(form, list):
        for index, item in enumerate(form):
            if isinstance(item, dict):
                yield from declared_paths(item, f"{prefix}[{index}]")


def fields_fingerprint(form: dict[str, Any]) -> str:
    """A short hash of the declared field paths of a canonical form, recorded as a tag on write."""
    paths = "\n".join(sorted(declared_paths(form)))
    return hashlib.sha256(paths.encode()).hexdigest()[:16]


def restrict(observed: Any, desired: Any, reset: bool) -> Any:
    """`observed` limited to what `desired` declares (rules 1-3); with `reset`, undeclared structure
    fields are kept so they show as removals (rule 4)."""
    if isinstance(observed, dict) and isinstance(desired, dict):
        if is_collection(observed) or is_collection(desired):
            return {k: restrict(v, desired[k], reset) if k in desired else v for k, v in observed.items()}
        return {k: restrict(v, desired[k], reset) if k in desired else v
                for k, v in observed.items() if reset or k in desired}
    if (isinstance(observed, list) and isinstance(desired, list) and len(observed) == len(desired)
            and all(isinstance(o, dict) and isinstance(d, dict) for o, d in zip(observed, desired))):
        # An ordered list of structures (placement strategies, lifecycle hooks): item by item.
        return [restrict(o, d, reset) for o, d in zip(observed, desired)]
    return observed


def comparable(desired: dict[str, Any], observed: dict[str, Any], recorded: str | None) -> dict[str, Any]:
    """The observed form to compare with `desired`, given the fingerprint recorded on the resource
    (None when there is none)."""
    reset = recorded != fields_fingerprint(desired)
    return restrict(observed, desired, reset)
