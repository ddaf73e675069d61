"""Shared fixtures: a real moto server over HTTP on a free 127.0.0.1 port, reset between tests."""

from __future__ import annotations

import urllib.request

import pytest

from reconciler.aws import AwsSettings, CallLog, Clients


@pytest.fixture(scope="session")
def endpoint_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def clean_endpoint(endpoint_url):
    """The endpoint with moto's state wiped, so each test starts from an empty account."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")).read()
    return endpoint_url


@pytest.fixture
def clients(clean_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return Clients(AwsSettings(region="us-east-1", endpoint_url=clean_endpoint), CallLog())
