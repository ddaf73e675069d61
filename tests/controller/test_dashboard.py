"""The dashboard in a real browser (Debian's chromium driven by Playwright), against `run --listen`
and the local endpoint with its event stream: resources and states, a drift with its field path
and its caller, and suspend with the admin token.

Set DASHBOARD_SCREENSHOTS=docs/images to refresh the screenshots in docs/dashboard.md.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.local import LocalEndpoint
from reconciler.observed.event_plumbing import setup_event_stream

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "base"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "dashboard-test-token"
SHOTS = os.environ.get("DASHBOARD_SCREENSHOTS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def controller(tmp_path_factory):
    """`ecs-reconciler run --listen` as a process, against a local endpoint that emits ECS and
    CloudTrail events into the controller's event queue; self-heal off, so drift stays to be seen."""
    source = tmp_path_factory.mktemp("manifests")
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    with LocalEndpoint(settle_seconds=0.3, emit_events=True, duplicate_rate=0.0) as endpoint:
        clients = Clients(AwsSettings(region="us-east-1", endpoint_url=endpoint.url), CallLog())
        queue = setup_event_stream(clients)["queue_url"]
        port = free_port()
        env = {**os.environ, **endpoint.env(), "ECS_RECONCILER_ADMIN_TOKEN": TOKEN}
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", "--endpoint-url", endpoint.url, "--region", "us-east-1", "run",
             "--source", str(source), "--listen", f"127.0.0.1:{port}", "--events-queue", queue, "--no-self-heal",
             "--resync-period", "600"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    doc = get_json(url + "/status")
                    if doc["resources"] and {r["state"] for r in doc["resources"]} == {"in-sync"}:
                        break
                except OSError:
                    pass
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.2)
            else:
                raise AssertionError(f"controller did not converge: {get_json(url + '/status')}")
            yield url, endpoint
        finally:
            proc.terminate()
            proc.wait(30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "the browser test needs Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_dashboard_shows_resources_drift_with_its_caller_and_suspends_with_the_token(controller, browser):
    url, endpoint = controller
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(url + "/")
    page.locator("#live", has_text="live").wait_for(timeout=10_000)
    for kind, name in (("Cluster", "shop"), ("TaskDefinition", "shop-web"), ("Service", "shop-web")):
        row = page.locator(f'tr[id="{kind}/{name}"]')
        assert row.get_attribute("data-state") == "in-sync", row.inner_text()
    assert TOKEN not in page.content()
    shot(page, "dashboard-in-sync.png")

    # Someone else (another IAM user) changes the service behind git's back.
    alice = boto3.client("ecs", endpoint_url=endpoint.url, region_name="us-east-1",
                         aws_access_key_id="alice", aws_secret_access_key="alice")
    alice.update_service(cluster="shop", service="shop-web", desiredCount=4)

    # The page updates by itself (server-sent events): no reload.
    service = page.locator('tr[id="Service/shop-web"][data-state="drifted"]')
    service.wait_for(timeout=15_000)
    text = service.inner_text()
    assert "spec.desiredCount" in text and "4 → 2" in text, text
    assert "arn:aws:iam::123456789012:user/alice" in text and "UpdateService" in text, text
    happening = page.locator('tr.happening[data-kind="drift-found"]').first
    assert "Service/shop-web" in happening.inner_text() and "user/alice" in happening.inner_text()
    shot(page, "dashboard-drift.png")

    # Suspend needs the token: a wrong one is refused, the right one suspends.
    page.fill("#token", "wrong")
    page.click("#suspend")
    page.locator("#control-result", has_text="refused (401)").wait_for(timeout=5_000)
    assert get_json(url + "/status")["suspended"] is False
    page.fill("#token", TOKEN)
    page.click("#suspend")
    page.locator("#suspended-banner").wait_for(timeout=5_000)
    assert get_json(url + "/status")["suspended"] is True
    assert TOKEN not in page.content()
    shot(page, "dashboard-suspended.png")
    page.click("#resume")
    page.locator("#suspended-banner").wait_for(state="detached", timeout=5_000)
    page.close()


def test_live_updates_announce_each_change_and_are_capped(monkeypatch):
    """The event stream says `changed` when the status version moves; past the cap, 503."""
    import http.client

    from reconciler.controller import dashboard
    from reconciler.controller.http import controller_server

    monkeypatch.setattr(dashboard, "MAX_STREAMS", 1)
    version = [1]
    server = controller_server(status=lambda: {"resources": []})
    dashboard.add_dashboard(server, lambda: {"source": "s", "resources": [], "timeline": []}, lambda: version[0])
    with server:
        first = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        first.request("GET", "/events")
        stream = first.getresponse()
        assert stream.status == 200 and stream.getheader("Content-Type") == "text/event-stream"
        assert stream.readline() == b"event: hello\n"
        stream.readline(), stream.readline()
        version[0] = 2
        assert stream.readline() == b"event: changed\n" and stream.readline() == b"data: 2\n"
        second = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        second.request("GET", "/events")
        assert second.getresponse().status == 503
        first.close()
        second.close()
