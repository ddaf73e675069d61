"""moto's WSGI app served over persistent HTTP/1.1 connections, as AWS endpoints serve the SDKs.

moto's own server (werkzeug's development server) answers every request with `Connection: close`,
so each SDK call opens a new TCP connection: a connect, an accept and a thread per request that a
client of AWS never pays (urllib3 keeps its connections to AWS open). Benchmarks measured against
that would charge the engine for connection set-up, and the test suite would wait on it. cheroot
(CherryPy's server) keeps connections open, parks idle ones without holding a worker thread, and
stops cleanly from another thread.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from cheroot import wsgi

# SQS long polls (ReceiveMessage with WaitTimeSeconds) hold a worker for up to 20 s each, and the
# engine reads with up to 80 connections at once: a pool much larger than the core count.
WORKER_THREADS = 48
LISTEN_BACKLOG = 256  # cheroot's default of 5 drops connections when a reader opens dozens at once


class KeepAliveServer:
    """Serve a WSGI app on `host:port` (0 picks a free port) from a background thread."""

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0,
                 threads: int = WORKER_THREADS):
        self._server = wsgi.Server((host, port), app, numthreads=threads, max=threads,
                                   request_queue_size=LISTEN_BACKLOG)
        self._server.keep_alive_conn_limit = None  # keep every idle client connection, as AWS does
        self._server.shutdown_timeout = 1
        self._thread: threading.Thread | None = None

    def start(self) -> KeepAliveServer:
        self._server.prepare()  # binds the socket, so the port is known before serving starts
        self._thread = threading.Thread(target=self._server.serve, name="local-endpoint-http", daemon=True)
        self._thread.start()
        return self

    def host_and_port(self) -> tuple[str, int]:
        host, port = self._server.bind_addr[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
