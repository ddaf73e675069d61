"""EcsTarget: objects name another account and Region in `spec.target`, as the policy allows their
namespace (kmock as Kubernetes, the local endpoint as AWS, which keys state by the assumed role's
account). A namespace not given a target is Stalled before any AWS call."""

from __future__ import annotations

import boto3
import pytest

from reconciler.aws import CallLog
from reconciler.operator.handlers import OperatorConfig
from reconciler.operator.tenancy import Policy

from test_operator_flow import TASK_DEFINITION
from test_tenancy import ready, stalled

ADMIN, A, B = "ecs-system", "team-a", "team-b"
TARGET = {"region": "eu-west-1", "roleArn": "arn:aws:iam::222222222222:role/deployer", "externalId": "team-a-id"}


def in_target(url: str, service: str):
    sts = boto3.client("sts", endpoint_url=url, region_name="eu-west-1")
    creds = sts.assume_role(RoleArn=TARGET["roleArn"], RoleSessionName="check")["Credentials"]
    return boto3.client(service, endpoint_url=url, region_name="eu-west-1", aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


@pytest.mark.asyncio
async def test_objects_reach_the_target_their_namespace_was_given_and_no_other(kube, local, run_operator):
    calls = CallLog()
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=0.5, retry_delay=0.5,
                            call_log=calls, targets_namespace=ADMIN,
                            policy=Policy(targets={A: ("payments-eu", "broken")}))
    async with run_operator(kube.url, config, (ADMIN, A, B)):
        await kube.create("EcsTarget", "payments-eu", TARGET, ADMIN)
        await kube.create("EcsCluster", "shop", {"target": "payments-eu"}, A)
        await kube.create("EcsTaskDefinition", "web", {**TASK_DEFINITION, "target": "payments-eu"}, A)
        await ready(kube, "EcsCluster", "shop", A)
        await ready(kube, "EcsTaskDefinition", "web", A)
        assert (await kube.status("EcsCluster", "shop", A))["arn"] == \
            "arn:aws:ecs:eu-west-1:222222222222:cluster/shop"

        # team-b was given no target: refused before any AWS call in the target's account.
        await kube.create("EcsCluster", "intruder", {"target": "payments-eu"}, B)
        condition = await stalled(kube, "EcsCluster", "intruder", B, "PolicyViolation")
        assert "the target 'payments-eu' is not allowed in namespace 'team-b'" in condition["message"]

        # An EcsTarget the API server let through with a bad role is the object's InvalidSpec, not a crash.
        await kube.create("EcsTarget", "broken", {"region": "eu-west-1", "roleArn": "not-an-arn"}, ADMIN)
        await kube.create("EcsCluster", "other", {"target": "broken"}, A)
        condition = await stalled(kube, "EcsCluster", "other", A, "InvalidSpec")
        assert "EcsTarget ecs-system/broken is invalid: spec.roleArn" in condition["message"]

        # A reference across targets is invalid, as in manifests.
        await kube.create("EcsCluster", "plain", {}, A)
        await kube.create("EcsService", "web", {"cluster": "plain", "taskDefinition": "web", "desiredCount": 0,
                                                "target": "payments-eu"}, A)
        condition = await stalled(kube, "EcsService", "web", A, "InvalidSpec")
        assert "resolves within its target" in condition["message"]
        await ready(kube, "EcsCluster", "plain", A)

    ecs = in_target(local.url, "ecs")
    assert ecs.list_clusters()["clusterArns"] == ["arn:aws:ecs:eu-west-1:222222222222:cluster/shop"]
    assert ecs.list_task_definition_families()["families"] == ["web"]
    ambient = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    assert ambient.list_clusters()["clusterArns"] == ["arn:aws:ecs:us-east-1:123456789012:cluster/plain"]
    assert calls.calls[("sts", "AssumeRole")] == 1
