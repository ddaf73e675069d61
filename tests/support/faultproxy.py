"""An HTTP fault-injection proxy that sits between boto3 and a local AWS endpoint (the moto server).

Every request is forwarded to the upstream endpoint unchanged (method, path, query, headers, body)
and the upstream response is returned unchanged, except that, with the configured probabilities,
the proxy instead:

- ``throttle``: answers 400 with the service's throttling error, without forwarding;
- ``error_5xx``: answers 500 ``InternalFailure`` or 503 ``ServiceUnavailable``, without forwarding;
- ``ambiguous``: forwards (so the upstream applies a write), then answers 500/503 anyway -- the
  client cannot tell whether its write happened, which is what makes blind retries dangerous;
- ``drop``: closes the connection without any response, without forwarding;
- ``drop_after``: forwards, then closes the connection without a response (ambiguous as well);
- ``slow``: waits ``slow_seconds`` before forwarding (independent of the kinds above).

``denied_regions`` (a set, changeable while running) answers every request signed for one of those
Regions (the SigV4 credential scope) with 403 AccessDenied, without forwarding: one target of a
multi-target run losing its access, or its Region, while the others carry on.

Error bodies follow the protocol of the request: ``X-Amz-Target`` means the AWS JSON protocol
(ECS, EventBridge, Application Auto Scaling, SQS on current botocore): ``x-amzn-ErrorType`` header
plus ``{"__type": ..., "message": ...}``. An ``Action=`` parameter means the query protocol
(SQS on older botocore, SNS, STS, ...): an XML ``<ErrorResponse>``.

Decisions are deterministic for a given ``seed``. With ``stream_key="operation"`` (the default)
each operation has its own random stream, so the n-th request of an operation gets the same
decision whatever other operations do in between -- reproducible for sequential callers. With
``stream_key="request"`` the stream is per operation *and request body*, so a call and its retries
(same body) get the same decisions even when many threads interleave -- reproducible for
concurrent callers, provided bodies carry no generated values (botocore's automatic client tokens).

    with FaultProxy(endpoint_url, throttle_rate=0.3, seed=7) as proxy:
        clients = Clients(AwsSettings(region="us-east-1", endpoint_url=proxy.url), CallLog())
        clients.ecs.create_cluster(clusterName="web")
        proxy.count("throttle", "CreateCluster"), proxy.count("forwarded", "CreateCluster")

``inject(operation, kind, times)`` scripts faults for the next requests of one operation, on top
of (and before) the random ones, for tests that need one exact failure at one exact point.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import re
import socket
import threading
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Iterable
from urllib.parse import parse_qs, urlsplit

THROTTLE = "throttle"
ERROR_5XX = "error_5xx"
AMBIGUOUS = "ambiguous"
DROP = "drop"
DROP_AFTER = "drop_after"
SLOW = "slow"
FAULT_KINDS = (THROTTLE, ERROR_5XX, AMBIGUOUS, DROP, DROP_AFTER, SLOW)

# Outcome counters besides the fault kinds.
REQUESTS = "requests"  # every request the proxy read, faulted or not
FORWARDED = "forwarded"  # the upstream received the request (includes ambiguous and drop_after)
UPSTREAM_ERROR = "upstream_error"  # the upstream could not be reached; the client got a 502

# Kinds that exclude each other, in the order their probability intervals are laid out.
_EXCLUSIVE = (THROTTLE, ERROR_5XX, AMBIGUOUS, DROP, DROP_AFTER)

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "expect",  # the proxy already holds the whole body; 100-continue was answered to the client
        "content-length",  # recomputed from the body actually sent
    }
)

_SERVICE_OPERATION_PATH = re.compile(r"^/service/[^/]+/operation/([^/?]+)")
_MAX_LINE = 65536
_MAX_REQUESTS_PER_CONNECTION = 100_000


@dataclass(frozen=True)
class Decision:
    """What the proxy did with one request."""

    operation: str
    fault: str | None  # one of _EXCLUSIVE, or None when the request passes through
    slow: bool
    status: int  # status used for error_5xx / ambiguous (500 or 503); 0 otherwise


def classify(method: str, path: str, headers, body: bytes) -> tuple[str, str]:
    """Return ``(operation, protocol)`` of a request; protocol is ``json``, ``query`` or ``rest``."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1], "json"
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    if "Action" in query:
        return query["Action"][0], "query"
    content_type = (headers.get("Content-Type") or "").lower()
    if body and "x-www-form-urlencoded" in content_type:
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0], "query"
    match = _SERVICE_OPERATION_PATH.match(parts.path)
    if match:
        return match.group(1), "rest"
    return f"{method} {parts.path}", "rest"


def _json_error(status: int, code: str, message: str, request_id: str) -> tuple[int, list, bytes]:
    body = json.dumps({"__type": code, "message": message}, separators=(",", ":")).encode()
    headers = [
        ("x-amzn-ErrorType", code),
        ("x-amzn-RequestId", request_id),
        ("Content-Type", "application/x-amz-json-1.1"),
    ]
    return status, headers, body


def _xml_error(status: int, error_type: str, code: str, message: str, request_id: str) -> tuple[int, list, bytes]:
    body = (
        f"<ErrorResponse><Error><Type>{error_type}</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status, [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")], body


def throttle_response(protocol: str, request_id: str = "x") -> tuple[int, list, bytes]:
    if protocol == "query":
        return _xml_error(400, "Sender", "Throttling", "Rate exceeded", request_id)
    return _json_error(400, "ThrottlingException", "Rate exceeded", request_id)


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
DENIED = "denied"


def denied_response(protocol: str, request_id: str = "x") -> tuple[int, list, bytes]:
    message = "User is not authorized to perform this action (denied by the fault proxy)"
    if protocol == "query":
        return _xml_error(403, "Sender", "AccessDenied", message, request_id)
    return _json_error(403, "AccessDeniedException", message, request_id)


def server_error_response(protocol: str, status: int, request_id: str = "x") -> tuple[int, list, bytes]:
    if status == 503:
        code, message = "ServiceUnavailable", "Service is unavailable"
    else:
        code, message = "InternalFailure", "An internal error occurred"
    if protocol == "query":
        return _xml_error(status, "Receiver", code, message, request_id)
    return _json_error(status, code, message, request_id)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    proxy: "FaultProxy"

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (a DNS lookup); a loopback proxy has no need.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        # A client that went away mid-request is normal here (timeouts, dropped connections).
        self.proxy._record("-", "handler_error")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's urllib3 pool expects
    server_version = "FaultProxy"
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.proxy.idle_timeout  # bounds an idle keep-alive connection
        super().setup()
        try:  # small request/response pairs: do not let Nagle wait for delayed ACKs
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self._served = 0
        self.server.proxy._register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.proxy._unregister(self.connection)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature from the base class
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    # -- request handling ------------------------------------------------------------------------

    def _handle(self) -> None:
        proxy = self.server.proxy
        self._served += 1
        if self._served >= _MAX_REQUESTS_PER_CONNECTION or proxy._stopping.is_set():
            self.close_connection = True
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        operation, protocol = classify(self.command, self.path, self.headers, body)
        eligible = not urlsplit(self.path).path.startswith("/moto-api")
        decision = proxy._decide(operation, eligible, body)
        request_id = f"faultproxy-{proxy._next_request_id()}"
        scope = _CREDENTIAL_SCOPE.search(self.headers.get("Authorization") or "")
        if eligible and scope and scope.group(1) in proxy.denied_regions:
            proxy._record(operation, DENIED)
            self._reply(*denied_response(protocol, request_id))
            return
        try:
            if decision.fault == THROTTLE:
                self._reply(*throttle_response(protocol, request_id))
                return
            if decision.fault == ERROR_5XX:
                self._reply(*server_error_response(protocol, decision.status, request_id))
                return
            if decision.fault == DROP:
                self._drop()
                return
            if decision.slow:
                proxy._stopping.wait(proxy.slow_seconds)
            try:
                status, reason, headers, data = self._forward(body)
            except (OSError, http.client.HTTPException) as exc:
                proxy._record(operation, UPSTREAM_ERROR)
                self._reply(*_json_error(502, "BadGateway", f"upstream unreachable: {exc}", request_id))
                return
            proxy._record(operation, FORWARDED)
            if decision.fault == AMBIGUOUS:
                self._reply(*server_error_response(protocol, decision.status, request_id))
                return
            if decision.fault == DROP_AFTER:
                self._drop()
                return
            self._reply(status, headers, data, reason=reason, head_length=self.command == "HEAD")
        except OSError:
            # The client went away (for example its read timeout fired while we were slow).
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(_MAX_LINE + 1)
                if not line:
                    raise ValueError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE + 1)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _forward(self, body: bytes) -> tuple[int, str, list, bytes]:
        proxy = self.server.proxy
        connection_class = http.client.HTTPSConnection if proxy._scheme == "https" else http.client.HTTPConnection
        upstream = connection_class(proxy._host, proxy._port, timeout=proxy.upstream_timeout)
        try:
            upstream.putrequest(
                self.command, proxy._base_path + self.path, skip_host=True, skip_accept_encoding=True
            )
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    upstream.putheader(name, value)
            if body or "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body if body else None)
            response = upstream.getresponse()
            data = response.read()
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            if self.command == "HEAD" and response.getheader("Content-Length") is not None:
                headers.append(("Content-Length", response.getheader("Content-Length")))
            return response.status, response.reason, headers, data
        finally:
            upstream.close()

    def _reply(self, status: int, headers: list, body: bytes, reason: str | None = None, head_length: bool = False) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        if not head_length:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Status line, headers and body leave in one write.
        self._headers_buffer.append(b"\r\n")
        if body and self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _drop(self) -> None:
        """Close the connection without writing a byte: the client sees it closed mid-exchange."""
        self.close_connection = True


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 that injects AWS-style faults; use as a context manager."""

    def __init__(
        self,
        upstream_url: str,
        throttle_rate: float = 0.0,
        error_5xx_rate: float = 0.0,
        slow_rate: float = 0.0,
        slow_seconds: float = 0.5,
        drop_rate: float = 0.0,
        seed: int = 0,
        only_operations: Iterable[str] | None = None,
        ambiguous_rate: float = 0.0,
        drop_after_rate: float = 0.0,
        upstream_timeout: float = 30.0,
        idle_timeout: float = 30.0,
        stream_key: str = "operation",
    ):
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream_url must be an http(s) URL, got {upstream_url!r}")
        self.upstream_url = upstream_url
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._base_path = parts.path.rstrip("/")
        if stream_key not in ("operation", "request"):
            raise ValueError(f"stream_key must be 'operation' or 'request', got {stream_key!r}")
        self.seed = seed
        self.stream_key = stream_key
        self.slow_seconds = slow_seconds
        self.upstream_timeout = upstream_timeout
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._rates: dict[str, float] = {}
        self.only_operations: frozenset[str] | None = None
        self.denied_regions: set[str] = set()
        self.configure(
            throttle_rate=throttle_rate,
            error_5xx_rate=error_5xx_rate,
            ambiguous_rate=ambiguous_rate,
            drop_rate=drop_rate,
            drop_after_rate=drop_after_rate,
            slow_rate=slow_rate,
            only_operations=only_operations,
        )
        self._streams: dict[str, random.Random] = {}
        self._script: dict[str, deque] = defaultdict(deque)
        self._counts: dict[str, Counter] = defaultdict(Counter)
        self.history: list[Decision] = []
        self.connections = 0
        self._request_ids = 0
        self._open: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- configuration ---------------------------------------------------------------------------

    _UNSET = object()

    def configure(self, only_operations=_UNSET, **rates: float) -> None:
        """Change fault rates (``throttle_rate=...``, ...) or ``only_operations`` while running."""
        names = {f"{kind}_rate": kind for kind in FAULT_KINDS}
        with self._lock:
            new = dict(self._rates)
            for name, value in rates.items():
                if name not in names:
                    raise TypeError(f"unknown rate {name!r}; expected one of {sorted(names)}")
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f"{name} must be within [0, 1], got {value}")
                new[names[name]] = float(value)
            if sum(new.get(kind, 0.0) for kind in _EXCLUSIVE) > 1.0 + 1e-9:
                raise ValueError("throttle, error_5xx, ambiguous, drop and drop_after rates must sum to <= 1")
            self._rates = new
            if only_operations is not self._UNSET:
                self.only_operations = None if only_operations is None else frozenset(only_operations)

    def inject(self, operation: str, kind: str, times: int = 1, status: int = 500) -> None:
        """Apply ``kind`` to the next ``times`` requests of ``operation``, before any random fault.

        Scripted faults ignore ``only_operations`` and draw nothing from the random streams;
        ``status`` (500 or 503) is used by ``error_5xx`` and ``ambiguous``.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if status not in (500, 503):
            raise ValueError(f"status must be 500 or 503, got {status}")
        with self._lock:
            self._script[operation].extend([(kind, status)] * times)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FaultProxy is not running; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FaultProxy":
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="faultproxy", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            open_sockets = list(self._open)
        for sock in open_sockets:  # wake handler threads parked on idle keep-alive connections
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- statistics ------------------------------------------------------------------------------

    def count(self, kind: str, operation: str | None = None) -> int:
        """How many requests had outcome ``kind`` (a fault kind, ``requests`` or ``forwarded``)."""
        with self._lock:
            if operation is not None:
                return self._counts[operation][kind] if operation in self._counts else 0
            return sum(counter[kind] for counter in self._counts.values())

    def forwarded(self, operation: str | None = None) -> int:
        return self.count(FORWARDED, operation)

    def injected(self, operation: str | None = None, kinds: Iterable[str] = _EXCLUSIVE) -> int:
        """Faults injected (by default those that fail the attempt; ``slow`` does not)."""
        return sum(self.count(kind, operation) for kind in kinds)

    def stats(self) -> dict[str, dict[str, int]]:
        """A snapshot ``{operation: {outcome: count}}``."""
        with self._lock:
            return {op: dict(counter) for op, counter in sorted(self._counts.items())}

    @property
    def open_connections(self) -> int:
        """Client connections currently held open (keep-alive included)."""
        with self._lock:
            return len(self._open)

    def reset_stats(self) -> None:
        with self._lock:
            self._counts.clear()
            self.history.clear()

    # -- internals used by the handler -----------------------------------------------------------

    def _record(self, operation: str, kind: str) -> None:
        with self._lock:
            self._counts[operation][kind] += 1

    def _register(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)
            self.connections += 1

    def _unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _next_request_id(self) -> int:
        with self._lock:
            self._request_ids += 1
            return self._request_ids

    def _decide(self, operation: str, eligible: bool, body: bytes = b"") -> Decision:
        with self._lock:
            counter = self._counts[operation]
            counter[REQUESTS] += 1
            fault, slow, status = None, False, 0
            script = self._script.get(operation)
            if script:
                kind, status = script.popleft()
                if kind == SLOW:
                    slow = True
                else:
                    fault = kind
            elif eligible and (self.only_operations is None or operation in self.only_operations):
                stream = self._stream(operation, body)
                draw, slow_draw, status_draw = stream.random(), stream.random(), stream.random()
                upper = 0.0
                for kind in _EXCLUSIVE:
                    upper += self._rates.get(kind, 0.0)
                    if draw < upper:
                        fault = kind
                        break
                slow = slow_draw < self._rates.get(SLOW, 0.0) and fault not in (THROTTLE, ERROR_5XX, DROP)
                status = 503 if status_draw < 0.5 else 500
            if fault is not None:
                counter[fault] += 1
            if slow:
                counter[SLOW] += 1
            decision = Decision(operation, fault, slow, status if fault in (ERROR_5XX, AMBIGUOUS) else 0)
            self.history.append(decision)
            return decision

    def _stream(self, operation: str, body: bytes) -> random.Random:
        key = f"{self.seed}:{operation}"
        if self.stream_key == "request":
            key += ":" + hashlib.sha256(body).hexdigest()
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = random.Random(key)
        return stream
