"""EventCache: ordering per resource, duplicates, dirty keys, bounded history and thread safety."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.observed.event_cache import MAX_RESOURCES, EventCache
from reconciler.observed.events import ParsedEvent, Rejected, parse_message
from test_events_samples import api_call

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def task_event(n: int, version: int, service: str = "web", status: str = "RUNNING") -> ParsedEvent:
    return ParsedEvent(
        kind="task", detail_type="ECS Task State Change", resource=f"task:arn:task/prod/{n}", version=version,
        time=T0 + timedelta(seconds=version), event_id=f"id-{n}-{version}",
        affects=frozenset({("Service", "prod", service)}), name=status,
    )


def action_event(service: str, seconds: int, event_id: str) -> ParsedEvent:
    return ParsedEvent(
        kind="service-action", detail_type="ECS Service Action", resource=f"service:arn:service/prod/{service}",
        version=None, time=T0 + timedelta(seconds=seconds), event_id=event_id,
        affects=frozenset({("Service", "prod", service)}), name="SERVICE_STEADY_STATE",
    )


def test_newer_applies_equal_is_duplicate_older_is_stale():
    cache = EventCache()
    assert cache.apply(task_event(1, 3)) == "applied"
    assert cache.apply(task_event(1, 3)) == "duplicate"
    assert cache.apply(task_event(1, 2)) == "stale"
    assert cache.apply(task_event(1, 5, status="STOPPED")) == "applied"
    assert cache.latest("task:arn:task/prod/1").name == "STOPPED"
    counters = cache.counters()
    assert (counters["received"], counters["applied"], counters["duplicate"], counters["stale"]) == (4, 2, 1, 1)


def test_unversioned_events_order_by_time_then_id():
    cache = EventCache()
    assert cache.apply(action_event("web", 10, "b")) == "applied"
    assert cache.apply(action_event("web", 10, "b")) == "duplicate"
    assert cache.apply(action_event("web", 10, "a")) == "stale"
    assert cache.apply(action_event("web", 9, "z")) == "stale"
    assert cache.apply(action_event("web", 11, "a")) == "applied"


def test_only_applied_events_mark_dirty_and_drain_clears():
    cache = EventCache()
    cache.apply(task_event(1, 2, service="web"))
    cache.apply(task_event(2, 1, service="web"))
    cache.apply(task_event(3, 1, service="api"))
    assert cache.drain_dirty() == {("Service", "prod", "web"), ("Service", "prod", "api")}
    assert cache.drain_dirty() == set()
    cache.apply(task_event(1, 2, service="web"))  # duplicate
    cache.apply(task_event(1, 1, service="web"))  # stale
    assert cache.dirty == set()
    cache.mark_dirty({("Cluster", "prod")})
    assert cache.drain_dirty() == {("Cluster", "prod")}


def test_rejected_messages_are_counted_by_category():
    cache = EventCache()
    cache.record_rejected(Rejected("not JSON"))
    cache.record_rejected(Rejected("unhandled detail-type", "unknown"))
    cache.record_rejected(Rejected("unhandled detail-type", "unknown"))
    counters = cache.counters()
    assert (counters["received"], counters["malformed"], counters["unknown"], counters["applied"]) == (3, 1, 2, 0)


def unrelated_call(n: int) -> ParsedEvent:
    """A CloudTrail RunTask call, as the stream delivers for every task anyone starts: a resource of its own."""
    result = parse_message(json.dumps(api_call("ecs.amazonaws.com", "RunTask", {"cluster": "batch", "taskDefinition": "job:1"},
                                               f"2024-03-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z", f"call-{n}")))
    assert isinstance(result, ParsedEvent) and result.affects == frozenset(), result
    return result


def test_unrelated_api_calls_do_not_grow_the_history_without_bound():
    cache = EventCache()
    for n in range(MAX_RESOURCES + 2_000):
        assert cache.apply(unrelated_call(n)) == "applied"
    assert len(cache.state()) == MAX_RESOURCES
    assert cache.dirty == set()
    # The newest resources are the ones kept: a redelivered recent event is still a duplicate.
    assert cache.apply(unrelated_call(MAX_RESOURCES + 1_999)) == "duplicate"


def test_a_resource_touched_again_stays_while_idle_ones_are_forgotten():
    cache = EventCache(max_resources=3)
    cache.apply(task_event(1, 1, service="web"))
    for n in range(2, 6):
        cache.apply(task_event(n, 1, service="api"))
        assert cache.apply(task_event(1, n, service="web")) == "applied"  # task 1 keeps changing
    assert cache.size == 3
    assert cache.latest("task:arn:task/prod/1").version == 5
    assert cache.latest("task:arn:task/prod/2") is None


def test_history_is_forgotten_after_max_age_and_a_late_copy_only_marks_again():
    now = [1000.0]
    cache = EventCache(max_age=60, clock=lambda: now[0])
    cache.apply(task_event(1, 3))
    cache.drain_dirty()
    now[0] += 30
    assert cache.apply(task_event(1, 2)) == "stale"  # within the window: ordering holds
    now[0] += 31
    assert cache.size == 0 and cache.state() == {}
    # Past the window the late copy applies again: one extra re-read, never a lost one.
    assert cache.apply(task_event(1, 2)) == "applied"
    assert cache.drain_dirty() == {("Service", "prod", "web")}


@st.composite
def histories(draw):
    """Events for a few tasks (versioned) and services (time-ordered), plus a delivery with duplicates."""
    events = []
    for n in range(draw(st.integers(1, 4))):
        versions = draw(st.lists(st.integers(0, 50), min_size=1, max_size=6, unique=True))
        service = draw(st.sampled_from(["web", "api", "worker"]))
        events += [task_event(n, v, service=service) for v in versions]
    for service in draw(st.lists(st.sampled_from(["web", "api"]), max_size=2, unique=True)):
        stamps = draw(st.lists(st.tuples(st.integers(0, 5), st.sampled_from("abc")), min_size=1, max_size=5, unique=True))
        events += [action_event(service, s, i) for s, i in stamps]
    extras = draw(st.lists(st.sampled_from(events), max_size=10))
    delivery = draw(st.permutations(events + extras))
    return events, delivery


@settings(max_examples=300, deadline=None)
@given(histories())
def test_any_permutation_with_duplicates_equals_in_order_delivery(history):
    events, delivery = history
    in_order, shuffled = EventCache(), EventCache()
    for event in sorted(events, key=lambda e: (e.resource, e.order)):
        assert in_order.apply(event) == "applied"
    outcomes = [shuffled.apply(event) for event in delivery]
    assert shuffled.state() == in_order.state()
    assert shuffled.drain_dirty() == in_order.drain_dirty()
    counters = shuffled.counters()
    assert counters["received"] == len(delivery)
    assert counters["applied"] + counters["duplicate"] + counters["stale"] == len(delivery)
    assert counters["duplicate"] + counters["stale"] >= len(delivery) - len(events)
    assert outcomes.count("applied") == counters["applied"] <= len(events)


def test_concurrent_apply_matches_sequential():
    events = [task_event(n, v, service=f"s{n % 3}") for n in range(20) for v in range(1, 30)]
    sequential = EventCache()
    for event in events:
        sequential.apply(event)
    shared = EventCache()
    chunks = [events[i::8][::-1] for i in range(8)]  # each thread delivers its share newest-first
    threads = [threading.Thread(target=lambda c=c: [shared.apply(e) for e in c]) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert shared.state() == sequential.state()
    assert shared.counters()["received"] == len(events)
    assert shared.drain_dirty() == sequential.drain_dirty()


def test_stopped_tasks_of_a_service_with_their_reasons_newest_first():
    from test_events_samples import TASK_EVENT

    cache = EventCache()
    for n, (status, reason) in enumerate([("STOPPED", "Essential container in task exited"), ("RUNNING", None),
                                          ("STOPPED", "Task failed ELB health checks")]):
        event = json.loads(json.dumps(TASK_EVENT))
        detail = event["detail"]
        detail.update(taskArn=detail["taskArn"] + str(n), lastStatus=status, version=1,
                      updatedAt=f"2024-03-01T10:0{n}:00Z")
        if reason:
            detail.update(stoppedReason=reason, stopCode="EssentialContainerExited")
        cache.apply(parse_message(json.dumps(event)))
    stopped = cache.stopped_tasks("sample-fargate")
    assert [t["stoppedReason"] for t in stopped] == ["Task failed ELB health checks", "Essential container in task exited"]
    assert cache.stopped_tasks("other") == []
