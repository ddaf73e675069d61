"""`ecs-reconciler events setup|teardown`: the EventBridge rule and SQS queue of the event stream."""

from __future__ import annotations

import json

import click

from .event_plumbing import OwnershipError, setup_event_stream, teardown_event_stream


@click.group()
def events() -> None:
    """Create or remove the ECS event stream (EventBridge rule -> SQS queue) the controller reads."""


@events.command()
@click.option("--name", default="ecs-reconciler", show_default=True, help="Name of the queue and rule.")
@click.pass_obj
def setup(state, name: str) -> None:
    """Create the queue, its policy and the rule, idempotently and tagged as ours; print the queue URL."""
    try:
        result = setup_event_stream(state.clients(), name=name, instance=state.instance)
    except OwnershipError as exc:
        raise click.ClickException(str(exc))
    click.echo(json.dumps(result, indent=2))
    click.echo(f"Run the controller with --events-queue {result['queue_url']}", err=True)


@events.command()
@click.option("--name", default="ecs-reconciler", show_default=True)
@click.pass_obj
def teardown(state, name: str) -> None:
    """Remove the queue and rule (only if they carry our ownership tag)."""
    click.echo(json.dumps(teardown_event_stream(state.clients(), name=name, instance=state.instance), indent=2))
