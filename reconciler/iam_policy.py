"""`ecs-reconciler iam-policy`: the least-privilege IAM policy the enabled features need.

Kept next to the code that calls AWS so a test can check every operation an end-to-end flow makes
is in the printed policy (tests/reliability/test_iam_policy.py).
"""

from __future__ import annotations

import json

import click

READ = ["ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:ListClusters",
        "ecs:ListServices", "ecs:ListTaskDefinitions", "ecs:ListTaskDefinitionFamilies", "ecs:ListTagsForResource",
        "events:DescribeRule", "events:ListRules", "events:ListTargetsByRule", "events:ListTagsForResource",
        "application-autoscaling:DescribeScalableTargets", "servicediscovery:GetNamespace"]
WRITE = ["ecs:CreateCluster", "ecs:UpdateCluster", "ecs:PutClusterCapacityProviders", "ecs:RegisterTaskDefinition",
         "ecs:CreateService", "ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource",
         "events:PutRule", "events:PutTargets", "events:TagResource", "events:UntagResource"]
PRUNE = ["ecs:DeleteService", "ecs:DeregisterTaskDefinition", "ecs:DeleteCluster",
         "events:RemoveTargets", "events:DeleteRule"]
EVENTS = ["sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
          "sqs:ListQueueTags", "sqs:TagQueue", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:DeleteMessageBatch",
          "sqs:DeleteQueue", "events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule",
          "events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource", "events:TagResource"]
# Task, execution and EventBridge roles named in manifests are handed to ECS and EventBridge.
PASS_ROLE = {"Sid": "PassRolesNamedInManifests", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*",
             "Condition": {"StringLike": {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "events.amazonaws.com"]}}}


def policy_actions(controller: bool = False, events: bool = False, prune: bool = False) -> list[str]:
    actions = set(READ) | set(WRITE)
    if prune:
        actions |= set(PRUNE)
    if events:  # the controller without --events polls: same reads and writes as apply
        actions |= set(EVENTS)
    return sorted(actions)


def policy_document(controller: bool = False, events: bool = False, prune: bool = False) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Reconcile", "Effect": "Allow", "Action": policy_actions(controller, events, prune), "Resource": "*"},
        PASS_ROLE]}


@click.command("iam-policy")
@click.option("--controller", is_flag=True, help="Include what `run` (the controller loop) needs.")
@click.option("--events", is_flag=True, help="Include the event stream's EventBridge rule and SQS queue.")
@click.option("--prune", is_flag=True, help="Include the deletes that --prune makes.")
def iam_policy(controller: bool, events: bool, prune: bool) -> None:
    """Print the IAM policy JSON the enabled features need."""
    click.echo(json.dumps(policy_document(controller, events, prune), indent=2))
