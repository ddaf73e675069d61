"""The warm path of the benchmark: the engine's `Informer`, fed by a live event stream.

It sets up the EventBridge rule and SQS queue, runs an `EventConsumer` thread that marks what
events touch, and plans through the informer as the controller does: a reconcile re-reads only
those resources (plus manifests that changed) and plans again only what they affect; a resync
re-reads every service and cluster on top. The full re-read (the cold plan) is the controller's
hourly safety net.
"""

from __future__ import annotations

import time

from reconciler.aws import Clients
from reconciler.desired.loader import DesiredState
from reconciler.engine import Engine
from reconciler.observed.consumer import EventConsumer, start_consumer_thread
from reconciler.observed.event_cache import EventCache
from reconciler.observed.informer import Informer
from reconciler.observed.event_plumbing import setup_event_stream, teardown_event_stream
from reconciler.observed.state import ObservedState
from reconciler.plan.model import Plan

STREAM_NAME = "ecs-reconciler-bench"


class WarmObserver:
    """Holds the observed state between plans and the event consumer that keeps it honest."""

    def __init__(self, engine: Engine, desired: DesiredState, state: ObservedState, stream_clients: Clients,
                 instance: str = "ecs-reconciler-bench"):
        self.engine = engine
        self.informer = Informer()
        self.informer.state, self.informer.desired = state, desired
        self.stream_clients, self.instance = stream_clients, instance
        self.cache = EventCache()
        info = setup_event_stream(stream_clients, name=STREAM_NAME, instance=instance)
        self.consumer = EventConsumer(stream_clients, info["queue_url"], self.cache, self.informer.mark, wait_seconds=1)
        self._thread, self._stop = start_consumer_thread(self.consumer, name="bench-events")
        self.refreshed = 0
        self.replanned = 0

    def settle(self, quiet: float = 2.0, timeout: float = 120.0) -> int:
        """Wait until no message arrived for `quiet` seconds; returns messages seen so far."""
        deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            seen = self.consumer.stats()["messages"]
            if seen != last:
                last, since = seen, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.2)
        return last

    def plan(self, desired: DesiredState) -> Plan:
        """The informer's incremental plan: refresh what events or edits point at, carry the rest over
        (what the controller does on a commit, a webhook or an event)."""
        plan = self.informer.plan(self.engine, desired)
        self.refreshed, self.replanned = self.informer.refreshed, self.informer.replanned
        return plan

    def resync(self, desired: DesiredState) -> tuple[Plan, list[str]]:
        """The controller's resync with the stream live: every service and cluster re-read, the rest
        from the cache; returns the plan and the drift the stream had not shown."""
        plan, missed = self.informer.resync(self.engine, desired, compare=True, warm=True)
        self.refreshed, self.replanned = self.informer.refreshed, self.informer.replanned
        return plan, missed

    @property
    def last_plan(self) -> Plan | None:
        return self.informer.last_plan

    @last_plan.setter
    def last_plan(self, plan: Plan) -> None:
        self.informer.last_plan = plan

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        teardown_event_stream(self.stream_clients, name=STREAM_NAME, instance=self.instance)
