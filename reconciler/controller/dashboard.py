"""The read-only web dashboard: the /status document rendered as HTML, updated live.

Server-rendered with Jinja2 (autoescaped: every name and value shown came from manifests or AWS)
and a little inline JavaScript: no build step and nothing fetched from elsewhere, so it works in an
air-gapped cluster. The page listens to `/events` (server-sent events); on each change it fetches
the rendered body again (`/dashboard/body`). Suspend and resume post to the admin API with the
token typed into the page; the page never carries the token itself.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any, Callable

import jinja2
from aiohttp import web

from .http import ControllerHTTPServer, Response

STATES = ("in-sync", "drifted", "pending", "rolling-out", "failed", "perpetual-diff", "needs-replace", "suspended")
HEARTBEAT = 15.0  # seconds between comments on an idle event stream (keeps proxies from closing it)
POLL = 0.2  # seconds between looks at the status version
MAX_STREAMS = 64  # live-update connections at once; more get 503 (each holds a connection open)

_env = jinja2.Environment(loader=jinja2.PackageLoader("reconciler.controller", "templates"),
                          autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_env.filters["value"] = lambda v: "(absent)" if v is None else (v if isinstance(v, str) else json.dumps(v, default=str))


def grouped(resources: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """target -> kind -> rows, each sorted by name; rows without a target go under "default"."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in sorted(resources, key=lambda r: (r.get("target") or "", r["kind"], r["name"])):
        out.setdefault(row.get("target") or "default", {}).setdefault(row["kind"], []).append(row)
    return out


def render(document: dict[str, Any], *, body_only: bool = False, control: bool = True) -> str:
    counts = {state: 0 for state in STATES}
    for row in document.get("resources", []):
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    template = _env.get_template("dashboard_body.html" if body_only else "dashboard.html")
    return template.render(doc=document, groups=grouped(document.get("resources", [])), counts=counts,
                           control=control)


def add_dashboard(server: ControllerHTTPServer, status: Callable[[], dict[str, Any]],
                  version: Callable[[], int], *, control: bool = True) -> None:
    """Serve the dashboard at `/`, its body at `/dashboard/body` and live updates at `/events`.
    `control` shows the suspend/resume form (the routes themselves are the admin API's)."""

    def page(_req) -> Response:
        return Response(HTTPStatus.OK, render(status(), control=control).encode(), "text/html; charset=utf-8",
                        {"Cache-Control": "no-store"})

    def body(_req) -> Response:
        return Response(HTTPStatus.OK, render(status(), body_only=True, control=control).encode(),
                        "text/html; charset=utf-8", {"Cache-Control": "no-store"})

    streams = [0]

    async def events(request: web.Request, closing: asyncio.Event) -> web.StreamResponse:
        if streams[0] >= MAX_STREAMS:
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE, text="too many live connections\n",
                                headers={"Retry-After": "10"})
        streams[0] += 1  # the event loop is one thread: no lock needed
        try:
            return await _stream(request, closing)
        finally:
            streams[0] -= 1

    async def _stream(request: web.Request, closing: asyncio.Event) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        seen, idle = version(), 0.0
        await response.write(f"event: hello\ndata: {seen}\n\n".encode())
        try:
            while not closing.is_set():
                try:
                    await asyncio.wait_for(closing.wait(), POLL)
                except asyncio.TimeoutError:
                    pass
                now = version()
                if now != seen:
                    seen, idle = now, 0.0
                    await response.write(f"event: changed\ndata: {now}\n\n".encode())
                else:
                    idle += POLL
                    if idle >= HEARTBEAT:
                        idle = 0.0
                        await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    server.route("GET", "/", page)
    server.route("GET", "/dashboard/body", body)
    server.stream("/events", events)
