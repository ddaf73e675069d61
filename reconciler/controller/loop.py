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
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..apply.flap_guard import DEFAULT_LIMIT, blocked_by
from ..aws import Clients
from ..desired.loader import DesiredState
from ..engine import Engine, EngineOptions
from ..observed.attribution import ChangeLog
from ..observed.revisions import RevisionCache
from ..observed.rollouts import ROLLOUT_TIMEOUT
from ..ownership import DEFAULT_INSTANCE
from ..plan.manual_rollback import suspended_by_rollback
from ..plan.model import Action, Plan
from ..target_engines import MAX_PARALLEL_TARGETS, describe_error
from . import decisions
from .happenings import Announcer, Timeline, announce_reconcile
from .metrics import ControllerMetrics
from .resource_rows import Outcome, resource_rows
from .source_feed import GitSourceError, SourceFeed
from .status import ResourceStatus, StatusBoard
from .target_lanes import TargetLane, new_lane, target_identity
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
        self.consumer = None  # the ambient target's event consumer
        self._consumers_on = False  # run() started the event streams: a new target's starts too
        self.metrics = ControllerMetrics(clients.call_log, self._event_stats)
        self.changes = ChangeLog()  # who made each write the event stream shows (drift attribution)
        self.source = SourceFeed(
            config.source, clients, workdir=lambda: config.workdir or self._make_workdir(),
            poll_interval=config.poll_interval, resync_period=config.resync_period, tfstate=config.tfstate,
            control_files=(SUSPEND_FILE,), allow_env=config.allow_env, on_error=self._source_failed,
            on_fetched=lambda revision: self.status.update(fetched_revision=revision),
            on_loaded=self._source_loaded)
        self.status = StatusBoard(self.source.display, {"selfHeal": config.self_heal, "prune": config.prune,
                                                        "dryRun": config.dry_run})
        # What happened, said once.
        self.timeline = Timeline()
        self.status.timeline = self.timeline
        self.announcer = Announcer(self.source.display, [self.timeline, lambda _h: self.status.touch()])
        self._http_suspended = False
        self._ready = False
        # One lane per target (target_lanes.py): the ambient one always, one more per Target manifest.
        # Observed state between full reads lives in each lane's informer. With an event stream, a
        # reconcile re-reads only what events (and our own writes) touched; the resync timer asks for
        # a warm resync (every service and cluster), and a full read comes at start and every full
        # resync period. Without a stream, every reconcile is a full read.
        self.ambient = new_lane(None, None, clients.settings, config, clients)
        self.ambient.changes = self.changes
        self.lanes: dict[str | None, TargetLane] = {None: self.ambient}
        self._lanes_lock = threading.Lock()
        self._shown: list[TargetLane] = []  # the lanes of the last reconcile, with Targets
        self.applied, self.rollouts = self.ambient.applied, self.ambient.rollouts
        self.flap_guard, self.preflight = self.ambient.flap_guard, self.ambient.preflight
        self.informer = self.ambient.informer
        self.status.targets = self._target_lanes
        self.metrics.register_targets(self._target_lanes)

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
        for lane in self._all_lanes():
            lane.stopped.set()
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
        for lane in self._all_lanes():
            lane.resync_due = True
            lane.full_read_due = lane.full_read_due or full

    def _resync_loop(self) -> None:
        while not self._stop.wait(self.config.resync_period):
            self.request_resync()
            self.source.resync()
            self.trigger()

    def _start_consumer(self) -> None:
        self._consumers_on = True
        self.consumer = self._consume(self.ambient, self.config.events_queue)
        with self._lanes_lock:
            targets = [lane for lane in self.lanes.values() if lane.name is not None and lane.consumer is None]
        for lane in targets:
            self._start_target_consumer(lane)

    def _consume(self, lane: TargetLane, queue_url: str):
        from ..observed.consumer import EventConsumer
        from ..observed.event_cache import EventCache

        def on_dirty(keys: set) -> None:
            log.info("event stream marked resources dirty",
                     extra={"target": lane.label, "keys": sorted(map(str, keys))})
            lane.informer.mark(keys)
            self.trigger()

        lane.consumer = EventConsumer(lane.clients, queue_url, EventCache(), on_dirty,
                                      wait_seconds=self.config.events_wait_seconds, changes=lane.changes)
        self._spawn("event-consumer" + (f"-{lane.name}" if lane.name else ""), lane.consumer.run, lane.stopped)
        return lane.consumer

    def _start_target_consumer(self, lane: TargetLane) -> None:
        """A target's own queue (`events setup --target NAME`): the queue of the configured name in
        the target's account and Region. Without one, the target is read whole at every reconcile."""
        with self._lanes_lock:  # the first reconcile and start() may both see a new lane
            if lane.streaming:
                return
            lane.streaming = True
        name = queue_name(self.config.events_queue)
        try:
            url = lane.clients.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        except (ClientError, BotoCoreError) as exc:
            log.warning("no event stream for target %s: every reconcile reads it whole", lane.label,
                        extra={"target": lane.label, "error": describe_error(exc)})
            return
        self._consume(lane, url)

    def _event_stats(self) -> dict | None:
        return self.consumer.stats() if self.consumer is not None else None

    # -- targets ---------------------------------------------------------------------------------------

    def _all_lanes(self) -> list[TargetLane]:
        with self._lanes_lock:
            return list(self.lanes.values())

    def _target_lanes(self) -> list[TargetLane]:
        """The lanes /status and the per-target metrics show: those of the last reconcile, when the
        source declares Targets (none without: the controller then looks as it always did)."""
        with self._lanes_lock:
            return list(self._shown)

    def _lanes_for(self, parts: dict[str | None, DesiredState]) -> list[TargetLane]:
        """The lane of each target of this revision; a Target whose region or role changed gets new
        clients (and a full read), a Target gone from the source loses its lane."""
        with self._lanes_lock:
            for name in [n for n in self.lanes if n is not None and n not in parts]:
                self.lanes.pop(name).stopped.set()
            fresh = []
            for name in parts:
                if name is None:
                    continue
                target = parts[name].targets[name].manifest
                lane = self.lanes.get(name)
                if lane is None or lane.identity != target_identity(target):
                    if lane is not None:
                        lane.stopped.set()
                    lane = self.lanes[name] = new_lane(name, target, self.clients.settings, self.config)
                    fresh.append(lane)
            lanes = ([self.ambient] if None in parts else []) + [self.lanes[n] for n in parts if n is not None]
            self._shown = lanes if set(parts) != {None} else []
        if self._consumers_on:
            for lane in fresh:
                self._start_target_consumer(lane)
        return lanes

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
        """Each target's pass, in parallel once there are several; a target that fails is reported on
        its lane and its rows and stops no other. Status, metrics and the revision are for the whole."""
        parts = desired.by_target() or {None: desired}  # an empty source: the ambient target (prune)
        if set(parts) == {None}:
            self._lanes_for(parts)  # Targets removed from the source: their lanes go
            passes = [self._reconcile_lane(self.ambient, desired, revision, grouped=False)]
        else:
            lanes = self._lanes_for(parts)
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_TARGETS, len(lanes)),
                                    thread_name_prefix="target") as pool:
                passes = list(pool.map(lambda lane: self._guarded_pass(lane, parts[lane.name], revision), lanes))
        rows = [row for p in passes for row in p.rows]
        self._ready = True
        self.status.set_resources(rows)
        self.metrics.set_resource_states([r.document() for r in rows])
        if any(p.moving for p in passes):
            self.queue.add_after(RECONCILE, self.config.rollout_poll)
        failures = [p.failure for p in passes if p.failure]
        if failures:
            raise RuntimeError("; ".join(failures))
        self.status.update(reconcile_error=None)
        writable = passes[0].writable
        if writable and not any(r.state in ("pending", "failed") for r in rows):
            self.status.update(revision=revision)
            self.metrics.applied_revision.info({"revision": revision or ""})

    def _guarded_pass(self, lane: TargetLane, desired: DesiredState, revision: str | None) -> "LanePass":
        """A target's pass; a failure to read or plan it (AccessDenied, a Region outage) becomes its
        lane's error and a failed row per resource it declares."""
        try:
            done = self._reconcile_lane(lane, desired, revision, grouped=True)
        except Exception as exc:
            lane.error = describe_error(exc)
            lane.last_reconcile = time.time()
            lane.counts = {"failed": len(desired.resources)}
            log.error("target failed", extra={"target": lane.label, "error": lane.error})
            if self.announcer.once("target", lane.label, lane.error):
                self.announcer.say("target-failed", f"target {lane.label}", f"target {lane.label}: {lane.error}",
                                   revision)
            rows = [ResourceStatus(r.manifest.KIND, r.manifest.name, "failed", error=lane.error, target=lane.label)
                    for r in desired.resources]
            return LanePass(rows, set(), f"target {lane.label}: {lane.error}", not self.config.dry_run)
        self.announcer.forget("target", lane.label)
        return done

    def _reconcile_lane(self, lane: TargetLane, desired: DesiredState, revision: str | None,
                        grouped: bool) -> "LanePass":
        options = EngineOptions(instance=self.config.instance, prune=self.config.prune, revision=revision,
                                allow_replace=self.config.allow_replace, workers=self.config.concurrency)
        engine = Engine(lane.clients, options, self.revisions)
        plan = self._plan(lane, engine, desired)
        self._ready = True
        writable = not (self.config.dry_run or self.is_suspended())
        outcome = self._hold_back(lane, plan)
        held = outcome.rolled_back | outcome.blocked | set(outcome.suspended)
        chosen = decisions.choose(plan, outcome.syncs, held, self.config.self_heal) if writable else []
        for action in plan.pending:
            if action.key not in outcome.syncs and action.action != "conflict":
                self.metrics.drift_detected.labels(kind=action.kind).inc()
                lane.drift_detected[action.kind] += 1
        if chosen and self.config.verify:
            outcome.failed = self._preflight(lane, desired, chosen)
            chosen = [a for a in chosen if a.key not in outcome.failed]
        if chosen:
            failed, outcome.done = self._apply(lane, engine, plan, chosen, outcome.syncs)
            outcome.failed.update(failed)
            for action in chosen:
                if action.key in outcome.done:
                    lane.flap_guard.applied(action)
        rows, moving = resource_rows(plan, outcome, lane.rollouts)
        for row in rows:
            if grouped:
                row.target = lane.label
            if row.state == "drifted":
                row.changed_by = lane.changes.document(row.kind, row.name)
            if row.rollout is not None and lane.consumer is not None:
                row.rollout["stoppedTasks"] = lane.consumer.cache.stopped_tasks(row.name)
        announce_reconcile(self.announcer, plan, outcome, rows, revision, lane.changes.document,
                           target=lane.label if grouped else None)
        # What we wrote, failed to write, or is still rolling out must be read again next time.
        lane.informer.mark(set(outcome.done) | set(outcome.failed) | moving)
        lane.applied.remember(plan, outcome.done, outcome.failed, revision)
        lane.last_reconcile = time.time()
        lane.counts = dict(Counter(r.state for r in rows))
        failure = None
        if outcome.failed:
            failure = "apply failed for " + ", ".join("/".join(k) for k in outcome.failed)
            if grouped:
                failure = f"target {lane.label}: {failure}"
        lane.error = failure
        log.info("reconciled", extra={"revision": revision, "summary": plan.summary(), "applied": len(outcome.done),
                                      "dry_run": self.config.dry_run, "suspended": not writable and not self.config.dry_run,
                                      **({"target": lane.label} if grouped else {})})
        return LanePass(rows, moving, failure, writable)

    def _hold_back(self, lane: TargetLane, plan: Plan) -> Outcome:
        """Syncs, and what waits: a replace without --allow-replace, a perpetual diff, a rolled-back
        deployment (by ECS, or by hand: suspended until resumed), and whatever depends on them.
        Everything else is applied."""
        perpetual = lane.flap_guard.check(plan)
        for info in perpetual.values():
            if info.first:
                self.metrics.perpetual_diffs.labels(kind=info.kind).inc()
                log.error("perpetual diff: writes stopped until the manifest changes",
                          extra={"resource": f"{info.kind}/{info.name}", "applies": info.applies, "paths": info.paths})
        replace = decisions.needs_replace(plan, self.config.allow_replace)
        suspended = {key: rollback.message for key, rollback in suspended_by_rollback(plan).items()}
        return Outcome(syncs=decisions.sync_keys(plan, lane.applied.by_key), rolled_back=lane.rollouts.rolled_back(plan),
                       perpetual=perpetual, blocked=blocked_by(plan, set(perpetual) | replace), needs_replace=replace,
                       suspended=suspended)

    def _plan(self, lane: TargetLane, engine: Engine, desired: DesiredState) -> Plan:
        """Incremental between resyncs when the event stream keeps the cache honest, a warm resync when
        the resync timer fired, a full read when one is due (or always, without a stream)."""
        streaming = bool(self.config.events_queue) if lane.name is None else lane.consumer is not None
        full = (not streaming or lane.full_read_due
                or time.monotonic() - lane.last_full_read >= self.config.full_resync_period)
        if not full and not lane.resync_due:
            return lane.informer.plan(engine, desired)
        due, started = (lane.full_read_due, lane.resync_due), time.monotonic()
        lane.full_read_due = lane.resync_due = False
        try:
            plan, missed = lane.informer.resync(engine, desired, compare=streaming, warm=not full)
        except Exception:
            # The read failed: the resync is still owed (a request made meanwhile stands too).
            lane.full_read_due, lane.resync_due = lane.full_read_due or due[0], lane.resync_due or due[1]
            raise
        if full:
            lane.last_full_read = started
        if missed:
            self.metrics.missed_events.inc(len(missed))
            log.warning("resync found drift the event stream had not shown", extra={"resources": missed})
        return plan

    def _preflight(self, lane: TargetLane, desired: DesiredState,
                   chosen: list[Action]) -> dict[tuple[str, str], str]:
        """Verify what is about to be written; the resources that fail (and their dependents) are held."""
        held, report = lane.preflight.hold(desired, lane.clients, chosen)
        for key, why in held.items():
            log.error("preflight held a resource", extra={"resource": "/".join(key), "error": why})
        if report.unverified:
            log.warning("preflight could not verify some checks",
                        extra={"checks": [f"{c.resource} {c.path}: {c.message}" for c in report.unverified]})
        return held

    def _apply(self, lane: TargetLane, engine: Engine, plan: Plan, chosen: list[Action],
               syncs: set[tuple[str, str]]):
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
                lane.drift_healed[action.kind] += 1
        return {}, done


@dataclass
class LanePass:
    """One target's pass, as the whole reconcile sums it up."""

    rows: list[ResourceStatus]
    moving: set
    failure: str | None  # an apply that failed, or the target that could not be read or planned
    writable: bool


def queue_name(queue: str) -> str:
    """The name in a queue URL or ARN (or a bare name): each target has a queue of that name."""
    return queue.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
