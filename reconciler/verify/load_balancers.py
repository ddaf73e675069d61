"""Target groups of a service exist and fit the container port they name: the container and port are
in the task definition, the target type suits the network mode (`ip` for awsvpc, `instance` for
bridge and host) and the protocol suits the port mapping's (UDP target groups need a udp port).
CreateService rejects some of these; the rest surface as tasks that never become healthy."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..desired.references import is_external_task_definition
from .context import Context, NotAllowed, error_code, error_text

TCP_PROTOCOLS = {"HTTP", "HTTPS", "TCP", "TLS"}


def check(ctx: Context) -> None:
    uses = [(item, ctx.spec(item)) for item in ctx.items("Service")]
    uses = [(item, spec) for item, spec in uses if spec.get("loadBalancers")]
    arns = sorted({lb["targetGroupArn"] for _, spec in uses for lb in spec["loadBalancers"] if lb.get("targetGroupArn")})
    groups = _target_groups(ctx, arns)
    for item, spec in uses:
        task = _task_definition(ctx, spec.get("taskDefinition"))
        for index, lb in enumerate(spec["loadBalancers"]):
            path = ["spec", "loadBalancers", index]
            arn = lb.get("targetGroupArn")
            if not arn:
                ctx.skip(item, path, f"classic load balancer {lb.get('loadBalancerName')}: not checked")
                continue
            group = groups.get(arn)
            name = arn.rsplit("/", 2)[-2] if arn.count("/") >= 2 else arn
            if isinstance(group, NotAllowed):
                ctx.unverified(item, path + ["targetGroupArn"], f"target group {name}: {group}")
                continue
            if isinstance(group, Exception):
                ctx.unverified(item, path + ["targetGroupArn"], f"target group {name}: {error_text(group)}")
                continue
            if group is None:
                ctx.ng(item, path + ["targetGroupArn"], f"target group {arn} does not exist")
                continue
            ctx.ok(item, path + ["targetGroupArn"], f"target group {name} exists ({group.get('Protocol')}:{group.get('Port')}, "
                                                    f"target type {group.get('TargetType')})")
            _fit(ctx, item, path, lb, group, name, task)


def _fit(ctx: Context, item: Any, path: list[Any], lb: dict[str, Any], group: dict[str, Any], name: str,
         task: dict[str, Any] | None) -> None:
    if task is None:
        ctx.skip(item, path + ["containerPort"], "task definition not managed here: container port not checked")
        return
    container = next((c for c in task.get("containerDefinitions") or [] if c.get("name") == lb.get("containerName")), None)
    if container is None:
        ctx.ng(item, path + ["containerName"], f"task definition has no container {lb.get('containerName')!r}")
        return
    mapping = next((m for m in container.get("portMappings") or [] if m.get("containerPort") == lb.get("containerPort")), None)
    if mapping is None:
        ports = ", ".join(str(m.get("containerPort")) for m in container.get("portMappings") or []) or "none"
        ctx.ng(item, path + ["containerPort"], f"container {container['name']} maps no port {lb.get('containerPort')} "
                                               f"(its container ports: {ports})")
        return
    mode = task.get("networkMode") or ("awsvpc" if "FARGATE" in (task.get("requiresCompatibilities") or []) else "bridge")
    wanted_type = "ip" if mode == "awsvpc" else "instance"
    port_protocol = (mapping.get("protocol") or "tcp").lower()
    protocol = group.get("Protocol") or ""
    problems = []
    if group.get("TargetType") != wanted_type:
        problems.append(f"target type {group.get('TargetType')}, but network mode {mode} needs {wanted_type}")
    if protocol in TCP_PROTOCOLS and port_protocol != "tcp" or protocol == "UDP" and port_protocol != "udp":
        problems.append(f"protocol {protocol}, but container port {lb['containerPort']} is {port_protocol}")
    if protocol not in TCP_PROTOCOLS | {"UDP", "TCP_UDP"}:
        problems.append(f"protocol {protocol or 'none'} cannot route to a container")
    if problems:
        ctx.ng(item, path + ["containerPort"], f"target group {name} does not fit {container['name']}:"
                                               f"{lb['containerPort']}: " + "; ".join(problems))
    else:
        ctx.ok(item, path + ["containerPort"], f"target group {name} ({protocol}, {wanted_type}) fits "
                                               f"{container['name']}:{lb['containerPort']}/{port_protocol}")


def _task_definition(ctx: Context, ref: str | None) -> dict[str, Any] | None:
    if not ref or is_external_task_definition(ref):
        return None
    located = ctx.desired.get("TaskDefinition", ref)
    return ctx.spec(located) if located is not None else None


def _target_groups(ctx: Context, arns: list[str]) -> dict[str, Any]:
    """ARN -> the target group, None when it does not exist, or the exception that kept us from knowing.
    One call for all; when one is missing (TargetGroupNotFound fails the whole call), one call each."""
    if not arns:
        return {}
    try:
        found = ctx.call("elbv2", "describe_target_groups", TargetGroupArns=arns)["TargetGroups"]
        return {arn: next((g for g in found if g["TargetGroupArn"] == arn), None) for arn in arns}
    except NotAllowed as exc:
        return {arn: exc for arn in arns}
    except ClientError as exc:
        if error_code(exc) not in ("TargetGroupNotFound", "ValidationError") or len(arns) == 1:
            return {arn: (None if error_code(exc) in ("TargetGroupNotFound", "ValidationError") else exc)
                    for arn in arns}
    answers: dict[str, Any] = {}
    for arn in arns:
        answers.update(_target_groups(ctx, [arn]))
    return answers
