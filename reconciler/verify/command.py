"""`ecs-reconciler verify PATHS`: the preflight checks, one line each (OK / NG / skip / not verified)."""

from __future__ import annotations

import json

import click

from ..cli_context import aws_errors, fail, load_or_fail
from .model import NG, OK, SKIP, UNVERIFIED, Report

COLORS = {OK: "green", NG: "red", SKIP: "yellow", UNVERIFIED: "magenta"}


def render_report(report: Report, color: bool = False) -> str:
    lines = []
    for check in report.checks:
        line = str(check)
        lines.append(click.style(line, fg=COLORS[check.status]) if color else line)
    lines.append(f"verify: {report.summary()}")
    return "\n".join(lines)


def verify_exit_code(report: Report, strict: bool) -> int:
    return 1 if report.failed or (strict and report.unverified) else 0


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--tfstate", multiple=True, help="Terraform state for ${tfstate:...} references: FILE or s3://bucket/key.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 when a check could not be verified (permission denied) too.")
@click.pass_obj
def verify_command(state, paths: tuple[str, ...], tfstate: tuple[str, ...], output: str, strict: bool) -> None:
    """Check, before anything is written, what the manifests depend on: roles, images, secrets, log
    groups, subnets and security groups, target groups, capacity providers, namespaces, Fargate sizes."""
    import sys

    from . import verify

    desired = load_or_fail(paths, state, tfstate)
    if desired.targets:
        fail("verify does not support Target manifests yet: it checks the ambient account and Region only")
    with aws_errors():
        report = verify(desired, state.clients())
    if output == "json":
        click.echo(json.dumps(report.document(), indent=2))
    else:
        click.echo(render_report(report, color=sys.stdout.isatty()))
    raise SystemExit(verify_exit_code(report, strict))
