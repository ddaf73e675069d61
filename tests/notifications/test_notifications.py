"""Notifications against a real HTTP receiver on 127.0.0.1: signed, retried, rate-limited, reported,
never blocking the caller; and a controller that announces one drift once across resyncs."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from reconciler.controller.happenings import Happening
from reconciler.controller.loop import Controller, ControllerConfig
from reconciler.controller.webhook import verify_signature
from reconciler.notifications.config import NotificationConfigError, load
from reconciler.notifications.destinations import SIGNATURE_HEADER, GitHubStatus, JsonWebhook, SlackWebhook
from reconciler.notifications.dispatcher import NotificationCollector, Notifier

SHA = "0123456789abcdef0123456789abcdef01234567"
MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "base"


class Receiver:
    """Records every POST; answers `fail` times with 503 first, and waits on `gate` before answering."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict, bytes]] = []
        self.fail = 0
        self.gate = threading.Event()
        self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.gate.wait(10)
                receiver.requests.append((self.path, dict(self.headers), body))
                failing = receiver.fail > 0
                receiver.fail -= 1 if failing else 0
                self.send_response(503 if failing else 201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, _, body in self.requests]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.gate.set()
    r.server.shutdown()
    r.server.server_close()


def drift(name: str = "web") -> Happening:
    who = {"principal": "arn:aws:iam::123456789012:user/alice", "call": "UpdateService",
           "time": "2026-01-01T00:00:00Z", "label": "arn:aws:iam::123456789012:user/alice"}
    return Happening("drift-found", f"Service/{name}", f"Service/{name} drifted: spec.desiredCount", SHA, who=who,
                     paths=["spec.desiredCount"])


def test_json_webhook_is_signed_and_retried_until_delivered(receiver):
    receiver.fail = 2
    notifier = Notifier([JsonWebhook(receiver.url + "/hook", b"s3cret")], backoff=0.01).start()
    notifier(drift())
    assert notifier.flush()
    notifier.stop()
    assert len(receiver.requests) == 3  # two 503s, then delivered
    _path, headers, body = receiver.requests[-1]
    assert verify_signature(b"s3cret", body, headers[SIGNATURE_HEADER])
    doc = json.loads(body)
    assert doc["kind"] == "drift-found" and doc["who"]["principal"].endswith("user/alice") and doc["revision"] == SHA
    assert notifier.stats()["webhook"] | {"lastError": None} == {"sent": 1, "failed": 0, "rate_limited": 0,
                                                                  "dropped": 0, "lastError": None}


def test_a_failing_destination_is_reported_and_never_blocks_the_caller(receiver):
    receiver.fail, receiver.gate = 100, threading.Event()  # every answer held until the gate opens
    notifier = Notifier([SlackWebhook(receiver.url + "/slack")], attempts=2, backoff=0.01).start()
    for n in range(3):
        notifier(drift(f"s{n}"))  # returns while the receiver holds every request
    receiver.gate.set()
    assert notifier.flush()
    notifier.stop()
    stats = notifier.stats()["slack"]
    assert stats["failed"] == 3 and stats["sent"] == 0 and stats["lastError"] == "HTTP 503"
    assert len(receiver.requests) == 6  # each tried twice
    registry = CollectorRegistry()
    registry.register(NotificationCollector(notifier))
    assert registry.get_sample_value("ecs_reconciler_notifications_total",
                                     {"destination": "slack", "outcome": "failed"}) == 3


def test_rate_limit_drops_the_flood_and_counts_it(receiver):
    notifier = Notifier([SlackWebhook(receiver.url + "/slack")], burst=2, per_minute=0.001).start()
    for n in range(5):
        notifier(drift(f"s{n}"))
    assert notifier.flush()
    notifier.stop()
    assert notifier.stats()["slack"]["sent"] == 2 and notifier.stats()["slack"]["rate_limited"] == 3
    text = receiver.bodies()[0]["text"]
    assert "Service/s0 drifted: spec.desiredCount" in text and "user/alice (UpdateService" in text


def test_github_commit_status_on_the_applied_commit(receiver):
    notifier = Notifier([GitHubStatus("acme/deploy", "ghp-token", api=receiver.url)], backoff=0.01).start()
    notifier(Happening("applied", "Service/web", "update Service/web", SHA))
    notifier(Happening("applied", "Cluster/shop", "update Cluster/shop", SHA))  # same commit, same state
    notifier(drift())  # not a commit status
    notifier(Happening("apply-failed", "Service/web", "Service/web: boom", SHA))
    assert notifier.flush()
    notifier.stop()
    assert [path for path, _, _ in receiver.requests] == [f"/repos/acme/deploy/statuses/{SHA}"] * 2
    assert [b["state"] for b in receiver.bodies()] == ["success", "failure"]
    assert receiver.requests[0][1]["Authorization"] == "Bearer ghp-token"


def test_config_file_and_flags(tmp_path):
    path = tmp_path / "notify.yaml"
    path.write_text("slack: {url: https://hooks.example.com/x}\nrateLimit: {burst: 3, perMinute: 6}\n")
    config = load(str(path), webhook_url="https://hooks.example.com/json", webhook_secret="s")
    assert [d.name for d in config.notifier().destinations] == ["slack", "webhook"]
    path.write_text("slack: {url: ftp://nope}\n")
    with pytest.raises(NotificationConfigError, match=r"notify.yaml: .*slack.url"):
        load(str(path))
    path.write_text("slak: {}\n")
    with pytest.raises(NotificationConfigError, match="slak"):
        load(str(path))


def test_the_controller_announces_a_drift_once_across_resyncs(local, local_clients, tmp_path, receiver):
    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    controller = Controller(local_clients, ControllerConfig(source=str(source), self_heal=False,
                                                            workdir=str(tmp_path / "work")))
    notifier = Notifier([JsonWebhook(receiver.url + "/hook")], backoff=0.01).start()
    controller.add_sink(notifier)
    try:
        assert controller.sync_once()
        local.client("ecs").update_service(cluster="shop", service="shop-web", desiredCount=5)
        for _ in range(3):
            assert controller.sync_once()
        assert notifier.flush()
    finally:
        controller.stop()
        notifier.stop()
    drifts = [b for b in receiver.bodies() if b["kind"] == "drift-found"]
    assert len(drifts) == 1 and drifts[0]["resource"] == "Service/shop-web", receiver.bodies()
    assert drifts[0]["who"]["principal"] == "unknown"  # no event stream: nobody is named
    assert {b["kind"] for b in receiver.bodies()} == {"applied", "drift-found"}


def test_run_once_with_a_webhook_flag_sends_what_it_applied(run_cli, tmp_path, receiver):
    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    code, _out, _err, _writes = run_cli("run", "--source", str(source), "--once",
                                        "--notify-webhook-url", receiver.url + "/hook", "--notify-webhook-secret", "k")
    assert code == 0
    sent = receiver.bodies()
    assert {b["resource"] for b in sent if b["kind"] == "applied"} == {"Cluster/shop", "TaskDefinition/shop-web",
                                                                       "Service/shop-web"}
    assert all(verify_signature(b"k", body, headers[SIGNATURE_HEADER]) for _, headers, body in receiver.requests)
