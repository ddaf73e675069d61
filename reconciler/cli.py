"""The `ecs-reconciler` command: a thin front door onto the engine.

Exit codes: 0 success / in sync; 1 error (invalid input, AWS failure, conflict); 2 changes
pending (only with `plan --detailed-exitcode`).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from . import __version__
from .aws import AwsSettings
from .desired.loader import DesiredState
from .cli_context import EXIT_CHANGES, EXIT_ERROR, Context, aws_errors, fail, load_or_fail, require_local_extra
from .desired.kinds import MANIFEST_KINDS
from .desired.loader import DesiredState
from .engine import Engine, EngineOptions
from .errors import ReconcileError
from .observed.revisions import RevisionCache
from .ownership import DEFAULT_INSTANCE
from .report.masking import MaskingFilter, mask_text
from .report.render import render_json, render_markdown, render_text


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
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskingFilter())
    for sdk in ("botocore", "boto3", "urllib3"):
        # Their DEBUG logs print request bodies, environment values included: never below INFO.
        logging.getLogger(sdk).setLevel(max(logging.INFO, logging.getLogger().level))
    state = Context(region, endpoint_url, local, instance)
    ctx.obj = state
    ctx.call_on_close(state.stack.close)


TFSTATE_HELP = "Terraform state for ${tfstate:...} references: FILE or s3://bucket/key (repeatable; first match wins)."


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--tfstate", multiple=True, help=TFSTATE_HELP)
@click.pass_obj
def validate(state: Context, paths: tuple[str, ...], tfstate: tuple[str, ...]) -> None:
    """Validate manifests: schema, references, duplicates. No AWS call, unless a manifest takes a
    value from AWS (${ssm:...}, ${cfn:...}, a Terraform state in S3)."""
    desired = load_or_fail(paths, state, tfstate)
    click.echo(f"{len(desired)} manifests valid.")


def targeted(desired: DesiredState, targets: tuple[str, ...], prune: bool) -> tuple[DesiredState, Any]:
    """The manifests `--target` selects, with their dependencies (plan/targeting.py)."""
    from .plan.targeting import select

    if targets and prune:
        # Everything not targeted would look like a resource no manifest names any more.
        fail("--target and --prune cannot be combined")
    if targets and desired.targets:
        # KIND/NAME is ambiguous when the same name lives in several accounts (Target manifests).
        fail("--target KIND/NAME does not support Target manifests (kind: Target) yet")
    try:
        return select(desired, targets)
    except ReconcileError as exc:
        fail(str(exc))
        raise


def without_suspended(result: Any) -> Any:
    """The plan minus the services a manual rollback suspended (each named, with how to resume)."""
    from .plan.manual_rollback import suspended_by_rollback
    from .plan.model import Plan

    held = suspended_by_rollback(result)
    for rollback in held.values():
        click.echo(click.style("held: ", fg="yellow", bold=True) + f"Service/{rollback.service} {rollback.message}",
                   err=True)
    if not held:
        return result
    return Plan([a for a in result.actions if a.key not in held], result.targeting)


def _engine(state: Context, prune: bool = False, allow_replace: bool = False, cache_dir: str | None = None,
            revision: str | None = None) -> Engine:
    options = EngineOptions(instance=state.instance, prune=prune, allow_replace=allow_replace, revision=revision)
    return Engine(state.clients(), options, RevisionCache(cache_dir))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--output", "-o", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending (0 when in sync).")
@click.option("--prune", is_flag=True, help="Also plan deleting owned resources that no manifest names.")
@click.option("--show-sensitive", is_flag=True, help="Show values that look secret (masked by default).")
@click.option("--no-color", is_flag=True, help="Plain text output.")
@click.option("--cache-dir", type=click.Path(), help="Keep immutable task definition revisions here across runs.")
@click.option("--tfstate", multiple=True, help=TFSTATE_HELP)
@click.option("--show-origins", is_flag=True, help="Also show where each ${...} value came from.")
@click.option("--verify", "run_verify", is_flag=True, help="Also run the `verify` checks; exit 1 when one fails.")
@click.option("--target", "targets", multiple=True, metavar="KIND/NAME",
              help="Plan only this resource and what it depends on (repeatable).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Save the plan here, with fingerprints of what it read, for `apply --plan FILE`.")
@click.pass_obj
def plan(state: Context, paths: tuple[str, ...], output: str, detailed_exitcode: bool, prune: bool,
         show_sensitive: bool, no_color: bool, cache_dir: str | None, tfstate: tuple[str, ...], show_origins: bool,
         run_verify: bool, targets: tuple[str, ...], out_file: str | None) -> None:
    """Show what apply would change (a dry run)."""
    from .plan.saved import SavedPlan
    from .report.render import plan_document
    from .verify import verify
    from .verify.command import render_report

    desired, targeting = targeted(load_or_fail(paths, state, tfstate), targets, prune)
    color = not no_color and sys.stdout.isatty()
    if desired.targets:
        if run_verify or show_origins or out_file:
            fail("--verify, --show-origins and --out do not support Target manifests yet")
        _plan_by_target(state, desired, output, detailed_exitcode, prune, show_sensitive, color, cache_dir)
        return
    with aws_errors():
        report = verify(desired, state.clients()) if run_verify else None
        engine = _engine(state, prune=prune, cache_dir=cache_dir)
        observed = engine.observe(desired)
        result = engine.plan(desired, observed)
        result.targeting = targeting
    if out_file:
        SavedPlan.make(result, desired, observed, list(paths),
                       {"instance": state.instance, "prune": prune, "targets": list(targets)},
                       plan_document(result)).write(out_file)
        click.echo(f"Saved the plan to {out_file}: apply exactly it with `ecs-reconciler apply --plan {out_file}`.",
                   err=True)
    if output == "json":
        doc = json.loads(render_json(result, show_sensitive))
        if show_origins:
            doc["origins"] = [o.document() for o in desired.origins]
        if report is not None:
            doc["verify"] = report.document()
        click.echo(json.dumps(doc, indent=2))
    else:
        if report is not None:
            click.echo(render_report(report, color=color) + "\n")
        text = (render_markdown(result, show_sensitive) if output == "markdown"
                else render_text(result, color=color, show_sensitive=show_sensitive))
        click.echo(text)
        if show_origins:
            click.echo("\nValues from elsewhere:" if desired.origins else "\nNo values from elsewhere.")
            for origin in desired.origins:
                click.echo(f"  {origin}")
    if result.conflicts or (report is not None and report.failed):
        raise SystemExit(EXIT_ERROR)
    if detailed_exitcode and result.has_changes:
        raise SystemExit(EXIT_CHANGES)


def _target_engines(state: Context, desired: DesiredState, prune: bool = False, allow_replace: bool = False,
                    cache_dir: str | None = None, revision: str | None = None) -> Any:
    from .target_engines import TargetEngines

    options = EngineOptions(instance=state.instance, prune=prune, allow_replace=allow_replace, revision=revision)
    return TargetEngines(desired, state.settings(), options, cache_dir=cache_dir)


def _plan_by_target(state: Context, desired: DesiredState, output: str, detailed_exitcode: bool, prune: bool,
                    show_sensitive: bool, color: bool, cache_dir: str | None) -> None:
    """`plan` over several targets: in parallel, one section per target; a failed target exits 1."""
    from .report.by_target import render_json_by_target, render_markdown_by_target, render_text_by_target

    engines = _target_engines(state, desired, prune=prune, cache_dir=cache_dir)
    runs = engines.plan()
    if output == "json":
        click.echo(render_json_by_target(runs, show_sensitive))
    elif output == "markdown":
        click.echo(render_markdown_by_target(runs, show_sensitive))
    else:
        click.echo(render_text_by_target(runs, color=color, show_sensitive=show_sensitive))
    if engines.failed or engines.conflicts:
        raise SystemExit(EXIT_ERROR)
    if detailed_exitcode and engines.has_changes:
        raise SystemExit(EXIT_CHANGES)


def _apply_by_target(state: Context, desired: DesiredState, yes: bool, prune: bool, allow_replace: bool,
                     show_sensitive: bool, cache_dir: str | None, revision: str | None,
                     wait_timeout: float | None = None, poll: float = 5.0) -> None:
    """`apply` over several targets: plan all, confirm once, apply every target in parallel; the
    targets that fail are reported on their own section and make the command exit 1."""
    from .report.by_target import render_text_by_target

    engines = _target_engines(state, desired, prune=prune, allow_replace=allow_replace, cache_dir=cache_dir,
                              revision=revision)
    engines.plan()
    click.echo(render_text_by_target(engines.runs, color=sys.stdout.isatty(), show_sensitive=show_sensitive))
    if engines.has_changes:
        if not yes:
            if not sys.stdin.isatty():
                fail("refusing to apply without confirmation: pass --yes")
            click.confirm("Apply these changes?", abort=True)
        engines.apply(on_progress=lambda message: click.echo(f"  {message}", err=True))
        if wait_timeout is not None:
            engines.wait(timeout=wait_timeout, poll=poll)
    for run in engines.runs:
        if run.error:
            click.echo(click.style("error: ", fg="red", bold=True) + f"target {run.label}: {run.error}", err=True)
        elif run.applied is not None:
            steady = f"; {len(run.rollouts)} service(s) reached steady state" if run.rollouts else ""
            click.echo(f"Target {run.label}: applied {len(run.applied.outcomes)} change(s){steady}.")
    if engines.failed:
        raise SystemExit(EXIT_ERROR)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--target", "targets", multiple=True, metavar="KIND/NAME",
              help="Apply only this resource and what it depends on (repeatable).")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False),
              help="Apply exactly this saved plan (`plan --out`); refused when anything it read has changed since.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option("--prune", is_flag=True, help="Delete owned resources that no manifest names.")
@click.option("--wait/--no-wait", default=False, help="Wait for services to reach steady state.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for steady state.")
@click.option("--allow-replace", is_flag=True, help="Allow deleting and re-creating resources ECS cannot update in place.")
@click.option("--show-sensitive", is_flag=True, help="Show values that look secret (masked by default).")
@click.option("--cache-dir", type=click.Path(), help="Keep immutable task definition revisions here across runs.")
@click.option("--revision", help="Record this source revision (e.g. a git commit) in the ecs-reconciler.io/revision tag.")
@click.option("--events-queue", envvar="ECS_RECONCILER_EVENTS_QUEUE",
              help="Follow rollouts through this event-stream queue (see `events setup`); polling is the fallback.")
@click.option("--tfstate", multiple=True, help=TFSTATE_HELP)
@click.pass_obj
def apply(state: Context, paths: tuple[str, ...], targets: tuple[str, ...], plan_file: str | None, yes: bool, prune: bool, wait: bool,
          timeout: float, allow_replace: bool, show_sensitive: bool, cache_dir: str | None, revision: str | None,
          events_queue: str | None, tfstate: tuple[str, ...]) -> None:
    """Converge AWS to the manifests (PATHS), or apply a saved plan (--plan FILE)."""
    from .plan.saved import SavedPlan
    from .report.progress import RolloutProgress

    saved = None
    if plan_file:
        with aws_errors():
            saved = SavedPlan.read(plan_file)
        if saved.options.get("instance", state.instance) != state.instance:
            fail(f"{plan_file} was planned by instance {saved.options.get('instance')!r}, not {state.instance!r}")
        if targets:
            fail("--target cannot change a saved plan: plan again with --target")
        paths = paths or tuple(saved.sources)
        prune = bool(saved.options.get("prune"))
        targets = tuple(saved.options.get("targets") or ())
    elif not paths:
        fail("name the manifests to apply (PATHS), or a saved plan (--plan FILE)")
    desired, targeting = targeted(load_or_fail(paths, state, tfstate), targets, prune)
    if desired.targets:
        if saved is not None:
            fail("saved plans (--plan) do not support Target manifests yet")
        if wait and events_queue:
            fail("--events-queue names one queue: with Target manifests, --wait polls each target")
        _apply_by_target(state, desired, yes, prune, allow_replace, show_sensitive, cache_dir, revision,
                         wait_timeout=timeout if wait else None, poll=0.5 if state.local or _is_local(state) else 5.0)
        return
    with aws_errors():
        engine = _engine(state, prune=prune, allow_replace=allow_replace, cache_dir=cache_dir, revision=revision)
        observed = engine.observe(desired)
        result = engine.plan(desired, observed)
        result.targeting = targeting
        if saved is not None:
            stale = saved.stale(result, desired, observed)
            if stale:
                fail(f"the saved plan {plan_file} is out of date; nothing was applied. Since it was made (at "
                     f"{saved.created}):\n  " + "\n  ".join(stale) + "\nPlan again.")
        click.echo(render_text(result, color=sys.stdout.isatty(), show_sensitive=show_sensitive))
        result = without_suspended(result)
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
                                       on_problem=lambda problem: click.echo(f"  warning: {mask_text(problem)}", err=True))
            click.echo(f"\n{len(statuses)} service(s) reached steady state.")


def _is_local(state: Context) -> bool:
    return AwsSettings(endpoint_url=state.endpoint_url).is_local()


@cli.command()
@click.option("--kind", type=click.Choice(list(MANIFEST_KINDS)),
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

from .verify.command import verify_command as _verify_command  # noqa: E402
cli.add_command(_verify_command)

from .rollback import resume as _resume_command, rollback as _rollback_command  # noqa: E402
cli.add_command(_rollback_command)
cli.add_command(_resume_command)


def main() -> None:
    cli(prog_name="ecs-reconciler")


if __name__ == "__main__":
    main()
