"""Subnets and security groups of awsvpc services and scheduled tasks exist and share one VPC (ECS
refuses a security group from another VPC only when it starts a task). Read in two EC2 calls for
the whole set: DescribeSubnets and DescribeSecurityGroups filtered by id (200 ids a filter)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .context import Context, NotAllowed, error_text

FILTER_VALUES = 200


def check(ctx: Context) -> None:
    uses: list[tuple[Any, dict[str, Any]]] = []
    for kind in ("Service", "ScheduledTask"):
        for item in ctx.items(kind):
            vpc_config = ((ctx.spec(item).get("networkConfiguration") or {}).get("awsvpcConfiguration"))
            if vpc_config:
                uses.append((item, vpc_config))
    if not uses:
        return
    subnets = _vpcs(ctx, "describe_subnets", "subnet-id", "Subnets", "SubnetId",
                    {s for _, c in uses for s in c.get("subnets") or []})
    groups = _vpcs(ctx, "describe_security_groups", "group-id", "SecurityGroups", "GroupId",
                   {g for _, c in uses for g in c.get("securityGroups") or []})
    base = ["spec", "networkConfiguration", "awsvpcConfiguration"]
    for item, config in uses:
        vpcs: dict[str, str] = {}
        complete = True
        for field, answers, what in (("subnets", subnets, "subnet"), ("securityGroups", groups, "security group")):
            for index, ident in enumerate(config.get(field) or []):
                path = base + [field, index]
                answer = answers.get(ident)
                if isinstance(answer, NotAllowed):
                    ctx.unverified(item, path, f"{what} {ident}: {answer}")
                    complete = False
                elif isinstance(answer, Exception):
                    ctx.unverified(item, path, f"{what} {ident}: {error_text(answer)}")
                    complete = False
                elif answer is None:
                    ctx.ng(item, path, f"{what} {ident} does not exist")
                    complete = False
                else:
                    ctx.ok(item, path, f"{what} {ident} exists (in {answer})")
                    vpcs[ident] = answer
        distinct = sorted(set(vpcs.values()))
        if len(distinct) > 1:
            spread = "; ".join(f"{v}: {', '.join(i for i, w in vpcs.items() if w == v)}" for v in distinct)
            ctx.ng(item, base, f"subnets and security groups are in different VPCs ({spread})")
        elif distinct and complete:
            ctx.ok(item, base, f"subnets and security groups share {distinct[0]}")


def _vpcs(ctx: Context, operation: str, filter_name: str, key: str, id_key: str, ids: set[str]) -> dict[str, Any]:
    """id -> its VpcId, None when it does not exist, or the exception that kept us from knowing."""
    answers: dict[str, Any] = {}
    listed = sorted(ids)
    for start in range(0, len(listed), FILTER_VALUES):
        batch = listed[start:start + FILTER_VALUES]
        try:
            found = ctx.call("ec2", operation, Filters=[{"Name": filter_name, "Values": batch}])
            vpc_of = {entry[id_key]: entry.get("VpcId") for entry in found.get(key, [])}
            for ident in batch:
                answers[ident] = vpc_of.get(ident)
        except (NotAllowed, ClientError) as exc:
            for ident in batch:
                answers[ident] = exc
    return answers
