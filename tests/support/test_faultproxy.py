"""The fault-injection proxy, exercised with real boto3 clients against the moto server over HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import botocore.config
import botocore.exceptions
import pytest

from reconciler.aws import AwsSettings, CallLog, Clients

from .faultproxy import (
    AMBIGUOUS,
    DROP,
    DROP_AFTER,
    ERROR_5XX,
    FORWARDED,
    REQUESTS,
    SLOW,
    THROTTLE,
    FaultProxy,
)

ECS_TARGET = "AmazonEC2ContainerServiceV20141113"


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def proxied(proxy: FaultProxy, retries: int = 10) -> Clients:
    """The project's own client factory (standard retries, call counting), pointed at the proxy.

    AwsSettings.max_attempts counts every attempt (botocore's total_max_attempts), so
    ``retries=0`` means a single attempt.
    """
    return Clients(AwsSettings(region="us-east-1", endpoint_url=proxy.url, max_attempts=retries + 1), CallLog())


def standard_client(clients: Clients, service: str, total_attempts: int = 10, **config):
    """A client with standard retries built from the same session, so the CallLog still counts it."""
    retry_config = botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": total_attempts}, max_pool_connections=16, **config
    )
    return clients._session.client(service, endpoint_url=clients.settings.endpoint_url, config=retry_config)


def direct_cluster_names(endpoint_url: str) -> set[str]:
    direct = Clients(AwsSettings(region="us-east-1", endpoint_url=endpoint_url), CallLog())
    return {arn.rsplit("/", 1)[-1] for arn in direct.ecs.list_clusters()["clusterArns"]}


def ecs_headers(operation: str) -> dict[str, str]:
    # moto picks the service from the credential scope of the Authorization header.
    return {
        "X-Amz-Target": f"{ECS_TARGET}.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ecs/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }


def raw_json_call(conn: http.client.HTTPConnection, operation: str, payload: dict):
    conn.request("POST", "/", body=json.dumps(payload).encode(), headers=ecs_headers(operation))
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def assert_attempts_match_proxy(clients: Clients, proxy: FaultProxy, service: str, operations) -> None:
    """Every HTTP attempt the client made reached the proxy, and every extra attempt was a fault."""
    for op in operations:
        calls = clients.call_log.calls[(service, op)]
        attempts = clients.call_log.attempts[(service, op)]
        assert attempts == proxy.count(REQUESTS, op), op
        assert attempts - calls == proxy.injected(op), (op, proxy.stats())


# -- transparency ------------------------------------------------------------------------------


def test_zero_rates_forward_requests_and_responses_unchanged_over_one_keepalive_connection(clean_endpoint):
    with FaultProxy(clean_endpoint) as proxy:
        assert proxy.url.startswith("http://127.0.0.1:")
        port = int(proxy.url.rsplit(":", 1)[1])
        via_proxy = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        upstream = urllib.parse.urlsplit(clean_endpoint)
        direct = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
        try:
            status, _, body = raw_json_call(via_proxy, "CreateCluster", {"clusterName": "alpha"})
            assert status == 200 and json.loads(body)["cluster"]["clusterName"] == "alpha"
            for _ in range(3):  # same connection, reused
                p_status, p_headers, p_body = raw_json_call(via_proxy, "DescribeClusters", {"clusters": ["alpha"]})
                d_status, d_headers, d_body = raw_json_call(direct, "DescribeClusters", {"clusters": ["alpha"]})
                assert (p_status, p_body) == (d_status, d_body)
                assert p_headers["Content-Type"] == d_headers["Content-Type"]
                assert int(p_headers["Content-Length"]) == len(p_body)
            # A GET with a query string and a non-AWS path goes through unchanged too.
            via_proxy.request("GET", "/moto-api/data.json?x=1")
            p_data = via_proxy.getresponse().read()
            direct.request("GET", "/moto-api/data.json?x=1")
            assert json.loads(p_data) == json.loads(direct.getresponse().read())
        finally:
            via_proxy.close()
            direct.close()
        assert proxy.connections == 1
        assert proxy.forwarded("CreateCluster") == 1
        assert proxy.forwarded("DescribeClusters") == 3
        assert proxy.injected() == 0

        clients = proxied(proxy)
        clients.ecs.create_cluster(clusterName="beta")
        for _ in range(5):
            assert clients.ecs.describe_clusters(clusters=["beta"])["clusters"][0]["status"] == "ACTIVE"
        assert clients.call_log.attempts == clients.call_log.calls  # no retries when nothing fails
        assert proxy.connections == 2  # botocore's pool kept its one connection alive
    assert direct_cluster_names(clean_endpoint) == {"alpha", "beta"}


def test_chunked_request_bodies_are_forwarded_whole(clean_endpoint):
    with FaultProxy(clean_endpoint) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=10)
        try:
            pieces = [b'{"clusterName"', b': "chunky"}']
            conn.request(
                "POST",
                "/",
                body=iter(pieces),
                encode_chunked=True,
                headers={**ecs_headers("CreateCluster"), "Transfer-Encoding": "chunked"},
            )
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["cluster"]["clusterName"] == "chunky"
        finally:
            conn.close()
    assert direct_cluster_names(clean_endpoint) == {"chunky"}


def test_closing_the_proxy_stops_listening_and_releases_idle_connections(clean_endpoint):
    proxy = FaultProxy(clean_endpoint)
    with proxy:
        clients = proxied(proxy)
        clients.ecs.list_clusters()  # leaves an idle keep-alive connection in botocore's pool
        port = int(proxy.url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 5
    while proxy.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.open_connections == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_invalid_rates_are_rejected(clean_endpoint):
    with pytest.raises(ValueError):
        FaultProxy(clean_endpoint, throttle_rate=0.7, error_5xx_rate=0.4)
    with pytest.raises(ValueError):
        FaultProxy(clean_endpoint, slow_rate=1.5)
    with pytest.raises(ValueError):
        FaultProxy("not a url")


# -- wire formats --------------------------------------------------------------------------------


def test_json_protocol_throttle_is_answered_without_forwarding(clean_endpoint):
    with FaultProxy(clean_endpoint, throttle_rate=1.0) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=10)
        try:
            status, headers, body = raw_json_call(conn, "CreateCluster", {"clusterName": "never"})
        finally:
            conn.close()
        assert status == 400
        assert headers["x-amzn-ErrorType"] == "ThrottlingException"
        assert body == b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        assert proxy.count(THROTTLE, "CreateCluster") == 1
        assert proxy.forwarded() == 0

        clients = proxied(proxy, retries=0)
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            clients.ecs.create_cluster(clusterName="never")
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert direct_cluster_names(clean_endpoint) == set()


def test_query_protocol_throttle_is_an_xml_error_response(clean_endpoint):
    with FaultProxy(clean_endpoint, throttle_rate=1.0) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=10)
        try:
            conn.request(
                "POST",
                "/",
                body="Action=SendMessage&Version=2012-11-05&MessageBody=hi",
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            )
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 400
        assert body == (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>"
            b"</Error><RequestId>faultproxy-1</RequestId></ErrorResponse>"
        )
        assert proxy.count(THROTTLE, "SendMessage") == 1

        # botocore parses it: SNS always speaks the query protocol.
        sns = proxied(proxy, retries=0).client("sns")
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            sns.create_topic(Name="t")
        assert caught.value.response["Error"]["Code"] == "Throttling"
        assert proxy.count(THROTTLE, "CreateTopic") == 1


def test_sqs_and_eventbridge_throttles_are_retried_whatever_protocol_botocore_uses(clean_endpoint):
    with FaultProxy(clean_endpoint) as proxy:
        proxy.inject("CreateQueue", THROTTLE)
        proxy.inject("PutRule", THROTTLE)
        clients = proxied(proxy)
        sqs = standard_client(clients, "sqs")
        assert sqs.create_queue(QueueName="work")["QueueUrl"].endswith("/work")
        events = standard_client(clients, "events")
        assert events.put_rule(Name="tick", ScheduleExpression="rate(1 minute)")["RuleArn"].endswith("rule/tick")
        assert clients.call_log.attempts[("sqs", "CreateQueue")] == 2
        assert proxy.count(REQUESTS, "PutRule") == 2
        assert proxy.forwarded("CreateQueue") == 1 and proxy.forwarded("PutRule") == 1


# -- retries through faults -----------------------------------------------------------------------


def test_fifty_calls_succeed_through_throttling_and_5xx_thanks_to_retries(clean_endpoint):
    # stream_key="request" makes every call's fault sequence a function of the seed alone, even with
    # ten threads interleaving. Seed 3 was picked because no call meets more than two faults in a
    # row, which keeps the throttling backoff (1 s base, doubling) short; retries still happen on
    # a quarter of the calls.
    with FaultProxy(clean_endpoint, throttle_rate=0.3, error_5xx_rate=0.1, seed=3, stream_key="request") as proxy:
        clients = proxied(proxy)
        ecs = standard_client(clients, "ecs")

        def create_then_describe(i: int) -> str:
            ecs.create_cluster(clusterName=f"c{i}")
            return ecs.describe_clusters(clusters=[f"c{i}"])["clusters"][0]["clusterName"]

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=10) as pool:
            names = list(pool.map(create_then_describe, range(25)))
        elapsed = time.monotonic() - started

        assert names == [f"c{i}" for i in range(25)]
        log = clients.call_log
        assert log.calls[("ecs", "CreateCluster")] == 25 and log.calls[("ecs", "DescribeClusters")] == 25
        assert not log.errors
        assert proxy.count(THROTTLE) > 0 and proxy.count(ERROR_5XX) > 0
        retries = sum(log.attempts.values()) - sum(log.calls.values())
        assert retries == proxy.injected() >= 10
        assert_attempts_match_proxy(clients, proxy, "ecs", ["CreateCluster", "DescribeClusters"])
        assert proxy.forwarded("CreateCluster") == 25  # plain 5xx and throttles never reach moto
        assert elapsed < 20
    assert direct_cluster_names(clean_endpoint) == {f"c{i}" for i in range(25)}


def test_project_clients_retry_scripted_throttles_and_server_errors(clean_endpoint):
    with FaultProxy(clean_endpoint) as proxy:
        proxy.inject("CreateCluster", THROTTLE)
        proxy.inject("CreateCluster", ERROR_5XX, status=503)
        clients = proxied(proxy)  # the project's default: standard retry mode
        assert clients.ecs.create_cluster(clusterName="adaptive")["cluster"]["clusterName"] == "adaptive"
        assert clients.call_log.calls[("ecs", "CreateCluster")] == 1
        assert clients.call_log.attempts[("ecs", "CreateCluster")] == 3
        assert [d.fault for d in proxy.history] == [THROTTLE, ERROR_5XX, None]
        assert proxy.history[1].status == 503
        assert proxy.forwarded("CreateCluster") == 1


def test_dropped_connections_are_retried_by_botocore(clean_endpoint):
    with FaultProxy(clean_endpoint, drop_rate=0.3, drop_after_rate=0.2, seed=11) as proxy:
        clients = proxied(proxy)
        for i in range(12):
            clients.ecs.create_cluster(clusterName=f"d{i}")
        drops, drops_after = proxy.count(DROP, "CreateCluster"), proxy.count(DROP_AFTER, "CreateCluster")
        assert drops > 0 and drops_after > 0
        assert_attempts_match_proxy(clients, proxy, "ecs", ["CreateCluster"])
        # A drop after forwarding means moto applied a write whose answer the client never saw.
        assert proxy.forwarded("CreateCluster") == 12 + drops_after
        assert proxy.connections > drops + drops_after  # every drop cost botocore its connection

        proxy.configure(drop_rate=1.0, drop_after_rate=0.0)
        single_shot = proxied(proxy, retries=0)
        with pytest.raises(botocore.exceptions.ConnectionClosedError):
            single_shot.ecs.list_clusters()
    assert direct_cluster_names(clean_endpoint) == {f"d{i}" for i in range(12)}


def test_ambiguous_failures_apply_the_write_but_report_an_error(clean_endpoint):
    with FaultProxy(clean_endpoint) as proxy:
        proxy.inject("CreateCluster", AMBIGUOUS, status=500)
        proxy.inject("CreateCluster", AMBIGUOUS, status=503)
        single_shot = proxied(proxy, retries=0)
        with pytest.raises(botocore.exceptions.ClientError) as first:
            single_shot.ecs.create_cluster(clusterName="maybe")
        with pytest.raises(botocore.exceptions.ClientError) as second:
            single_shot.ecs.create_cluster(clusterName="maybe-too")
        assert first.value.response["Error"]["Code"] == "InternalFailure"
        assert first.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert second.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert second.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert proxy.count(AMBIGUOUS, "CreateCluster") == 2
        assert proxy.forwarded("CreateCluster") == 2
    # The client saw two failures, yet both clusters exist.
    assert direct_cluster_names(clean_endpoint) == {"maybe", "maybe-too"}


def test_ambiguous_failures_with_retries_send_more_writes_than_calls(clean_endpoint):
    with FaultProxy(clean_endpoint, ambiguous_rate=0.4, seed=5) as proxy:
        clients = proxied(proxy)
        for i in range(10):
            clients.ecs.create_cluster(clusterName=f"a{i}")
        ambiguous = proxy.count(AMBIGUOUS, "CreateCluster")
        assert ambiguous > 0
        assert proxy.forwarded("CreateCluster") == 10 + ambiguous
        assert_attempts_match_proxy(clients, proxy, "ecs", ["CreateCluster"])
    assert direct_cluster_names(clean_endpoint) == {f"a{i}" for i in range(10)}


def test_only_operations_limits_faults(clean_endpoint):
    with FaultProxy(clean_endpoint, throttle_rate=1.0, only_operations={"CreateCluster"}) as proxy:
        ecs = standard_client(proxied(proxy), "ecs", total_attempts=2)
        for _ in range(5):
            assert ecs.describe_clusters(clusters=["blocked"])["clusters"] == []
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            ecs.create_cluster(clusterName="blocked")
        assert caught.value.response["Error"]["Code"] == "ThrottlingException"
        assert proxy.count(THROTTLE, "CreateCluster") == 2
        assert proxy.forwarded("CreateCluster") == 0
        assert proxy.count(THROTTLE, "DescribeClusters") == 0
        assert proxy.forwarded("DescribeClusters") == 5


def test_slow_responses_delay_and_client_read_timeouts_are_retried(clean_endpoint):
    with FaultProxy(clean_endpoint, slow_rate=1.0, slow_seconds=0.3, only_operations={"ListClusters"}) as proxy:
        clients = proxied(proxy)
        started = time.monotonic()
        clients.ecs.list_clusters()
        clients.ecs.list_clusters()
        assert time.monotonic() - started >= 0.6
        assert proxy.count(SLOW, "ListClusters") == 2

        proxy.configure(slow_rate=0.0)
        proxy.inject("CreateCluster", SLOW)
        impatient = standard_client(clients, "ecs", read_timeout=0.1, connect_timeout=1)
        impatient.create_cluster(clusterName="late")
        assert clients.call_log.attempts[("ecs", "CreateCluster")] == 2
        # The timed-out attempt still reaches moto once the delay is over: another ambiguous write.
        deadline = time.monotonic() + 5
        while proxy.forwarded("CreateCluster") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proxy.forwarded("CreateCluster") == 2
        # The proxy survived writing to the closed connection and keeps serving.
        assert clients.ecs.describe_clusters(clusters=["late"])["clusters"][0]["clusterName"] == "late"


# -- determinism --------------------------------------------------------------------------------


def _sequential_run(endpoint_url: str, seed: int) -> tuple[list, dict]:
    with FaultProxy(
        endpoint_url, error_5xx_rate=0.2, ambiguous_rate=0.1, drop_rate=0.1, drop_after_rate=0.1, seed=seed
    ) as proxy:
        clients = proxied(proxy)
        for i in range(6):
            clients.ecs.create_cluster(clusterName=f"s{i}")
            clients.ecs.describe_clusters(clusters=[f"s{i}"])
        return list(proxy.history), proxy.stats()


def test_same_seed_gives_same_faults_and_another_seed_different_ones(clean_endpoint):
    first_history, first_stats = _sequential_run(clean_endpoint, seed=42)
    second_history, second_stats = _sequential_run(clean_endpoint, seed=42)
    other_history, _ = _sequential_run(clean_endpoint, seed=43)
    assert any(d.fault for d in first_history)
    assert first_history == second_history
    assert first_stats == second_stats
    assert [d.fault for d in other_history] != [d.fault for d in first_history]


def test_request_keyed_streams_are_deterministic_under_concurrency(clean_endpoint):
    def run() -> dict:
        with FaultProxy(clean_endpoint, error_5xx_rate=0.3, seed=9, stream_key="request") as proxy:
            ecs = standard_client(proxied(proxy), "ecs")
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda i: ecs.describe_clusters(clusters=[f"x{i}"]), range(16)))
            return proxy.stats()

    first = run()
    assert first["DescribeClusters"][ERROR_5XX] > 0
    assert first == run()
    assert first["DescribeClusters"][FORWARDED] == 16
