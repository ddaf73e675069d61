"""Client-side token buckets, one per API action class, so a big fleet never trips AWS throttling.

ECS throttles per account and Region with a token bucket per action class (bucket size = burst,
refill = sustained rate; see "Request throttling for the Amazon ECS API"). Waiting for a token
before sending is cheaper than a ThrottlingException and a retry with back-off, and it keeps
headroom for the other tools sharing the account. `Clients` calls `acquire` from botocore's
`before-send` event, so every HTTP attempt (retries too) takes a token, as it does on AWS.

The ECS classes and figures are the "Request throttling for the Amazon ECS API" table (bucket maximum
capacity / refill rate per second; every action of a class shares one bucket). EventBridge documents
one quota for its control plane, 50 transactions per second across all its APIs, so they share one
bucket. All are overridable: `ECS_RECONCILER_RATE_LIMITS="ecs:service-read=100/40,..."`, for accounts
whose quotas were raised.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Mapping


@dataclass(frozen=True)
class Bucket:
    capacity: float  # burst: tokens available at once
    refill: float  # sustained: tokens added per second


# class: (burst, refill per second, the actions that draw on it)
_ECS_TABLE: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "cluster-modify": (20, 1, ("CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster",
                               "UpdateClusterSettings")),
    "cluster-read": (50, 20, ("DescribeClusters", "ListClusters")),
    "task-definition-modify": (20, 1, ("DeregisterTaskDefinition", "RegisterTaskDefinition")),
    "task-definition-read": (50, 20, ("DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies")),
    "task-definition-delete": (5, 1, ("DeleteTaskDefinitions",)),
    "capacity-provider-modify": (10, 1, ("CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider")),
    "capacity-provider-read": (50, 20, ("DescribeCapacityProviders",)),
    "tag-modify": (20, 10, ("TagResource", "UntagResource")),
    "tag-read": (50, 20, ("ListTagsForResource",)),
    "setting-modify": (10, 1, ("DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault")),
    "setting-read": (50, 20, ("ListAccountSettings",)),
    "cluster-resource-modify": (100, 40, ("DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand",
                                          "PutAttributes", "RunTask", "StartTask", "StopTask", "UpdateContainerAgent",
                                          "UpdateContainerInstancesState")),
    "cluster-resource-read": (100, 20, ("DescribeContainerInstances", "DescribeTasks", "ListAttributes",
                                        "ListContainerInstances", "ListTasks")),
    "service-modify": (50, 5, ("CreateService", "DeleteService", "UpdateService")),
    "service-read": (100, 20, ("DescribeServices", "ListServices")),
    "service-deployment": (50, 20, ("DescribeServiceDeployments", "ListServiceDeployments")),
    "service-revision": (50, 20, ("DescribeServiceRevisions",)),
    "cluster-service-resource-read": (10, 1, ("ListServicesByNamespace",)),
    "agent-modify": (200, 120, ("RegisterContainerInstance", "SubmitAttachmentStateChanges",
                                "SubmitContainerStateChange", "SubmitTaskStateChange")),
    "task-protection": (200, 80, ("GetTaskProtection", "UpdateTaskProtection")),
}

DEFAULT_BUCKETS: dict[str, Bucket] = {
    **{f"ecs:{name}": Bucket(burst, refill) for name, (burst, refill, _) in _ECS_TABLE.items()},
    "ecs:other": Bucket(50, 20),  # an action the table does not name (task sets, ...): as its read rows
    "events:control-plane": Bucket(50, 50),
    "other": Bucket(100, 50),
}

_ECS_BY_OPERATION = {op: f"ecs:{name}" for name, (_, _, ops) in _ECS_TABLE.items() for op in ops}


def action_class(service: str, operation: str) -> str:
    """The bucket an API action draws from."""
    if service == "ecs":
        return _ECS_BY_OPERATION.get(operation, "ecs:other")
    if service in ("events", "eventbridge") and operation != "PutEvents":  # before-send names it by service id
        return "events:control-plane"
    return "other"


def parse_limits(text: str) -> dict[str, Bucket]:
    """`"ecs:service-read=100/20, events:control-plane=50/50"` -> {class: Bucket(capacity, refill)}."""
    buckets: dict[str, Bucket] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        capacity, _, refill = value.partition("/")
        try:
            buckets[name.strip()] = Bucket(float(capacity), float(refill))
        except ValueError:
            raise ValueError(f"bad rate limit {part!r}: expected class=capacity/refill") from None
    return buckets


class TokenBucket:
    """A thread-safe token bucket; `acquire` blocks until a token is free and returns the wait."""

    def __init__(self, bucket: Bucket, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.bucket = bucket
        self._clock, self._sleep = clock, sleep
        self._tokens = float(bucket.capacity)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take a token now (possibly going negative) and return how long to wait for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.bucket.capacity, self._tokens + (now - self._stamp) * self.bucket.refill)
            self._stamp = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.bucket.refill

    def acquire(self) -> float:
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


class RateLimiter:
    """Buckets by action class; `acquire(service, operation)` is what the botocore hook calls."""

    def __init__(self, buckets: Mapping[str, Bucket] | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.buckets = {**DEFAULT_BUCKETS, **(buckets or {})}
        self._clock, self._sleep = clock, sleep
        self._live: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.waited: Counter = Counter()  # seconds spent waiting, by class

    @classmethod
    def from_env(cls) -> RateLimiter:
        return cls(parse_limits(os.environ.get("ECS_RECONCILER_RATE_LIMITS", "")))

    def _bucket(self, name: str) -> TokenBucket:
        with self._lock:
            if name not in self._live:
                spec = self.buckets.get(name) or self.buckets["other"]
                self._live[name] = TokenBucket(spec, self._clock, self._sleep)
            return self._live[name]

    def acquire(self, service: str, operation: str) -> float:
        name = action_class(service, operation)
        wait = self._bucket(name).acquire()
        if wait:
            with self._lock:
                self.waited[name] += wait
        return wait


def projected_seconds(calls: Mapping[tuple[str, str], int], buckets: Mapping[str, Bucket] | None = None) -> dict:
    """The least time `calls` can take on AWS starting from full buckets: per class,
    max(0, (n - burst) / refill); classes refill independently, so the whole takes the longest class."""
    specs = {**DEFAULT_BUCKETS, **(buckets or {})}
    per_class: Counter = Counter()
    for (service, operation), n in calls.items():
        per_class[action_class(service, operation)] += n
    seconds = {name: max(0.0, (n - specs[name].capacity) / specs[name].refill) for name, n in per_class.items()}
    return {"seconds": max(seconds.values(), default=0.0), "by_class": dict(sorted(seconds.items())),
            "calls_by_class": dict(sorted(per_class.items()))}
