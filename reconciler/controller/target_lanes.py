"""One lane per target in the controller: what a target's reconcile needs and keeps between passes.

A target (desired/targeting.py) is its own account and Region, so it gets its own clients (its
assumed role, its Region, its token buckets), its own informer and read schedule, its own record of
applied specs, flap guard, followed rollouts and event stream, and its own state on /status. Names
are unique per target only, so nothing keyed by (kind, name) may be shared between lanes. Without
Target manifests there is one lane, the ambient one, and the controller runs exactly as it did.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..apply.flap_guard import FlapGuard
from ..aws import AwsSettings, CallLog, Clients
from ..desired.target import TargetManifest
from ..observed.attribution import ChangeLog
from ..observed.informer import Informer
from ..report.masking import mask_text
from ..target_engines import AMBIENT, target_settings
from ..verify.preflight import Preflight
from .applied_specs import AppliedSpecs
from .resource_rows import RolloutTracker


def state_file_of(state_file: str | None, name: str | None) -> str | None:
    """A target's own state file beside the controller's (`state.json` -> `state.payments-eu.json`)."""
    if not state_file or name is None:
        return state_file
    path = Path(state_file)
    return str(path.with_name(f"{path.stem}.{name}{path.suffix or '.json'}"))


def target_identity(target: TargetManifest | None) -> tuple:
    """What the lane's clients are built from: a change of it means new clients (and a full read)."""
    if target is None:
        return ()
    spec = target.spec
    return (spec.region, spec.roleArn, spec.externalId, spec.sessionName)


@dataclass
class TargetLane:
    """A target's clients and the state its reconciles keep; `error` is its last pass's failure."""

    name: str | None  # None: the ambient credentials and Region
    clients: Clients
    region: str
    account: str | None
    identity: tuple
    informer: Informer
    flap_guard: FlapGuard
    rollouts: RolloutTracker
    applied: AppliedSpecs
    preflight: Preflight
    changes: ChangeLog
    consumer: Any = None  # its EventConsumer, with an event stream
    streaming: bool = False  # its event consumer was started (or tried): never two
    stopped: threading.Event = field(default_factory=threading.Event)  # set: its consumer stops
    full_read_due: bool = True
    resync_due: bool = False
    last_full_read: float = 0.0  # time.monotonic() of the last full read
    error: str | None = None
    last_reconcile: float | None = None  # time.time() of its last pass
    counts: dict[str, int] = field(default_factory=dict)  # state -> resources, after its last pass
    drift_detected: Counter = field(default_factory=Counter)  # kind -> drifted resources found, over all passes
    drift_healed: Counter = field(default_factory=Counter)  # kind -> drifts reverted

    @property
    def label(self) -> str:
        return self.name or AMBIENT

    def document(self) -> dict[str, Any]:
        """Its section of /status."""
        state = "unknown" if self.last_reconcile is None else ("error" if self.error else "ok")
        return {"target": self.label, "region": self.region, "account": self.account, "state": state,
                "lastError": mask_text(self.error) if self.error else None,
                "lastReconcile": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_reconcile))
                if self.last_reconcile else None,
                "resources": dict(sorted(self.counts.items()))}


def new_lane(name: str | None, target: TargetManifest | None, base: AwsSettings, config: Any,
             clients: Clients | None = None) -> TargetLane:
    """A lane for target `name`: `clients` for the ambient one, otherwise built from the Target
    (its Region and role, the process's endpoint and profile) with a call log of its own."""
    settings = target_settings(base, target)
    if clients is None:
        clients = Clients(settings, CallLog())
    return TargetLane(name=name, clients=clients, region=settings.resolved_region(),
                      account=target.account if target is not None else None, identity=target_identity(target),
                      informer=Informer(), flap_guard=FlapGuard(config.flap_limit),
                      rollouts=RolloutTracker(config.rollout_timeout),
                      applied=AppliedSpecs(state_file_of(config.state_file, name)),
                      preflight=Preflight(ttl=config.resync_period), changes=ChangeLog())
