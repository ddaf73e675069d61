"""What the example app (manifests/) reads at task start, present in every fresh local account.

The local endpoint seeds an account the way the example app's real account would be set up before
a first deploy: the awslogs log groups, the SSM parameter and the Secrets Manager secret its task
definitions name. So `verify manifests/` passes there, as the controller's preflight must. The
values are placeholders (the parameter is a SecureString, as a database URL would be).
"""

from __future__ import annotations

from typing import Any, Callable

LOG_GROUPS = ("/ecs/shop-web", "/ecs/shop-worker")
PARAMETERS = {"/shop/database-url": "postgres://shop@db.shop.local/shop"}
SECRETS = {"shop/payment-token": "local-placeholder-token"}


def seed(client: Callable[[str], Any]) -> None:
    """Create what is missing; leave what exists (seed runs again after every reset)."""
    logs = client("logs")
    existing = {g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/ecs/").get("logGroups", [])}
    for group in LOG_GROUPS:
        if group not in existing:
            logs.create_log_group(logGroupName=group)
    ssm = client("ssm")
    for name, value in PARAMETERS.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    secrets = client("secretsmanager")
    for name, value in SECRETS.items():
        try:
            secrets.describe_secret(SecretId=name)
        except secrets.exceptions.ResourceNotFoundException:
            secrets.create_secret(Name=name, SecretString=value)
