"""Prometheus metrics for the controller, in a registry of its own (one per controller).

AWS call counts and event lag are not pushed by the code that knows them: custom collectors read
the `CallLog` and the event consumer's stats at scrape time, so nothing can drift out of step.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from prometheus_client import CollectorRegistry, Counter as PromCounter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..aws import CallLog

STATES = ("in-sync", "drifted", "failed", "rolling-out", "pending", "perpetual-diff", "needs-replace", "suspended")


class AwsCallCollector:
    """``ecs_reconciler_aws_calls_total{service,operation,outcome}`` from a CallLog."""

    def __init__(self, call_log: CallLog) -> None:
        self.call_log = call_log

    def collect(self):
        family = CounterMetricFamily("ecs_reconciler_aws_calls", "AWS API calls by operation and outcome",
                                     labels=["service", "operation", "outcome"])
        with self.call_log._lock:
            calls = Counter(self.call_log.calls)
            errors = Counter()
            for (_svc, op, _code), n in self.call_log.errors.items():
                errors[op] += n
        for (service, operation), n in sorted(calls.items()):
            failed = min(errors.get(operation, 0), n)
            family.add_metric([service, operation, "success"], n - failed)
            family.add_metric([service, operation, "error"], failed)
        yield family


class EventLagCollector:
    """``ecs_reconciler_event_lag_seconds``: age of the newest event the consumer handled."""

    def __init__(self, stats: Callable[[], dict | None]) -> None:
        self.stats = stats

    def collect(self):
        gauge = GaugeMetricFamily("ecs_reconciler_event_lag_seconds",
                                  "Seconds between an ECS event and the controller reading it (last event)")
        stats = self.stats() or {}
        lag = stats.get("last_event_lag_seconds")
        gauge.add_metric([], float(lag) if lag is not None else 0.0)
        yield gauge


class TargetCollector:
    """Per-target series, once Target manifests are declared (the resource and drift series sum every
    target; ``ecs_reconciler_aws_calls_total`` counts the ambient target's calls):
    ``ecs_reconciler_target_up{target,region}`` (0 while its last pass failed),
    ``ecs_reconciler_target_resources{target,state}``,
    ``ecs_reconciler_target_drift_detected_total{target,kind}``, ``..._drift_healed_total{target,kind}`` and
    ``ecs_reconciler_target_aws_calls_total{target,service,operation,outcome}`` from each target's
    own call log."""

    def __init__(self, lanes: Callable[[], list]) -> None:
        self.lanes = lanes

    def collect(self):
        up = GaugeMetricFamily("ecs_reconciler_target_up", "1 if the target's last pass succeeded",
                               labels=["target", "region"])
        resources = GaugeMetricFamily("ecs_reconciler_target_resources", "Managed resources by target and state",
                                      labels=["target", "state"])
        detected = CounterMetricFamily("ecs_reconciler_target_drift_detected",
                                       "Out-of-band drift found, per target, resource and pass", labels=["target", "kind"])
        healed = CounterMetricFamily("ecs_reconciler_target_drift_healed", "Out-of-band drift reverted, per target",
                                     labels=["target", "kind"])
        calls = CounterMetricFamily("ecs_reconciler_target_aws_calls", "AWS API calls by target, operation and outcome",
                                    labels=["target", "service", "operation", "outcome"])
        for lane in self.lanes():
            up.add_metric([lane.label, lane.region], 0.0 if lane.error else 1.0)
            for state in STATES:
                resources.add_metric([lane.label, state], lane.counts.get(state, 0))
            for kind, n in sorted(lane.drift_detected.items()):
                detected.add_metric([lane.label, kind], n)
            for kind, n in sorted(lane.drift_healed.items()):
                healed.add_metric([lane.label, kind], n)
            for family in AwsCallCollector(lane.clients.call_log).collect():
                for sample in family.samples:
                    calls.add_metric([lane.label, *(sample.labels[k] for k in ("service", "operation", "outcome"))],
                                     sample.value)
        yield up
        yield resources
        yield calls
        yield detected
        yield healed


class ControllerMetrics:
    def __init__(self, call_log: CallLog, event_stats: Callable[[], dict | None] = lambda: None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reconcile_duration = Histogram("ecs_reconciler_reconcile_duration_seconds",
                                            "Duration of one reconcile pass (plan and apply)", ["outcome"], registry=r,
                                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        self.resources = Gauge("ecs_reconciler_resources", "Managed resources by state and kind",
                               ["kind", "state"], registry=r)
        self.drift_detected = PromCounter("ecs_reconciler_drift_detected", "Out-of-band drift found, per resource and pass",
                                          ["kind"], registry=r)
        self.drift_healed = PromCounter("ecs_reconciler_drift_healed", "Out-of-band drift reverted", ["kind"], registry=r)
        self.missed_events = PromCounter("ecs_reconciler_missed_events",
                                         "Resources whose drift a resync found but the event stream had not shown",
                                         registry=r)
        self.perpetual_diffs = PromCounter("ecs_reconciler_perpetual_diffs",
                                           "Resources whose writes stopped: applied with the same diff too many times",
                                           ["kind"], registry=r)
        self.source_errors = PromCounter("ecs_reconciler_source_errors", "Source revisions rejected or not readable",
                                         registry=r)
        self.applied_revision = Info("ecs_reconciler_applied_revision", "The source revision last applied", registry=r)
        self.suspended = Gauge("ecs_reconciler_suspended", "1 while writes are suspended", registry=r)
        r.register(AwsCallCollector(call_log))
        r.register(EventLagCollector(event_stats))
        self._known: set = set()

    def register_targets(self, lanes: Callable[[], list]) -> None:
        self.registry.register(TargetCollector(lanes))

    def set_resource_states(self, rows: list[dict]) -> None:
        counts = Counter((row["kind"], row["state"]) for row in rows)
        kinds = {row["kind"] for row in rows} | {k for k, _ in self._known}
        for kind in kinds:
            for state in STATES:
                self.resources.labels(kind=kind, state=state).set(counts.get((kind, state), 0))
        self._known = {(k, s) for k in kinds for s in STATES}
