"""Clusters, tags and task definitions over HTTP answer like real ECS."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .helpers import fargate_service, fargate_task_definition, wait_for


def test_describe_clusters_returns_settings_and_configuration_only_when_asked(ecs):
    ecs.create_cluster(
        clusterName="main",
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}},
        tags=[{"key": "team", "value": "platform"}],
    )
    plain = ecs.describe_clusters(clusters=["main"])["clusters"][0]
    assert "settings" not in plain and "configuration" not in plain and "tags" not in plain
    assert plain["capacityProviders"] == [] and plain["defaultCapacityProviderStrategy"] == []
    full = ecs.describe_clusters(clusters=["main"], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])["clusters"][0]
    assert full["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert full["configuration"] == {"executeCommandConfiguration": {"logging": "DEFAULT"}}
    assert full["tags"] == [{"key": "team", "value": "platform"}]


def test_update_cluster_and_capacity_providers(ecs):
    ecs.create_cluster(clusterName="main")
    ecs.update_cluster(
        cluster="main",
        settings=[{"name": "containerInsights", "value": "enhanced"}],
        configuration={"executeCommandConfiguration": {"logging": "NONE"}},
    )
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 1}]
    ecs.put_cluster_capacity_providers(
        cluster="main", capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=strategy
    )
    cluster = ecs.describe_clusters(clusters=["main"], include=["SETTINGS", "CONFIGURATIONS"])["clusters"][0]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert cluster["configuration"] == {"executeCommandConfiguration": {"logging": "NONE"}}
    assert cluster["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert cluster["defaultCapacityProviderStrategy"] == strategy


def test_cluster_counts_follow_services(ecs, local):
    ecs.create_cluster(clusterName="main")
    fargate_task_definition(ecs)
    fargate_service(ecs, local, desiredCount=3)
    fargate_service(ecs, local, name="idle", desiredCount=0)

    def settled():
        cluster = ecs.describe_clusters(clusters=["main"])["clusters"][0]
        return cluster if cluster["runningTasksCount"] == 3 else None

    cluster = wait_for(settled)
    assert cluster["activeServicesCount"] == 2 and cluster["pendingTasksCount"] == 0
    ecs.delete_service(cluster="main", service="idle")
    assert ecs.describe_clusters(clusters=["main"])["clusters"][0]["activeServicesCount"] == 1


@pytest.mark.parametrize("kind", ["cluster", "service", "task-definition"])
def test_tag_untag_and_list_tags(ecs, local, kind):
    cluster_arn = ecs.create_cluster(clusterName="main")["cluster"]["clusterArn"]
    td_arn = fargate_task_definition(ecs)
    service_arn = fargate_service(ecs, local)["serviceArn"]
    arn = {"cluster": cluster_arn, "service": service_arn, "task-definition": td_arn}[kind]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "3"}])
    ecs.untag_resource(resourceArn=arn, tagKeys=["b"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "3"}]


def test_task_definition_tags_and_latest_active_revision(ecs):
    fargate_task_definition(ecs, tags=[{"key": "app", "value": "web"}])
    fargate_task_definition(ecs, image="nginx:2")
    fargate_task_definition(ecs, image="nginx:3")
    ecs.deregister_task_definition(taskDefinition="web:3")
    answer = ecs.describe_task_definition(taskDefinition="web", include=["TAGS"])
    assert answer["taskDefinition"]["revision"] == 2
    assert answer["tags"] == []
    tagged = ecs.describe_task_definition(taskDefinition="web:1", include=["TAGS"])
    assert tagged["tags"] == [{"key": "app", "value": "web"}]
    inactive = ecs.describe_task_definition(taskDefinition="web:3")["taskDefinition"]
    assert inactive["status"] == "INACTIVE"
    assert ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"][-1].endswith("web:2")


def test_family_without_active_revision_is_not_found(ecs):
    fargate_task_definition(ecs)
    ecs.deregister_task_definition(taskDefinition="web:1")
    with pytest.raises(ClientError) as err:
        ecs.describe_task_definition(taskDefinition="web")
    assert err.value.response["Error"]["Code"] == "ClientException"
