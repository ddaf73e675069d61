"""A Target's clients use its assumed role, and assume it again before the credentials expire."""

from __future__ import annotations

from reconciler.assume_role import assumed_role_session
from reconciler.aws import AwsSettings, CallLog, Clients

ROLE = "arn:aws:iam::444455556666:role/deployer"


def test_clients_act_in_the_role_account_and_region(clients, clean_endpoint):
    log = CallLog()
    target = Clients(AwsSettings(region="eu-central-1", endpoint_url=clean_endpoint, role_arn=ROLE,
                                 external_id="ext-id", session_name="plan-run"), log)
    arn = target.ecs.create_cluster(clusterName="shop")["cluster"]["clusterArn"]
    assert arn == "arn:aws:ecs:eu-central-1:444455556666:cluster/shop"
    identity = target.client("sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::444455556666:assumed-role/deployer/plan-run"
    assert clients.ecs.list_clusters()["clusterArns"] == []  # the ambient account has nothing
    assert log.calls[("sts", "AssumeRole")] == 1  # fetched once, counted with the target's calls


def test_credentials_are_refreshed_before_they_expire(clients, clean_endpoint):
    """botocore refreshes within 15 minutes of expiry: 15-minute credentials are refreshed on every
    use, one-hour credentials are not."""
    def assume_role_calls(duration: int) -> int:
        source = Clients(AwsSettings(region="us-east-1", endpoint_url=clean_endpoint), CallLog())
        session = assumed_role_session(source.session, ROLE, "us-east-1", endpoint_url=clean_endpoint,
                                       duration_seconds=duration)
        ecs = session.client("ecs", endpoint_url=clean_endpoint)
        keys = set()
        for _ in range(3):
            ecs.list_clusters()
            keys.add(session.get_credentials().get_frozen_credentials().access_key)
        return source.call_log.calls[("sts", "AssumeRole")], len(keys)

    assert assume_role_calls(3600) == (1, 1)
    calls, keys = assume_role_calls(900)
    assert calls >= 3 and keys >= 3
