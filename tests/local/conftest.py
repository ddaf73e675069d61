"""A LocalEndpoint per test module on a free 127.0.0.1 port, reset between tests."""

from __future__ import annotations

import pytest

from reconciler.local import LocalEndpoint

SETTLE = 0.3


@pytest.fixture(scope="module")
def endpoint():
    with LocalEndpoint(settle_seconds=SETTLE) as ep:
        yield ep


@pytest.fixture
def local(endpoint):
    endpoint.reset()
    return endpoint


@pytest.fixture
def ecs(local):
    return local.client("ecs")
