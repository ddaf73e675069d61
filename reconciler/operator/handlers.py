"""kopf handlers: each object becomes a manifest, the engine plans and applies; nothing more.

Create/update/resume converge AWS to the object; a timer per object re-checks drift (and heals it
with self-heal); a delete handler (behind kopf's finalizer) honours `spec.deletionPolicy`. Engine
work runs in kopf's handler threads, one at a time, so two objects sharing a dependency never
race to register the same revision.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import kopf
from pydantic import ValidationError
from botocore.exceptions import BotoCoreError, ClientError

from ..apply.flap_guard import DEFAULT_LIMIT, FlapGuard, Held, blocked_by
from ..aws import AwsSettings, CallLog, Clients
from ..controller.happenings import Announcer, Timeline
from ..controller.status import ResourceStatus
from ..desired.loader import DesiredState
from ..engine import Engine, EngineOptions
from ..diff.rules import family_revision
from ..errors import ReconcileError
from ..observed.attribution import ChangeLog
from ..observed.revisions import RevisionCache
from ..observed.rollouts import ROLLOUT_TIMEOUT, rolled_back, rollout_of
from ..ownership import DEFAULT_INSTANCE, OWNER, is_owned
from ..plan.model import Action, Plan
from ..report.masking import mask_text
from ..plan.manual_rollback import manual_rollback, suspended_by_rollback
from ..report.render import masked_changes
from . import status as st
from .convert import (Converted, DependencyNotReady, InvalidObject, aws_name, convert, deletion_policy,
                      references_of, spec_hash, target_of, validate)
from ..desired.base import API_VERSION
from .crds import CRD_KINDS, GROUP, TARGET_CRD_KIND, VERSION, manifest_kind, plural
from .tenancy import (Policy, adoption_violation, describe_owner, name_violation, owner_of, ownership_tags_of,
                      release, target_violation)

log = logging.getLogger(__name__)

FINALIZER = "ecs-reconciler.io/finalizer"  # kopf's, set in operator_settings


@dataclass
class OperatorConfig:
    region: str | None = None
    endpoint_url: str | None = None
    instance: str = DEFAULT_INSTANCE
    resync_seconds: float = 300.0
    self_heal: bool = True
    retry_delay: float = 5.0
    call_log: CallLog | None = None
    events_queue: str | None = None  # SQS queue of the ECS event stream: drift is checked as events arrive
    tick_seconds: float = 2.0  # with an events queue, how often each object looks for a wake-up
    rollout_poll_seconds: float = 5.0  # a service rolling out is looked at again this often
    rollout_timeout: float = ROLLOUT_TIMEOUT  # in progress longer than this: RolloutFailed (0: never)
    metrics: Any = None  # an OperatorMetrics, when metrics are served
    flap_limit: int = DEFAULT_LIMIT  # applies of one unchanged diff before the object is held (0: never)
    policy: Any = field(default_factory=Policy)  # a tenancy.Policy, or a PolicyFile read again when it changes
    # Where EcsTargets live (an admin's namespace, never a tenant's: a target names a role to assume).
    # None: objects cannot name a target.
    targets_namespace: str | None = None
    board: Any = None  # a controller.status.StatusBoard the operator's dashboard shows, when served
    changes: Any = field(default_factory=ChangeLog)  # who made each write the event stream shows (attribution)
    notify: Any = None  # called with each happening (drift found, apply failed, ...): a notifications.Notifier
    shard: Any = None  # a sharding.ShardGate: handle only the objects whose target this replica holds


def _show(config: OperatorConfig, body: dict[str, Any], kind: str, name: str, state: str, paths: Any = (),
          who: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Put the object's state on the dashboard's board (grouped by namespace), when one is served."""
    if config.board is not None:
        config.board.put(ResourceStatus(kind, name, state, drift=list(paths), changed_by=who, error=error,
                                        target=body["metadata"].get("namespace")))


def _who_text(who: dict[str, Any]) -> str:
    return f"changed by {who['label']}" + (f" ({who['call']} at {who['time']})" if who.get("call") else "")


class DirtyBoard:
    """Resources the event stream says changed, as (kind, AWS name); each object's drift timer takes
    its own mark and checks at once instead of waiting for the resync period."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def mark(self, keys: set) -> None:
        with self._lock:
            self._keys.update((key[0], key[-1]) for key in keys if key)

    def take(self, kind: str, name: str) -> bool:
        with self._lock:
            if (kind, name) in self._keys:
                self._keys.discard((kind, name))
                return True
            return False


class Reconciler:
    """The engine side of the handlers: one set of clients, one lock, one revision cache."""

    def __init__(self, config: OperatorConfig):
        self.config = config
        self.clients = Clients(AwsSettings(region=config.region, endpoint_url=config.endpoint_url),
                               config.call_log or CallLog())
        self.revisions = RevisionCache()
        self.lock = threading.Lock()
        self.flap_guard = FlapGuard(config.flap_limit)

        self._target_clients: dict[tuple[str, str], Clients] = {}

    def engine(self, revision: str | None = None, owners: dict[str, str] | None = None,
               target: dict[str, Any] | None = None) -> Engine:
        """An engine in the operator's own account, or in `target`'s (an EcsTarget body)."""
        options = EngineOptions(instance=self.config.instance, revision=revision, owners=owners or {})
        return Engine(self.clients_for(target), options, self.revisions)

    def clients_for(self, target: dict[str, Any] | None) -> Clients:
        """Clients per EcsTarget (and per version of its spec, so an edited role takes effect)."""
        if target is None:
            return self.clients
        from ..target_engines import target_settings

        key = (target["metadata"]["name"], spec_hash(target.get("spec") or {}))
        if key not in self._target_clients:
            self._target_clients[key] = Clients(target_settings(self.clients.settings, target_manifest(target)),
                                                self.config.call_log or CallLog())
        return self._target_clients[key]


def target_manifest(body: dict[str, Any]) -> Any:
    """An EcsTarget object as the Target manifest model (raises pydantic's ValidationError)."""
    from ..desired.target import TargetManifest

    return TargetManifest.model_validate({"apiVersion": API_VERSION, "kind": "Target",
                                          "metadata": {"name": body["metadata"]["name"]}, "spec": body.get("spec") or {}})


def _still_finalized(body: Any, kwargs: dict[str, Any]) -> bool:
    """Whether the object (as this replica's index has it now) still waits for our finalizer."""
    current = _lookup(kwargs)(body.get("kind", ""), body["metadata"].get("namespace", ""), body["metadata"]["name"])
    return current is not None and FINALIZER in (current["metadata"].get("finalizers") or [])


def _plain(body: Any) -> dict[str, Any]:
    return copy.deepcopy(dict(body))


def _lookup(indexes: dict[str, Any]):
    def lookup(crd_kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        store = indexes.get(plural(crd_kind), {}).get((namespace, name))
        return next(iter(store), None) if store else None
    return lookup


def _set_status(patch: kopf.Patch, **fields: Any) -> None:
    for key, value in fields.items():
        patch.status[key] = value


def _arn(plan: Plan, applied: dict[str, str | None], kind: str, name: str) -> str | None:
    action = plan.get(kind, name)
    label = f"{kind}/{name}"
    if applied.get(label):
        return applied[label]
    return action.observed.arn if action is not None and action.observed is not None else None


def _revision(kind: str, arn: str | None, action: Action | None) -> str | None:
    if kind == "TaskDefinition" and arn:
        return arn.rsplit("/", 1)[-1]
    if kind == "Service" and action is not None:
        ref = action.request.get("taskDefinition") or (action.observed.body.get("taskDefinition") if action.observed else None)
        return str(ref).rsplit("/", 1)[-1] if ref else None
    return None


def _rolling_out(raw: dict[str, Any]) -> bool:
    """The object's conditions say its deployment is still being followed."""
    for condition in (raw.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Reconciling" and condition.get("status") == "True":
            return condition.get("reason") == "RollingOut"
    return False


def _same_conditions(raw: dict[str, Any], new: list[dict[str, Any]]) -> bool:
    old = {c.get("type"): (c.get("status"), c.get("reason"), c.get("message"))
           for c in (raw.get("status") or {}).get("conditions") or []}
    return all(old.get(c["type"]) == (c["status"], c["reason"], c["message"]) for c in new)


def _rolled_back(raw: dict[str, Any], action: Action | None) -> bool:
    """ECS put another revision back after we deployed the one the spec still asks for."""
    if action is None or action.kind != "Service" or action.action != "update" or action.observed is None:
        return False
    return rolled_back(action.request.get("taskDefinition"), (raw.get("status") or {}).get("lastAppliedRevision"),
                       action.observed.body)


def build_registry(config: OperatorConfig, registry: kopf.OperatorRegistry | None = None) -> kopf.OperatorRegistry:
    """Register every handler for the four CRDs on `registry` (a fresh one by default)."""
    registry = registry if registry is not None else kopf.OperatorRegistry()
    rec = Reconciler(config)
    board = DirtyBoard()
    last_checked: dict[str, float] = {}  # object uid -> monotonic time of its last drift check
    sinks: list[Any] = [config.notify] if config.notify is not None else []
    if config.board is not None:
        config.board.timeline = config.board.timeline or Timeline()
        sinks += [config.board.timeline, lambda _h: config.board.touch()]
    announcer = Announcer("kubernetes", sinks)  # each state said once (happenings.py)
    consumer: dict[str, Any] = {}

    def start_events(**_: Any) -> None:
        from ..observed.consumer import EventConsumer, start_consumer_thread
        from ..observed.event_cache import EventCache

        events = EventConsumer(rec.clients, config.events_queue, EventCache(), board.mark, wait_seconds=1,
                               changes=config.changes)
        consumer["thread"], consumer["stop"] = start_consumer_thread(events, name="operator-events")

    def stop_events(**_: Any) -> None:
        if consumer:
            consumer["stop"].set()
            consumer["thread"].join(timeout=10)

    def due(raw: dict[str, Any], kind: str, name: str) -> bool:
        """A drift check is due when an event marked the resource, or the resync period passed."""
        uid = raw["metadata"].get("uid") or f"{kind}/{name}"
        woken = board.take(kind, name)
        now = time.monotonic()
        if woken or now - last_checked.get(uid, 0.0) >= config.resync_seconds:
            last_checked[uid] = now
            return True
        return False

    def index(namespace: str, name: str, body: Any, **_: Any) -> dict[tuple[str, str], dict[str, Any]]:
        return {(namespace, name): _plain(body)}

    def count(metric: str, kind: str, **labels: str) -> None:
        if config.metrics is not None:
            getattr(config.metrics, metric).labels(kind=kind, **labels).inc()

    def stall(body: dict[str, Any], patch: kopf.Patch, reason: str, message: str) -> None:
        count("reconciles", CRD_KINDS.get(body.get("kind", ""), body.get("kind", "")), outcome="stalled")
        generation = body["metadata"].get("generation")
        previous = (body.get("status") or {}).get("conditions")
        _set_status(patch, synced=False, observedGeneration=generation,
                    conditions=st.stalled(previous, generation, reason, message))
        kopf.warn(body, reason=reason, message=mask_text(message))
        kind = CRD_KINDS.get(body.get("kind", ""), body.get("kind", ""))
        _show(config, body, kind, body["metadata"].get("name", ""), "failed", error=f"{reason}: {message}")
        label = f"{kind}/{body['metadata'].get('name', '')}"
        if announcer.once("failed", label, (reason, message)):
            announcer.say("apply-failed", label, f"{label}: {reason}: {message}")

    def prepare(body: dict[str, Any], patch: kopf.Patch, kwargs: dict[str, Any]) -> Converted | None:
        try:
            return convert(body, _lookup(kwargs))
        except InvalidObject as exc:
            stall(body, patch, "InvalidSpec", str(exc))
            return None
        except DependencyNotReady as exc:
            generation = body["metadata"].get("generation")
            previous = (body.get("status") or {}).get("conditions")
            _set_status(patch, synced=False,
                        conditions=st.reconciling(previous, generation, "WaitingForDependency", str(exc)))
            raise kopf.TemporaryError(str(exc), delay=config.retry_delay)

    def target_body(body: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The EcsTarget `body` names (None: the operator's own account); raises DependencyNotReady
        while it does not exist, as for any missing dependency."""
        name = target_of(body)
        if name is None:
            return None
        if config.targets_namespace is None:
            raise InvalidObject("spec.target: this operator has no targets namespace (--targets-namespace)")
        found = _lookup(kwargs)(TARGET_CRD_KIND, config.targets_namespace, name)
        if found is None:
            raise DependencyNotReady(f"{TARGET_CRD_KIND} {config.targets_namespace}/{name} does not exist")
        try:
            target_manifest(found)
        except ValidationError as exc:
            problems = "; ".join(f"spec.{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
            raise InvalidObject(f"{TARGET_CRD_KIND} {config.targets_namespace}/{name} is invalid: {problems}") from None
        return found

    def converge(body: dict[str, Any], patch: kopf.Patch, converted: Converted, reason: str,
                 kwargs: dict[str, Any] | None = None) -> None:
        kind, name = converted.located.manifest.KIND, converted.located.manifest.name
        generation = body["metadata"].get("generation")
        digest = spec_hash(body.get("spec") or {})
        namespace = body["metadata"].get("namespace", "")
        policy = config.policy.current()
        refused = name_violation(policy, namespace, converted.desired) or target_violation(
            policy, namespace, converted.target)
        if refused:
            stall(body, patch, "PolicyViolation", refused)  # before any AWS call
            return
        try:
            target = target_body(body, kwargs or {})
        except InvalidObject as exc:
            stall(body, patch, "InvalidSpec", str(exc))
            return
        except DependencyNotReady as exc:
            previous = (body.get("status") or {}).get("conditions")
            _set_status(patch, synced=False,
                        conditions=st.reconciling(previous, generation, "WaitingForDependency", str(exc)))
            raise kopf.TemporaryError(str(exc), delay=config.retry_delay)
        try:
            with rec.lock:
                engine = rec.engine(revision=digest, owners=converted.owners, target=target)
                plan = engine.plan(converted.desired)
                taken = [a for a in plan.conflicts if a.owned_by]
                if taken:
                    stall(body, patch, "OwnedByAnotherObject", "; ".join(
                        f"{a.label} is owned by {describe_owner(a.owned_by)}, another object; nothing was "
                        "written (deleting that object releases it)" for a in taken))
                    return
                refused = adoption_violation(policy, namespace, plan)
                if refused:
                    stall(body, patch, "PolicyViolation", refused)
                    return
                if plan.conflicts:
                    message = "; ".join(f"{a.label}: {'; '.join(a.reasons)}" for a in plan.conflicts)
                    stall(body, patch, "Conflict", message)
                    return
                perpetual = rec.flap_guard.check(plan)
                if (kind, name) in perpetual:
                    mark_perpetual(body, patch, plan.get(kind, name), perpetual[(kind, name)])
                    return
                rolled = suspended_by_rollback(plan).get((kind, name))
                if rolled is not None:
                    stall(body, patch, "RolledBackManually", rolled.message)
                    return
                blocked = blocked_by(plan, set(perpetual))
                if (kind, name) in blocked:
                    stall(body, patch, "DependencyPerpetualDiff",
                          "a dependency keeps a perpetual diff and is not written: "
                          + ", ".join(f"{k}/{n}" for k, n in sorted(perpetual)))
                    return
                applied: dict[str, str | None] = {}
                if plan.has_changes:
                    result = engine.apply(Plan([a for a in plan.actions if a.key not in blocked]))
                    for outcome in result.outcomes:
                        applied[outcome.label] = outcome.arn
                        kopf.info(body, reason=outcome.action.capitalize(), message=f"{outcome.action} {outcome.label}")
                    for action in plan.pending:
                        if action.label in applied:
                            rec.flap_guard.applied(action)
        except ReconcileError as exc:
            stall(body, patch, "ApplyRefused", str(exc))
            return
        except (ClientError, BotoCoreError) as exc:
            previous = (body.get("status") or {}).get("conditions")
            _set_status(patch, synced=False, conditions=st.reconciling(previous, generation, "AwsError", str(exc)))
            kopf.warn(body, reason="AwsError", message=mask_text(str(exc)))
            count("reconciles", kind, outcome="error")
            raise kopf.TemporaryError(mask_text(str(exc)), delay=config.retry_delay)
        arn = _arn(plan, applied, kind, name)
        previous = (body.get("status") or {}).get("conditions")
        if kind == "Service" and f"{kind}/{name}" in applied:
            conditions = st.reconciling(previous, generation, "RollingOut", "the deployment has not finished")
        else:
            conditions = rollout_conditions(previous, generation, plan.get(kind, name), reason)
        fields: dict[str, Any] = dict(synced=True, drifted=False, driftedPaths=[], observedGeneration=generation,
                                      specHash=digest, conditions=conditions, perpetualDiff=None, driftedBy=None)
        moving = any(c["type"] == "Reconciling" and c["status"] == "True" for c in conditions)
        _show(config, body, kind, name, "rolling-out" if moving else "in-sync")
        count("reconciles", kind, outcome="synced")
        if arn:
            fields["arn"] = arn
        revision = _revision(kind, arn, plan.get(kind, name))
        if revision:
            fields["lastAppliedRevision"] = revision
        _set_status(patch, **fields)

    def mark_perpetual(body: dict[str, Any], patch: kopf.Patch, action: Action, info: Held) -> None:
        """Writes stopped for this object: say so in its status, once as an Event and a metric."""
        generation = body["metadata"].get("generation")
        previous = (body.get("status") or {}).get("conditions")
        message = (f"applied {info.applies} times with the same diff and AWS still answers differently at "
                   f"{', '.join(info.paths)}; writes stopped until the spec changes")
        _set_status(patch, synced=True, drifted=True, driftedPaths=info.paths, observedGeneration=generation,
                    perpetualDiff={"applies": info.applies, "changes": masked_changes(action)},
                    conditions=st.stalled(previous, generation, "PerpetualDiff", message))
        _show(config, body, action.kind, action.name, "perpetual-diff", info.paths, error=message)
        if announcer.once("perpetual", action.label, tuple(info.paths)):
            announcer.say("perpetual-diff", action.label, f"{action.label}: {message}", paths=list(info.paths))
        if info.first:
            kopf.warn(body, reason="PerpetualDiff", message=message)
            count("perpetual_diffs", action.kind)

    def rollout_conditions(previous: Any, generation: int | None, action: Action | None, message: str) -> list:
        """Ready, unless `action` is a service whose deployment is still moving or has failed."""
        if action is None or action.kind != "Service" or action.observed is None:
            return st.ready(previous, generation, message)
        rollout = rollout_of(action.observed.body, timeout=config.rollout_timeout)
        if rollout.state == "in-progress":
            return st.reconciling(previous, generation, "RollingOut", "the deployment has not finished")
        if rollout.state == "failed":
            return st.stalled(previous, generation, "RolloutFailed", rollout.reason or "the deployment failed")
        return st.ready(previous, generation, message)

    def reconcile(body: Any, patch: kopf.Patch, **kwargs: Any) -> None:
        raw = _plain(body)
        status = raw.get("status") or {}
        if not config.self_heal and status.get("synced") and status.get("specHash") == spec_hash(raw.get("spec") or {}):
            # The spec is the one already applied (an operator restart resumes every object, and kopf
            # may run a handler again): what differs now is drift, which only self-heal reverts.
            check_drift(body, patch, _due=True, **kwargs)
            return
        converted = prepare(raw, patch, kwargs)
        if converted is not None:
            converge(raw, patch, converted, "in sync with the spec", kwargs)

    def follow_rollout(body: Any, patch: kopf.Patch, **kwargs: Any) -> None:
        """A service whose deployment is under way: the drift check, without waiting to be due."""
        check_drift(body, patch, _due=True, **kwargs)

    def check_drift(body: Any, patch: kopf.Patch, _due: bool = False, **kwargs: Any) -> None:
        raw = _plain(body)
        if raw["metadata"].get("deletionTimestamp"):
            return  # being deleted: the delete handler owns it now
        if not (raw.get("status") or {}).get("synced"):
            return  # not converged yet (or stalled): the change handlers own this object
        try:
            converted = convert(raw, _lookup(kwargs))
        except (InvalidObject, DependencyNotReady):
            return
        kind, name = converted.located.manifest.KIND, converted.located.manifest.name
        if not (_due or due(raw, kind, name)):
            return
        if target_violation(config.policy.current(), raw["metadata"].get("namespace", ""), converted.target):
            converge(raw, patch, converted, "in sync with the spec")  # the policy changed: says why; no AWS call
            return
        try:
            target = target_body(raw, kwargs)
        except (InvalidObject, DependencyNotReady):
            return
        with rec.lock:
            plan = rec.engine(owners=converted.owners, target=target).plan(converted.desired)
            perpetual = rec.flap_guard.check(plan)
        own = plan.get(kind, name)
        if plan.conflicts:
            converge(raw, patch, converted, "in sync with the spec", kwargs)  # says why it is Stalled; writes nothing
            return
        if (kind, name) in perpetual:
            mark_perpetual(raw, patch, own, perpetual[(kind, name)])
            return
        paths = [c.path for c in own.changes] if own is not None and own.action != "none" else []
        if own is not None and own.action == "create":
            paths = paths or ["(missing in AWS)"]
        generation = raw["metadata"].get("generation")
        previous = (raw.get("status") or {}).get("conditions")
        if not paths:
            if raw.get("status", {}).get("drifted") or raw.get("status", {}).get("perpetualDiff"):
                _set_status(patch, drifted=False, driftedPaths=[], perpetualDiff=None)
            conditions = rollout_conditions(previous, generation, own, "in sync with the spec")
            if not _same_conditions(raw, conditions):
                _set_status(patch, conditions=conditions)
                stalled = next(c for c in conditions if c["type"] == "Stalled")
                if stalled["status"] == "True":
                    kopf.warn(raw, reason=stalled["reason"], message=stalled["message"])
                    announcer.say("rollout-failed", f"{kind}/{name}", f"{kind}/{name}: {stalled['message']}")
            announcer.forget("drift", f"{kind}/{name}")
            state = {"Stalled": "failed", "Reconciling": "rolling-out"}
            _show(config, raw, kind, name, next((state[c["type"]] for c in conditions
                                                 if c["type"] in state and c["status"] == "True"), "in-sync"))
            return
        rolled = manual_rollback(own) if own is not None and own.action in ("update", "replace") else None
        if rolled is not None:
            conditions = st.stalled(previous, generation, "RolledBackManually", rolled.message)
            if not _same_conditions(raw, conditions):
                kopf.warn(raw, reason="RolledBackManually", message=rolled.message)
                # What runs now was put there on purpose: after `resume`, deploying the spec again is
                # a sync, not a repeat of a deployment ECS rolled back.
                _set_status(patch, drifted=True, driftedPaths=paths, conditions=conditions,
                            lastAppliedRevision=family_revision(own.observed.body.get("taskDefinition")))
            return
        if _rolled_back(raw, own):
            # Deploying the same revision again would fail again (and fight the circuit breaker).
            rollout = rollout_of(own.observed.body, timeout=config.rollout_timeout)
            message = ((rollout.reason + "; ") if rollout.reason else "") + (
                f"ECS rolled {raw['status']['lastAppliedRevision']} back; not deployed again until what the service "
                "deploys changes")
            conditions = st.stalled(previous, generation, "RolledBack", message)
            if not _same_conditions(raw, conditions):
                kopf.warn(raw, reason="RolledBack", message=message)
                announcer.say("rolled-back", f"{kind}/{name}", f"{kind}/{name}: {message}")
                _set_status(patch, drifted=True, driftedPaths=paths, conditions=conditions)
            return
        who = config.changes.document(kind, name)
        kopf.warn(raw, reason="Drifted", message=f"{kind}/{name} drifted: {', '.join(paths)}; {_who_text(who)}")
        count("drift_detected", kind)
        label = f"{kind}/{name}"
        if announcer.once("drift", label, tuple(paths)):
            announcer.say("drift-found", label, f"{label} drifted: {', '.join(paths)}", who=who, paths=list(paths))
        if config.self_heal:
            converge(raw, patch, converted, "drift healed", kwargs)
            count("drift_healed", kind)
            kopf.info(raw, reason="Healed", message=f"{kind}/{name}: {', '.join(paths)} ({_who_text(who)})")
            announcer.forget("drift", label)
            announcer.say("drift-healed", label, f"{label} drift reverted")
        else:
            _set_status(patch, drifted=True, driftedPaths=paths, driftedBy=who)
            _show(config, raw, kind, name, "drifted", paths, who)

    def delete(body: Any, **kwargs: Any) -> None:
        """Only what this very object owns (its owner tag) is touched: Delete deletes it, Retain
        removes the owner tag so that another object may take the resource over."""
        raw = _plain(body)
        deleting = deletion_policy(raw) == "Delete"
        lookup = _lookup(kwargs)
        namespace = raw["metadata"].get("namespace", "")
        references = {}
        for path, crd_kind, ref in references_of(raw):
            target = lookup(crd_kind, namespace, ref)
            if target is not None:
                references[path] = aws_name(target)
        try:
            located = validate(raw, references)
        except InvalidObject:
            return  # never valid, so never created
        kind, name = located.manifest.KIND, located.manifest.name
        if target_violation(config.policy.current(), namespace, target_of(raw)):
            return  # never allowed there, so never written there
        try:
            target = target_body(raw, kwargs)
        except (InvalidObject, DependencyNotReady):
            kopf.warn(raw, reason="TargetMissing", message=f"{kind}/{name}: its target is gone; left in place")
            return
        with rec.lock:
            engine = rec.engine(target=target)
            observed = engine.observe(DesiredState([located])).get(kind, name)
            if observed is None:
                return
            tags, arn = ownership_tags_of(engine, observed)
            owner = tags.get(OWNER)
            if not is_owned(tags, config.instance) or owner != owner_of(raw):
                if deleting:
                    whose = f"owned by {describe_owner(owner)}" if is_owned(tags, config.instance) and owner else (
                        "not owned by this object")
                    kopf.warn(raw, reason="NotOwned", message=f"{kind}/{name} is {whose}; left in place")
                else:
                    kopf.info(raw, reason="Retained", message="deletionPolicy Retain: the AWS resource is left in place")
                return
            if deleting:
                engine.apply(Plan([Action(kind, name, "delete", observed=observed)]))
            elif arn:
                try:
                    release(engine.clients, observed, arn)
                except (ClientError, BotoCoreError) as exc:
                    # Retain never holds the object back; the claim stays until the tag is removed.
                    kopf.warn(raw, reason="NotReleased", message=f"{kind}/{name} is left in place but still names "
                              f"this object as its owner ({exc}); remove the tag {OWNER} from {arn} to release it")
                    return
        if deleting:
            kopf.info(raw, reason="Delete", message=f"deleted {kind}/{name}")
            if config.board is not None:
                config.board.remove(kind, name)
        else:
            kopf.info(raw, reason="Retained",
                      message=f"deletionPolicy Retain: {kind}/{name} is left in place and released (owner tag removed)")

    gate = config.shard.gate if config.shard is not None else (lambda fn: fn)
    owns = config.shard.owns if config.shard is not None else None  # kopf skips the change handlers elsewhere
    if config.targets_namespace is not None:
        kopf.index(GROUP, VERSION, plural(TARGET_CRD_KIND), id=plural(TARGET_CRD_KIND), registry=registry)(index)
    if config.shard is not None:
        config.shard.register_operator(registry, (GROUP, VERSION, plural(TARGET_CRD_KIND))
                                       if config.targets_namespace is not None else None)
    for crd_kind in CRD_KINDS:
        resource = (GROUP, VERSION, plural(crd_kind))
        kopf.index(*resource, id=plural(crd_kind), registry=registry)(index)
        for on in (kopf.on.create, kopf.on.update, kopf.on.resume):
            on(*resource, id="reconcile", registry=registry, when=owns)(gate(reconcile))
        on_delete = delete if config.shard is None else config.shard.gate_delete(delete, _still_finalized)
        kopf.on.delete(*resource, id="delete", registry=registry)(on_delete)
        interval = min(config.tick_seconds, config.resync_seconds) if config.events_queue else config.resync_seconds
        kopf.timer(*resource, id="drift", interval=interval, initial_delay=interval, registry=registry)(gate(check_drift))
        if CRD_KINDS[crd_kind] == "Service":
            # Only while a deployment is being followed (Reconciling/RollingOut); kopf checks the
            # filter in-process, so idle services cost no handler call and no AWS call.
            poll = min(config.rollout_poll_seconds, config.resync_seconds)
            kopf.timer(*resource, id="rollout", interval=poll, initial_delay=poll, registry=registry,
                       when=lambda body, **_: _rolling_out(dict(body)))(gate(follow_rollout))
        if config.shard is not None:
            config.shard.register(registry, resource, reconcile, check_drift)
    if config.events_queue:
        kopf.on.startup(registry=registry)(start_events)
        kopf.on.cleanup(registry=registry)(stop_events)
    return registry


__all__ = ["OperatorConfig", "build_registry", "manifest_kind"]
