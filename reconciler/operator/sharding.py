"""The operator sharded across replicas: each object is handled only by the replica holding its target's Lease.

kopf's peering keeps one replica active; sharded replicas run standalone instead (every replica's
handlers fire for every object) and each handler first asks `TargetLeases` whether the object's
target (`spec.target`, or the ambient account for none) is this replica's now, with the same
"held and renewed within the deadline" rule the leases use. A replica that does not hold the target
does nothing and writes nothing (kopf there only stores its last-handled annotation, the value the
holder stores too); the holder does the work. Two gaps are closed by a catch-up timer:
a change the holder's kopf saw as already handled (the other replica's kopf wrote the shared
last-handled annotation first), and a target that just moved here (its objects are checked at once
instead of at the next resync). Deletion waits for the holder: the finalizer is removed by the
replica that cleaned AWS up.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import socket
import threading
import time
from typing import Any, Callable

import kopf

from ..desired.target import TargetManifest
from ..target_leases import LeaseApi, TargetLeases
from .convert import target_of

log = logging.getLogger(__name__)


def shard_of(body: Any) -> str | None:
    """The target whose Lease guards this object: its `spec.target`, or the ambient part (None) for
    none and for a name no EcsTarget can have (a spec the API server let through; such an object
    only ever gets InvalidSpec, and must not make a Lease the API server refuses)."""
    name = target_of(dict(body))
    return name if name is None or re.fullmatch(TargetManifest.NAME_PATTERN, name) else None


def default_replica_id() -> str:
    """The pod's name (the chart passes it by the downward API), else the host name."""
    return os.environ.get("POD_NAME") or socket.gethostname()


class ShardGate:
    """This replica's share of the targets, and the guard every handler goes through."""

    def __init__(self, api: LeaseApi, identity: str, prefix: str = "ecs-reconciler", lease_seconds: float = 15,
                 renew_seconds: float | None = None, renew_deadline: float | None = None,
                 catch_up_seconds: float | None = None):
        renew = renew_seconds if renew_seconds is not None else lease_seconds / 7.5
        deadline = renew_deadline if renew_deadline is not None else lease_seconds * 2 / 3
        self.leases = TargetLeases(api, identity, [None], prefix=prefix, lease_seconds=lease_seconds,
                                   renew_seconds=renew, renew_deadline=deadline)
        self.identity = identity
        self.catch_up_seconds = catch_up_seconds if catch_up_seconds is not None else lease_seconds / 3
        self._named: dict[str, str | None] = {}  # object uid -> the target it names
        self._target_objects: set[str] = set()  # EcsTargets in the targets namespace
        self._gained: dict[str | None, int] = {}  # target -> how many times this replica gained it
        self._seen: dict[str, tuple[Any, int]] = {}  # uid -> (generation, gain count) this replica last handled
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._release_on_stop = True

    # -- the lease loop (kopf's startup/cleanup) --

    def start(self, **_: Any) -> None:
        self._sync_targets()
        self._round()  # hold a share before the first handlers run
        self._thread = threading.Thread(target=self._loop, name="target-leases", daemon=True)
        self._thread.start()

    def stop(self, release: bool = True, **_: Any) -> None:
        """A clean stop gives every target back; `release=False` is a replica cut off from the API:
        it stops renewing and acts only until its renew deadline passes."""
        if self._stop.is_set():
            return
        self._release_on_stop = release
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        while not self._stop.wait(self.leases.renew_seconds):
            self._sync_targets()
            try:
                self._round()
            except Exception:  # the API being away must not kill the loop: held targets expire on their own
                log.warning("lease round failed", exc_info=True)
        if self._release_on_stop:
            self.leases.release_all()

    def _round(self) -> None:
        before = set(self.leases.held())
        after = set(self.leases.tick())
        with self._mutex:
            for target in after - before:
                self._gained[target] = self._gained.get(target, 0) + 1
        if after != before:
            log.info("replica %s holds targets %s", self.identity, sorted(str(t) for t in after))

    def _sync_targets(self) -> None:
        with self._mutex:
            named = set(self._named.values()) | self._target_objects | {None}
        if set(self.leases.targets) != named:
            self.leases.set_targets(sorted(named, key=lambda t: (t is not None, t or "")))

    # -- what the lease loop needs to know: which targets exist --

    def note_object(self, body: Any, type: str | None = None, **_: Any) -> None:
        """Every object's event: the targets objects name (one that has no EcsTarget yet still gets a
        Lease, so exactly one replica tells the object so)."""
        uid = body["metadata"].get("uid") or f"{body.get('kind')}/{body['metadata'].get('name')}"
        with self._mutex:
            if type == "DELETED":
                self._named.pop(uid, None)
                self._seen.pop(uid, None)
            else:
                self._named[uid] = shard_of(body)

    def note_target(self, body: Any, type: str | None = None, **_: Any) -> None:
        name = body["metadata"]["name"]
        if not re.fullmatch(TargetManifest.NAME_PATTERN, name):
            return  # no object can name it (spec.target's pattern)
        with self._mutex:
            if type == "DELETED":
                self._target_objects.discard(name)
            else:
                self._target_objects.add(name)

    # -- the guard --

    def owns(self, body: Any, **_: Any) -> bool:
        """kopf's filter for the change handlers: elsewhere kopf runs no handler, posts no Event and
        stores no progress (only its last-handled annotation, the value the holder stores too)."""
        return self.leases.holds(shard_of(body))

    def _remember(self, body: Any, target: str | None) -> None:
        uid = body["metadata"].get("uid")
        if uid:
            with self._mutex:
                self._seen[uid] = (body["metadata"].get("generation"), self._gained.get(target, 0))

    def _run(self, fn: Callable[..., Any], target: str | None, body: Any, kwargs: dict[str, Any]) -> Any:
        self._remember(body, target)
        started = time.monotonic()
        name = f"{body.get('kind')}/{body['metadata'].get('namespace')}/{body['metadata'].get('name')}"
        try:
            return fn(body=body, **kwargs)
        finally:
            patch = kwargs.get("patch")
            if patch is not None and patch.get("status"):
                patch.status["reconciledBy"] = self.identity  # whose write this is
            log.debug("replica %s handled %s (target %s)", self.identity, name, target,
                      extra={"replica": self.identity, "target": target, "object": name,
                             "started": started, "ended": time.monotonic()})

    def gate(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A change handler or timer that runs only on the replica holding the object's target."""
        @functools.wraps(fn)
        def handler(body: Any, **kwargs: Any) -> Any:
            target = shard_of(body)
            with self.leases.holding(target) as ours:
                if not ours:
                    return None  # the holder's kopf sees the same event; the catch-up timer covers a race
                return self._run(fn, target, body, kwargs)
        return handler

    def gate_delete(self, fn: Callable[..., Any], still_there: Callable[[Any, dict[str, Any]], bool]) -> Callable[..., Any]:
        """The delete handler: a replica not holding the target waits (writing nothing, in kopf's
        event loop, so a mass deletion ties up no thread) until the holder has removed the
        finalizer, or until the target moves here (the holder died)."""
        def run_if_ours(body: Any, target: str | None, kwargs: dict[str, Any]) -> tuple[bool, Any]:
            with self.leases.holding(target) as ours:
                return (True, self._run(fn, target, body, kwargs)) if ours else (False, None)

        async def handler(body: Any, **kwargs: Any) -> Any:  # no functools.wraps: kopf would call it as sync
            target = shard_of(body)
            give_up = time.monotonic() + 2 * self.leases.lease_seconds
            while True:
                if self.leases.holds(target):
                    ran, result = await asyncio.to_thread(run_if_ours, body, target, kwargs)
                    if ran:
                        return result
                if not still_there(body, kwargs):
                    return None  # the holder cleaned up and let the object go
                if time.monotonic() > give_up:
                    raise kopf.TemporaryError(f"waiting for the replica holding target {target or '(ambient)'}",
                                              delay=self.leases.renew_seconds)
                await asyncio.sleep(min(self.leases.renew_seconds, 0.5))
        return handler

    def catch_up(self, reconcile: Callable[..., Any], check_drift: Callable[..., Any]) -> Callable[..., Any]:
        """A timer: an object of a held target that this replica has not handled at its current
        generation (or since it gained the target) is reconciled now. It runs often for every
        object on every replica, so the cheap part stays in kopf's event loop (no thread)."""
        def work(body: Any, target: str | None, uid: str, kwargs: dict[str, Any]) -> Any:
            status = body.get("status") or {}
            handled = status.get("observedGeneration") == body["metadata"].get("generation")
            with self.leases.holding(target) as ours:
                if not ours:
                    return None
                if handled and status.get("synced"):
                    return self._run(functools.partial(check_drift, _due=True), target, body, kwargs)
                if handled:  # stalled at this generation: nothing changes until the spec does
                    self._remember(body, target)
                    return None
                try:
                    return self._run(reconcile, target, body, kwargs)
                except Exception:
                    with self._mutex:  # not done (e.g. a dependency not ready yet): try again next time
                        self._seen.pop(uid, None)
                    raise

        async def timer(body: Any, **kwargs: Any) -> Any:
            target = shard_of(body)
            uid = body["metadata"].get("uid")
            if body["metadata"].get("deletionTimestamp") or not uid or not self.leases.holds(target):
                return None
            with self._mutex:
                if self._seen.get(uid) == (body["metadata"].get("generation"), self._gained.get(target, 0)):
                    return None
            return await asyncio.to_thread(work, body, target, uid, kwargs)
        return timer

    def register(self, registry: kopf.OperatorRegistry, resource: tuple[str, str, str],
                 reconcile: Callable[..., Any], check_drift: Callable[..., Any]) -> None:
        """For one kind: follow the targets its objects name, and catch up on what this replica gained."""
        kopf.on.event(*resource, id="shard-targets", registry=registry)(self.note_object)
        kopf.timer(*resource, id="shard-catch-up", interval=self.catch_up_seconds, initial_delay=self.catch_up_seconds,
                   registry=registry)(self.catch_up(reconcile, check_drift))

    def register_operator(self, registry: kopf.OperatorRegistry, targets: tuple[str, str, str] | None) -> None:
        """The lease loop's start and clean stop, and the EcsTargets that exist."""
        kopf.on.startup(registry=registry)(self.start)
        kopf.on.cleanup(registry=registry)(self.stop)
        if targets is not None:
            kopf.on.event(*targets, id="shard-targets", registry=registry)(self.note_target)
