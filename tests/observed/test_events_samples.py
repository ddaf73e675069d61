"""Sample envelopes (no tests here), shaped like the examples on the AWS "Amazon ECS events" pages."""

from __future__ import annotations

import copy
import json

ACCOUNT, REGION = "111122223333", "us-west-2"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/FargateCluster"
TASK_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/FargateCluster/c13b4cb40f1f4fe4a2971f76ae5a47ad"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default/servicetest"
INSTANCE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/default/0b3a8e4f36d54fc7a3a8f0e1c1f6b3f1"

TASK_EVENT = {
    "version": "0",
    "id": "3317b2af-7005-947d-b652-f55e762e571a",
    "detail-type": "ECS Task State Change",
    "source": "aws.ecs",
    "account": ACCOUNT,
    "time": "2020-01-23T17:57:58Z",
    "region": REGION,
    "resources": [TASK_ARN],
    "detail": {
        "attachments": [{"id": "1789bcae-ddfb-4d10-8ebe-8ac87ddba5b8", "type": "eni", "status": "ATTACHED",
                         "details": [{"name": "subnetId", "value": "subnet-abcd1234"}]}],
        "availabilityZone": "us-west-2c",
        "clusterArn": CLUSTER_ARN,
        "containers": [{"containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/cf159fd6-3e3f-4a9e-84f9-66cbe726af01",
                        "lastStatus": "RUNNING", "name": "FargateApp", "image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/hello-repository:latest",
                        "taskArn": TASK_ARN, "cpu": "0"}],
        "createdAt": "2020-01-23T17:57:34.402Z",
        "launchType": "FARGATE",
        "cpu": "256",
        "memory": "512",
        "desiredStatus": "RUNNING",
        "group": "service:sample-fargate",
        "lastStatus": "RUNNING",
        "overrides": {"containerOverrides": [{"name": "FargateApp"}]},
        "connectivity": "CONNECTED",
        "connectivityAt": "2020-01-23T17:57:38.453Z",
        "pullStartedAt": "2020-01-23T17:57:52.103Z",
        "startedAt": "2020-01-23T17:57:58.103Z",
        "pullStoppedAt": "2020-01-23T17:57:55.103Z",
        "updatedAt": "2020-01-23T17:57:58.103Z",
        "taskArn": TASK_ARN,
        "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/sample-fargate:1",
        "version": 4,
        "platformVersion": "1.3.0",
    },
}

CONTAINER_INSTANCE_EVENT = {
    "version": "0",
    "id": "8952ba83-7be2-4ab5-9c32-6687532d15a2",
    "detail-type": "ECS Container Instance State Change",
    "source": "aws.ecs",
    "account": ACCOUNT,
    "time": "2016-12-06T16:41:06Z",
    "region": "us-east-1",
    "resources": [INSTANCE_ARN],
    "detail": {
        "agentConnected": True,
        "attributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.syslog"}],
        "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default",
        "containerInstanceArn": INSTANCE_ARN,
        "ec2InstanceId": "i-f3a8506b",
        "registeredResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 2048}],
        "remainingResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1988}],
        "status": "ACTIVE",
        "version": 14801,
        "versionInfo": {"agentHash": "aebcbca", "agentVersion": "1.13.0", "dockerVersion": "DockerVersion: 1.11.2"},
        "updatedAt": "2016-12-06T16:41:06.991Z",
    },
}

SERVICE_ACTION_EVENT = {
    "version": "0",
    "id": "af3c496d-f4a8-65d1-70f4-a69d52e9b584",
    "detail-type": "ECS Service Action",
    "source": "aws.ecs",
    "account": ACCOUNT,
    "time": "2019-11-19T19:27:22Z",
    "region": REGION,
    "resources": [SERVICE_ARN],
    "detail": {
        "eventType": "INFO",
        "eventName": "SERVICE_STEADY_STATE",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/default",
        "createdAt": "2019-11-19T19:27:22.695Z",
    },
}

DEPLOYMENT_EVENT = {
    "version": "0",
    "id": "ddca6449-b258-46c0-8653-e0e3aEXAMPLE",
    "detail-type": "ECS Deployment State Change",
    "source": "aws.ecs",
    "account": ACCOUNT,
    "time": "2020-05-23T12:31:14Z",
    "region": REGION,
    "resources": [SERVICE_ARN],
    "detail": {
        "eventType": "INFO",
        "eventName": "SERVICE_DEPLOYMENT_IN_PROGRESS",
        "deploymentId": "ecs-svc/123",
        "updatedAt": "2020-05-23T11:11:11Z",
        "reason": "ECS deployment deploymentId in progress.",
    },
}


def api_call(source: str, name: str, params: dict, event_time: str = "2024-03-01T10:00:00Z", event_id: str = "e1") -> dict:
    return {
        "version": "0",
        "id": f"env-{event_id}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + source.split(".")[0],
        "account": ACCOUNT,
        "time": event_time,
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"},
            "eventTime": event_time,
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": "192.0.2.1",
            "userAgent": "aws-cli/2",
            "requestParameters": params,
            "responseElements": None,
            "requestID": "req-1",
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        },
    }


def body(envelope: dict, **detail_changes) -> str:
    env = copy.deepcopy(envelope)
    env["detail"].update(detail_changes)
    return json.dumps(env)
