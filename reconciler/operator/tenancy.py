"""Tenancy: which object owns an AWS resource, and what each namespace may name and adopt.

Every resource the operator writes carries the owning object (`namespace/name/uid`) in the tag
`ecs-reconciler.io/owner`; the engine refuses to write a resource whose tag names another object
(see plan/planner.py). The policy (a file, `--policy`, mounted from the chart's ConfigMap) says which
namespaces may adopt resources not managed by this instance, which AWS name prefixes each
namespace may use, and which EcsTargets (other accounts and Regions) each namespace may name. With no
policy, every namespace may adopt and use any name, as before owner tags existed, and no namespace
may use a target: reaching another account is always given explicitly.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..aws import Clients
from ..desired.loader import DesiredState
from ..engine import Engine
from ..observed.state import Observed
from ..ownership import OWNER, is_owned
from ..plan.model import Plan

log = logging.getLogger(__name__)

TAG_VALUE_MAX = 256  # AWS tag values (ECS and EventBridge)
ANY = "*"
NAMESPACE_PLACEHOLDER = "{namespace}"


# -- owners -------------------------------------------------------------------------------------------

def owner_of(body: dict[str, Any]) -> str:
    """The owner tag value of a Kubernetes object: `namespace/name/uid`. Namespaces (63) and uids
    (36) fit whole; a long name is shortened to stay within the 256 characters of a tag value (the
    uid alone identifies the object). All three use only characters AWS allows in tag values."""
    meta = body["metadata"]
    namespace, name, uid = meta.get("namespace") or "", meta["name"], meta.get("uid") or ""
    room = TAG_VALUE_MAX - len(namespace) - len(uid) - 2
    return f"{namespace}/{name[:room]}/{uid}"


def describe_owner(value: str) -> str:
    """`team-a/web (uid 0b5e...)` for an owner tag value; other values as they are."""
    namespace, _, rest = value.partition("/")
    name, _, uid = rest.rpartition("/")
    return f"{namespace}/{name} (uid {uid})" if name and uid else value


def ownership_tags_of(engine: Engine, observed: Observed) -> tuple[dict[str, str], str | None]:
    """The tags that say who owns `observed`, and the ARN that carries them: a rule's tags are read on
    demand; a task definition family is owned through its newest tagged revision when someone
    registered an untagged one on top (as the planner judges it)."""
    if observed.kind == "ScheduledTask":
        return engine.reader.rule_tags(observed), observed.arn
    if observed.kind == "TaskDefinition" and not is_owned(observed.tags, engine.options.instance):
        ours = engine.reader.owned_revision_of(observed.name, engine.options.instance)
        if ours is not None:
            return ours.tags or {}, ours.arn
    return observed.tags or {}, observed.arn


def release(clients: Clients, observed: Observed, arn: str) -> None:
    """Remove the owner tag (deletionPolicy Retain): the resource stays managed by this instance, and
    the next object the policy allows to use its name takes it over."""
    if observed.kind == "ScheduledTask":
        clients.events.untag_resource(ResourceARN=arn, TagKeys=[OWNER])
    elif observed.kind == "Schedule":
        return  # a schedule carries no tags: no owner tag is ever written on it
    else:
        clients.ecs.untag_resource(resourceArn=arn, tagKeys=[OWNER])


# -- policy -------------------------------------------------------------------------------------------

class PolicyError(Exception):
    """The policy file cannot be read or does not have the expected shape."""


class _PolicyFile(BaseModel):
    """The policy file's shape (also the chart's `policy` value)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    adoptNamespaces: list[str] = [ANY]
    namePrefixes: dict[str, list[str]] = {ANY: [""]}
    targets: dict[str, list[str]] = {}


@dataclass(frozen=True)
class Policy:
    """`adopt_namespaces`: namespaces whose objects may adopt resources not managed by this
    instance (`*`: every namespace). `name_prefixes`: namespace -> the prefixes its AWS names must
    start with; `*` is the entry for namespaces not listed, `{namespace}` stands for the object's
    namespace, and an empty prefix allows every name. A namespace with no entry (and no `*`) may
    name nothing. `targets`: namespace (or `*`) -> the EcsTargets its objects may name in
    `spec.target` (`*`: every target); a namespace with no entry may name none and reconciles only in
    the operator's own account and Region. The defaults allow every name and adoption, and no target."""

    adopt_namespaces: tuple[str, ...] = (ANY,)
    name_prefixes: dict[str, tuple[str, ...]] = field(default_factory=lambda: {ANY: ("",)})
    targets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def current(self) -> Policy:
        return self

    def may_adopt(self, namespace: str) -> bool:
        return ANY in self.adopt_namespaces or namespace in self.adopt_namespaces

    def prefixes(self, namespace: str) -> tuple[str, ...]:
        listed = self.name_prefixes.get(namespace, self.name_prefixes.get(ANY, ()))
        return tuple(p.replace(NAMESPACE_PLACEHOLDER, namespace) for p in listed)

    def may_name(self, namespace: str, name: str) -> bool:
        return any(name.startswith(prefix) for prefix in self.prefixes(namespace))

    def allowed_targets(self, namespace: str) -> tuple[str, ...]:
        return tuple(self.targets.get(namespace, ())) + tuple(self.targets.get(ANY, ()))

    def may_target(self, namespace: str, target: str) -> bool:
        allowed = self.allowed_targets(namespace)
        return ANY in allowed or target in allowed

    @classmethod
    def parse(cls, text: str, source: str) -> Policy:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
        try:
            model = _PolicyFile.model_validate(data if data is not None else {})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                                 for e in exc.errors())
            raise PolicyError(f"{source}: {problems} (expected adoptNamespaces: [namespace, ...], "
                              "namePrefixes: {namespace: [prefix, ...]} and targets: {namespace: [target, ...]})") from exc
        return cls(tuple(model.adoptNamespaces), {ns: tuple(p) for ns, p in model.namePrefixes.items()},
                   {ns: tuple(t) for ns, t in model.targets.items()})

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read the policy: {exc.strerror}") from exc
        return cls.parse(text, str(path))


class PolicyFile:
    """The policy in a file that may change while the operator runs (a ConfigMap volume is updated
    in place): read again when its modification time or size changes. A change that does not parse
    is logged and the last good policy stays in force."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._policy = Policy.load(self.path)  # a bad file at start-up is an error

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def current(self) -> Policy:
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._policy = Policy.load(self.path)
                    log.info("policy %s reloaded", self.path)
                except PolicyError as exc:
                    log.error("%s; the previous policy stays in force", exc)
            return self._policy


# -- checks -------------------------------------------------------------------------------------------

def name_violation(policy: Policy, namespace: str, desired: DesiredState) -> str | None:
    """Why the policy refuses an AWS name `desired` uses (the object and the dependencies it
    writes, all from `namespace`), or None."""
    for item in desired.resources:
        name = item.manifest.name
        if not policy.may_name(namespace, name):
            prefixes = policy.prefixes(namespace)
            allowed = (f"names starting with {', '.join(repr(p) for p in prefixes)}" if prefixes
                       else "no AWS names")
            return (f"{item.manifest.KIND}/{name}: the AWS name {name!r} is not allowed in namespace {namespace!r}; "
                    f"the operator policy allows {allowed} there (set spec.awsName)")
    return None


def target_violation(policy: Policy, namespace: str, target: str | None) -> str | None:
    """Why the policy refuses `namespace` the EcsTarget `target` (another account or Region), or None."""
    if target is None or policy.may_target(namespace, target):
        return None
    allowed = policy.allowed_targets(namespace)
    return (f"spec.target: the target {target!r} is not allowed in namespace {namespace!r}; the operator policy "
            f"allows {'targets ' + ', '.join(repr(t) for t in allowed) if allowed else 'no target'} there "
            "(policy `targets`)")


def adoption_violation(policy: Policy, namespace: str, plan: Plan) -> str | None:
    """Why the policy refuses an adoption `plan` would make, or None."""
    if policy.may_adopt(namespace):
        return None
    adopting = [a.label for a in plan.actions if a.adopt]
    if not adopting:
        return None
    allowed = ", ".join(policy.adopt_namespaces) or "none"
    return (f"{', '.join(adopting)} exists and is not managed by this operator; adoption "
            f"(ecs-reconciler.io/adopt) is not allowed in namespace {namespace!r}; the operator policy allows "
            f"it in namespaces: {allowed}")
