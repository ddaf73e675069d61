"""`ecs-reconciler events setup|teardown`: the EventBridge rule and SQS queue of the event stream."""

from __future__ import annotations

import json

import click

from .event_plumbing import OwnershipError, setup_event_stream, teardown_event_stream


@click.group()
def events() -> None:
    """Create or remove the ECS event stream (EventBridge rule -> SQS queue) the controller reads."""


def _each_target(state, paths: tuple[str, ...], only: str | None, work) -> dict:
    """Run `work(clients)` in the ambient account (no PATHS), or in every Target of the manifests under
    PATHS (or only `--target`); print one JSON object, by target. ECS events stay in their account and
    Region, so each target needs its own rule and queue."""
    if not paths:
        if only:
            raise click.UsageError("--target names a Target of the manifests: give their PATHS too")
        result = work(state.clients())
        click.echo(json.dumps(result, indent=2))
        return result
    from ..aws import Clients
    from ..cli_context import load_or_fail
    from ..target_engines import AMBIENT, target_settings

    desired = load_or_fail(paths, state)
    if only and only not in desired.targets:
        raise click.UsageError(f"no Target named {only!r} in {', '.join(paths)} "
                               f"(targets: {', '.join(sorted(desired.targets)) or 'none'})")
    results = {}
    for name, part in desired.by_target().items():
        if only and name != only:
            continue
        target = part.targets[name].manifest if name is not None else None
        results[name or AMBIENT] = work(Clients(target_settings(state.settings(), target)))
    click.echo(json.dumps(results, indent=2))
    return results


@events.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--name", default="ecs-reconciler", show_default=True, help="Name of the queue and rule.")
@click.option("--target", "only", help="Only this Target of the manifests under PATHS.")
@click.pass_obj
def setup(state, paths: tuple[str, ...], name: str, only: str | None) -> None:
    """Create the queue, its policy and the rule, idempotently and tagged as ours; print the queue URL.
    With PATHS: in every Target (account and Region) their manifests declare, or only --target."""
    def work(clients):
        try:
            return setup_event_stream(clients, name=name, instance=state.instance)
        except OwnershipError as exc:
            raise click.ClickException(str(exc))

    result = _each_target(state, paths, only, work)
    if not paths:
        click.echo(f"Run the controller with --events-queue {result['queue_url']}", err=True)


@events.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--name", default="ecs-reconciler", show_default=True)
@click.option("--target", "only", help="Only this Target of the manifests under PATHS.")
@click.pass_obj
def teardown(state, paths: tuple[str, ...], name: str, only: str | None) -> None:
    """Remove the queue and rule (only if they carry our ownership tag); with PATHS, in each Target."""
    _each_target(state, paths, only, lambda clients: teardown_event_stream(clients, name=name, instance=state.instance))
