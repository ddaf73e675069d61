"""IAM roles: the task and execution roles exist and trust ecs-tasks.amazonaws.com; a ScheduledTask's
role trusts events.amazonaws.com (EventBridge rules) or scheduler.amazonaws.com (EventBridge Scheduler).
A role ECS or EventBridge cannot assume fails only when a task starts, long after the deploy."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from botocore.exceptions import ClientError

from .context import Context, NotAllowed, error_code, error_text

TASKS = ("ecs-tasks.amazonaws.com",)
EVENTS = ("events.amazonaws.com", "scheduler.amazonaws.com")


def role_name(ref: str) -> str:
    """The role name of an ARN (`arn:aws:iam::1:role/path/name` -> `name`) or of a bare name."""
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


def trusted_services(document: Any) -> set[str]:
    """Services allowed to sts:AssumeRole by a trust policy (a dict, or the URL-encoded JSON IAM sends)."""
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    services: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = statement.get("Principal", {})
        service = principal.get("Service", []) if isinstance(principal, dict) else []
        services.update([service] if isinstance(service, str) else service)
    return services


def check(ctx: Context) -> None:
    roles: dict[str, Any] = {}

    def lookup(name: str) -> Any:
        if name not in roles:
            try:
                roles[name] = ctx.call("iam", "get_role", RoleName=name)["Role"]
            except NotAllowed as exc:
                roles[name] = exc
            except ClientError as exc:
                roles[name] = None if error_code(exc) == "NoSuchEntity" else exc
        return roles[name]

    def verify(item: Any, path: list[Any], ref: str, principals: tuple[str, ...]) -> None:
        name = role_name(ref)
        role = lookup(name)
        wanted = " or ".join(principals)
        if isinstance(role, NotAllowed):
            ctx.unverified(item, path, f"role {name}: {role}")
        elif isinstance(role, Exception):
            ctx.unverified(item, path, f"role {name}: {error_text(role)}")
        elif role is None:
            ctx.ng(item, path, f"role {name} does not exist")
        elif not trusted_services(role.get("AssumeRolePolicyDocument") or {}) & set(principals):
            ctx.ng(item, path, f"role {name} does not trust {wanted} (its trust policy has no sts:AssumeRole for it)")
        else:
            ctx.ok(item, path, f"role {name} exists and trusts {wanted}")

    for item in ctx.items("TaskDefinition"):
        spec = ctx.spec(item)
        for field in ("taskRoleArn", "executionRoleArn"):
            if spec.get(field):
                verify(item, ["spec", field], spec[field], TASKS)
    for item in ctx.items("ScheduledTask"):
        spec = ctx.spec(item)
        if spec.get("roleArn"):
            verify(item, ["spec", "roleArn"], spec["roleArn"], EVENTS)
        overrides = spec.get("overrides") or {}
        for field in ("taskRoleArn", "executionRoleArn"):
            if overrides.get(field):
                verify(item, ["spec", "overrides", field], overrides[field], TASKS)
