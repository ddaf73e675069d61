"""The `ecs-reconciler` command: a thin front door onto the engine.

Exit codes: 0 success / in sync; 1 error (invalid input, AWS failure, conflict); 2 changes
pending (only with `plan --detailed-exitcode`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

import click
from botocore.exceptions import BotoCoreError, ClientError

from . import __version__
from .aws import AwsSettings, Clients
from .desired.loader import DesiredState, load_manifests
from .engine import Engine, EngineOptions
from .errors import InvalidManifests, ReconcileError
from .observed.revisions import RevisionCache
from .ownership import DEFAULT_INSTANCE
from .report.render import render_json, render_markdown, render_text

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@dataclass
class Context:
    region: str | None = None
    endpoint_url: str | None = None
    local: bool = False
    instance: str = DEFAULT_INSTANCE
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def clients(self) -> Clients:
        endpoint = self.endpoint_url
        if self.local:
            endpoint = self.start_local().url
        return Clients(AwsSettings(region=self.region or ("us-east-1" if self.local else None), endpoint_url=endpoint))

    def start_local(self) -> Any:
        require_local_extra()
        from .local import stable_ids
        from .local.server import LocalEndpoint

        if not hasattr(self, "_local"):
            stable_ids.install()
            self._local = self.stack.enter_context(LocalEndpoint(settle_seconds=1.0))
            click.echo(f"Started a local ECS endpoint at {self._local.url}", err=True)
        return self._local


def fail(message: str) -> None:
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    raise SystemExit(EXIT_ERROR)


def require_local_extra() -> None:
    """The embedded endpoint's moto and cheroot come only with the optional `local` extra: say so."""
    try:
        import reconciler.local  # noqa: F401
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing == "reconciler":
            raise
        fail(f"the local endpoint needs the optional 'local' extra ({missing} is not installed): "
             "pip install 'ecs-reconciler[local]', or pipx install 'ecs-reconciler[local]'")


def load_or_fail(paths: tuple[str, ...]) -> DesiredState:
    try:
        return load_manifests(paths)
    except InvalidManifests as exc:
        for error in exc.errors:
            click.echo(click.style("error: ", fg="red", bold=True) + str(error), err=True)
        click.echo(f"{len(exc.errors)} error(s); nothing was changed.", err=True)
        raise SystemExit(EXIT_ERROR)


@contextlib.contextmanager
def aws_errors() -> Iterator[None]:
    try:
        yield
    except ReconcileError as exc:
        fail(str(exc))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        fail(f"AWS {exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as exc:
        fail(f"AWS call failed: {exc}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ecs-reconciler")
@click.option("--region", envvar="AWS_REGION", help="AWS region (default: AWS_REGION, then us-east-1).")
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="Send AWS calls here (e.g. a local endpoint).")
@click.option("--local", is_flag=True,
              help="Run this command against an embedded local ECS endpoint (needs the optional 'local' extra).")
@click.option("--instance", default=DEFAULT_INSTANCE, show_default=True,
              help="This reconciler's name: the value of its ownership tag. Instances never touch each other's resources.")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.pass_context
def cli(ctx: click.Context, region: str | None, endpoint_url: str | None, local: bool, instance: str, log_level: str) -> None:
    """Reconcile Amazon ECS with declarative manifests: clusters, task definitions, services, scheduled tasks."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    for sdk in ("botocore", "boto3", "urllib3"):
        # Their DEBUG logs print request bodies, environment values included: never below INFO.
        logging.getLogger(sdk).setLevel(max(logging.INFO, logging.getLogger().level))
    state = Context(region, endpoint_url, local, instance)
    ctx.obj = state
    ctx.call_on_close(state.stack.close)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Validate manifests offline: schema, references, duplicates. No AWS call."""
    desired = load_or_fail(paths)
    click.echo(f"{len(desired)} manifests valid.")


def _engine(state: Context, prune: bool = False, allow_replace: bool = False, cache_dir: str | None = None,
            revision: str | None = None) -> Engine:
    options = EngineOptions(instance=state.instance, prune=prune, allow_replace=allow_replace, revision=revision)
    return Engine(state.clients(), options, RevisionCache(cache_dir))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--output", "-o", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending (0 when in sync).")
@click.option("--prune", is_flag=True, help="Also plan deleting owned resources that no manifest names.")
@click.option("--show-sensitive", is_flag=True, help="Show values of sensitive-looking environment variables.")
@click.option("--no-color", is_flag=True, help="Plain text output.")
@click.option("--cache-dir", type=click.Path(), help="Keep immutable task definition revisions here across runs.")
@click.pass_obj
def plan(state: Context, paths: tuple[str, ...], output: str, detailed_exitcode: bool, prune: bool,
         show_sensitive: bool, no_color: bool, cache_dir: str | None) -> None:
    """Show what apply would change (a dry run)."""
    desired = load_or_fail(paths)
    with aws_errors():
        result = _engine(state, prune=prune, cache_dir=cache_dir).plan(desired)
    if output == "json":
        click.echo(render_json(result, show_sensitive))
    elif output == "markdown":
        click.echo(render_markdown(result, show_sensitive))
    else:
        click.echo(render_text(result, color=not no_color and sys.stdout.isatty(), show_sensitive=show_sensitive))
    if result.conflicts:
        raise SystemExit(EXIT_ERROR)
    if detailed_exitcode and result.has_changes:
        raise SystemExit(EXIT_CHANGES)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option("--prune", is_flag=True, help="Delete owned resources that no manifest names.")
@click.option("--wait/--no-wait", default=False, help="Wait for services to reach steady state.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for steady state.")
@click.option("--allow-replace", is_flag=True, help="Allow deleting and re-creating resources ECS cannot update in place.")
@click.option("--show-sensitive", is_flag=True, help="Show values of sensitive-looking environment variables.")
@click.option("--cache-dir", type=click.Path(), help="Keep immutable task definition revisions here across runs.")
@click.option("--revision", help="Record this source revision (e.g. a git commit) in the ecs-reconciler.io/revision tag.")
@click.option("--events-queue", envvar="ECS_RECONCILER_EVENTS_QUEUE",
              help="Follow rollouts through this event-stream queue (see `events setup`); polling is the fallback.")
@click.pass_obj
def apply(state: Context, paths: tuple[str, ...], yes: bool, prune: bool, wait: bool, timeout: float,
          allow_replace: bool, show_sensitive: bool, cache_dir: str | None, revision: str | None,
          events_queue: str | None) -> None:
    """Converge AWS to the manifests."""
    from .report.progress import RolloutProgress

    desired = load_or_fail(paths)
    with aws_errors():
        engine = _engine(state, prune=prune, allow_replace=allow_replace, cache_dir=cache_dir, revision=revision)
        result = engine.plan(desired)
        click.echo(render_text(result, color=sys.stdout.isatty(), show_sensitive=show_sensitive))
        if not result.has_changes:
            return
        if not yes:
            if not sys.stdin.isatty():
                fail("refusing to apply without confirmation: pass --yes")
            click.confirm("Apply these changes?", abort=True)
        applied = engine.apply(result, on_progress=lambda message: click.echo(f"  {message}", err=True))
        click.echo(f"Applied {len(applied.outcomes)} change(s).")
        if wait and applied.services:
            with RolloutProgress() as progress:
                statuses = engine.wait(applied, timeout=timeout, poll=0.5 if state.local or _is_local(state) else 5.0,
                                       on_progress=progress.update, events_queue=events_queue,
                                       on_problem=lambda problem: click.echo(f"  warning: {problem}", err=True))
            click.echo(f"\n{len(statuses)} service(s) reached steady state.")


def _is_local(state: Context) -> bool:
    return AwsSettings(endpoint_url=state.endpoint_url).is_local()


@cli.command()
@click.option("--kind", type=click.Choice(["Cluster", "TaskDefinition", "Service", "ScheduledTask"]),
              help="Only this kind's schema.")
def schema(kind: str | None) -> None:
    """Print the manifests' JSON Schema (for editors, through yaml-language-server)."""
    from .desired.schema import json_schema

    click.echo(json.dumps(json_schema(kind), indent=2))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=4566, show_default=True)
@click.option("--settle-seconds", default=1.0, show_default=True, help="How long a deployment takes to complete.")
def local(host: str, port: int, settle_seconds: float) -> None:
    """Serve the embedded local ECS endpoint (moto plus a scheduler that runs services; the 'local' extra)."""
    require_local_extra()
    from .local.server import serve

    serve(host, port, settle_seconds=settle_seconds)


from .controller.command import run as _run_command  # noqa: E402
cli.add_command(_run_command)


from .operator.command import operator  # noqa: E402
cli.add_command(operator)

from .export import export as _export_command  # noqa: E402
cli.add_command(_export_command)

from .observed.events_command import events as _events_command  # noqa: E402
cli.add_command(_events_command)

from .iam_policy import iam_policy as _iam_policy_command  # noqa: E402
cli.add_command(_iam_policy_command)


def main() -> None:
    cli(prog_name="ecs-reconciler")


if __name__ == "__main__":
    main()
