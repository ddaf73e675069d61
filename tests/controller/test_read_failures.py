"""A read that fails must not lose what was owed: the resources the event stream marked dirty, and
a resync the timer asked for, are read on the next reconcile. The failures are real HTTP errors,
injected by a proxy in front of the local endpoint (tests/support/faultproxy.py); the controller's
clients make one attempt per call, so one injected fault fails the read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.controller.loop import Controller, ControllerConfig
from support.faultproxy import FaultProxy

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "base"
WEB = ("Service", "shop", "shop-web")  # the event stream's key for the service


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "manifests"
    path.mkdir()
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, path / name)
    return path


@pytest.fixture
def proxy(local):
    with FaultProxy(local.url) as running:
        yield running


def streaming_controller(endpoint: str, source: Path, tmp_path: Path) -> Controller:
    """A controller in event-stream mode (reconciles between resyncs re-read only what is marked),
    with no consumer running: the test marks resources itself, as the consumer would."""
    clients = Clients(AwsSettings(region="us-east-1", endpoint_url=endpoint, max_attempts=1), CallLog())
    queue = clients.client("sqs").create_queue(QueueName="ecs-reconciler-test")["QueueUrl"]
    controller = Controller(clients, ControllerConfig(source=str(source), workdir=str(tmp_path / "work"),
                                                      events_queue=queue, rollout_poll=0.2, backoff_base=0.2))
    settle(controller)
    return controller


def settle(controller: Controller, attempts: int = 100) -> None:
    for _ in range(attempts):
        controller.sync_once()
        if {r["state"] for r in controller.status.document()["resources"]} == {"in-sync"}:
            return
    raise AssertionError(f"never settled: {controller.status.document()}")


def desired_count(local) -> int:
    return local.client("ecs").describe_services(cluster="shop", services=["shop-web"])["services"][0]["desiredCount"]


def test_a_mark_whose_read_failed_is_read_on_the_next_reconcile(local, proxy, source, tmp_path):
    controller = streaming_controller(proxy.url, source, tmp_path)
    local.client("ecs").update_service(cluster="shop", service="shop-web", desiredCount=4)
    controller.informer.mark({WEB})  # the stream's event about it arrives
    proxy.inject("DescribeServices", "error_5xx")
    assert not controller.sync_once()
    assert proxy.count("error_5xx", "DescribeServices") == 1 and desired_count(local) == 4

    reads = proxy.forwarded("DescribeServices")
    assert controller.sync_once()
    assert proxy.forwarded("DescribeServices") > reads  # read again ...
    assert desired_count(local) == 2  # ... and healed
    controller.stop()


@pytest.mark.parametrize("full, failing", [(False, "DescribeServices"), (True, "DescribeClusters")])
def test_a_resync_whose_read_failed_is_still_owed(local, proxy, source, tmp_path, full, failing):
    controller = streaming_controller(proxy.url, source, tmp_path)
    local.client("ecs").update_service(cluster="shop", service="shop-web", desiredCount=4)  # no event about it
    controller.request_resync(full=full)
    proxy.inject(failing, "error_5xx")
    assert not controller.sync_once()
    assert proxy.count("error_5xx", failing) == 1 and desired_count(local) == 4

    assert controller.sync_once()
    assert desired_count(local) == 2
    assert controller.metrics.registry.get_sample_value("ecs_reconciler_missed_events_total") == 1
    controller.stop()


def test_missed_events_counts_only_drift_the_stream_did_not_show(local, source, tmp_path):
    controller = streaming_controller(local.url, source, tmp_path)
    missed = lambda: controller.metrics.registry.get_sample_value("ecs_reconciler_missed_events_total")  # noqa: E731
    ecs = local.client("ecs")

    ecs.update_service(cluster="shop", service="shop-web", desiredCount=4)
    controller.informer.mark({WEB})  # shown by the stream: found by the resync, but not missed
    controller.request_resync()
    assert controller.sync_once() and desired_count(local) == 2
    assert missed() == 0

    settle(controller)
    ecs.update_service(cluster="shop", service="shop-web", desiredCount=3)  # never shown by the stream
    controller.request_resync()
    assert controller.sync_once() and desired_count(local) == 2
    assert missed() == 1
    controller.stop()
