"""`ecs-reconciler rollback` and `resume`: put a previous task definition revision back by hand,
and hand the service back to its manifest afterwards.

A rollback is an UpdateService to another revision of the family the service runs (the previous
ACTIVE one, or `--to`), then a tag that records it (plan/manual_rollback.py): the controller and the
operator see the tag and suspend that service's sync, so the next reconcile does not deploy the
revision that was just rolled back from. `resume` removes the tag. Like `apply --wait`, rollback
follows the deployment to steady state and fails with ECS's reason.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from .aws import AwsSettings
from .cli_context import aws_errors, fail
from .diff.rules import family_revision
from .ownership import ROLLED_BACK, is_owned, tag_list_to_dict
from .plan.manual_rollback import ManualRollback, record_value


def _service(clients, cluster: str, name: str) -> tuple[dict, dict[str, str]]:
    found = clients.ecs.describe_services(cluster=cluster, services=[name], include=["TAGS"]).get("services", [])
    found = [s for s in found if s.get("status") != "INACTIVE"]
    if not found:
        fail(f"service {name} not found in cluster {cluster}")
    return found[0], tag_list_to_dict(found[0].get("tags"))


def _previous_revision(clients, family: str, current: int) -> str | None:
    """The newest ACTIVE revision of `family` older than `current`."""
    paginator = clients.ecs.get_paginator("list_task_definitions")
    for page in paginator.paginate(familyPrefix=family, status="ACTIVE", sort="DESC"):
        for arn in page.get("taskDefinitionArns", []):
            fam, _, number = family_revision(arn).rpartition(":")
            if fam == family and number.isdigit() and int(number) < current:
                return f"{family}:{number}"
    return None


def _target(clients, family: str, current: int, to: str | None) -> str:
    if to is None:
        found = _previous_revision(clients, family, current)
        if found is None:
            fail(f"no ACTIVE revision of {family} older than {family}:{current} to roll back to (name one with --to)")
        return found
    if to.isdigit():
        return f"{family}:{to}"
    named = family_revision(to) or to
    if named.rpartition(":")[0] != family:
        fail(f"--to {to}: the service runs family {family}; name a revision of it (N, {family}:N or its ARN)")
    return named


@click.command("rollback")
@click.argument("service")
@click.option("--cluster", default="default", show_default=True, help="The cluster the service runs in.")
@click.option("--to", "to", metavar="REVISION", help="The revision to put back: N, family:N or an ARN (default: the previous one).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the service to reach steady state.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for steady state.")
@click.pass_obj
def rollback(state, service: str, cluster: str, to: str | None, wait: bool, timeout: float) -> None:
    """Put the previous (or a named) task definition revision of SERVICE back, and suspend its sync
    in the controller and the operator until `ecs-reconciler resume`."""
    from .apply.wait import wait_for_services
    from .report.progress import RolloutProgress

    with aws_errors():
        clients = state.clients()
        body, tags = _service(clients, cluster, service)
        if not is_owned(tags, state.instance):
            fail(f"service {service} in {cluster} is not managed by {state.instance!r}: nothing was changed")
        current = family_revision(body.get("taskDefinition"))
        family, _, number = current.rpartition(":")
        target = _target(clients, family, int(number), to)
        if target == current:
            fail(f"service {service} already runs {current}")
        arn = clients.ecs.describe_task_definition(taskDefinition=target)["taskDefinition"]["taskDefinitionArn"]
        clients.ecs.update_service(cluster=cluster, service=service, taskDefinition=arn)
        when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = record_value(target, current, when)
        clients.ecs.tag_resource(resourceArn=body["serviceArn"], tags=[{"key": ROLLED_BACK, "value": record}])
        rolled = ManualRollback(service, cluster, record)
        click.echo(f"Rolled service {service} back from {current} to {target}.")
        click.echo(f"The controller and the operator will not deploy it again until resumed: {rolled.resume_command}")
        if wait:
            local = state.local or AwsSettings(endpoint_url=state.endpoint_url).is_local()
            with RolloutProgress() as progress:
                wait_for_services(clients, [(cluster, service)], timeout=timeout, poll=0.5 if local else 5.0,
                                  on_progress=progress.update)
            click.echo(f"Service {service} reached steady state on {target}.")


@click.command("resume")
@click.argument("service")
@click.option("--cluster", default="default", show_default=True, help="The cluster the service runs in.")
@click.pass_obj
def resume(state, service: str, cluster: str) -> None:
    """Hand SERVICE back to its manifest after `rollback`: the next reconcile deploys the manifest again."""
    with aws_errors():
        clients = state.clients()
        body, tags = _service(clients, cluster, service)
        if not is_owned(tags, state.instance):
            fail(f"service {service} in {cluster} is not managed by {state.instance!r}: nothing was changed")
        if ROLLED_BACK not in tags:
            click.echo(f"Service {service} is not suspended by a rollback: nothing to resume.")
            sys.exit(0)
        clients.ecs.untag_resource(resourceArn=body["serviceArn"], tagKeys=[ROLLED_BACK])
    click.echo(f"Resumed service {service} (was {tags[ROLLED_BACK]}): the next reconcile or apply deploys its "
               "manifest again; `ecs-reconciler plan` shows what that will do.")
