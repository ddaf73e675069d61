"""The scheduler moves tasks, completes or fails deployments and publishes ECS events."""

from __future__ import annotations

import pytest

from .helpers import describe, fargate_service, fargate_task_definition, wait_for


@pytest.fixture
def cluster(ecs):
    ecs.create_cluster(clusterName="main")
    fargate_task_definition(ecs)
    return "main"


@pytest.fixture
def seen(local):
    events: list[dict] = []
    local.add_listener(events.append)
    yield events
    local.scheduler.remove_listener(events.append)


def steady(ecs, count):
    def check():
        service = describe(ecs)
        primary = service["deployments"][0]
        done = (
            service["runningCount"] == count
            and primary["rolloutState"] == "COMPLETED"
            and len(service["deployments"]) == 1
        )
        return service if done else None

    return wait_for(check)


def test_new_service_reaches_steady_state(ecs, local, cluster, seen):
    created = fargate_service(ecs, local, desiredCount=2)
    service = steady(ecs, 2)
    [primary] = service["deployments"]
    assert primary["id"] == created["deployments"][0]["id"]
    assert primary["runningCount"] == 2 and primary["pendingCount"] == 0 and service["pendingCount"] == 0
    assert primary["rolloutStateReason"] == f"ECS deployment {primary['id']} completed."
    assert service["events"][0]["message"] == "(service api) has reached a steady state."
    names = [e["detail"]["eventName"] for e in seen if e["detail-type"] in ("ECS Deployment State Change", "ECS Service Action")]
    assert names == ["SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_STEADY_STATE"]
    tasks = [e for e in seen if e["detail-type"] == "ECS Task State Change"]
    assert len(tasks) == 2 and {t["detail"]["lastStatus"] for t in tasks} == {"RUNNING"}
    assert all(t["detail"]["group"] == "service:api" and t["resources"] == [t["detail"]["taskArn"]] for t in tasks)


def test_rollout_replaces_old_deployment_and_versions_increase(ecs, local, cluster, seen):
    fargate_service(ecs, local, desiredCount=1)
    steady(ecs, 1)
    new_td = fargate_task_definition(ecs, image="nginx:2")
    updated = ecs.update_service(cluster="main", service="api", taskDefinition=new_td)["service"]
    assert [d["status"] for d in updated["deployments"]] == ["PRIMARY", "ACTIVE"]
    service = wait_for(lambda: (s := steady(ecs, 1)) and s["deployments"][0]["taskDefinition"] == new_td and s)
    assert service["deployments"][0]["id"] == updated["deployments"][0]["id"]
    service_arn = service["serviceArn"]
    versions = [e["detail"]["version"] for e in seen if e["resources"] == [service_arn]]
    assert versions == list(range(1, len(versions) + 1)) and len(versions) == 6
    stopped = [e for e in seen if e["detail-type"] == "ECS Task State Change" and e["detail"]["lastStatus"] == "STOPPED"]
    assert len(stopped) == 1 and stopped[0]["detail"]["version"] == 2


def test_scale_change_moves_counts_after_settle(ecs, local, cluster, seen):
    fargate_service(ecs, local, desiredCount=1)
    steady(ecs, 1)
    updated = ecs.update_service(cluster="main", service="api", desiredCount=3)["service"]
    assert updated["runningCount"] == 1
    service = steady(ecs, 3)
    assert service["deployments"][0]["desiredCount"] == 3
    ecs.update_service(cluster="main", service="api", desiredCount=0)
    steady(ecs, 0)
    statuses = [e["detail"]["lastStatus"] for e in seen if e["detail-type"] == "ECS Task State Change"]
    assert statuses.count("RUNNING") == 3 and statuses.count("STOPPED") == 3


def test_fail_deploy_image_fails_like_the_circuit_breaker(ecs, local, cluster, seen):
    fargate_task_definition(ecs, family="broken", image="example/fail-deploy:1")
    fargate_service(ecs, local, taskDefinition="broken", desiredCount=2)

    def failed():
        primary = describe(ecs)["deployments"][0]
        return primary if primary["rolloutState"] == "FAILED" else None

    primary = wait_for(failed)
    assert primary["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert primary["failedTasks"] == 2 and describe(ecs)["runningCount"] == 0
    failures = [e for e in seen if e["detail"].get("eventName") == "SERVICE_DEPLOYMENT_FAILED"]
    assert len(failures) == 1 and failures[0]["detail"]["eventType"] == "ERROR"
    assert not [e for e in seen if e["detail"].get("eventName") == "SERVICE_STEADY_STATE"]


def test_circuit_breaker_rollback_returns_to_previous_revision(ecs, local, cluster):
    breaker = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    good = fargate_service(ecs, local, desiredCount=1, deploymentConfiguration=breaker)["taskDefinition"]
    steady(ecs, 1)
    bad = fargate_task_definition(ecs, image="example/fail-deploy:2")
    ecs.update_service(cluster="main", service="api", taskDefinition=bad)
    service = wait_for(lambda: (s := steady(ecs, 1)) and s["taskDefinition"] == good and s)
    assert service["deployments"][0]["taskDefinition"] == good
    assert any("deployment failed" in e["message"] for e in service["events"])


def test_fail_next_fails_one_deployment(ecs, local, cluster):
    local.scheduler.fail_next("api")
    fargate_service(ecs, local, desiredCount=1)
    wait_for(lambda: describe(ecs)["deployments"][0]["rolloutState"] == "FAILED")
    ecs.update_service(cluster="main", service="api", forceNewDeployment=True)
    steady(ecs, 1)
