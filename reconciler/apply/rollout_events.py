"""Follow rollouts through the ECS event stream, so `apply --wait` describes services only when an
event says something happened to them (polling stays as a slow fallback).

The queue may be shared with the controller, so messages are peeked, never deleted. A peeked
message stays hidden for PEEK_VISIBILITY seconds (so the next receive pages on to newer messages
instead of returning the oldest ten again), then is visible to every reader again; ids are
remembered so a message is interpreted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..aws import Clients
from ..observed.events import ParsedEvent, parse_message

PLACEMENT_FAILURE = "SERVICE_TASK_PLACEMENT_FAILURE"
PEEK_VISIBILITY = 30


@dataclass
class RolloutSignals:
    """What one peek of the queue says about the services being waited for."""

    touched: set[tuple[str, str]] = field(default_factory=set)  # (cluster, service) to describe now
    failed: dict[tuple[str, str], str] = field(default_factory=dict)  # deployment failed, with the reason
    problems: list[str] = field(default_factory=list)  # stopped tasks, placement failures


class RolloutEvents:
    def __init__(self, clients: Clients, queue_url: str):
        self.sqs = clients.client("sqs")
        self.queue_url = queue_url
        self._seen: set[str] = set()

    def poll(self, services: set[tuple[str, str]], wait_seconds: int = 1) -> RolloutSignals:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=wait_seconds, VisibilityTimeout=PEEK_VISIBILITY)
        signals = RolloutSignals()
        for message in response.get("Messages", []):
            if message["MessageId"] in self._seen:
                continue
            self._seen.add(message["MessageId"])
            event = parse_message(message.get("Body", ""))
            if isinstance(event, ParsedEvent):
                _interpret(event, services, signals)
        return signals


def _service_of(event: ParsedEvent, services: set[tuple[str, str]]) -> tuple[str, str] | None:
    for key in event.affects:
        if key and key[0] == "Service" and len(key) == 3 and (key[1], key[2]) in services:
            return (key[1], key[2])
    return None


def _interpret(event: ParsedEvent, services: set[tuple[str, str]], signals: RolloutSignals) -> None:
    service = _service_of(event, services)
    if service is None:
        return
    detail: dict[str, Any] = event.detail
    label = f"{service[0]}/{service[1]}"
    if event.kind == "deployment":
        signals.touched.add(service)
        if detail.get("eventName") == "SERVICE_DEPLOYMENT_FAILED":
            signals.failed[service] = detail.get("reason") or "deployment failed"
    elif event.kind == "service-action":
        signals.touched.add(service)
        if detail.get("eventName") == PLACEMENT_FAILURE:
            signals.problems.append(f"{label}: unable to place tasks: {detail.get('reason', 'no reason given')}")
    elif event.kind == "task" and detail.get("lastStatus") == "STOPPED":
        if detail.get("stopCode") == "EssentialContainerExited" or "Essential container" in str(detail.get("stoppedReason")):
            exits = ", ".join(f"{c.get('name')} exit code {c.get('exitCode')}" for c in detail.get("containers", [])
                              if c.get("exitCode") is not None)
            task = str(detail.get("taskArn", "")).rsplit("/", 1)[-1]
            signals.problems.append(f"{label}: task {task} stopped: {detail.get('stoppedReason')}"
                                    + (f" ({exits})" if exits else ""))
