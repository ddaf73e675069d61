"""The controller's small HTTP surface: probes, metrics, status, git webhook, suspend/resume.

Stdlib only (ThreadingHTTPServer) because the surface is tiny and must not pull a web framework
into the engine. The server knows nothing about reconciling: callers register routes, and the
builders below turn plain callables into handlers. Request bodies are size-checked from
Content-Length *before* reading, so a large upload costs no memory.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from reconciler.controller.webhook import (MAX_BODY, SIGNATURE_HEADER, ReplayGuard, parse_push, push_time,
                                           verify_signature)

log = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


def json_response(status: int, payload: object) -> Response:
    return Response(status, json.dumps(payload, default=str).encode() + b"\n", "application/json")


class ControllerHTTPServer:
    """Routes (method, path) to handlers on a background thread; ``stop`` shuts it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, request_timeout: float = 30.0) -> None:
        self._routes: dict[tuple[str, str], tuple[Handler, int]] = {}
        self._server = ThreadingHTTPServer((host, port), self._handler_class(request_timeout))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def route(self, method: str, path: str, handler: Handler, *, max_body: int = 0) -> None:
        """Register ``handler``; requests with a body over ``max_body`` bytes get 413 unread."""
        self._routes[(method.upper(), path)] = (handler, max_body)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self) -> "ControllerHTTPServer":
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="controller-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "ControllerHTTPServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dispatch(self, method: str, raw_path: str) -> tuple[Handler, int] | Response:
        path = urllib.parse.urlsplit(raw_path).path
        if (method, path) in self._routes:
            return self._routes[(method, path)]
        allowed = sorted(m for m, p in self._routes if p == path)
        if allowed:
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", headers={"Allow": ", ".join(allowed)})
        return Response(HTTPStatus.NOT_FOUND, b"not found\n")

    def _handler_class(self, request_timeout: float) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            timeout = request_timeout  # a stalled client cannot pin a thread forever
            server_version = "ecs-reconciler"
            sys_version = ""

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                found = server._dispatch(self.command, self.path)
                if isinstance(found, Response):
                    self._drain_declared_body(MAX_BODY)
                    return self._send(found)
                handler, max_body = found
                body = self._read_body(max_body)
                if isinstance(body, Response):
                    return self._send(body)
                parts = urllib.parse.urlsplit(self.path)
                request = Request(self.command, parts.path, urllib.parse.parse_qs(parts.query),
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    response = handler(request)
                except Exception:
                    log.exception("handler for %s %s failed", self.command, parts.path)
                    response = Response(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error\n")
                self._send(response)

            def _read_body(self, limit: int) -> bytes | Response:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    self.close_connection = True
                    return Response(HTTPStatus.LENGTH_REQUIRED, b"content-length required\n")
                raw = self.headers.get("Content-Length", "0").strip()
                if not raw.isdigit():
                    self.close_connection = True
                    return Response(HTTPStatus.BAD_REQUEST, b"bad content-length\n")
                length = int(raw)
                if length > limit:
                    self._drain(length, 4 * max(limit, MAX_BODY))
                    return Response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"body too large\n")
                return self.rfile.read(length)

            def _drain_declared_body(self, cap: int) -> None:
                raw = self.headers.get("Content-Length", "0").strip()
                if raw.isdigit():
                    self._drain(int(raw), cap)
                else:
                    self.close_connection = True

            def _drain(self, length: int, cap: int) -> None:
                """Discard a rejected body so the client can read our reply; give up past ``cap``."""
                self.close_connection = True
                if length > cap:
                    return  # not worth reading: reply and hang up
                self.connection.settimeout(2.0)
                remaining = length
                try:
                    while remaining > 0:
                        chunk = self.rfile.read1(min(remaining, 65536))
                        if not chunk:
                            break
                        remaining -= len(chunk)
                except OSError:
                    pass

            def _send(self, response: Response) -> None:
                self.send_response(int(response.status))
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                log.debug("http %s %s", self.address_string(), format % args)

        return _Handler


def health_handler() -> Handler:
    return lambda _req: Response(HTTPStatus.OK, b"ok\n")


def ready_handler(is_ready: Callable[[], bool]) -> Handler:
    """503 until the controller has loaded manifests and observed state at least once."""
    return lambda _req: Response(HTTPStatus.OK, b"ready\n") if is_ready() else Response(
        HTTPStatus.SERVICE_UNAVAILABLE, b"not ready\n")


def metrics_handler(registry: CollectorRegistry) -> Handler:
    return lambda _req: Response(HTTPStatus.OK, generate_latest(registry), CONTENT_TYPE_LATEST)


def status_handler(get_status: Callable[[], object]) -> Handler:
    return lambda _req: json_response(HTTPStatus.OK, get_status())


def git_hook_handler(secret: bytes, trigger: Callable[[str, str], object],
                     guard: ReplayGuard | None = None) -> Handler:
    """Verified push deliveries call ``trigger(ref, sha)``; pings are acknowledged, others ignored.
    A verified delivery seen before, or a push outside the guard's time window, is refused (409)."""
    guard = guard if guard is not None else ReplayGuard()

    def handle(req: Request) -> Response:
        if not verify_signature(secret, req.body, req.headers.get(SIGNATURE_HEADER.lower()), max_body=len(req.body)):
            return json_response(HTTPStatus.UNAUTHORIZED, {"error": "missing or invalid signature"})
        event = req.headers.get("x-github-event", "push")
        refused = guard.admit(req.headers, req.body, push_time(req.body) if event == "push" else None)
        if refused:
            log.warning("webhook delivery refused: %s", refused)
            return json_response(HTTPStatus.CONFLICT, {"error": refused})
        if event == "ping":
            return json_response(HTTPStatus.OK, {"pong": True})
        if event != "push":
            return json_response(HTTPStatus.OK, {"ignored": event})
        push = parse_push(req.body)
        if push is None:
            return json_response(HTTPStatus.BAD_REQUEST, {"error": "not a push payload (ref, after)"})
        trigger(*push)
        return json_response(HTTPStatus.ACCEPTED, {"ref": push[0], "after": push[1]})

    return handle


def loopback_only(host: str) -> bool:
    """True when ``host`` names only loopback addresses: nobody off this machine can connect.
    An empty host or 0.0.0.0 means every interface; a name that does not resolve is not trusted."""
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


class ExposedWithoutToken(ValueError):
    """Control routes on a port others can reach, with no token to guard them."""


def action_handler(action: Callable[[], object], *, token: str | None = None) -> Handler:
    """POST-only control actions; with ``token`` set they need ``Authorization: Bearer <token>``."""

    def handle(req: Request) -> Response:
        if token is not None:
            given = req.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return json_response(HTTPStatus.UNAUTHORIZED, {"error": "bearer token required"})
        result = action()
        return json_response(HTTPStatus.OK, result if result is not None else {"ok": True})

    return handle


def controller_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    registry: CollectorRegistry | None = None,
    status: Callable[[], object] | None = None,
    ready: Callable[[], bool] | None = None,
    webhook_secret: bytes | None = None,
    on_push: Callable[[str, str], object] | None = None,
    on_suspend: Callable[[], object] | None = None,
    on_resume: Callable[[], object] | None = None,
    admin_token: str | None = None,
    max_body: int = MAX_BODY,
    replay_guard: ReplayGuard | None = None,
) -> ControllerHTTPServer:
    """The standard route set; routes whose callable is not given are simply absent.

    /suspend and /resume need ``admin_token`` unless ``host`` is loopback only: the same port takes
    webhooks from the git host, so it is reachable from outside. Without a token on such a host
    the server refuses to start (`ExposedWithoutToken`), before anything is bound."""
    if on_push is not None and not webhook_secret:
        raise ValueError("a git webhook needs a secret; unsigned deliveries are never accepted")
    admin_token = admin_token or None
    if (on_suspend or on_resume) and admin_token is None and not loopback_only(host):
        raise ExposedWithoutToken(
            f"refusing to listen on {host or '0.0.0.0'!r} without an admin token: POST /suspend and /resume "
            "would accept anyone who can reach the port. Set --admin-token (or ECS_RECONCILER_ADMIN_TOKEN), "
            "or listen on 127.0.0.1")
    server = ControllerHTTPServer(host, port)
    server.route("GET", "/healthz", health_handler())
    server.route("GET", "/readyz", ready_handler(ready or (lambda: True)))
    if registry is not None:
        server.route("GET", "/metrics", metrics_handler(registry))
    if status is not None:
        server.route("GET", "/status", status_handler(status))
    if on_push is not None:
        server.route("POST", "/hooks/git", git_hook_handler(webhook_secret, on_push, replay_guard), max_body=max_body)
    if on_suspend is not None:
        server.route("POST", "/suspend", action_handler(on_suspend, token=admin_token), max_body=4096)
    if on_resume is not None:
        server.route("POST", "/resume", action_handler(on_resume, token=admin_token), max_body=4096)
    return server
