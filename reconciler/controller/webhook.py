"""Verifying GitHub-style push webhooks before they may trigger a fetch.

A webhook only ever *wakes* the git poller (the commit is still fetched and resolved from the
remote), but unauthenticated wake-ups would let anyone make us hammer the git host, so deliveries
must carry a valid ``X-Hub-Signature-256`` HMAC, and a verified delivery is accepted once: a
captured one replayed later is refused (`ReplayGuard`). Parsing never raises: a malformed delivery
is a client error to report, not a crash in the controller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from datetime import datetime
from typing import Callable

from cachetools import TTLCache

MAX_BODY = 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def sign(secret: bytes, body: bytes) -> str:
    """The header value a sender computes; used by tests and by anyone relaying deliveries."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None, *, max_body: int = MAX_BODY) -> bool:
    """True only for a well-formed ``sha256=<hex>`` matching HMAC-SHA256(secret, body)."""
    if not secret or header is None or len(body) > max_body:
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if not match:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), match.group(1).lower().encode())


def parse_push(body: bytes) -> tuple[str, str] | None:
    """``(ref, after_sha)`` from a push payload, or None for anything else or anything malformed."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    ref, after = payload.get("ref"), payload.get("after")
    if not isinstance(ref, str) or not ref.startswith("refs/") or not isinstance(after, str):
        return None
    if not _SHA.fullmatch(after):
        return None
    return ref, after


# -- replay protection -------------------------------------------------------------------------------

# Each host's own delivery id; Gitea and Forgejo also send X-GitHub-Delivery with the same value.
DELIVERY_HEADERS = ("X-GitHub-Delivery", "X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery")
MAX_DELIVERIES = 10_000  # deliveries remembered; past this the oldest are forgotten first
DELIVERY_MEMORY = 24 * 3600.0  # seconds a delivery is remembered
MAX_SKEW = 300.0  # a signed push time further than this from our clock is refused


def delivery_id(headers: dict[str, str]) -> str | None:
    """The delivery id the host sent (``headers`` lower-cased), or None."""
    for name in DELIVERY_HEADERS:
        value = headers.get(name.lower(), "").strip()
        if value:
            return value
    return None


def push_time(body: bytes) -> float | None:
    """When a push happened, as its signed payload says (GitHub's ``repository.pushed_at``, epoch
    seconds in push events), or None when the payload carries no such time (Gitea, Forgejo). Only
    for push events: in other events ``pushed_at`` is the repository's last push, of any age."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    repository = payload.get("repository") if isinstance(payload, dict) else None
    value = repository.get("pushed_at") if isinstance(repository, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.timestamp() if moment.tzinfo is not None else None
    return None


class ReplayGuard:
    """Refuses a verified delivery seen before, or one whose signed push time is out of the window.

    The delivery id header is not covered by the signature, so a replayer can change it: each
    delivery is remembered by its id *and* by a digest of its signed body, and either refuses a
    repeat. Only deliveries that pass are remembered, so refused ones cannot push real ones out.
    A host that sends no delivery id is still covered by the body digest; one whose payload has no
    push time (Gitea, Forgejo) relies on the memory alone, kept for ``memory`` seconds and at most
    ``max_deliveries`` deliveries.
    """

    def __init__(self, *, max_deliveries: int = MAX_DELIVERIES, memory: float = DELIVERY_MEMORY,
                 max_skew: float = MAX_SKEW, clock: Callable[[], float] = time.time) -> None:
        self.max_skew = max_skew
        self._clock = clock
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=2 * max_deliveries, ttl=memory, timer=clock)
        self._lock = threading.Lock()

    def admit(self, headers: dict[str, str], body: bytes, pushed: float | None = None) -> str | None:
        """None to accept the delivery (now remembered), else why it is refused. ``pushed`` is the
        signed time of a push (`push_time`); only a push event's payload says when it happened."""
        drift = self._clock() - pushed if pushed is not None else 0.0
        if abs(drift) > self.max_skew:
            when = f"{drift:.0f} s ago" if drift > 0 else f"{-drift:.0f} s in the future"
            return f"stale delivery: pushed {when}; a push is accepted within {self.max_skew:.0f} s"
        ident = delivery_id(headers)
        keys = ["body:" + hashlib.sha256(body).hexdigest()] + ([f"id:{ident}"] if ident else [])
        with self._lock:
            if any(key in self._seen for key in keys):
                return f"delivery {ident} already received" if ident else "delivery already received"
            for key in keys:
                self._seen[key] = True
        return None

    @property
    def size(self) -> int:
        """Entries remembered: an id and a body digest per delivery."""
        with self._lock:
            self._seen.expire()
            return len(self._seen)
