"""`verify`: before anything is written, check what a deploy would otherwise find out too late.

Each check module reads what the manifests depend on (IAM, ECR, SSM, Secrets Manager, CloudWatch
Logs, EC2, ELB, ECS, Cloud Map), once per distinct thing and in batches where the API allows, and
adds one line per manifest field: OK, NG (exit 1), skip (not checkable, e.g. an image outside ECR)
or not verified (the caller may not read it: never counted as a pass).
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import Clients
from ..desired.loader import DesiredState
from . import cluster, fargate, images, load_balancers, logs, network, roles, secrets
from .context import Context, error_text
from .model import NG, OK, SKIP, UNVERIFIED, Check, Report

CHECKS = (("roles", roles.check), ("images", images.check), ("secrets", secrets.check), ("log groups", logs.check),
          ("network", network.check), ("target groups", load_balancers.check), ("cluster", cluster.check),
          ("fargate sizes", fargate.check))

# The reads verify makes (for `iam-policy --verify`).
READ_ACTIONS = ["iam:GetRole", "ecr:DescribeImages", "ssm:GetParameters", "secretsmanager:DescribeSecret",
                "logs:DescribeLogGroups", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                "elasticloadbalancing:DescribeTargetGroups", "ecs:DescribeClusters", "ecs:DescribeCapacityProviders",
                "servicediscovery:ListNamespaces", "servicediscovery:GetService"]


def verify(desired: DesiredState, clients: Clients, keys: set[tuple[str, str]] | None = None) -> Report:
    """Check every manifest of `desired` (only those in `keys`, when given)."""
    ctx = Context(desired, clients, keys)
    for name, run in CHECKS:
        before = len(ctx.checks)
        try:
            run(ctx)
        except (ClientError, BotoCoreError) as exc:  # an unexpected AWS failure: say so, never pass
            del ctx.checks[before:]
            ctx.checks.append(Check(UNVERIFIED, "-", None, "-", name, f"check failed: {error_text(exc)}"))
    return Report(ctx.checks)


__all__ = ["verify", "Report", "Check", "OK", "NG", "SKIP", "UNVERIFIED", "READ_ACTIONS"]
