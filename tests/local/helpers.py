"""Helpers for tests of the local endpoint: polling and typical Fargate resources."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll until `check()` returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value {value!r}")
        time.sleep(interval)


def fargate_task_definition(ecs, family: str = "web", image: str = "nginx:1", tags=None) -> str:
    kwargs = {"tags": tags} if tags else {}
    return ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "app", "image": image, "memory": 128}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        **kwargs,
    )["taskDefinition"]["taskDefinitionArn"]


def awsvpc(local, **extra) -> dict:
    net = local.network()
    return {"awsvpcConfiguration": {"subnets": net["subnets"][:2], "securityGroups": net["securityGroups"], **extra}}


def fargate_service(ecs, local, name: str = "api", cluster: str = "main", **kwargs) -> dict:
    kwargs.setdefault("desiredCount", 2)
    kwargs.setdefault("taskDefinition", "web")
    kwargs.setdefault("launchType", "FARGATE")
    kwargs.setdefault("networkConfiguration", awsvpc(local))
    return ecs.create_service(cluster=cluster, serviceName=name, **kwargs)["service"]


def describe(ecs, name: str = "api", cluster: str = "main", **kwargs) -> dict:
    return ecs.describe_services(cluster=cluster, services=[name], **kwargs)["services"][0]
