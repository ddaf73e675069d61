"""EventConsumer against the moto server: real rule -> queue delivery, batching, redelivery."""

from __future__ import annotations

import json
import time

import pytest

from reconciler.observed.consumer import EventConsumer, start_consumer_thread
from reconciler.observed.event_cache import EventCache
from reconciler.observed.event_plumbing import setup_event_stream
from test_events_samples import CONTAINER_INSTANCE_EVENT, TASK_EVENT, api_call, body

WEB = ("Service", "prod", "web")
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"


class Recorder:
    """An on_dirty callback that records calls and can be told to fail."""

    def __init__(self, fail_times: int = 0):
        self.calls: list[set] = []
        self.fail_times = fail_times

    def __call__(self, keys: set) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("controller queue unavailable")
        self.calls.append(set(keys))


@pytest.fixture
def stream(clients):
    return setup_event_stream(clients)


def make_consumer(clients, stream, on_dirty, cache=None, wait_seconds=1):
    return EventConsumer(clients, stream["queue_url"], cache or EventCache(), on_dirty, wait_seconds=wait_seconds)


def queue_depth(clients, queue_url) -> tuple[int, int]:
    attrs = clients.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def put_events(clients, *entries):
    response = clients.events.put_events(Entries=list(entries))
    assert response["FailedEntryCount"] == 0


def service_action(name: str = "SERVICE_STEADY_STATE", arn: str = SERVICE_ARN, created_at: str | None = None) -> dict:
    detail = {"eventType": "INFO", "eventName": name, "clusterArn": arn.split(":service/")[0] + ":cluster/prod"}
    if created_at:
        detail["createdAt"] = created_at
    return {"Source": "aws.ecs", "DetailType": "ECS Service Action", "Resources": [arn], "Detail": json.dumps(detail)}


def send_raw(clients, stream, *bodies):
    sqs = clients.client("sqs")
    for text in bodies:
        sqs.send_message(QueueUrl=stream["queue_url"], MessageBody=text)


def task_body(task: str, version: int, service: str = "web") -> str:
    arn = f"arn:aws:ecs:us-east-1:123456789012:task/prod/{task}"
    return body(TASK_EVENT, taskArn=arn, version=version, group=f"service:{service}",
                clusterArn="arn:aws:ecs:us-east-1:123456789012:cluster/prod")


def test_service_action_travels_rule_to_queue_to_dirty_service(clients, stream):
    put_events(clients, service_action())
    recorder = Recorder()
    consumer = make_consumer(clients, stream, recorder)
    assert consumer.poll_once() == 1
    assert recorder.calls == [{WEB}]
    assert queue_depth(clients, stream["queue_url"]) == (0, 0)
    stats = consumer.stats()
    assert (stats["received"], stats["applied"], stats["deleted"], stats["malformed"]) == (1, 1, 1, 0)
    assert 0 <= stats["last_event_lag_seconds"] < 60


def test_api_call_event_through_the_rule_marks_its_service(clients, stream):
    detail = api_call("ecs.amazonaws.com", "UpdateService", {"cluster": "prod", "service": "web"})["detail"]
    put_events(clients, {"Source": "aws.ecs", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)})
    recorder = Recorder()
    make_consumer(clients, stream, recorder).poll_once()
    assert recorder.calls == [{WEB}]


def test_many_events_for_one_service_become_one_key_in_one_call(clients, stream):
    send_raw(clients, stream, *[task_body(f"t{i}", 1) for i in range(6)], task_body("x", 1, service="api"))
    put_events(clients, service_action("SERVICE_DEPLOYMENT_IN_PROGRESS", created_at="2024-01-01T00:00:00.100Z"),
               service_action("SERVICE_STEADY_STATE", created_at="2024-01-01T00:00:00.200Z"))
    recorder = Recorder()
    consumer = make_consumer(clients, stream, recorder)
    assert consumer.poll_once() == 9
    assert recorder.calls == [{WEB, ("Service", "prod", "api")}]
    assert consumer.stats()["applied"] == 9


def test_duplicates_and_out_of_order_events_are_absorbed(clients, stream):
    recorder = Recorder()
    consumer = make_consumer(clients, stream, recorder)
    send_raw(clients, stream, task_body("t1", 3), task_body("t1", 1), task_body("t1", 3), task_body("t1", 2))
    consumer.poll_once()
    assert recorder.calls == [{WEB}]
    stats = consumer.stats()
    assert (stats["applied"], stats["duplicate"], stats["stale"], stats["deleted"]) == (1, 1, 2, 4)
    assert consumer.cache.latest("task:arn:aws:ecs:us-east-1:123456789012:task/prod/t1").version == 3
    send_raw(clients, stream, task_body("t1", 2), task_body("t1", 3))  # late redeliveries: nothing new
    consumer.poll_once()
    assert len(recorder.calls) == 1
    send_raw(clients, stream, task_body("t1", 4))
    consumer.poll_once()
    assert recorder.calls == [{WEB}, {WEB}]
    assert queue_depth(clients, stream["queue_url"]) == (0, 0)


def test_malformed_and_unknown_messages_are_counted_deleted_and_do_not_stop_the_batch(clients, stream):
    send_raw(clients, stream, "not json", "[]", json.dumps({"detail-type": "ECS Task State Change"}),
             body(TASK_EVENT, version="seven"),
             json.dumps({"detail-type": "ECS Something New", "id": "n", "time": "2024-01-01T00:00:00Z", "detail": {}}),
             task_body("t1", 1))
    put_events(clients, {"Source": "aws.ecs", "DetailType": "ECS Task State Change", "Detail": json.dumps({"x": 1})})
    recorder = Recorder()
    consumer = make_consumer(clients, stream, recorder)
    deleted = 0
    while sum(queue_depth(clients, stream["queue_url"])):
        deleted += consumer.poll_once()
    assert deleted == 7
    assert recorder.calls == [{WEB}]
    stats = consumer.stats()
    assert (stats["received"], stats["malformed"], stats["unknown"], stats["applied"]) == (7, 5, 1, 1)


def test_failing_on_dirty_leaves_messages_for_redelivery_and_keeps_keys_dirty(clients, stream):
    sqs = clients.client("sqs")
    sqs.set_queue_attributes(QueueUrl=stream["queue_url"], Attributes={"VisibilityTimeout": "1"})
    put_events(clients, service_action())
    recorder = Recorder(fail_times=1)
    consumer = make_consumer(clients, stream, recorder, wait_seconds=0)
    assert consumer.poll_once() == 0
    assert recorder.calls == []
    assert queue_depth(clients, stream["queue_url"]) == (0, 1)  # in flight, not deleted
    assert consumer.cache.dirty == {WEB}
    time.sleep(1.5)
    redelivered = sqs.receive_message(QueueUrl=stream["queue_url"], AttributeNames=["ApproximateReceiveCount"],
                                      WaitTimeSeconds=1)["Messages"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in redelivered] == ["2"]
    time.sleep(1.5)
    assert consumer.poll_once() == 1  # third delivery: a duplicate, but the key was kept dirty
    assert recorder.calls == [{WEB}]
    stats = consumer.stats()
    assert (stats["handler_errors"], stats["applied"], stats["duplicate"]) == (1, 1, 1)
    assert queue_depth(clients, stream["queue_url"]) == (0, 0)


class FlakyCache(EventCache):
    """Fails to apply events of one resource, as a bug in handling would."""

    def apply(self, event):
        if event.resource.endswith("/boom"):
            raise RuntimeError("bug")
        return super().apply(event)


def test_a_message_whose_handling_raised_is_not_deleted(clients, stream):
    send_raw(clients, stream, task_body("boom", 1), task_body("ok", 1))
    recorder = Recorder()
    consumer = make_consumer(clients, stream, recorder, cache=FlakyCache())
    assert consumer.poll_once() == 1
    assert recorder.calls == [{WEB}]
    assert consumer.stats()["message_errors"] == 1
    assert queue_depth(clients, stream["queue_url"]) == (0, 1)


def test_run_loop_in_a_thread_survives_errors_and_stops(clients, stream):
    recorder = Recorder(fail_times=1)
    consumer = make_consumer(clients, stream, recorder)
    consumer.error_backoff = 0.1
    broken = EventConsumer(clients, stream["queue_url"] + "-missing", EventCache(), recorder, wait_seconds=0,
                           error_backoff=0.05)
    thread, stop = start_consumer_thread(consumer)
    broken_thread, broken_stop = start_consumer_thread(broken, name="broken")
    send_raw(clients, stream, "garbage")
    put_events(clients, service_action())
    deadline = time.monotonic() + 20
    while not recorder.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorder.calls and recorder.calls[0] == {WEB}
    assert broken_thread.is_alive() and broken.stats()["poll_errors"] >= 2
    stop.set()
    broken_stop.set()
    thread.join(timeout=5)
    broken_thread.join(timeout=5)
    assert not thread.is_alive() and not broken_thread.is_alive()
    assert consumer.stats()["malformed"] == 1


def test_container_instance_event_marks_the_cluster(clients, stream):
    send_raw(clients, stream, json.dumps(CONTAINER_INSTANCE_EVENT))
    recorder = Recorder()
    make_consumer(clients, stream, recorder).poll_once()
    assert recorder.calls == [{("Cluster", "default")}]


