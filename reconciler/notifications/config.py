"""Which destinations to notify, from a YAML file (`--notify-config`) and flags (flags win).

```yaml
slack: {url: https://hooks.slack.com/services/...}
webhook: {url: https://hooks.example.com/ecs, secret: ...}
github: {repository: acme/deploy, token: ..., api: https://api.github.com}
rateLimit: {burst: 10, perMinute: 30}
attempts: 4
```
Secrets (the Slack URL, the webhook secret, the GitHub token) are better passed by environment
variable: the flags read `ECS_RECONCILER_NOTIFY_*`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .destinations import GitHubStatus, JsonWebhook, SlackWebhook
from .dispatcher import Notifier

MAX_FILE = 64 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Slack(_Model):
    url: str = Field(pattern=r"^https?://")


class Webhook(_Model):
    url: str = Field(pattern=r"^https?://")
    secret: str | None = None


class GitHub(_Model):
    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    token: str
    api: str = Field("https://api.github.com", pattern=r"^https?://")


class RateLimit(_Model):
    burst: int = Field(10, ge=1)
    per_minute: float = Field(30.0, gt=0, alias="perMinute")


class NotificationConfig(_Model):
    slack: Slack | None = None
    webhook: Webhook | None = None
    github: GitHub | None = None
    rate_limit: RateLimit = Field(default_factory=RateLimit, alias="rateLimit")
    attempts: int = Field(4, ge=1, le=10)

    def notifier(self, backoff: float = 1.0) -> Notifier:
        destinations: list[Any] = []
        if self.slack:
            destinations.append(SlackWebhook(self.slack.url))
        if self.webhook:
            destinations.append(JsonWebhook(self.webhook.url, self.webhook.secret.encode() if self.webhook.secret else None))
        if self.github:
            destinations.append(GitHubStatus(self.github.repository, self.github.token, self.github.api))
        return Notifier(destinations, attempts=self.attempts, backoff=backoff, burst=self.rate_limit.burst,
                        per_minute=self.rate_limit.per_minute)


class NotificationConfigError(ValueError):
    """The config file or flags are not a valid notification setup: says where and what."""


def load(path: str | None = None, **flags: Any) -> NotificationConfig:
    """The file (if any) with the flags given on top; `flags` are slack_url, webhook_url,
    webhook_secret, github_repository, github_token, github_api, burst, per_minute (None: not given)."""
    data: dict[str, Any] = {}
    if path:
        file = Path(path)
        if file.stat().st_size > MAX_FILE:
            raise NotificationConfigError(f"{path}: over {MAX_FILE} bytes")
        try:
            data = yaml.safe_load(file.read_text()) or {}
        except yaml.YAMLError as exc:
            raise NotificationConfigError(f"{path}: not YAML: {exc}") from None
        if not isinstance(data, dict):
            raise NotificationConfigError(f"{path}: expected a mapping at the top")
    for section, key, flag in (("slack", "url", "slack_url"), ("webhook", "url", "webhook_url"),
                               ("webhook", "secret", "webhook_secret"), ("github", "repository", "github_repository"),
                               ("github", "token", "github_token"), ("github", "api", "github_api")):
        if flags.get(flag):
            part = data.setdefault(section, {})
            if not isinstance(part, dict):
                raise NotificationConfigError(f"{path}: {section}: expected a mapping")
            part[key] = flags[flag]
    for key, flag in (("burst", "burst"), ("perMinute", "per_minute")):
        if flags.get(flag) is not None:
            limit = data.setdefault("rateLimit", {})
            if not isinstance(limit, dict):
                raise NotificationConfigError(f"{path}: rateLimit: expected a mapping")
            limit[key] = flags[flag]
    try:
        return NotificationConfig.model_validate(data)
    except ValidationError as exc:
        where = f"{path}: " if path else ""
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        raise NotificationConfigError(f"{where}notification settings: {problems}") from None
