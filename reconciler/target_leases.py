"""Sharding targets across replicas: one Kubernetes Lease (coordination.k8s.io/v1) per target.

Kubernetes is the coordinator; there is no protocol of our own. Each replica:

- keeps a membership Lease (`<prefix>-replica-<identity>`), so every replica knows how many are alive;
- holds at most its fair share (ceil(targets / live replicas)) of the target Leases
  (`<prefix>-target-<name>`; the ambient part is `<prefix>-ambient`), takes free or expired ones and
  releases extras when a new replica joins, so targets spread out;
- renews what it holds every `renew_seconds`; every write carries the `resourceVersion` it read, so
  the API server lets exactly one of two racing replicas win (409 Conflict for the other).

Safety is client-go's leader-election rule, per target: a replica treats a Lease as its own only
while its last successful renewal is younger than `renew_deadline` (< `lease_seconds`); another
replica takes a Lease over only after it saw the record unchanged for `lease_seconds` on its own
clock. So a replica that dies (or loses the API) stops reconciling before anyone else starts, and
its targets move within the lease duration. `holding(target)` is the guard around one reconcile; a
release waits for a reconcile in progress to finish.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


class Conflict(Exception):
    """Someone else wrote the Lease first (409): re-read, do not retry blindly."""


class LeaseApi:
    """The few Lease calls we need, over the Kubernetes API's HTTP interface (stdlib only)."""

    def __init__(self, url: str, namespace: str, token: str | None = None, ca_file: str | None = None,
                 timeout: float = 5.0, token_file: Path | None = None):
        self.base = url.rstrip("/") + LEASES.format(namespace=namespace)
        self.namespace, self.timeout = namespace, timeout
        self._token, self._token_file = token, token_file
        self._context = ssl.create_default_context(cafile=ca_file) if ca_file else None

    @classmethod
    def in_cluster(cls, namespace: str | None = None) -> LeaseApi:
        """The pod's own API server and service account token; Leases in `namespace` (default: the pod's)."""
        import os

        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        return cls(f"https://{host}:{port}", namespace or (SERVICE_ACCOUNT / "namespace").read_text().strip(),
                   None, str(SERVICE_ACCOUNT / "ca.crt"), token_file=SERVICE_ACCOUNT / "token")

    def _call(self, method: str, url: str, body: dict | None = None,
              content_type: str = "application/json") -> dict | None:
        headers = {"Accept": "application/json"}
        # The kubelet rotates a projected service account token: read it again for every call.
        token = self._token_file.read_text().strip() if self._token_file is not None else self._token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), content_type
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            if exc.code == 409:
                raise Conflict(url) from None
            raise

    def list(self) -> list[dict]:
        return (self._call("GET", self.base) or {}).get("items", [])

    def get(self, name: str) -> dict | None:
        return self._call("GET", f"{self.base}/{name}")

    def create(self, name: str, spec: dict, labels: dict[str, str]) -> dict:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels}, "spec": spec}
        return self._call("POST", self.base, body) or body

    def update(self, lease: dict, spec: dict) -> dict:
        """Merge-patch `spec`, on condition that the Lease is still at the `resourceVersion` we read."""
        name, version = lease["metadata"]["name"], lease["metadata"].get("resourceVersion")
        patch = {"metadata": {"resourceVersion": version}, "spec": spec}
        return self._call("PATCH", f"{self.base}/{name}", patch, "application/merge-patch+json") or lease


def _micro_time(now: datetime.datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Seen:
    version: str | None
    since: float  # local monotonic time this replica first saw this version


@dataclass
class TargetLeases:
    """This replica's share of `targets` (names; None is the ambient part)."""

    api: LeaseApi
    identity: str
    targets: Iterable[str | None]
    prefix: str = "ecs-reconciler"
    lease_seconds: int = 15
    renew_seconds: float = 2.0
    renew_deadline: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _held: dict[str | None, float] = field(default_factory=dict)  # target -> local time of last renewal
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _locks: dict[str | None, threading.Lock] = field(default_factory=dict)
    _mutex: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.targets = list(self.targets)
        if not 0 < self.renew_seconds < self.renew_deadline < self.lease_seconds:
            raise ValueError("expected 0 < renew_seconds < renew_deadline < lease_seconds")
        self._locks = {t: threading.Lock() for t in self.targets}

    def lease_name(self, target: str | None) -> str:
        return f"{self.prefix}-target-{target}" if target is not None else f"{self.prefix}-ambient"

    @property
    def member_name(self) -> str:
        return f"{self.prefix}-replica-{self.identity}"

    # -- what the reconcile loop asks --

    def held(self) -> list[str | None]:
        """The targets this replica may reconcile now."""
        now = self.clock()
        with self._mutex:
            return [t for t in self.targets if t in self._held and now - self._held[t] < self.renew_deadline]

    def holds(self, target: str | None) -> bool:
        """Whether `target` is this replica's now (held, and renewed within the deadline)."""
        now = self.clock()
        with self._mutex:
            return target in self._held and now - self._held[target] < self.renew_deadline

    @contextlib.contextmanager
    def holding(self, target: str | None) -> Iterator[bool]:
        """Guard one reconcile of `target`: yields whether it is ours; no release happens meanwhile."""
        lock = self._locks.get(target)
        if lock is None:  # not (yet) a target this replica knows: never ours
            yield False
            return
        with lock:
            yield target in self.held()

    def set_targets(self, targets: Iterable[str | None]) -> None:
        """The targets changed (an operator's EcsTargets come and go): the next round follows."""
        targets = list(dict.fromkeys(targets))
        with self._mutex:
            for target in targets:
                self._locks.setdefault(target, threading.Lock())
            self.targets = targets

    # -- one round of the lease loop --

    def tick(self) -> list[str | None]:
        """Renew, rebalance and acquire once; returns what is held afterwards."""
        now_utc = datetime.datetime.now(datetime.timezone.utc)
        targets = list(self.targets)  # set_targets may replace it meanwhile
        self._renew(self.member_name, None, now_utc, member=True)
        leases = {item["metadata"]["name"]: item for item in self.api.list()}
        for gone in [t for t in list(self._held) if t not in targets]:
            self.release(gone, leases.get(self.lease_name(gone)))
        live = {self.identity} | {self._holder(lease) for name, lease in leases.items()
                                  if name.startswith(f"{self.prefix}-replica-") and self._holder(lease)
                                  and not self._expired(lease)}
        share = math.ceil(len(targets) / max(1, len(live)))
        mine = [t for t in targets if self._holder(leases.get(self.lease_name(t))) == self.identity]
        for target in mine[share:]:  # a replica joined: give the extras back
            self.release(target, leases.get(self.lease_name(target)))
        for target in mine[:share]:
            self._renew(self.lease_name(target), target, now_utc, lease=leases.get(self.lease_name(target)))
        # Watch every held Lease each round (not only when there is room for it), so a dead holder's
        # Leases are seen expired one lease duration after it stopped, together with its membership.
        expired = {t: self._expired(leases[self.lease_name(t)]) for t in targets
                   if self.lease_name(t) in leases and self._holder(leases[self.lease_name(t)])}
        count = min(len(mine), share)
        for target in targets:
            if count >= share:
                break
            lease = leases.get(self.lease_name(target))
            if lease is None or not self._holder(lease) or expired.get(target):
                if self._acquire(target, lease, now_utc):
                    count += 1
        return self.held()

    def release(self, target: str | None, lease: dict | None = None) -> None:
        """Give `target` up (after any reconcile of it in progress)."""
        with self._locks.setdefault(target, threading.Lock()):
            with self._mutex:
                self._held.pop(target, None)
            lease = lease or self.api.get(self.lease_name(target))
            if lease is not None and self._holder(lease) == self.identity:
                with contextlib.suppress(Conflict):
                    self.api.update(lease, {"holderIdentity": None})

    def release_all(self) -> None:
        """A clean stop: every target, then the membership, so the others take over at their next round."""
        for target in list(self.targets):
            self.release(target)
        member = self.api.get(self.member_name)
        if member is not None and self._holder(member) == self.identity:
            with contextlib.suppress(Conflict):
                self.api.update(member, {"holderIdentity": None})

    # -- internals --

    @staticmethod
    def _holder(lease: dict | None) -> str | None:
        return (lease or {}).get("spec", {}).get("holderIdentity") or None

    def _expired(self, lease: dict) -> bool:
        """Unchanged for a whole lease duration, as this replica saw it (never trusting other clocks)."""
        name, version = lease["metadata"]["name"], lease["metadata"].get("resourceVersion")
        now = self.clock()
        seen = self._seen.get(name)
        if seen is None or seen.version != version:
            self._seen[name] = _Seen(version, now)
            return False
        duration = lease["spec"].get("leaseDurationSeconds") or self.lease_seconds
        return now - seen.since >= duration

    def _spec(self, now_utc: datetime.datetime, transitions: int, acquired: str | None = None) -> dict:
        return {"holderIdentity": self.identity, "leaseDurationSeconds": self.lease_seconds,
                "acquireTime": acquired or _micro_time(now_utc), "renewTime": _micro_time(now_utc),
                "leaseTransitions": transitions}

    def _acquire(self, target: str | None, lease: dict | None, now_utc: datetime.datetime) -> bool:
        started = self.clock()
        try:
            if lease is None:
                self.api.create(self.lease_name(target), self._spec(now_utc, 0), {"app.kubernetes.io/name": self.prefix})
            else:
                self.api.update(lease, self._spec(now_utc, lease["spec"].get("leaseTransitions", 0) + 1))
        except Conflict:
            return False
        with self._mutex:
            self._held[target] = started
        return True

    def _renew(self, name: str, target: str | None, now_utc: datetime.datetime, member: bool = False,
               lease: dict | None = None) -> None:
        started = self.clock()
        try:
            lease = lease if lease is not None else self.api.get(name)
            if lease is None and member:
                self.api.create(name, self._spec(now_utc, 0), {"app.kubernetes.io/name": self.prefix})
                return
            if lease is None or self._holder(lease) != self.identity:
                raise Conflict(name)
            self.api.update(lease, {"holderIdentity": self.identity, "renewTime": _micro_time(now_utc),
                                    "leaseDurationSeconds": self.lease_seconds})
        except Conflict:
            if not member:
                with self._mutex:
                    self._held.pop(target, None)
            return
        if not member:
            with self._mutex:
                self._held[target] = started


def run_lease_loop(leases: TargetLeases, stop: threading.Event) -> None:
    """Tick until `stop`; then give every held target back so the others take over at once."""
    import logging

    log = logging.getLogger(__name__)
    while not stop.is_set():
        try:
            leases.tick()
        except Exception:  # the API being away must not kill the loop: held() expires on its own
            log.warning("lease round failed", exc_info=True)
        stop.wait(leases.renew_seconds)
    leases.release_all()
