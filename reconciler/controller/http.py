"""The controller's HTTP surface: probes, metrics, status, dashboard, git webhook, suspend/resume.

Built on aiohttp (already a dependency through kopf), run on its own event loop in a background
thread so the rest of the controller stays synchronous. The server knows nothing about
reconciling: callers register routes, and the builders below turn plain callables into handlers
(run on a thread pool, so a slow one never blocks the others). Request bodies are size-checked
from Content-Length *before* reading, so a large upload costs no memory; a streamed (chunked) body
is refused. Long-lived responses (server-sent events) register an async handler with `stream`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import ipaddress
import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Awaitable, Callable

from aiohttp import web
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
StreamHandler = Callable[[web.Request, asyncio.Event], Awaitable[web.StreamResponse]]


def json_response(status: int, payload: object) -> Response:
    return Response(status, json.dumps(payload, default=str).encode() + b"\n", "application/json")


class ControllerHTTPServer:
    """Routes (method, path) to handlers on a background event loop; ``stop`` shuts it down.

    The socket is bound when the server is made (a port in use fails here, not later), and served
    once ``start`` is called."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, request_timeout: float = 30.0,
                 workers: int = 16) -> None:
        self._routes: list[tuple[str, str, Handler, int]] = []
        self._streams: list[tuple[str, StreamHandler]] = []
        self._request_timeout = request_timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, port), family=family, backlog=128)
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="controller-http")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, path: str, handler: Handler, *, max_body: int = 0) -> None:
        """Register ``handler``; requests with a body over ``max_body`` bytes get 413 unread."""
        self._routes.append((method.upper(), path, handler, max_body))

    def stream(self, path: str, handler: StreamHandler) -> None:
        """Register an async GET handler for a long-lived response; it gets the request and an event
        set when the server is stopping (it must then return)."""
        self._streams.append((path, handler))

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        host = self._sock.getsockname()[0]
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> "ControllerHTTPServer":
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), name="controller-http", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None:
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                future.result(timeout=10)
            except Exception:  # noqa: BLE001 - stopping must not fail the caller
                log.exception("HTTP server shutdown failed")
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._sock.close()

    def __enter__(self) -> "ControllerHTTPServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the event loop thread -------------------------------------------------------------------------

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._begin())
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _begin(self) -> None:
        self._closing = asyncio.Event()
        limit = max([m for *_, m in self._routes] + [MAX_BODY])
        app = web.Application(client_max_size=limit, handler_args={"max_field_size": 16384})
        for method, path, handler, max_body in self._routes:
            app.router.add_route(method, path, self._wrap(handler, max_body))
        for path, handler in self._streams:
            app.router.add_route("GET", path, self._wrap_stream(handler))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0,
                                     keepalive_timeout=self._request_timeout)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def _shutdown(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _wrap(self, handler: Handler, max_body: int):
        async def handle(request: web.Request) -> web.StreamResponse:
            if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
                return _send(Response(HTTPStatus.LENGTH_REQUIRED, b"content-length required\n"), close=True)
            length = request.content_length or 0
            if length > max_body:
                return _send(Response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"body too large\n"), close=True)
            body = await request.read() if length else b""
            req = Request(request.method, request.path, {k: request.query.getall(k) for k in request.query.keys()},
                          {k.lower(): v for k, v in request.headers.items()}, body)
            try:
                response = await asyncio.get_running_loop().run_in_executor(self._pool, handler, req)
            except Exception:
                log.exception("handler for %s %s failed", request.method, request.path)
                response = Response(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error\n")
            return _send(response)

        return handle

    def _wrap_stream(self, handler: StreamHandler):
        async def handle(request: web.Request) -> web.StreamResponse:
            return await handler(request, self._closing)

        return handle


def _send(response: Response, *, close: bool = False) -> web.Response:
    headers = {"Content-Type": response.content_type, "Server": "ecs-reconciler", **response.headers}
    if close:
        headers["Connection"] = "close"
    return web.Response(status=int(response.status), body=response.body, headers=headers)





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
