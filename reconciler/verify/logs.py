"""awslogs log groups exist, unless the container asks the driver to create its group
(`awslogs-create-group: "true"`, which also needs logs:CreateLogGroup on the execution role).
A missing group stops the task with ResourceInitializationError."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .context import Context, NotAllowed, error_text


def check(ctx: Context) -> None:
    answers: dict[tuple[str, str], Any] = {}

    def exists(region: str, group: str) -> Any:
        key = (region, group)
        if key not in answers:
            try:
                found = ctx.call("logs", "describe_log_groups", region=region, logGroupNamePrefix=group)
                answers[key] = any(g.get("logGroupName") == group for g in found.get("logGroups", []))
            except (NotAllowed, ClientError) as exc:
                answers[key] = exc
        return answers[key]

    for item in ctx.items("TaskDefinition"):
        for index, container in enumerate(ctx.spec(item).get("containerDefinitions") or []):
            config = container.get("logConfiguration") or {}
            if config.get("logDriver") != "awslogs":
                continue
            options = config.get("options") or {}
            path = ["spec", "containerDefinitions", index, "logConfiguration", "options", "awslogs-group"]
            group = options.get("awslogs-group")
            if not group:
                ctx.ng(item, path[:-1], "awslogs needs the awslogs-group option")
                continue
            if str(options.get("awslogs-create-group", "")).lower() == "true":
                ctx.skip(item, path, f"log group {group}: created by the awslogs driver (awslogs-create-group)")
                continue
            answer = exists(options.get("awslogs-region") or ctx.region, group)
            if isinstance(answer, NotAllowed):
                ctx.unverified(item, path, f"log group {group}: {answer}")
            elif isinstance(answer, Exception):
                ctx.unverified(item, path, f"log group {group}: {error_text(answer)}")
            elif not answer:
                ctx.ng(item, path, f"log group {group} does not exist (create it, or set awslogs-create-group: \"true\")")
            else:
                ctx.ok(item, path, f"log group {group} exists")
