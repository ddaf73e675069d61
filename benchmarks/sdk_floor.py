"""The SDK floor: what the same API calls cost in CPU through a bare boto3 client, with no engine.

On this kind of machine CPU time per operation drifts by a factor of two between minutes, so an
absolute CPU figure alone says little. Replaying the exact requests a scenario made (same
operations, same parameters, same endpoint, one after another on one thread) right after the
scenario gives a figure measured under the same conditions: the engine's CPU divided by it is our
overhead over botocore itself, and stays put when the machine slows down.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import botocore.config
from botocore import xform_name
from botocore.exceptions import ClientError

from reconciler.aws import AwsSettings, Clients

Call = tuple[str, str, dict[str, Any]]


class CallRecorder:
    """Records (service, operation, parameters) of every call made through a `Clients`."""

    def __init__(self, clients: Clients):
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        clients.on("provide-client-params", self._record)

    def _record(self, params: dict[str, Any] | None = None, model: Any = None, **kwargs: Any) -> None:
        with self._lock:
            self.calls.append((model.service_model.service_name, model.name, dict(params or {})))


def replay(calls: list[Call], settings: AwsSettings) -> tuple[float, int]:
    """Make `calls` again through fresh, default boto3 clients; returns (CPU seconds, calls made).
    Client creation is included, as it is in a cold plan."""
    made = 0

    def count(**kwargs: Any) -> None:
        nonlocal made
        made += 1

    start = time.process_time()
    session = boto3.session.Session(region_name=settings.resolved_region(),
                                    aws_access_key_id="local", aws_secret_access_key="local")
    session.events.register("before-call", count)
    clients: dict[str, Any] = {}
    for service, operation, params in calls:
        client = clients.get(service)
        if client is None:
            client = clients[service] = session.client(service, endpoint_url=settings.resolved_endpoint(),
                                                       config=botocore.config.Config(retries={"mode": "standard"}))
        try:
            getattr(client, xform_name(operation))(**params)
        except ClientError:
            pass  # an error answer is a call made all the same, as it was for the engine
    return time.process_time() - start, made
