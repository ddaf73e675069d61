"""ECS events shaped as EventBridge delivers them, and an emitter that puts them on the local bus.

Real ECS publishes task, deployment and service-action events (and CloudTrail API-call events) to
EventBridge; moto publishes none. The scheduler builds them with the helpers below and the emitter
sends them with PutEvents, so they reach SQS through real rules and targets. Deliveries can be
duplicated and delayed (reordered) on purpose, because EventBridge promises neither exactly-once nor
order.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import boto3

log = logging.getLogger(__name__)
PUT_EVENTS_BATCH = 10


def iso(moment: datetime | None = None, millis: bool = True) -> str:
    moment = moment or datetime.now(timezone.utc)
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond // 1000:03d}Z" if millis else "Z")


def envelope(detail_type: str, detail: dict, resources: list[str], account: str, region: str,
             source: str = "aws.ecs") -> dict:
    """The EventBridge envelope around an ECS (or CloudTrail) event detail."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": iso(millis=False),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def user_identity(account: str, access_key: str) -> dict:
    """CloudTrail's `userIdentity` of an IAM user: the local endpoint has one user per access key id."""
    name = access_key or "local"
    return {"type": "IAMUser", "principalId": f"AIDA{name.upper()[:16]}", "arn": f"arn:aws:iam::{account}:user/{name}",
            "accountId": account, "accessKeyId": name, "userName": name}


def api_call_event(action: str, params: dict, response: Any, account: str, region: str, *,
                   access_key: str = "local", user_agent: str = "", event_source: str = "ecs.amazonaws.com") -> dict:
    """An "AWS API Call via CloudTrail" event for one write call, naming its caller; its source is
    "aws." and the service (aws.ecs, aws.events), as EventBridge delivers CloudTrail events."""
    detail = {
        "eventVersion": "1.08",
        "userIdentity": user_identity(account, access_key),
        "eventTime": iso(millis=False),
        "eventSource": event_source,
        "eventName": action,
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": user_agent or "local-endpoint",
        "requestParameters": params,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    return envelope("AWS API Call via CloudTrail", detail, [], account, region, "aws." + event_source.split(".")[0])


class EventEmitter:
    """Delivers event dicts to the local EventBridge from a worker thread (a scheduler listener)."""

    def __init__(
        self,
        endpoint_url: str,
        duplicate_rate: float = 0.0,
        reorder_seconds: float = 0.0,
        rng: random.Random | None = None,
    ):
        self.endpoint_url = endpoint_url
        self.duplicate_rate = duplicate_rate
        self.reorder_seconds = reorder_seconds
        self.delivered = 0
        self._rng = rng or random.Random()
        self._queue: list[tuple[float, int, dict]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._busy = False
        self._clients: dict[str, Any] = {}
        self._thread: threading.Thread | None = None

    def __call__(self, event: dict) -> None:
        copies = 2 if self._rng.random() < self.duplicate_rate else 1
        with self._cond:
            for _ in range(copies):
                due = time.monotonic() + self._rng.uniform(0, self.reorder_seconds)
                heapq.heappush(self._queue, (due, next(self._seq), event))
            self._cond.notify()

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="local-event-emitter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread:
            self._thread.join(timeout=5)

    def clear(self) -> None:
        """Drop deliveries not yet made (used when the endpoint is reset)."""
        with self._cond:
            self._queue.clear()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was delivered; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._due():
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._stopping:
                    return
                batch = [heapq.heappop(self._queue)[2] for _ in range(min(PUT_EVENTS_BATCH, self._due()))]
                self._busy = True
            try:
                self._put(batch)
            except Exception:  # a lost delivery must not kill the emitter
                log.exception("delivering %d local ECS events failed", len(batch))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _due(self) -> int:
        now = time.monotonic()
        return sum(1 for due, _, _ in self._queue if due <= now)

    def _put(self, batch: list[dict]) -> None:
        by_region: dict[str, list[dict]] = {}
        for event in batch:
            by_region.setdefault(event["region"], []).append(
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"], default=str),
                    "Resources": event["resources"],
                }
            )
        for region, entries in by_region.items():
            self._client(region).put_events(Entries=entries)
            self.delivered += len(entries)

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            self._clients[region] = boto3.client(
                "events",
                region_name=region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return self._clients[region]
