"""CloudTrail API-call events for the JSON-protocol services around ECS (Application Auto Scaling,
EventBridge Scheduler): moto answers their writes but tells no one, while AWS records each write in
CloudTrail, which EventBridge delivers as "AWS API Call via CloudTrail". The event stream relies on
those to see out-of-band changes, so the local endpoint reports them too, with `requestParameters`
in CloudTrail's camelCase."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable

READ_PREFIXES = ("Describe", "List", "Get")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def access_key(authorization: str) -> str:
    """The access key id a SigV4 request was signed with ("local" when unsigned): the caller."""
    match = _CREDENTIAL.search(authorization or "")
    return match.group(1) if match else "local"


def camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]) if isinstance(k, str) else k: camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def json_body(response: Any) -> dict:
    """The request of a JSON-protocol call (moto's `params` holds only query-string ones)."""
    try:
        body = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def report_writes(cls: type, event_source: str, bound: Callable[[], Any], lock: Any,
                  params: Callable[[Any], dict] | None = None) -> None:
    """Patch a moto response class so that, for requests bound to a LocalEndpoint, each successful
    write call is reported to the endpoint (`params`: the request parameters, when moto's generic
    `self.params` does not hold them, as for REST services)."""
    original = cls.call_action

    def call_action(self: Any) -> Any:
        endpoint = bound()
        if endpoint is None:
            return original(self)
        with lock:
            status, headers, body = original(self)
        action = self._get_action()
        if int(status) < 300 and not action.startswith(READ_PREFIXES):
            request = params(self) if params else json_body(self)
            try:
                response = json.loads(body) if body else None
            except (TypeError, ValueError):
                response = None
            endpoint.on_api_call(action=action, params=camel(copy.deepcopy(request)), response=response,
                                 region=self.region, account=self.current_account,
                                 access_key=access_key(self.headers.get("Authorization", "")),
                                 user_agent=self.headers.get("User-Agent", ""), event_source=event_source)
        return status, headers, body

    cls.call_action = call_action
