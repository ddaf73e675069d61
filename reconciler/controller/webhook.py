"""Verifying GitHub-style push webhooks before they may trigger a fetch.

A webhook only ever *wakes* the git poller (the commit is still fetched and resolved from the
remote), but unauthenticated wake-ups would let anyone make us hammer the git host, so deliveries
must carry a valid ``X-Hub-Signature-256`` HMAC. Parsing never raises: a malformed delivery is a
client error to report, not a crash in the controller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

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
