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


# --- replay protection (reconciler/controller/webhook.py ReplayGuard) ---

import time  # noqa: E402
import uuid  # noqa: E402

from reconciler.controller.webhook import ReplayGuard, delivery_id, push_time  # noqa: E402


def github_push(after: str, pushed_at: float | None = None) -> bytes:
    """A push payload shaped like GitHub's (trimmed): in push events the repository's `created_at`
    and `pushed_at` are epoch seconds, `updated_at` an ISO string."""
    pushed = int(time.time() if pushed_at is None else pushed_at)
    commit = {"id": after, "tree_id": "10ead547d4e1df8e1f8238e6c97fb793a805fc67", "distinct": True,
              "message": "web: nginx 1.28", "timestamp": "2019-09-05T16:14:24+07:00",
              "author": {"name": "Dev", "email": "dev@example.com", "username": "dev"}}
    return json.dumps({
        "ref": "refs/heads/main", "before": "1a15db6abe7d843d4857054bffcd145e3fe6dd4b", "after": after,
        "created": False, "deleted": False, "forced": False, "base_ref": None, "commits": [commit],
        "head_commit": commit,
        "repository": {"id": 186853002, "name": "deploy", "full_name": "acme/deploy", "private": True,
                       "created_at": 1564718196, "updated_at": "2019-08-28T04:44:36Z", "pushed_at": pushed,
                       "default_branch": "main"},
        "pusher": {"name": "dev", "email": "dev@example.com"}, "sender": {"login": "dev", "id": 962802},
    }).encode()


def gitea_push(after: str) -> bytes:
    """Gitea's push payload has no push time: its replays are caught by memory alone."""
    return json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": after,
                       "compare_url": "https://gitea.example.com/acme/deploy/compare/0...1",
                       "commits": [], "total_commits": 0,
                       "repository": {"id": 7, "full_name": "acme/deploy", "updated_at": "2024-05-01T10:00:00Z"},
                       "pusher": {"login": "dev"}, "sender": {"login": "dev"}}).encode()


def deliver(srv, body: bytes, delivery: str | None = None, event: str = "push", secret: bytes = SECRET):
    headers = {"X-Hub-Signature-256": sign(secret, body), "X-GitHub-Event": event}
    if delivery:
        headers["X-GitHub-Delivery"] = delivery
    status, payload, _ = call(srv, "POST", "/hooks/git", body, headers)
    return status, json.loads(payload)


def test_a_replayed_delivery_is_refused_and_wakes_nothing(server, ctl):
    body, delivery = github_push("c" * 40), str(uuid.uuid4())
    assert deliver(server, body, delivery)[0] == 202
    status, payload = deliver(server, body, delivery)
    assert status == 409 and payload["error"] == f"delivery {delivery} already received"
    assert ctl.pushes == [("refs/heads/main", "c" * 40)]


def test_a_replay_under_a_new_delivery_id_is_refused(server, ctl):
    """The delivery id header is not signed: a replayer can change it, but not the signed body."""
    body = github_push("d" * 40)
    assert deliver(server, body, str(uuid.uuid4()))[0] == 202
    assert deliver(server, body, str(uuid.uuid4()))[0] == 409
    assert deliver(server, body)[0] == 409
    assert len(ctl.pushes) == 1


def test_a_gitea_delivery_id_is_remembered(server, ctl):
    body, delivery = gitea_push("e" * 40), str(uuid.uuid4())
    headers = {"X-Hub-Signature-256": sign(SECRET, body), "X-Gitea-Event": "push", "X-Gitea-Delivery": delivery}
    assert call(server, "POST", "/hooks/git", body, headers)[0] == 202
    status, payload, _ = call(server, "POST", "/hooks/git", body, headers)
    assert status == 409 and delivery in json.loads(payload)["error"]
    assert len(ctl.pushes) == 1


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_a_push_signed_outside_the_window_is_refused(server, ctl, offset):
    status, payload = deliver(server, github_push("f" * 40, time.time() + offset), str(uuid.uuid4()))
    assert status == 409 and payload["error"].startswith("stale delivery"), payload
    assert ctl.pushes == []
    assert deliver(server, github_push("f" * 40), str(uuid.uuid4()))[0] == 202  # a fresh push of it is fine


def test_a_ping_is_not_judged_by_the_repository_last_push(server, ctl):
    """Outside push events `pushed_at` is the repository's last push, however old."""
    body = json.dumps({"zen": "Speak like a human.", "hook_id": 480171412,
                       "repository": {"full_name": "acme/deploy", "pushed_at": "2019-09-05T09:14:24Z"}}).encode()
    assert deliver(server, body, str(uuid.uuid4()), event="ping")[0] == 200


def test_refused_deliveries_are_not_remembered(server, ctl):
    """A forged delivery must not burn the id (or body) of the real one that follows."""
    body, delivery = github_push("a1" * 20), str(uuid.uuid4())
    assert deliver(server, body, delivery, secret=b"forged")[0] == 401
    assert deliver(server, body, delivery)[0] == 202
    assert len(ctl.pushes) == 1


def test_delivery_ids_and_push_times_as_hosts_send_them():
    assert delivery_id({"x-github-delivery": " 8e0dece0-cfbd-11e9-8e4c-f48db7a5cca7 "}) == \
        "8e0dece0-cfbd-11e9-8e4c-f48db7a5cca7"
    assert delivery_id({"x-forgejo-delivery": "fj-1"}) == "fj-1"
    assert delivery_id({"x-gogs-delivery": "gg-1"}) == "gg-1"
    assert delivery_id({"x-hub-signature-256": "sha256=00"}) is None
    assert push_time(github_push("a" * 40, 1567674864)) == 1567674864.0
    assert push_time(gitea_push("a" * 40)) is None
    for body in (b"", b"[]", b'{"repository": {"pushed_at": true}}', b'{"repository": {"pushed_at": "soon"}}'):
        assert push_time(body) is None


def test_the_delivery_memory_is_bounded_by_size_and_age():
    now = [1_700_000_000.0]
    guard = ReplayGuard(max_deliveries=50, memory=600, clock=lambda: now[0])
    for n in range(500):
        assert guard.admit({"x-github-delivery": f"id-{n}"}, b"body %d" % n) is None
    assert guard.size == 100  # id and body digest of the 50 newest
    assert guard.admit({"x-github-delivery": "id-499"}, b"other") is not None
    assert guard.admit({"x-github-delivery": "id-0"}, b"body 0") is None  # long forgotten
    now[0] += 601
    assert guard.size == 0
    assert guard.admit({"x-github-delivery": "id-499"}, b"body 499") is None



def test_the_server_remembers_deliveries_in_the_guard_it_is_given():
    guard, pushes = ReplayGuard(), []
    with controller_server(webhook_secret=SECRET, on_push=lambda ref, sha: pushes.append(sha),
                           replay_guard=guard) as srv:
        assert deliver(srv, github_push("b" * 40), "id-1")[0] == 202
    assert guard.size == 2 and pushes == ["b" * 40]

# --- who may suspend and resume: a token, unless the port is loopback only ---

from click.testing import CliRunner  # noqa: E402

from reconciler.controller.http import loopback_only  # noqa: E402


@pytest.mark.parametrize("host", ["192.0.2.10", "0.0.0.0", ""])
def test_control_routes_on_an_exposed_address_need_a_token_or_nothing_starts(host):
    """Checked before binding: nothing listens on the exposed address, even for a moment."""
    with pytest.raises(ValueError, match="admin token"):
        controller_server(host=host, on_suspend=lambda: None, on_resume=lambda: None)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_only_listener_lets_local_callers_suspend_without_a_token(host):
    calls = []
    with controller_server(host=host, on_suspend=lambda: calls.append("suspend"),
                           on_resume=lambda: calls.append("resume")) as srv:
        assert call(srv, "POST", "/suspend", b"")[0] == 200
        assert call(srv, "POST", "/resume", b"")[0] == 200
    assert calls == ["suspend", "resume"]


def test_an_empty_admin_token_is_no_token():
    """`ECS_RECONCILER_ADMIN_TOKEN=` must not turn into the token "" (a bare "Bearer " would pass)."""
    with controller_server(on_suspend=lambda: None, admin_token="") as srv:
        assert call(srv, "POST", "/suspend", b"")[0] == 200  # loopback, so open; and never "Bearer "
    with pytest.raises(ValueError, match="admin token"):
        controller_server(host="192.0.2.10", on_suspend=lambda: None, admin_token="")


def test_loopback_only():
    assert loopback_only("127.0.0.1") and loopback_only("127.0.0.2") and loopback_only("localhost")
    assert not loopback_only("0.0.0.0") and not loopback_only("") and not loopback_only("192.0.2.10")
    assert not loopback_only("no-such-host.invalid")


def test_run_refuses_an_exposed_listen_address_without_a_token(tmp_path, monkeypatch):
    from reconciler.cli import cli

    monkeypatch.delenv("ECS_RECONCILER_ADMIN_TOKEN", raising=False)
    (tmp_path / "empty.yaml").write_text("")
    result = CliRunner().invoke(cli, ["--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1", "run",
                                      "--source", str(tmp_path), "--listen", "192.0.2.10:8080"])
    assert result.exit_code == 2, result.output
    assert "--admin-token" in result.output and "127.0.0.1" in result.output
