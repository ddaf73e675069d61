"""Where notifications go, each one a small class that turns a happening into one HTTP request.

- `SlackWebhook`: a Slack-compatible incoming webhook (`{"text": ...}`; Mattermost, Rocket.Chat
  and Teams' Slack-compatible endpoints take the same).
- `JsonWebhook`: the happening as JSON, signed like GitHub signs its webhooks
  (`X-Ecs-Reconciler-Signature-256: sha256=HMAC-SHA256(secret, body)`), so the receiver can tell
  it came from us.
- `GitHubStatus`: a commit status on the applied commit (`POST /repos/{repo}/statuses/{sha}`).

A destination raises `DeliveryError` on a failed delivery; retrying is the dispatcher's job.
URLs may hold secrets (a Slack webhook URL is one): they are never logged or shown.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..controller.happenings import Happening
from ..controller.webhook import sign

SIGNATURE_HEADER = "X-Ecs-Reconciler-Signature-256"
TIMEOUT = 10.0
USER_AGENT = "ecs-reconciler-notifications"


class DeliveryError(RuntimeError):
    """A destination did not take the notification (network error or a non-2xx answer)."""


def post_json(url: str, payload: Any, headers: dict[str, str] | None = None, *, secret: bytes | None = None) -> int:
    body = json.dumps(payload, default=str).encode()
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    if secret:
        all_headers[SIGNATURE_HEADER] = sign(secret, body)
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryError(type(exc).__name__ + (f": {exc.reason}" if hasattr(exc, "reason") else "")) from None


def summary(h: Happening) -> str:
    who = f" by {h.who['label']}" + (f" ({h.who['call']} at {h.who['time']})" if h.who.get("call") else "") \
        if h.who else ""
    revision = f" [{h.revision[:12]}]" if h.revision else ""
    return f"{h.kind}: {h.document()['message']}{who}{revision}"


@dataclass
class SlackWebhook:
    url: str
    name: str = "slack"

    def wants(self, h: Happening) -> bool:
        return h.kind != "applied"

    def send(self, h: Happening) -> None:
        text = summary(h) + (f" <{h.commit_url}|commit>" if h.commit_url else "")
        post_json(self.url, {"text": (":warning: " if h.bad else ":white_check_mark: ") + text})


@dataclass
class JsonWebhook:
    url: str
    secret: bytes | None = None
    name: str = "webhook"

    def wants(self, h: Happening) -> bool:
        return True

    def send(self, h: Happening) -> None:
        post_json(self.url, h.document(), secret=self.secret)


# happening kind -> GitHub commit status state; others do not touch the commit's status
GITHUB_STATES = {"applied": "success", "drift-healed": "success", "apply-failed": "failure",
                 "rollout-failed": "failure", "rolled-back": "failure", "perpetual-diff": "error"}


@dataclass
class GitHubStatus:
    repository: str  # owner/name
    token: str
    api: str = "https://api.github.com"
    context: str = "ecs-reconciler"
    name: str = "github"
    _states: OrderedDict = field(default_factory=OrderedDict, repr=False)  # sha -> state last set

    def wants(self, h: Happening) -> bool:
        """A commit's status is set when it changes: one apply of many resources is one `success`,
        and a failure after it is never lost to the rate limit behind a run of successes."""
        if h.kind not in GITHUB_STATES or not h.revision or len(h.revision) < 40:
            return False
        state = GITHUB_STATES[h.kind]
        if self._states.get(h.revision) == state:
            return False
        self._states[h.revision] = state
        self._states.move_to_end(h.revision)
        while len(self._states) > 100:
            self._states.popitem(last=False)
        return True

    def send(self, h: Happening) -> None:
        url = f"{self.api.rstrip('/')}/repos/{self.repository}/statuses/{h.revision}"
        payload = {"state": GITHUB_STATES[h.kind], "context": self.context, "description": summary(h)[:140]}
        post_json(url, payload, {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json"})
