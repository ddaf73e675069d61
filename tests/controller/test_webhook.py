"""Webhook signature verification and push parsing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.controller.webhook import MAX_BODY, parse_push, sign, verify_signature

SECRET = b"hook-secret"
BODY = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()


def test_valid_signature_accepted():
    header = "sha256=" + hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert verify_signature(SECRET, BODY, header)
    assert verify_signature(SECRET, BODY, header.upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + hmac.new(SECRET, BODY, hashlib.sha1).hexdigest(),
        "sha256=" + hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()[:-2],
        "sha256=" + "z" * 64,
        hmac.new(SECRET, BODY, hashlib.sha256).hexdigest(),
        "sha256=" + hmac.new(b"other", BODY, hashlib.sha256).hexdigest(),
    ],
)
def test_missing_malformed_or_wrong_signatures_rejected(header):
    assert not verify_signature(SECRET, BODY, header)


def test_tampered_body_rejected():
    assert not verify_signature(SECRET, BODY + b" ", sign(SECRET, BODY))


def test_empty_secret_never_verifies():
    assert not verify_signature(b"", BODY, sign(b"", BODY))


def test_body_over_limit_rejected_even_if_signed():
    big = b"x" * (MAX_BODY + 1)
    assert not verify_signature(SECRET, big, sign(SECRET, big))
    assert verify_signature(SECRET, big, sign(SECRET, big), max_body=MAX_BODY + 1)


def test_parse_push():
    assert parse_push(BODY) == ("refs/heads/main", "a" * 40)
    sha256_repo = json.dumps({"ref": "refs/tags/v1", "after": "b" * 64}).encode()
    assert parse_push(sha256_repo) == ("refs/tags/v1", "b" * 64)


@pytest.mark.parametrize(
    "body",
    [
        b"", b"not json", b"[]", b"null", b'"str"', b"\xff\xfe", b"{" * 100000,
        b'{"ref": "refs/heads/main"}',
        b'{"ref": 1, "after": "' + b"a" * 40 + b'"}',
        b'{"ref": "main", "after": "' + b"a" * 40 + b'"}',
        b'{"ref": "refs/heads/main", "after": "xyz"}',
        b'{"zen": "Keep it logically awesome.", "hook_id": 1}',
    ],
)
def test_parse_push_tolerates_malformed_input(body):
    assert parse_push(body) is None


@given(st.binary(max_size=512))
def test_parse_push_never_raises(body):
    parse_push(body)


@given(st.binary(max_size=256), st.one_of(st.none(), st.text(max_size=80)))
def test_verify_signature_never_raises_and_rejects_garbage(body, header):
    assert verify_signature(SECRET, body, header) == (header is not None and header.strip() == sign(SECRET, body))


# --- the controller HTTP server that receives deliveries (reconciler/controller/http.py) ---

import http.client  # noqa: E402
import threading  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

from prometheus_client import CollectorRegistry, Counter, Gauge  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from reconciler.controller.http import ControllerHTTPServer, Response, controller_server  # noqa: E402


class Controller:
    """Stand-in for the controller: records what the HTTP surface asked of it."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, str]] = []
        self.suspended = False
        self.ready = False
        self.registry = CollectorRegistry()
        self.reconciles = Counter("reconciles", "Reconcile attempts", ["result"], registry=self.registry)
        self.drift = Gauge("drifted_resources", "Resources out of sync", registry=self.registry)

    def suspend(self):
        self.suspended = True
        return {"suspended": True}

    def resume(self):
        self.suspended = False


@pytest.fixture
def ctl():
    return Controller()


@pytest.fixture
def server(ctl):
    srv = controller_server(
        registry=ctl.registry, status=lambda: {"revision": "abc", "suspended": ctl.suspended},
        ready=lambda: ctl.ready, webhook_secret=SECRET, on_push=lambda ref, sha: ctl.pushes.append((ref, sha)),
        on_suspend=ctl.suspend, on_resume=ctl.resume,
    ).start()
    yield srv
    srv.stop()


def call(srv, method, path, body=None, headers=None):
    req = urllib.request.Request(srv.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def test_binds_loopback_by_default(server):
    assert server.url.startswith("http://127.0.0.1:")


def test_probes(server, ctl):
    assert call(server, "GET", "/healthz")[0] == 200
    assert call(server, "GET", "/readyz")[0] == 503
    ctl.ready = True
    assert call(server, "GET", "/readyz")[0] == 200


def test_metrics_parse_as_prometheus_text(server, ctl):
    ctl.reconciles.labels(result="ok").inc(3)
    ctl.drift.set(2)
    status, body, headers = call(server, "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("reconciles_total", (("result", "ok"),))] == 3
    assert samples[("drifted_resources", ())] == 2


def test_status_is_json(server, ctl):
    status, body, headers = call(server, "GET", "/status")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"revision": "abc", "suspended": False}


def test_signed_push_triggers(server, ctl):
    status, body, _ = call(server, "POST", "/hooks/git", BODY,
                           {"X-Hub-Signature-256": sign(SECRET, BODY), "X-GitHub-Event": "push"})
    assert status == 202 and json.loads(body)["after"] == "a" * 40
    assert ctl.pushes == [("refs/heads/main", "a" * 40)]


@pytest.mark.parametrize("headers", [{}, {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                                     {"X-Hub-Signature-256": "garbage"}])
def test_unsigned_or_badly_signed_push_is_401(server, ctl, headers):
    assert call(server, "POST", "/hooks/git", BODY, headers)[0] == 401
    assert ctl.pushes == []


def test_signed_but_malformed_payload_is_400(server, ctl):
    body = b"{not json"
    assert call(server, "POST", "/hooks/git", body, {"X-Hub-Signature-256": sign(SECRET, body)})[0] == 400
    assert ctl.pushes == []


def test_ping_is_acknowledged_without_trigger(server, ctl):
    body = b'{"zen": "hi"}'
    headers = {"X-Hub-Signature-256": sign(SECRET, body), "X-GitHub-Event": "ping"}
    assert call(server, "POST", "/hooks/git", body, headers)[0] == 200
    assert ctl.pushes == []


def test_oversized_body_is_413_and_not_triggered(server, ctl):
    body = b"x" * (MAX_BODY + 1)
    assert call(server, "POST", "/hooks/git", body, {"X-Hub-Signature-256": sign(SECRET, body)})[0] == 413
    assert ctl.pushes == []


def test_declared_length_over_limit_is_rejected_before_reading(server, ctl):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/hooks/git")
    conn.putheader("Content-Length", str(50 * MAX_BODY))
    conn.endheaders()
    conn.send(b"x" * 1024)
    assert conn.getresponse().status == 413
    conn.close()


def test_suspend_and_resume(server, ctl):
    status, body, _ = call(server, "POST", "/suspend", b"")
    assert status == 200 and json.loads(body) == {"suspended": True} and ctl.suspended
    assert call(server, "POST", "/resume", b"")[0] == 200 and not ctl.suspended


def test_unknown_path_and_wrong_method(server):
    assert call(server, "GET", "/nope")[0] == 404
    status, _, headers = call(server, "GET", "/suspend")
    assert status == 405 and headers["Allow"] == "POST"


def test_handler_exception_is_500_and_server_survives():
    srv = ControllerHTTPServer()
    srv.route("GET", "/boom", lambda req: 1 / 0)
    srv.route("GET", "/ok", lambda req: Response(200, b"fine"))
    with srv:
        assert call(srv, "GET", "/boom")[0] == 500
        assert call(srv, "GET", "/ok")[:2] == (200, b"fine")


def test_admin_token_guards_actions():
    calls = []
    srv = controller_server(on_suspend=lambda: calls.append(1), admin_token="t0k")
    with srv:
        assert call(srv, "POST", "/suspend", b"")[0] == 401
        assert call(srv, "POST", "/suspend", b"", {"Authorization": "Bearer wrong"})[0] == 401
        assert call(srv, "POST", "/suspend", b"", {"Authorization": "Bearer t0k"})[0] == 200
    assert calls == [1]


def test_webhook_route_requires_a_secret():
    with pytest.raises(ValueError):
        controller_server(on_push=lambda ref, sha: None)


def test_concurrent_requests_and_clean_shutdown():
    gate = threading.Event()
    srv = ControllerHTTPServer()
    srv.route("GET", "/slow", lambda req: (gate.wait(5), Response(200, b"slow"))[1])
    srv.route("GET", "/fast", lambda req: Response(200, b"fast"))
    srv.start()
    slow = threading.Thread(target=lambda: results.append(call(srv, "GET", "/slow")[1]))
    results: list[bytes] = []
    slow.start()
    assert call(srv, "GET", "/fast")[1] == b"fast", "a slow handler does not block others"
    gate.set()
    slow.join(5)
    assert results == [b"slow"]
    port = srv.port
    srv.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/fast", timeout=2)
