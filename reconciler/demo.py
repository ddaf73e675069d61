"""`make demo`: the whole loop on an embedded local ECS endpoint, one clearly printed step at a time.

validate -> plan (all creates) -> apply --wait -> plan (in sync) -> an out-of-band change made with
boto3 -> plan shows exactly that drift -> apply heals it -> plan in sync.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import cli
from .local import LocalEndpoint

MANIFESTS = str(Path(__file__).resolve().parent.parent / "manifests")


def step(number: int, title: str) -> None:
    click.echo()
    click.secho(f"== Step {number}: {title}", fg="cyan", bold=True)


def run(endpoint: LocalEndpoint, *args: str, expect: int = 0) -> None:
    argv = ["--endpoint-url", endpoint.url, "--region", endpoint.region, *args]
    click.secho("$ ecs-reconciler " + " ".join(args), fg="white", dim=True)
    try:
        cli.main(argv, prog_name="ecs-reconciler", standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    click.secho(f"(exit code {code})", dim=True)
    if code != expect:
        click.secho(f"demo failed: expected exit code {expect}, got {code}", fg="red", err=True)
        raise SystemExit(1)


def out_of_band_change(endpoint: LocalEndpoint) -> None:
    """What a person in the console might do: scale a service, and ship a task definition tweak."""
    ecs = endpoint.client("ecs")
    ecs.update_service(cluster="shop", service="shop-web", desiredCount=4)
    click.echo("  scaled shop-web from 2 to 4 tasks")
    current = ecs.describe_task_definition(taskDefinition="shop-web", include=["TAGS"])
    body = current["taskDefinition"]
    for variable in body["containerDefinitions"][0]["environment"]:
        if variable["name"] == "LOG_LEVEL":
            variable["value"] = "debug"
    keep = ("networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "runtimePlatform")
    registered = ecs.register_task_definition(
        family="shop-web", containerDefinitions=body["containerDefinitions"], tags=current.get("tags", []),
        **{k: body[k] for k in keep if k in body})["taskDefinition"]
    ecs.update_service(cluster="shop", service="shop-web", taskDefinition=registered["taskDefinitionArn"])
    click.echo(f"  registered shop-web:{registered['revision']} with LOG_LEVEL=debug and deployed it")


def main() -> None:
    with LocalEndpoint(settle_seconds=1.0) as endpoint:
        click.secho(f"Local ECS endpoint at {endpoint.url} (no AWS account needed)", fg="green")
        step(1, "validate the example app's manifests")
        run(endpoint, "validate", MANIFESTS)
        step(2, "plan: everything is to be created (exit code 2 with --detailed-exitcode)")
        run(endpoint, "plan", MANIFESTS, "--detailed-exitcode", expect=2)
        step(3, "apply and wait for the services to reach steady state")
        run(endpoint, "apply", MANIFESTS, "--yes", "--wait", "--timeout", "60")
        step(4, "plan again: in sync (exit code 0)")
        run(endpoint, "plan", MANIFESTS, "--detailed-exitcode")
        step(5, "an out-of-band change, made with boto3")
        out_of_band_change(endpoint)
        step(6, "plan shows exactly that drift, with field paths")
        run(endpoint, "plan", MANIFESTS, "--detailed-exitcode", expect=2)
        step(7, "apply heals it")
        run(endpoint, "apply", MANIFESTS, "--yes", "--wait", "--timeout", "60")
        step(8, "plan: in sync again")
        run(endpoint, "plan", MANIFESTS, "--detailed-exitcode")
    click.secho("\nDemo complete.", fg="green", bold=True)


if __name__ == "__main__":
    sys.exit(main())
