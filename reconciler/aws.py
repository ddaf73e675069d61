"""The one place that builds boto3 clients.

Every client gets the endpoint, region, credentials (ambient, or a Target's assumed role) and retry
mode from one `AwsSettings`, and every call is counted in a `CallLog` (by service and operation), so
tests and benchmarks can assert how many calls, and which writes, a flow made.

One mechanism shapes the request rate: our token buckets (reconciler.ratelimit), one set per
`Clients`, so per target (ECS throttles per account and Region). Retries use botocore's `standard`
mode (exponential back-off with jitter on throttling and 5xx, no client-side rate state). botocore's
`adaptive` mode would add a second limiter that, after sustained throttling, slows a client to about
one request per second and recovers only slowly; with our buckets already pacing every attempt at
the documented refill rate, that second limiter only makes a cold plan of a big account take half an
hour. tests/reliability/test_rate_recovery.py shows the rate is back at the bucket's refill as soon
as throttling stops.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.config
import botocore.loaders
import botocore.session

READ_PREFIXES = ("Describe", "List", "Get")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_read_operation(operation: str) -> bool:
    """Reads never change AWS state; everything else counts as a write."""
    return operation.startswith(READ_PREFIXES)


@dataclass
class CallLog:
    """Thread-safe counters of API calls (one per operation call) and HTTP attempts (retries too)."""

    calls: Counter = field(default_factory=Counter)
    attempts: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_call(self, service: str, operation: str) -> None:
        with self._lock:
            self.calls[(service, operation)] += 1

    def record_attempt(self, service: str, operation: str) -> None:
        with self._lock:
            self.attempts[(service, operation)] += 1

    def record_error(self, service: str, operation: str, code: str) -> None:
        with self._lock:
            self.errors[(service, operation, code)] += 1

    def writes(self) -> Counter:
        with self._lock:
            return Counter({k: v for k, v in self.calls.items() if not is_read_operation(k[1])})

    def total(self, service: str | None = None) -> int:
        with self._lock:
            return sum(v for (svc, _), v in self.calls.items() if service in (None, svc))

    def by_operation(self) -> dict[str, int]:
        with self._lock:
            return {f"{svc}:{op}": n for (svc, op), n in sorted(self.calls.items())}

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.attempts.clear()
            self.errors.clear()


# Calls made by every Clients built without a log of its own: what the CLI reports and tests read.
PROCESS_CALL_LOG = CallLog()


@dataclass(frozen=True)
class AwsSettings:
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    max_attempts: int = 10
    # A Target's role (desired/target.py): clients use its assumed, refreshing credentials.
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str = "ecs-reconciler"

    def resolved_region(self) -> str:
        return self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

    def resolved_endpoint(self) -> str | None:
        return self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def is_local(self) -> bool:
        endpoint = self.resolved_endpoint()
        return bool(endpoint) and urlparse(endpoint).hostname in LOCAL_HOSTS


_LOADER_LOCK = threading.Lock()
_LOADER: botocore.loaders.Loader | None = None


def new_session(credential_provider: Any = None, **kwargs: Any) -> boto3.session.Session:
    """A boto3 session sharing one botocore data loader with every other session of the process: the
    service models (ECS's alone is megabytes of JSON) are parsed once, not once per target.
    `credential_provider` (a botocore CredentialResolver) replaces the default chain."""
    global _LOADER
    core = botocore.session.Session()
    if credential_provider is not None:
        core.register_component("credential_provider", credential_provider)
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
        core.register_component("data_loader", _LOADER)
        session = boto3.session.Session(botocore_session=core, **kwargs)
        paths = _LOADER.search_paths  # boto3 appends its own data path for every session: keep one
        paths[:] = list(dict.fromkeys(paths))
    return session


class Clients:
    """Lazily built, shared boto3 clients (boto3 clients are thread-safe once built)."""

    def __init__(self, settings: AwsSettings | None = None, call_log: CallLog | None = None,
                 limiter: Any = None):
        self.settings = settings or AwsSettings()
        self.call_log = call_log if call_log is not None else PROCESS_CALL_LOG
        # Client-side token buckets (reconciler.ratelimit) for AWS; a local endpoint never throttles.
        if limiter is None and not self.settings.is_local():
            from .ratelimit import RateLimiter
            limiter = RateLimiter.from_env()
        self.limiter = limiter
        self._clients: dict[str, Any] = {}
        self._service_names: dict[str, str] = {}  # event-name service id ("eventbridge") -> name ("events")
        self._lock = threading.Lock()
        session_kwargs: dict[str, Any] = {"region_name": self.settings.resolved_region()}
        if self.settings.profile:
            session_kwargs["profile_name"] = self.settings.profile
        if self.settings.is_local() and not os.environ.get("AWS_ACCESS_KEY_ID"):
            # A local endpoint accepts any credentials; real AWS never gets these.
            session_kwargs.update(aws_access_key_id="local", aws_secret_access_key="local")
        self._session = new_session(**session_kwargs)
        if self.settings.role_arn:
            from .assume_role import assumed_role_session

            self._register_hooks(self._session)  # the AssumeRole calls are counted and paced too
            self._session = assumed_role_session(
                self._session, self.settings.role_arn, self.settings.resolved_region(),
                external_id=self.settings.external_id, session_name=self.settings.session_name,
                endpoint_url=self.settings.resolved_endpoint())
        self._register_hooks(self._session)

    def _register_hooks(self, session: boto3.session.Session) -> None:
        events = session.events
        events.register("before-call", self._on_before_call)
        events.register("before-send", self._on_before_send)
        events.register("after-call-error", self._on_after_call_error)

    @property
    def session(self) -> boto3.session.Session:
        """The session every client is built from (a Target's: with its assumed-role credentials)."""
        return self._session

    @property
    def region(self) -> str:
        return self._session.region_name

    def on(self, event_name: str, handler: Any) -> None:
        """Register a botocore event handler on every client these Clients build (benchmarks record
        the calls a flow makes this way)."""
        self._session.events.register(event_name, handler)

    def _on_before_call(self, model: Any = None, **kwargs: Any) -> None:
        self.call_log.record_call(model.service_model.service_name, model.name)

    def _on_before_send(self, request: Any = None, event_name: str = "", **kwargs: Any) -> None:
        parts = event_name.split(".")
        if len(parts) >= 3:
            self.call_log.record_attempt(self._service_names.get(parts[1], parts[1]), parts[2])
            if self.limiter is not None:
                self.limiter.acquire(parts[1], parts[2])  # every attempt waits for a token

    def _on_after_call_error(self, exception: Exception | None = None, event_name: str = "", **kwargs: Any) -> None:
        parts = event_name.split(".")
        if len(parts) >= 3:
            self.call_log.record_error(self._service_names.get(parts[1], parts[1]), parts[2], type(exception).__name__)

    def client(self, service: str, *, retries: bool = True) -> Any:
        """A shared client. `retries=False` gives one that never re-sends a request by itself, for
        writes that are not idempotent (RegisterTaskDefinition): the caller compares before retrying."""
        key = f"{service}{'' if retries else ':once'}"
        with self._lock:
            if key not in self._clients:
                # total_max_attempts counts the first attempt too (botocore's max_attempts counts retries).
                config = botocore.config.Config(
                    retries={"mode": "standard", "total_max_attempts": self.settings.max_attempts if retries else 1},
                    max_pool_connections=32,
                    user_agent_extra="ecs-reconciler",
                )
                client = self._session.client(service, endpoint_url=self.settings.resolved_endpoint(), config=config)
                self._service_names[client.meta.service_model.service_id.hyphenize()] = service
                self._clients[key] = client
            return self._clients[key]

    @property
    def ecs(self) -> Any:
        return self.client("ecs")

    @property
    def events(self) -> Any:
        return self.client("events")
