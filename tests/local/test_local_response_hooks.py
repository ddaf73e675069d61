"""LocalEndpoint.add_response_hook: a test can make one endpoint answer something the engine does not know."""

from __future__ import annotations

import boto3

from .helpers import describe, fargate_service, fargate_task_definition


def test_hook_rewrites_successful_responses_of_one_operation(ecs, local):
    ecs.create_cluster(clusterName="main")
    fargate_task_definition(ecs)
    fargate_service(ecs, local)
    canary = {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10}

    def new_default(body: dict) -> None:  # changes the body in place
        for service in body["services"]:
            service["deploymentConfiguration"]["canaryConfiguration"] = canary

    local.add_response_hook("DescribeServices", new_default)
    try:
        assert describe(ecs)["deploymentConfiguration"]["canaryConfiguration"] == canary
        assert describe(ecs)["deploymentConfiguration"]["maximumPercent"] == 200  # the rest as served
    finally:
        local.remove_response_hook("DescribeServices", new_default)
    assert "canaryConfiguration" not in describe(ecs)["deploymentConfiguration"]


def test_hook_can_return_a_new_body_and_only_touches_its_operation(ecs, local):
    ecs.create_cluster(clusterName="main")
    fargate_task_definition(ecs)
    fargate_service(ecs, local)

    def lower_percent(body: dict) -> dict:
        services = [{**s, "deploymentConfiguration": {**s["deploymentConfiguration"], "maximumPercent": 150}}
                    for s in body["services"]]
        return {**body, "services": services}

    with local.response_hook("DescribeServices", lower_percent):
        assert describe(ecs)["deploymentConfiguration"]["maximumPercent"] == 150
        # Other operations are untouched, and so is the stored service.
        listed = ecs.list_services(cluster="main")["serviceArns"]
        assert len(listed) == 1
        updated = ecs.update_service(cluster="main", service="api", desiredCount=3)["service"]
        assert updated["deploymentConfiguration"]["maximumPercent"] == 200
    assert describe(ecs)["deploymentConfiguration"]["maximumPercent"] == 200


def test_hook_does_not_touch_errors_or_other_endpoints(ecs, local, endpoint_url):
    calls = []
    with local.response_hook("DescribeServices", lambda body: calls.append(body)):
        ecs.create_cluster(clusterName="main")
        failures = ecs.describe_services(cluster="main", services=["missing"])["failures"]
        assert failures and calls  # a 200 with failures is still a successful response
        calls.clear()
        try:
            ecs.describe_services(cluster="nope", services=["missing"])
        except ecs.exceptions.ClusterNotFoundException:
            pass
        assert calls == []
        plain = boto3.client("ecs", endpoint_url=endpoint_url, region_name="us-east-1",
                             aws_access_key_id="testing", aws_secret_access_key="testing")
        plain.create_cluster(clusterName="main")
        plain.describe_services(cluster="main", services=["missing"])
        assert calls == []
    assert not local.has_response_hooks("DescribeServices")
