"""The GitOps loop: source revisions and drift signals in, whole-set reconciles out.

Every trigger (new commit, file change, webhook, event-stream dirty key, resync timer) adds the
same queue key, so a burst of triggers collapses into one reconcile and reconciles never overlap.
One reconcile plans the whole desired set (dependency order stays the planner's job) and then
applies only what the policies allow:

- a *sync* is a change whose desired spec differs from the last applied one (or that depends on
  one, e.g. a service whose task definition gets a new revision): applied unless dry-run/suspended;
- a *drift* is a difference on a resource whose spec did not change: an out-of-band edit, reverted
  only with self-heal.

An invalid revision is rejected whole: the last good desired state stays in force.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..apply.flap_guard import DEFAULT_LIMIT, FlapGuard, Held, blocked_by
from ..aws import Clients
from ..desired.loader import DesiredState, load_manifests
from ..desired.lookups import Lookups
from ..desired.substitution import Substitution
from ..diff.rules import family_revision
from ..engine import Engine, EngineOptions
from ..errors import InvalidManifests
from ..observed.informer import Informer
from ..observed.revisions import RevisionCache
from ..observed.rollouts import ROLLOUT_TIMEOUT, Rollout, rolled_back, rollout_of
from ..ownership import DEFAULT_INSTANCE
from ..plan.model import Action, Plan
from ..report.masking import mask_text
from ..report.render import masked_changes
from ..sources.directory import DirectorySource
from ..verify.preflight import Preflight
from ..sources.git import GitSource, GitSourceError, redact_url
from .metrics import ControllerMetrics
from .status import ResourceStatus, StatusBoard
from .workqueue import ExponentialBackoff, WorkQueue, run_workers

log = logging.getLogger("reconciler.controller")

SUSPEND_FILE = ".ecs-reconciler-suspend"
RECONCILE = ("reconcile", "*")  # the one queue key: triggers collapse, reconciles never overlap


@dataclass
class ControllerConfig:
    source: str
    poll_interval: float = 30.0
    resync_period: float = 300.0
    full_resync_period: float = 3600.0  # with an event stream: every kind re-read this often (resyncs between are warm)
    events_queue: str | None = None
    self_heal: bool = True
    prune: bool = False
    dry_run: bool = False
    concurrency: int = 8  # writes in flight at once within a wave of independent actions
    instance: str = DEFAULT_INSTANCE
    state_file: str | None = None
    cache_dir: str | None = None
    workdir: str | None = None
    events_wait_seconds: int = 5  # SQS long poll; also bounds how long stop waits for the consumer
    rollout_poll: float = 5.0  # re-check services that are rolling out this often
    rollout_timeout: float = ROLLOUT_TIMEOUT  # a deployment in progress longer than this counts as failed (0: never)
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    flap_limit: int = DEFAULT_LIMIT  # applies of one unchanged diff before the resource is held (0: never)
    allow_replace: bool = False  # apply replaces (delete and create); otherwise they wait as needs-replace
    verify: bool = True  # run the verify checks on what an apply will write; failing resources are held
    tfstate: tuple[str, ...] = ()  # Terraform states for ${tfstate:...} references


def is_directory_source(spec: str) -> bool:
    return "://" not in spec and "#" not in spec and "@" not in spec.split("/")[0] and Path(spec).exists()


def fingerprint(action: Action) -> str | None:
    """Hash of what the manifest asks for; equal fingerprints mean 'the source did not change it'."""
    if action.desired is None:
        return None
    body = action.desired.manifest.model_dump(mode="json", exclude_none=True)
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _dep_key(label: str) -> tuple[str, str]:
    kind, _, name = label.partition("/")
    return kind, name


class Controller:
    """In-process controller: ``start``/``stop`` for the daemon, ``sync_once`` for one pass."""

    def __init__(self, clients: Clients, config: ControllerConfig) -> None:
        self.clients = clients
        self.config = config
        self._stop = threading.Event()
        self._reconcile_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._source_lock = threading.RLock()  # one source load at a time
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []
        self._own_workdir: str | None = None
        self.revisions = RevisionCache(config.cache_dir)
        self.queue = WorkQueue(ExponentialBackoff(base=config.backoff_base, cap=config.backoff_cap))
        self.git: GitSource | None = None
        self.directory: DirectorySource | None = None
        if is_directory_source(config.source):
            self.directory = DirectorySource(config.source, quiet_ms=100, max_delay_ms=1000)
            display = str(config.source)
        else:
            workdir = config.workdir or self._make_workdir()
            self.git = GitSource.from_spec(config.source, workdir=workdir, poll_interval=config.poll_interval,
                                           control_files=(SUSPEND_FILE,))
            display = redact_url(config.source)
        self.consumer = None
        self.metrics = ControllerMetrics(clients.call_log, self._event_stats)
        self.status = StatusBoard(display, {"selfHeal": config.self_heal, "prune": config.prune,
                                            "dryRun": config.dry_run})
        self.desired: DesiredState | None = None
        self.revision: str | None = None
        self._manifest_dir: Path | None = None
        self._manifest_source: tuple[str, Path] | None = None  # what _load read last
        self._seen_revision: str | None = None
        self._http_suspended = False
        self._ready = False
        self._applied: dict[tuple[str, str], str] = self._load_state()
        # Services we deployed whose rollout we have not yet seen finish: key -> the task definition
        # revision ("family:N") of that deployment, once a describe has shown it.
        self._rollouts: dict[tuple[str, str], str | None] = {}
        self.flap_guard = FlapGuard(config.flap_limit)
        # Values of ${...} references, each looked up once per resync period.
        self.lookups = Lookups(lambda: clients, config.tfstate, ttl=config.resync_period)
        self.preflight = Preflight(ttl=config.resync_period)
        # Observed state between full reads. With an event stream, a reconcile re-reads only what
        # events (and our own writes) touched; the resync timer asks for a warm resync (every service
        # and cluster), and a full read comes at start and every full resync period. Without a
        # stream, every reconcile is a full read.
        self.informer = Informer()
        self._full_read_due = True
        self._resync_due = False
        self._last_full_read = 0.0  # time.monotonic() of the last full read

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> "Controller":
        """Load once (so /status has something), then start watchers, timer, workers, consumer."""
        try:
            self.refresh_source()
        except GitSourceError as exc:
            self._source_failed(str(exc))
        self.queue.add(RECONCILE)
        # One worker: every trigger is the same whole-set key, so reconciles never overlap; the
        # parallelism is inside each apply (config.concurrency writes at once).
        self._workers = run_workers(self.queue, 1, self._handle, self._stop)
        if self.git is not None:
            self._spawn("git-source", self.git.watch, self._stop, self._on_source_change, self._source_rejected)
        else:
            self._spawn("directory-source", self.directory.watch, self._stop, self._on_source_change)
        self._spawn("resync", self._resync_loop)
        if self.config.events_queue:
            self._start_consumer()
        return self

    def stop(self, timeout: float = 120.0) -> None:
        """Stop taking work; an in-flight reconcile (and its apply) finishes first."""
        self._stop.set()
        self.queue.shutdown()
        deadline = time.monotonic() + timeout
        for thread in self._workers + self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        if self._own_workdir:
            shutil.rmtree(self._own_workdir, ignore_errors=True)

    def trigger(self) -> None:
        """Ask for a reconcile soon (collapses with any already queued)."""
        self.queue.add(RECONCILE)

    def sync_once(self) -> bool:
        """Fetch/read the source and reconcile now, in this thread; True if nothing failed."""
        try:
            self.refresh_source()
        except GitSourceError as exc:
            self._source_failed(str(exc))
            return False
        try:
            self.reconcile()
        except Exception:
            log.exception("reconcile failed")
            return False
        return self.status.last_error is None

    def _spawn(self, name: str, target, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _make_workdir(self) -> str:
        self._own_workdir = tempfile.mkdtemp(prefix="ecs-reconciler-git-")
        return self._own_workdir

    # -- readiness, suspend, webhook -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready

    def is_suspended(self) -> bool:
        folder = self._manifest_dir
        by_file = folder is not None and folder.is_dir() and (folder / SUSPEND_FILE).exists()
        return self._http_suspended or by_file

    def suspend(self) -> dict:
        self._http_suspended = True
        log.info("suspended: no writes until resumed")
        self._publish_suspended()
        return {"suspended": True}

    def resume(self) -> dict:
        self._http_suspended = False
        log.info("resumed")
        self._publish_suspended()
        self.trigger()
        return {"suspended": self.is_suspended()}

    def _publish_suspended(self) -> None:
        suspended = self.is_suspended()
        self.status.update(suspended=suspended)
        self.metrics.suspended.set(1 if suspended else 0)

    def on_push(self, ref: str, sha: str) -> dict:
        """A verified webhook: wake the git poller now (the commit is still fetched, not trusted)."""
        if self.git is None or not self.git.matches_ref(ref):
            return {"ignored": ref}
        log.info("webhook push", extra={"ref": ref, "after": sha})
        self.git.wake()
        return {"woken": True}

    # -- source ----------------------------------------------------------------------------------------

    def refresh_source(self) -> bool:
        """Read the source; on a new valid revision swap the desired state. True if it changed.
        Loads take turns (watcher, resync timer, `sync_once`), and a directory is hashed inside
        the turn: the load that runs last read the files last, so an older one never wins."""
        with self._source_lock:
            return self._read_source()

    def _read_source(self) -> bool:
        if self.git is not None:
            snap = self.git.poll()
            if snap is None:
                return False
            return self._load(snap.commit, snap.path)
        snap = self.directory.snapshot()
        if snap.revision == self._seen_revision:
            return False
        return self._load(snap.revision, snap.path)

    def _load(self, revision: str, path: Path) -> bool:
        self._manifest_source = (revision, path)
        self._seen_revision = revision
        self.status.update(fetched_revision=revision)
        try:
            desired = load_manifests([str(path)], Substitution(self.lookups))
        except InvalidManifests as exc:
            self._manifest_dir = path if path.is_dir() else path.parent
            errors = [_safe_error(self._relative(str(e), path), e.path) for e in exc.errors]
            self.metrics.source_errors.inc()
            self._source_failed(f"revision {revision[:12]} rejected: " + "; ".join(errors))
            return False
        with self._state_lock:
            self.desired, self.revision = desired, revision
            self._manifest_dir = path if path.is_dir() else path.parent
        self.status.update(source_error=None)
        for warning in desired.warnings:
            log.warning("manifest accepted with changes: %s", str(warning).replace(str(path) + "/", ""),
                        extra={"revision": revision})
        log.info("loaded revision", extra={"revision": revision, "resources": len(desired)})
        return True

    def _relative(self, message: str, path: Path) -> str:
        """Paths in `message` relative to the manifests, or to the checkout for a base outside them."""
        message = message.replace(str(path) + "/", "")
        if self.git is not None and self.git.path:
            root = path.parents[len(Path(self.git.path).parts) - 1]
            message = message.replace(str(root) + "/", "")
        return message
    def _source_rejected(self, revision: str, reason: str) -> None:
        """The source refused a revision before loading it (over a limit): like an invalid one."""
        self._seen_revision = revision
        self.status.update(fetched_revision=revision)
        self.metrics.source_errors.inc()
        self._source_failed(f"revision {revision[:12]} rejected: {reason}")

    def _source_failed(self, message: str) -> None:
        self.status.update(source_error=message)
        log.error("source error: %s", message, extra={"revision": self._seen_revision})

    def _on_source_change(self, snap: Any) -> None:
        """A watcher saw a new revision (git commit or directory content hash)."""
        if self.directory is not None:
            try:
                self.refresh_source()  # hashed again in turn: the watcher's snapshot may be old by now
            except OSError as exc:
                self._source_failed(str(exc))
        else:
            with self._source_lock:
                if snap.revision != self._seen_revision:
                    self._load(snap.revision, Path(snap.path))
        self.trigger()

    def request_resync(self, full: bool = False) -> None:
        """Make the next reconcile a resync: warm with an event stream (every service and cluster
        re-read), full without one, when `full` or once the full resync period has passed."""
        self._resync_due = True
        self._full_read_due = self._full_read_due or full

    def _resync_loop(self) -> None:
        while not self._stop.wait(self.config.resync_period):
            self.request_resync()
            if self.desired is not None and self.desired.uses_references and self._manifest_source is not None:
                # Values from elsewhere may have changed without a commit: substitute again.
                self._load(*self._manifest_source)
            if self.directory is not None:
                try:
                    self.refresh_source()
                except OSError as exc:
                    self._source_failed(str(exc))
            self.trigger()

    # -- event stream ----------------------------------------------------------------------------------

    def _start_consumer(self) -> None:
        from ..observed.consumer import EventConsumer
        from ..observed.event_cache import EventCache

        self.consumer = EventConsumer(self.clients, self.config.events_queue, EventCache(), self._on_dirty,
                                      wait_seconds=self.config.events_wait_seconds)
        self._spawn("event-consumer", self.consumer.run, self._stop)

    def _on_dirty(self, keys: set) -> None:
        log.info("event stream marked resources dirty", extra={"keys": sorted(map(str, keys))})
        self.informer.mark(keys)
        self.trigger()

    def _event_stats(self) -> dict | None:
        return self.consumer.stats() if self.consumer is not None else None

    # -- reconcile -------------------------------------------------------------------------------------

    def _handle(self, _key: Any) -> None:
        if not self._stop.is_set():
            self.reconcile()

    def reconcile(self) -> None:
        """One whole-set pass: plan, classify sync vs drift, apply what the policies allow."""
        with self._reconcile_lock:
            with self._state_lock:
                desired, revision = self.desired, self.revision
            self._publish_suspended()
            if desired is None:
                return
            started = time.monotonic()
            outcome = "error"
            try:
                self._reconcile(desired, revision)
                outcome = "ok"
            except Exception as exc:
                self.status.update(reconcile_error=f"{type(exc).__name__}: {exc}")
                raise
            finally:
                self.metrics.reconcile_duration.labels(outcome=outcome).observe(time.monotonic() - started)
                self.status.update(last_reconcile=time.time())

    def _reconcile(self, desired: DesiredState, revision: str | None) -> None:
        options = EngineOptions(instance=self.config.instance, prune=self.config.prune, revision=revision,
                                allow_replace=self.config.allow_replace, workers=self.config.concurrency)
        engine = Engine(self.clients, options, self.revisions)
        plan = self._plan(engine, desired)
        self._ready = True
        syncs = self._sync_keys(plan)
        writable = not (self.config.dry_run or self.is_suspended())
        perpetual = self.flap_guard.check(plan)
        for info in perpetual.values():
            if info.first:
                self.metrics.perpetual_diffs.labels(kind=info.kind).inc()
                log.error("perpetual diff: writes stopped until the manifest changes",
                          extra={"resource": f"{info.kind}/{info.name}", "applies": info.applies, "paths": info.paths})
        rolled_back = self._rolled_back(plan)
        # Held back on their own: a replace without --allow-replace, and what the flap guard stopped;
        # what depends on them waits. Everything else is applied.
        needs_replace = set() if self.config.allow_replace else {a.key for a in plan.pending if a.action == "replace"}
        blocked = blocked_by(plan, set(perpetual) | needs_replace)
        chosen = self._choose(plan, syncs, rolled_back | blocked) if writable else []
        for action in plan.pending:
            if action.key not in syncs and action.action != "conflict":
                self.metrics.drift_detected.labels(kind=action.kind).inc()
        failed: dict[tuple[str, str], str] = {}
        done: set[tuple[str, str]] = set()
        if chosen and self.config.verify:
            failed = self._preflight(desired, chosen)
            chosen = [a for a in chosen if a.key not in failed]
        if chosen:
            apply_failed, done = self._apply(engine, plan, chosen, syncs)
            failed.update(apply_failed)
            for action in chosen:
                if action.key in done:
                    self.flap_guard.applied(action)
        rows, moving = self._rows(plan, syncs, done, failed, rolled_back, perpetual, blocked, needs_replace)
        # What we wrote, failed to write, or is still rolling out must be read again next time.
        self.informer.mark(set(done) | set(failed) | moving)
        self.status.set_resources(rows)
        self.metrics.set_resource_states([r.document() for r in rows])
        self._remember(plan, done, failed)
        if moving:
            self.queue.add_after(RECONCILE, self.config.rollout_poll)
        if failed:
            raise RuntimeError("apply failed for " + ", ".join("/".join(k) for k in failed))
        self.status.update(reconcile_error=None)
        if writable and not any(r.state in ("pending", "failed") for r in rows):
            self.status.update(revision=revision)
            self.metrics.applied_revision.info({"revision": revision or ""})
        log.info("reconciled", extra={"revision": revision, "summary": plan.summary(), "applied": len(done),
                                      "dry_run": self.config.dry_run, "suspended": not writable and not self.config.dry_run})

    def _plan(self, engine: Engine, desired: DesiredState) -> Plan:
        """Incremental between resyncs when the event stream keeps the cache honest, a warm resync when
        the resync timer fired, a full read when one is due (or always, without a stream)."""
        streaming = bool(self.config.events_queue)
        full = (not streaming or self._full_read_due
                or time.monotonic() - self._last_full_read >= self.config.full_resync_period)
        if not full and not self._resync_due:
            return self.informer.plan(engine, desired)
        due, started = (self._full_read_due, self._resync_due), time.monotonic()
        self._full_read_due = self._resync_due = False
        try:
            plan, missed = self.informer.resync(engine, desired, compare=streaming, warm=not full)
        except Exception:
            # The read failed: the resync is still owed (a request made meanwhile stands too).
            self._full_read_due, self._resync_due = self._full_read_due or due[0], self._resync_due or due[1]
            raise
        if full:
            self._last_full_read = started
        if missed:
            self.metrics.missed_events.inc(len(missed))
            log.warning("resync found drift the event stream had not shown", extra={"resources": missed})
        return plan

    def _preflight(self, desired: DesiredState, chosen: list[Action]) -> dict[tuple[str, str], str]:
        """Verify what is about to be written; the resources that fail (and their dependents) are held."""
        held, report = self.preflight.hold(desired, self.clients, chosen)
        for key, why in held.items():
            log.error("preflight held a resource", extra={"resource": "/".join(key), "error": why})
        if report.unverified:
            log.warning("preflight could not verify some checks",
                        extra={"checks": [f"{c.resource} {c.path}: {c.message}" for c in report.unverified]})
        return held

    def _sync_keys(self, plan: Plan) -> set[tuple[str, str]]:
        """Pending actions the source asked for, plus their dependents (new revision -> service)."""
        syncs = {a.key for a in plan.pending
                 if a.action == "delete" or self._applied.get(a.key) != fingerprint(a)}
        grew = True
        while grew:
            grew = False
            for action in plan.pending:
                if action.key not in syncs and any(_dep_key(d) in syncs for d in action.depends_on):
                    syncs.add(action.key)
                    grew = True
        return syncs

    def _rolled_back(self, plan: Plan) -> set[tuple[str, str]]:
        """Services we deployed whose task definition moved away before we saw the rollout finish:
        ECS rolled the deployment back (circuit breaker). Deploying the same spec again would only
        fail again, so they are held until the manifest changes."""
        return {a.key for a in plan.pending if a.kind == "Service" and a.action == "update" and a.observed is not None
                and rolled_back(a.request.get("taskDefinition"), self._rollouts.get(a.key), a.observed.body)}

    def _choose(self, plan: Plan, syncs: set[tuple[str, str]], held: set[tuple[str, str]] = frozenset()) -> list[Action]:
        """Syncs always, drift with self-heal, plus pending dependencies of anything chosen; never
        what `held` names."""
        pending = {a.key: a for a in plan.pending if a.action != "conflict"}
        keys = {k for k in pending if (k in syncs or self.config.self_heal) and k not in held}
        grew = True
        while grew:
            grew = False
            for key in list(keys):
                for dep in map(_dep_key, pending[key].depends_on):
                    if dep in pending and dep not in keys:
                        keys.add(dep)
                        grew = True
        return [a for a in plan.pending if a.key in keys]

    def _apply(self, engine: Engine, plan: Plan, chosen: list[Action], syncs: set[tuple[str, str]]):
        """Apply ``chosen`` in plan order; report which keys finished and which failed (and why)."""
        chosen_ids = {id(a) for a in chosen}
        subset = Plan([a for a in plan.actions if a.action == "none" or id(a) in chosen_ids])
        done: set[tuple[str, str]] = set()
        failures: dict[tuple[str, str], str] = {}

        def on_action(action: Action, event: str, error: BaseException | None) -> None:
            if event == "done":
                done.add(action.key)
            elif event == "failed":
                failures[action.key] = f"{type(error).__name__}: {error}"

        def progress(message: str) -> None:
            verb, _, rest = message.partition(" ")
            log.info("apply %s %s", verb, rest, extra={"revision": engine.options.revision})

        try:
            engine.apply(subset, on_progress=progress, on_action=on_action)
        except Exception as exc:
            # An action's own failure names it; a failure before any action (a guard) blames the first.
            failed = failures or {chosen[0].key: f"{type(exc).__name__}: {exc}"}
            for key, error in failed.items():
                log.error("apply failed", extra={"resource": "/".join(key), "error": error})
            return failed, done
        for action in chosen:
            if action.key in done and action.key not in syncs:
                self.metrics.drift_healed.labels(kind=action.kind).inc()
        return {}, done

    def _rows(self, plan: Plan, syncs, done, failed, held, perpetual: dict[tuple[str, str], Held],
              blocked: set[tuple[str, str]], needs_replace: set[tuple[str, str]]
              ) -> tuple[list[ResourceStatus], set[tuple[str, str]]]:
        """A status row per resource, and the services still moving (to read again soon)."""
        rows, moving = [], set()
        for action in plan.actions:
            if action.action == "delete" and action.key in done:
                self._rollouts.pop(action.key, None)
                continue
            row = ResourceStatus(action.kind, action.name, "in-sync", action=action.action)
            rollout = self._rollout(action)
            if rollout.in_progress:
                moving.add(action.key)
            if action.key in failed:
                row.state, row.error = "failed", failed[action.key]
            elif action.action == "conflict":
                row.state, row.error = "failed", "; ".join(action.reasons) or "conflict"
            elif action.action == "none":
                row.state = {"done": "in-sync", "in-progress": "rolling-out"}.get(rollout.state, "failed")
                row.error = rollout.reason
                if rollout.state == "done":
                    self._rollouts.pop(action.key, None)
                elif action.key in self._rollouts:
                    self._rollouts[action.key] = family_revision(action.observed.body.get("taskDefinition"))
            elif action.key in done:
                if action.kind == "Service" and action.action != "delete":
                    row.state = "rolling-out"
                    moving.add(action.key)
                    self._rollouts[action.key] = None  # which revision: the next describe says
            elif action.key in perpetual:
                row.state = "perpetual-diff"
                row.drift = sorted({c.path for c in action.changes})
                row.diff = masked_changes(action)
                row.error = (f"applied {perpetual[action.key].applies} times with the same diff and AWS still answers "
                             "differently; writes stopped until the manifest changes")
            elif action.key in needs_replace:
                row.state = "needs-replace"
                row.drift = sorted({c.path for c in action.changes})
                row.error = "; ".join(action.reasons) + " (run with --allow-replace to replace it)"
            elif action.key in blocked:
                row.state = "pending"
                row.drift = sorted({c.path for c in action.changes})
                row.error = "waits for a dependency that is held back (needs-replace or perpetual-diff)"
            elif action.key in held:
                row.state = "failed"
                row.drift = sorted({c.path for c in action.changes})
                row.error = ((rollout.reason + "; ") if rollout.reason else "") + (
                    "ECS replaced the deployment of this spec (rolled back); not deployed again until the manifest changes")
            elif action.key in syncs:
                row.state = "pending"
                row.drift = sorted({c.path for c in action.changes})
            else:
                row.state = "drifted"
                row.drift = sorted({c.path for c in action.changes})
            rows.append(row)
        return rows, moving

    def _rollout(self, action: Action) -> Rollout:
        """The observed service's rollout (a resource that is not a service never rolls out)."""
        if action.kind != "Service" or action.observed is None:
            return Rollout("done")
        return rollout_of(action.observed.body, timeout=self.config.rollout_timeout)

    def _remember(self, plan: Plan, done, failed) -> None:
        """Record what is now applied: in-sync and written resources; forget deleted ones."""
        for action in plan.actions:
            if action.key in failed:
                continue
            if action.action == "delete" and action.key in done:
                self._applied.pop(action.key, None)
            elif action.action == "none" or action.key in done:
                fp = fingerprint(action)
                if fp:
                    self._applied[action.key] = fp
        self._save_state()

    # -- state file ------------------------------------------------------------------------------------

    def _load_state(self) -> dict[tuple[str, str], str]:
        path = self.config.state_file
        if not path or not Path(path).exists():
            return {}
        try:
            doc = json.loads(Path(path).read_text())
            return {tuple(k.split("/", 1)): v for k, v in doc.get("applied", {}).items()}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable state file %s: %s", path, exc)
            return {}

    def _save_state(self) -> None:
        path = self.config.state_file
        if not path:
            return
        doc = {"revision": self.revision, "applied": {"/".join(k): v for k, v in sorted(self._applied.items())}}
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(path)


def _safe_error(message: str, path: str | None) -> str:
    """Drop the offending value from errors under environment/secrets, and mask secrets elsewhere."""
    if path and re.search(r"environment|secret", path, re.IGNORECASE):
        return _GOT_VALUE.sub("", message)
    return mask_text(message)


_GOT_VALUE = re.compile(r"\s*\(got .*\)$")
