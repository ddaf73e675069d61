"""Shared fixtures: a real moto server over HTTP on a free 127.0.0.1 port, reset between tests."""

from __future__ import annotations

import urllib.request

import pytest

from reconciler.aws import AwsSettings, CallLog, Clients


@pytest.fixture(scope="session")
def endpoint_url():
    """Plain moto (no fidelity layer: nothing binds requests to a LocalEndpoint), kept-alive HTTP."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from reconciler.local.http_server import KeepAliveServer

    server = KeepAliveServer(DomainDispatcherApplication(create_backend_app)).start()
    host, port = server.host_and_port()
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


# -- the embedded local endpoint (moto + ECS fidelity + scheduler), shared by engine and e2e tests --

@pytest.fixture(scope="session")
def local_endpoint():
    from reconciler.local import LocalEndpoint

    endpoint = LocalEndpoint(settle_seconds=0.3).start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def local(local_endpoint, monkeypatch):
    """A fresh account on the local endpoint (subnet-00000000000000001.. and sg-00000000000000001
    exist), with the environment pointing AWS SDKs and the CLI at it."""
    local_endpoint.reset()
    for name, value in local_endpoint.env().items():
        monkeypatch.setenv(name, value)
    return local_endpoint


@pytest.fixture
def local_clients(local):
    return Clients(AwsSettings(region="us-east-1", endpoint_url=local.url), CallLog())


@pytest.fixture
def run_cli(local):
    """Run the CLI in-process against the local endpoint: returns (exit_code, stdout, stderr, writes)."""
    from click.testing import CliRunner

    from reconciler.aws import PROCESS_CALL_LOG
    from reconciler.cli import cli

    def run(*args: str):
        PROCESS_CALL_LOG.reset()
        result = CliRunner().invoke(cli, ["--endpoint-url", local.url, "--region", "us-east-1", *args],
                                    catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr, PROCESS_CALL_LOG.writes()

    return run


@pytest.fixture
def emitting(local):
    """The local endpoint with its event emitter on: ECS events reach EventBridge (and SQS rules)."""
    from reconciler.local.events import EventEmitter

    started = local.emitter is None
    if started:
        local.emitter = EventEmitter(local.url)
        local.emitter.start()
        local.scheduler.add_listener(local.emitter)
    yield local
    if started:
        local.scheduler.remove_listener(local.emitter)
        local.emitter.stop()
        local.emitter = None
