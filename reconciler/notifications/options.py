"""The `--notify-*` flags, shared by `run` (the controller) and `operator`."""

from __future__ import annotations

from typing import Any, Callable

import click

from .config import NotificationConfigError, load
from .dispatcher import Notifier

OPTIONS = [
    click.option("--notify-config", type=click.Path(exists=True, dir_okay=False),
                 help="YAML file of notification destinations (slack, webhook, github); see docs/notifications.md."),
    click.option("--notify-slack-url", envvar="ECS_RECONCILER_NOTIFY_SLACK_URL",
                 help="Slack-compatible incoming webhook URL for drift, failures and source errors."),
    click.option("--notify-webhook-url", envvar="ECS_RECONCILER_NOTIFY_WEBHOOK_URL",
                 help="Generic JSON webhook URL: every happening, HMAC-signed with --notify-webhook-secret."),
    click.option("--notify-webhook-secret", envvar="ECS_RECONCILER_NOTIFY_WEBHOOK_SECRET",
                 help="HMAC-SHA256 secret of the JSON webhook (X-Ecs-Reconciler-Signature-256)."),
    click.option("--notify-github-repo", envvar="ECS_RECONCILER_NOTIFY_GITHUB_REPO", metavar="OWNER/NAME",
                 help="Set commit statuses on the applied commit in this repository."),
    click.option("--notify-github-token", envvar="ECS_RECONCILER_NOTIFY_GITHUB_TOKEN", help="Token for commit statuses."),
    click.option("--notify-github-api", envvar="ECS_RECONCILER_NOTIFY_GITHUB_API",
                 help="GitHub API URL (GitHub Enterprise); default https://api.github.com."),
    click.option("--notify-burst", type=int, help="Notifications sent at once per destination before the rate "
                                                  "limit applies (default 10)."),
    click.option("--notify-per-minute", type=float, help="Sustained notifications per minute per destination "
                                                         "(default 30); over it they are dropped and counted."),
]


def notification_options(command: Callable) -> Callable:
    for option in reversed(OPTIONS):
        command = option(command)
    return command


def notifier_from(params: dict[str, Any]) -> Notifier:
    """The notifier the `--notify-*` values in `params` ask for (no destinations: a no-op one)."""
    try:
        return load(params.get("notify_config"), slack_url=params.get("notify_slack_url"),
                    webhook_url=params.get("notify_webhook_url"), webhook_secret=params.get("notify_webhook_secret"),
                    github_repository=params.get("notify_github_repo"), github_token=params.get("notify_github_token"),
                    github_api=params.get("notify_github_api"), burst=params.get("notify_burst"),
                    per_minute=params.get("notify_per_minute")).notifier()
    except NotificationConfigError as exc:
        raise click.UsageError(str(exc)) from None
