"""`ecs-reconciler run`: the controller as a long-running process.

SIGTERM/SIGINT only set a flag: the main thread then stops the workers, which finish the
reconcile (and apply) in flight, and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading

import click

from ..apply.flap_guard import DEFAULT_LIMIT
from ..observed.rollouts import ROLLOUT_TIMEOUT
from ..notifications.dispatcher import NotificationCollector
from ..notifications.options import notification_options, notifier_from
from .loop import Controller, ControllerConfig

log = logging.getLogger("reconciler.controller")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host or "127.0.0.1", int(port)


def build_server(controller: Controller, host: str = "127.0.0.1", port: int = 0, webhook_secret: str | None = None,
                 admin_token: str | None = None):
    """The controller's HTTP surface (not started): dashboard, probes, /metrics, /status, webhook, suspend."""
    from .dashboard import add_dashboard
    from .http import controller_server

    server = controller_server(
        host=host, port=port, registry=controller.metrics.registry, status=controller.status.document,
        ready=lambda: controller.ready, webhook_secret=webhook_secret.encode() if webhook_secret else None,
        on_push=controller.on_push if webhook_secret else None, on_suspend=controller.suspend,
        on_resume=controller.resume, admin_token=admin_token)
    add_dashboard(server, controller.status.document, lambda: controller.status.version)
    return server


def _refuse_exposed_control(listen: str, admin_token: str | None) -> None:
    """Fail before anything starts when /suspend and /resume would be open to the network."""
    from .http import loopback_only

    host, _port = _listen(listen)
    if not admin_token and not loopback_only(host):
        raise click.UsageError(
            f"--listen {listen} is reachable from other machines, and POST /suspend and /resume would accept "
            "anyone: set --admin-token (or ECS_RECONCILER_ADMIN_TOKEN), or listen on 127.0.0.1")


@click.command("run")
@click.option("--source", required=True, help="A manifests directory, or a git URL[#branch][:path].")
@click.option("--poll-interval", default=30.0, show_default=True, help="Seconds between git fetches.")
@click.option("--resync-period", default=300.0, show_default=True,
              help="Seconds between resyncs: a full re-read, or with --events-queue every service and cluster.")
@click.option("--full-resync-period", default=3600.0, show_default=True,
              help="With --events-queue: seconds between full re-reads of every kind.")
@click.option("--events-queue", help="SQS queue URL of the ECS event stream; events trigger reconciles. "
              "Each Target reads the queue of the same name in its own account and Region.")
@click.option("--self-heal/--no-self-heal", default=True, show_default=True, help="Revert out-of-band drift.")
@click.option("--prune/--no-prune", default=False, show_default=True, help="Delete owned resources removed from the source.")
@click.option("--dry-run", is_flag=True, help="Plan and report only; never write.")
@click.option("--concurrency", default=8, show_default=True,
              help="Writes in flight at once: the independent actions of each wave (one kind) run in parallel, "
                   "within the rate limits.")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT for probes, metrics, status, webhook.")
@click.option("--webhook-secret", envvar="ECS_RECONCILER_WEBHOOK_SECRET",
              help="HMAC secret of the git push webhook (POST /hooks/git); without it the route is off.")
@click.option("--admin-token", envvar="ECS_RECONCILER_ADMIN_TOKEN",
              help="Bearer token required by /suspend and /resume; needed unless --listen is a loopback address.")
@click.option("--once", is_flag=True, help="Run one pass (fetch, plan, apply) and exit: 0 if it succeeded, else 1.")
@click.option("--state-file", type=click.Path(), help="Remember applied specs across restarts (sync vs drift).")
@click.option("--cache-dir", type=click.Path(), help="Keep immutable task definition revisions here across runs.")
@click.option("--rollout-timeout", default=ROLLOUT_TIMEOUT, show_default=True,
              help="Seconds a service deployment may stay in progress before it shows as failed (0: never).")
@click.option("--flap-limit", default=DEFAULT_LIMIT, show_default=True,
              help="Stop writing a resource applied this many times in a row with the same diff that the next plan "
                   "still shows (a perpetual diff); 0: never stop.")
@click.option("--allow-replace", is_flag=True,
              help="Apply replaces (delete and create; the service is down in between). Without it a resource that "
                   "needs one is held back as needs-replace and everything else is applied.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Before each apply, run the verify checks on what it writes; a resource that fails is not applied.")
@click.option("--allow-env", multiple=True, metavar="PATTERN",
              help="Environment variables ${env:NAME} may read (a glob, repeatable; default none): anyone who can "
                   "push writes the manifests, and the controller's environment holds its own credentials.")
@click.option("--tfstate", multiple=True,
              help="Terraform state for ${tfstate:...} references: FILE or s3://bucket/key (repeatable).")
@notification_options
@click.pass_obj
def run(state, source: str, poll_interval: float, resync_period: float, full_resync_period: float,
        events_queue: str | None, self_heal: bool, prune: bool, dry_run: bool, concurrency: int, listen: str,
        webhook_secret: str | None, admin_token: str | None, once: bool, state_file: str | None, cache_dir: str | None,
        rollout_timeout: float, flap_limit: int, allow_replace: bool, verify: bool, allow_env: tuple[str, ...],
        tfstate: tuple[str, ...], **notify: str | None) -> None:
    """Run the GitOps controller: keep ECS converged to a directory or a git branch."""
    from . import logging_json

    ctx = click.get_current_context()
    root = ctx.find_root()
    chosen = root.params.get("log_level", "WARNING")
    default = root.get_parameter_source("log_level") == click.core.ParameterSource.DEFAULT
    logging_json.configure(logging.INFO if default else getattr(logging, chosen.upper()))

    if not once:
        _refuse_exposed_control(listen, admin_token)
    if notify.get("notify_github_token") and not notify.get("notify_github_repo"):
        from .happenings import github_repository

        notify["notify_github_repo"] = github_repository(source)  # statuses go to the source repository
    notifier = notifier_from(notify)
    config = ControllerConfig(source=source, poll_interval=poll_interval, resync_period=resync_period,
                              full_resync_period=full_resync_period, events_queue=events_queue,
                              self_heal=self_heal, prune=prune, dry_run=dry_run, concurrency=concurrency,
                              instance=state.instance, state_file=state_file, cache_dir=cache_dir,
                              rollout_timeout=rollout_timeout, flap_limit=flap_limit,
                              allow_replace=allow_replace, verify=verify, tfstate=tuple(tfstate),
                              allow_env=tuple(allow_env))
    controller = Controller(state.clients(), config)
    if notifier.destinations:
        controller.add_sink(notifier)
        controller.status.notifications = notifier.stats
        controller.metrics.registry.register(NotificationCollector(notifier))
        notifier.start()
    if once:
        try:
            ok = controller.sync_once()
        finally:
            controller.stop()
            notifier.flush()
            notifier.stop()
        raise SystemExit(0 if ok else 1)

    host, port = _listen(listen)
    server = build_server(controller, host, port, webhook_secret, admin_token)
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.info("signal received; finishing in-flight work", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    log.info("controller started", extra={"source": controller.status.source, "listen": server.url})
    controller.start()
    while not stop.wait(0.5):
        pass
    controller.stop()
    notifier.flush(5.0)
    notifier.stop()
    server.stop()
    log.info("controller stopped")
