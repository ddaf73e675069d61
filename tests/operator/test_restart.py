"""An operator restart resumes every object; without self-heal it must report drift, not revert it."""

from __future__ import annotations

import boto3
import pytest

from reconciler.operator.handlers import OperatorConfig

from test_operator_flow import create_synced_app


@pytest.mark.asyncio
async def test_a_restart_without_self_heal_reports_drift_and_writes_nothing(kube, local, run_operator):
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=60, self_heal=False,
                            retry_delay=0.5)
    async with run_operator(kube.url, config):
        await create_synced_app(kube)
    ecs.update_service(cluster="shop", service="web", desiredCount=3)  # while the operator is down

    async with run_operator(kube.url, config):  # resumes every object
        async def drifted():
            status = await kube.status("EcsService", "web")
            return status if "spec.desiredCount" in status.get("driftedPaths", []) else None
        status = await kube.wait_for(drifted, what="drift reported after the restart")
        assert status["drifted"] is True
    assert ecs.describe_services(cluster="shop", services=["web"])["services"][0]["desiredCount"] == 3
