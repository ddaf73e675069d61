"""Who changed a resource: the last write call CloudTrail reported on it, kept per managed resource.

The event rule also carries "AWS API Call via CloudTrail" events for the ECS, EventBridge and
Application Auto Scaling write calls (observed/event_plumbing.py). Each one names its caller in
`userIdentity`. When a drift is found, the newest write on that resource that was not our own
(our SDK calls carry the `ecs-reconciler` user agent) is who made it. Without such an event
(CloudTrail off, the event missed or not yet delivered) the answer is "unknown", never a guess.
Application Auto Scaling writes through its service-linked role: it is labelled as the scaler, so
nobody mistakes it for a person.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .events import ParsedEvent

OUR_USER_AGENT = "ecs-reconciler"
SCALER = "application-autoscaling.amazonaws.com"
MAX_RESOURCES = 10_000  # resources remembered; the least recently changed are forgotten first
UNKNOWN = {"principal": "unknown", "call": None, "time": None, "label": "unknown"}


@dataclass(frozen=True)
class Change:
    """One write call on a managed resource, as CloudTrail reported it."""

    principal: str  # the caller's ARN (or what identifies it best)
    call: str  # e.g. "UpdateService"
    time: datetime
    label: str  # how to show the caller: the ARN, or "Application Auto Scaling (scaler)"
    ours: bool = False  # made by a reconciler (our user agent)

    def document(self) -> dict[str, Any]:
        return {"principal": self.principal, "call": self.call,
                "time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"), "label": self.label}


def principal_of(identity: Any) -> tuple[str, str]:
    """(principal ARN, label) from a CloudTrail `userIdentity`."""
    if not isinstance(identity, dict):
        return "unknown", "unknown"
    arn = identity.get("arn") if isinstance(identity.get("arn"), str) else None
    invoked_by = identity.get("invokedBy") if isinstance(identity.get("invokedBy"), str) else ""
    principal = arn or identity.get("principalId") or invoked_by or identity.get("type") or "unknown"
    principal = principal if isinstance(principal, str) else "unknown"
    if invoked_by == SCALER or "AWSServiceRoleForApplicationAutoScaling" in (arn or ""):
        return principal, "Application Auto Scaling (scaler)"
    if identity.get("type") == "AWSService":
        return principal, f"AWS service {invoked_by or principal}"
    return principal, principal


def change_of(event: ParsedEvent) -> Change | None:
    """The `Change` an API-call event records, or None for other events and failed calls."""
    detail = event.detail
    if event.kind != "api-call" or not event.affects or detail.get("errorCode") or detail.get("readOnly") is True:
        return None
    principal, label = principal_of(detail.get("userIdentity"))
    agent = detail.get("userAgent") if isinstance(detail.get("userAgent"), str) else ""
    call = detail.get("eventName") if isinstance(detail.get("eventName"), str) else event.name
    return Change(principal, call, event.time, label, ours=OUR_USER_AGENT in agent)


def _short(key: tuple) -> tuple[str, str]:
    """Event-stream keys carry the cluster of a service; status rows are (kind, name)."""
    return (key[0], key[-1])


class ChangeLog:
    """The newest outside write (and the newest of ours) per resource, fed by the event consumer."""

    def __init__(self, max_resources: int = MAX_RESOURCES) -> None:
        self._outside: OrderedDict[tuple[str, str], Change] = OrderedDict()
        self._max = max_resources
        self._lock = threading.Lock()

    def record(self, event: ParsedEvent) -> Change | None:
        change = change_of(event)
        if change is None or change.ours:
            return change
        with self._lock:
            for key in map(_short, event.affects):
                known = self._outside.get(key)
                if known is None or known.time <= change.time:
                    self._outside[key] = change
                    self._outside.move_to_end(key)
            while len(self._outside) > self._max:
                self._outside.popitem(last=False)
        return change

    def who(self, kind: str, name: str) -> Change | None:
        """The newest outside write on (kind, name), or None when no event was seen."""
        with self._lock:
            return self._outside.get((kind, name))

    def document(self, kind: str, name: str) -> dict[str, Any]:
        change = self.who(kind, name)
        return change.document() if change is not None else dict(UNKNOWN)
