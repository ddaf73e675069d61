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
        "application-autoscaling:DescribeScalableTargets", "servicediscovery:GetNamespace",
        # Service.spec.autoScaling, CapacityProvider, Schedule
        "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:DescribeScheduledActions",
        "ecs:DescribeCapacityProviders", "scheduler:GetSchedule", "scheduler:ListSchedules",
        "scheduler:GetScheduleGroup", "scheduler:ListScheduleGroups", "scheduler:ListTagsForResource",
        # whether a service's scalable target is ours (a manifest that drops autoScaling deregisters it)
        "application-autoscaling:ListTagsForResource"]
WRITE = ["ecs:CreateCluster", "ecs:UpdateCluster", "ecs:PutClusterCapacityProviders", "ecs:RegisterTaskDefinition",
         "ecs:CreateService", "ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource",
         "events:PutRule", "events:PutTargets", "events:TagResource", "events:UntagResource",
         "application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy",
         "application-autoscaling:PutScheduledAction", "application-autoscaling:DeleteScalingPolicy",
         "application-autoscaling:DeleteScheduledAction",
         # ownership tags on a new scalable target (RegisterScalableTarget `Tags`), and the deregistration
         # of ours when the manifest drops `autoScaling`
         "application-autoscaling:TagResource", "application-autoscaling:DeregisterScalableTarget",
         # a target tracking policy creates its CloudWatch alarms through the service-linked role
         "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms",
         "ecs:CreateCapacityProvider", "ecs:UpdateCapacityProvider",
         "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:CreateScheduleGroup",
         "scheduler:TagResource"]
PRUNE = ["ecs:DeleteService", "ecs:DeregisterTaskDefinition", "ecs:DeleteCluster",
         "events:RemoveTargets", "events:DeleteRule", "ecs:DeleteCapacityProvider", "scheduler:DeleteSchedule",
         "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:DeleteScalingPolicy",
         "application-autoscaling:DeleteScheduledAction"]
EVENTS = ["sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
          "sqs:ListQueueTags", "sqs:TagQueue", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:DeleteMessageBatch",
          "sqs:DeleteQueue", "events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule",
          "events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource", "events:TagResource"]
# Task, execution, EventBridge and Scheduler roles named in manifests are handed to ECS, EventBridge and Scheduler.
PASS_ROLE = {"Sid": "PassRolesNamedInManifests", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*",
             "Condition": {"StringLike": {"iam:PassedToService": ["ecs-tasks.amazonaws.com", "events.amazonaws.com",
                                                                      "scheduler.amazonaws.com"]}}}


def policy_actions(controller: bool = False, events: bool = False, prune: bool = False, verify: bool = False,
                   references: set[str] = frozenset()) -> list[str]:
    """`references`: the kinds of ${...} reference the manifests use (ssm, cfn, cfn-export, tfstate-s3)."""
    from .desired.lookups import READ_ACTIONS as REFERENCE_READS
    from .verify import READ_ACTIONS as VERIFY_READS

    actions = set(READ) | set(WRITE)
    if prune:
        actions |= set(PRUNE)
    if events:  # the controller without --events polls: same reads and writes as apply
        actions |= set(EVENTS)
    if verify:
        actions |= set(VERIFY_READS)
    for kind in references:
        actions |= set(REFERENCE_READS.get(kind, ()))
    return sorted(actions)


def policy_document(controller: bool = False, events: bool = False, prune: bool = False, verify: bool = False,
                    references: set[str] = frozenset()) -> dict:
    actions = policy_actions(controller, events, prune, verify, references)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Reconcile", "Effect": "Allow", "Action": actions, "Resource": "*"}, PASS_ROLE]}


def references_used(paths: tuple[str, ...], tfstate: tuple[str, ...] = ()) -> set[str]:
    """The kinds of AWS-backed reference in the manifests under `paths` (files read, kustomizations
    rendered, nothing looked up), plus tfstate-s3 when a Terraform state is read from S3."""
    from .desired.kustomized import load_kustomization
    from .desired.loader import manifest_files
    from .desired.substitution import references_in
    from .desired.yaml_source import YamlProblem, parse_documents

    errors: list = []
    kinds: set[str] = set()
    for file in manifest_files(paths, errors):
        if file.is_dir():
            kinds |= {k for doc in load_kustomization(file, str(file), errors) for k in references_in(doc.data)}
            continue
        try:
            kinds |= {k for doc in parse_documents(file.read_text(encoding="utf-8")) for k in references_in(doc.data)}
        except (OSError, UnicodeDecodeError, YamlProblem):
            continue
    if "tfstate" in kinds and any(t.startswith("s3://") for t in tfstate):
        kinds.add("tfstate-s3")
    return kinds


@click.command("iam-policy")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--controller", is_flag=True, help="Include what `run` (the controller loop) needs, its preflight verify included.")
@click.option("--events", is_flag=True, help="Include the event stream's EventBridge rule and SQS queue.")
@click.option("--prune", is_flag=True, help="Include the deletes that --prune makes.")
@click.option("--verify/--no-verify", default=None,
              help="Include the reads of `verify` (default: with --controller, whose preflight runs it).")
@click.option("--tfstate", multiple=True, help="The --tfstate the manifests are used with (s3:// adds s3:GetObject).")
def iam_policy(paths: tuple[str, ...], controller: bool, events: bool, prune: bool, verify: bool | None,
               tfstate: tuple[str, ...]) -> None:
    """Print the IAM policy JSON the enabled features need; given manifest PATHS, also the reads their
    ${ssm:...}, ${cfn:...}, ${cfn-export:...} and S3 Terraform state references need."""
    references = references_used(paths, tfstate) if paths else set()
    verify = controller if verify is None else verify
    click.echo(json.dumps(policy_document(controller, events, prune, verify, references), indent=2))
