"""The GitOps loop: source revisions and drift signals in, whole-set reconciles out.

Every trigger (new commit, file change, webhook, event-stream dirty key, resync timer) adds the
same queue key, so a burst of triggers collapses into one reconcile and reconciles never overlap.
One reconcile plans the whole desired set (dependency order stays the planner's job) and then
applies what the policies allow (decisions.py). The concerns live in their own modules: the source
(source_feed.py), the decisions (decisions.py), the status rows and followed rollouts
(resource_rows.py), the record of applied manifests (applied_specs.py); this module owns the
threads, the queue, suspend and the order of a reconcile.

An invalid revision is rejected whole: the last good desired state stays in force.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..apply.flap_guard import DEFAULT_LIMIT, FlapGuard, blocked_by
from ..aws import Clients
from ..desired.loader import DesiredState
from ..engine import Engine, EngineOptions
from ..observed.attribution import ChangeLog
from ..observed.informer import Informer
from ..observed.revisions import RevisionCache
from ..observed.rollouts import ROLLOUT_TIMEOUT
from ..ownership import DEFAULT_INSTANCE
from ..plan.manual_rollback import suspended_by_rollback
from ..plan.model import Action, Plan
from ..verify.preflight import Preflight
from . import decisions
from .applied_specs import AppliedSpecs
from .happenings import Announcer, Timeline, announce_reconcile
from .metrics import ControllerMetrics
from .resource_rows import Outcome, RolloutTracker, resource_rows
from .source_feed import GitSourceError, SourceFeed
from .status import StatusBoard
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
    allow_env: tuple[str, ...] = ()  # glob patterns of the environment variables ${env:...} may read


class Controller:
    """In-process controller: ``start``/``stop`` for the daemon, ``sync_once`` for one pass."""

    def __init__(self, clients: Clients, config: ControllerConfig) -> None:
        self.clients = clients
        self.config = config
        self._stop = threading.Event()
        self._reconcile_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []
        self._own_workdir: str | None = None
        self.revisions = RevisionCache(config.cache_dir)
        self.queue = WorkQueue(ExponentialBackoff(base=config.backoff_base, cap=config.backoff_cap))
        self.consumer = None
        self.metrics = ControllerMetrics(clients.call_log, self._event_stats)
        self.source = SourceFeed(
            config.source, clients, workdir=lambda: config.workdir or self._make_workdir(),
            poll_interval=config.poll_interval, resync_period=config.resync_period, tfstate=config.tfstate,
            control_files=(SUSPEND_FILE,), allow_env=config.allow_env, on_error=self._source_failed,
            on_fetched=lambda revision: self.status.update(fetched_revision=revision),
            on_loaded=self._source_loaded)
        self.status = StatusBoard(self.source.display, {"selfHeal": config.self_heal, "prune": config.prune,
                                                        "dryRun": config.dry_run})
        # Who made each write the event stream shows (drift attribution), and what happened, said once.
        self.changes = ChangeLog()
        self.timeline = Timeline()
        self.status.timeline = self.timeline
        self.announcer = Announcer(self.source.display, [self.timeline, lambda _h: self.status.touch()])
        self._http_suspended = False
        self._ready = False
        self.applied = AppliedSpecs(config.state_file)
        self.rollouts = RolloutTracker(config.rollout_timeout)
        self.flap_guard = FlapGuard(config.flap_limit)
        self.preflight = Preflight(ttl=config.resync_period)
        # Observed state between full reads. With an event stream, a reconcile re-reads only what
        # events (and our own writes) touched; the resync timer asks for a warm resync (every service
        # and cluster), and a full read comes at start and every full resync period. Without a
        # stream, every reconcile is a full read.
        self.informer = Informer()
        self._full_read_due = True
        self._resync_due = False
        self._last_full_read = 0.0  # time.monotonic() of the last full read

    # -- the source, as the rest of the controller sees it ---------------------------------------------

    @property
    def desired(self) -> DesiredState | None:
        return self.source.desired

    @property
    def revision(self) -> str | None:
        return self.source.revision

    @property
    def directory(self):
        return self.source.directory

    @property
    def git(self):
        return self.source.git

    def refresh_source(self) -> bool:
        """Read the source; on a new valid revision swap the desired state. True if it changed."""
        return self.source.refresh()

    def _on_source_change(self, snap: Any) -> None:
        """A watcher saw a new revision (git commit or directory content hash)."""
        self.source.on_change(snap)
        self.trigger()

    def _source_failed(self, message: str, rejected: bool = False) -> None:
        """A source that cannot be read, or (`rejected`) a revision refused whole."""
        if rejected:
            self.metrics.source_errors.inc()
        self.status.update(source_error=message)
        if self.announcer.once("source", self.source.display, message):
            self.announcer.say("source-error", self.source.display, message, self.source.seen_revision)
        log.error("source error: %s", message, extra={"revision": self.source.seen_revision})

    def _source_loaded(self, revision: str | None) -> None:
        self.status.update(source_error=None)
        self.announcer.forget("source", self.source.display)

    def add_sink(self, sink) -> None:
        """Also send every happening (drift found, apply failed, ...) to `sink` (notifications)."""
        self.announcer.sinks.append(sink)

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
        target, args, name = self.source.watcher(self._stop, self._on_source_change)
        self._spawn(name, target, *args)
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
        folder = self.source.manifest_dir
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

    # -- resync and the event stream -------------------------------------------------------------------

    def request_resync(self, full: bool = False) -> None:
        """Make the next reconcile a resync: warm with an event stream (every service and cluster
        re-read), full without one, when `full` or once the full resync period has passed."""
        self._resync_due = True
        self._full_read_due = self._full_read_due or full

    def _resync_loop(self) -> None:
        while not self._stop.wait(self.config.resync_period):
            self.request_resync()
            self.source.resync()
            self.trigger()

    def _start_consumer(self) -> None:
        from ..observed.consumer import EventConsumer
        from ..observed.event_cache import EventCache

        self.consumer = EventConsumer(self.clients, self.config.events_queue, EventCache(), self._on_dirty,
                                      wait_seconds=self.config.events_wait_seconds, changes=self.changes)
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
            desired, revision = self.source.current()
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
        writable = not (self.config.dry_run or self.is_suspended())
        outcome = self._hold_back(plan)
        held = outcome.rolled_back | outcome.blocked | set(outcome.suspended)
        chosen = decisions.choose(plan, outcome.syncs, held, self.config.self_heal) if writable else []
        for action in plan.pending:
            if action.key not in outcome.syncs and action.action != "conflict":
                self.metrics.drift_detected.labels(kind=action.kind).inc()
        if chosen and self.config.verify:
            outcome.failed = self._preflight(desired, chosen)
            chosen = [a for a in chosen if a.key not in outcome.failed]
        if chosen:
            failed, outcome.done = self._apply(engine, plan, chosen, outcome.syncs)
            outcome.failed.update(failed)
            for action in chosen:
                if action.key in outcome.done:
                    self.flap_guard.applied(action)
        rows, moving = resource_rows(plan, outcome, self.rollouts)
        for row in rows:
            if row.state == "drifted":
                row.changed_by = self.changes.document(row.kind, row.name)
            if row.rollout is not None and self.consumer is not None:
                row.rollout["stoppedTasks"] = self.consumer.cache.stopped_tasks(row.name)
        announce_reconcile(self.announcer, plan, outcome, rows, revision, self.changes.document)
        # What we wrote, failed to write, or is still rolling out must be read again next time.
        self.informer.mark(set(outcome.done) | set(outcome.failed) | moving)
        self.status.set_resources(rows)
        self.metrics.set_resource_states([r.document() for r in rows])
        self.applied.remember(plan, outcome.done, outcome.failed, revision)
        if moving:
            self.queue.add_after(RECONCILE, self.config.rollout_poll)
        if outcome.failed:
            raise RuntimeError("apply failed for " + ", ".join("/".join(k) for k in outcome.failed))
        self.status.update(reconcile_error=None)
        if writable and not any(r.state in ("pending", "failed") for r in rows):
            self.status.update(revision=revision)
            self.metrics.applied_revision.info({"revision": revision or ""})
        log.info("reconciled", extra={"revision": revision, "summary": plan.summary(), "applied": len(outcome.done),
                                      "dry_run": self.config.dry_run, "suspended": not writable and not self.config.dry_run})

    def _hold_back(self, plan: Plan) -> Outcome:
        """Syncs, and what waits: a replace without --allow-replace, a perpetual diff, a rolled-back
        deployment (by ECS, or by hand: suspended until resumed), and whatever depends on them.
        Everything else is applied."""
        perpetual = self.flap_guard.check(plan)
        for info in perpetual.values():
            if info.first:
                self.metrics.perpetual_diffs.labels(kind=info.kind).inc()
                log.error("perpetual diff: writes stopped until the manifest changes",
                          extra={"resource": f"{info.kind}/{info.name}", "applies": info.applies, "paths": info.paths})
        replace = decisions.needs_replace(plan, self.config.allow_replace)
        suspended = {key: rollback.message for key, rollback in suspended_by_rollback(plan).items()}
        return Outcome(syncs=decisions.sync_keys(plan, self.applied.by_key), rolled_back=self.rollouts.rolled_back(plan),
                       perpetual=perpetual, blocked=blocked_by(plan, set(perpetual) | replace), needs_replace=replace,
                       suspended=suspended)

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
