"""Patches that make moto's ECS, EventBridge and the services around them answer like the real services.

moto runs in this process, so its classes can be patched. Every patch is gated on `bound()`: it
only changes behaviour for requests that arrive through a `LocalEndpoint` (whose WSGI wrapper binds
the endpoint to the request thread). A plain moto server in the same process keeps plain moto
behaviour, so tests elsewhere do not depend on whether this module was imported first.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.ecs import models as ecs_models
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.events import models as events_models
from moto.events.responses import EventsHandler

from reconciler.local import autoscaling, capacity_providers, cloud_map, schedules, services, task_definitions

# One lock for ECS request handling and scheduler ticks: moto's models are not thread-safe and the
# response serializer keeps per-class state.
LOCK = threading.RLock()

_bound = threading.local()
_installed = False
_install_lock = threading.Lock()

# ECS and EventBridge write calls, reported as CloudTrail "AWS API Call" events. PutEvents is a data
# event, not a management one: CloudTrail does not send it to EventBridge (and the emitter's own
# PutEvents would otherwise feed itself).
READ_PREFIXES = ("Describe", "List", "Get", "Discover")
EVENTS_NOT_REPORTED = {"PutEvents", "TestEventPattern", "PutPartnerEvents"}
CLUSTER_PATH = "DescribeClustersResponse.clusters.Cluster."


def bound() -> Any:
    """The endpoint serving the current request thread, or None for plain moto requests."""
    return getattr(_bound, "endpoint", None)


@contextmanager
def bind(endpoint: Any) -> Iterator[None]:
    """Mark the current thread as serving a request for `endpoint`."""
    previous = bound()
    _bound.endpoint = endpoint
    try:
        yield
    finally:
        _bound.endpoint = previous


def install() -> None:
    """Install the patches once per process; later calls do nothing."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _patch_response(EC2ContainerServiceResponse)
        _patch_task_definition_lookup(ecs_models.EC2ContainerServiceBackend)
        _patch_task_definition_registration(ecs_models.EC2ContainerServiceBackend)
        _patch_cluster_service_connect(ecs_models.EC2ContainerServiceBackend)
        _patch_rule_delivery(events_models.Rule)
        _patch_events_api_calls(EventsHandler)
        autoscaling.install(bound, LOCK)
        schedules.install(bound, LOCK)
        capacity_providers.install(bound)
        _installed = True


def _patch_response(cls: type) -> None:
    original_call_action = cls.call_action
    overrides = {
        "create_service": lambda self: services.create_service(self, owner=bound()),
        "update_service": services.update_service,
        "describe_services": services.describe_services,
        "list_services": services.list_services,
        "describe_clusters": _describe_clusters,
    }
    for name, replacement in overrides.items():
        setattr(cls, name, _gated(getattr(cls, name), replacement))

    def call_action(self: Any) -> Any:
        endpoint = bound()
        if endpoint is None:
            return original_call_action(self)
        transformers = dict(cls.RESPONSE_KEY_PATH_TO_TRANSFORMER)
        with LOCK:
            try:
                status, headers, body = original_call_action(self)
            finally:
                # moto keeps include/exclude switches on the class; do not leak ours to others.
                cls.RESPONSE_KEY_PATH_TO_TRANSFORMER.clear()
                cls.RESPONSE_KEY_PATH_TO_TRANSFORMER.update(transformers)
        action = self._get_action()
        if int(status) < 300 and not action.startswith(READ_PREFIXES):
            endpoint.on_api_call(
                action=action,
                params=copy.deepcopy(dict(getattr(self, "params", {}) or {})),
                response=_json_or_none(body),
                region=self.region,
                account=self.current_account,
                access_key=_access_key(self.headers.get("Authorization", "")),
                user_agent=self.headers.get("User-Agent", ""),
            )
        if int(status) < 300 and endpoint.has_response_hooks(action):
            body = endpoint.rewrite_response(action, body)
            headers = {k: v for k, v in dict(headers).items() if k.lower() != "content-length"}
        return status, headers, body

    cls.call_action = call_action


def _patch_events_api_calls(cls: type) -> None:
    """EventBridge write calls (PutRule, PutTargets, ...) through a LocalEndpoint emit their
    CloudTrail event, naming the caller, as ECS's do."""
    original_call_action = cls.call_action

    def call_action(self: Any) -> Any:
        status, headers, body = original_call_action(self)
        endpoint = bound()
        action = self._get_action()
        if (endpoint is not None and int(status) < 300 and not action.startswith(READ_PREFIXES)
                and action not in EVENTS_NOT_REPORTED):
            endpoint.on_api_call(action=action, params=_camel(_json_or_none(self.body) or {}), response=_json_or_none(body),
                                 region=self.region, account=self.current_account,
                                 access_key=_access_key(self.headers.get("Authorization", "")),
                                 user_agent=self.headers.get("User-Agent", ""), event_source="events.amazonaws.com")
        return status, headers, body

    cls.call_action = call_action


def _camel(value: Any) -> Any:
    """CloudTrail records EventBridge request parameters in camelCase (`name`, `rule`, `targets`),
    not as the API's PascalCase request body."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:] if isinstance(k, str) else k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def _access_key(authorization: str) -> str:
    """The access key id a SigV4 request was signed with ("local" when unsigned)."""
    match = _CREDENTIAL.search(authorization or "")
    return match.group(1) if match else "local"


def _gated(original: Any, replacement: Any) -> Any:
    def method(self: Any) -> Any:
        if bound() is None:
            return original(self)
        return replacement(self)

    method.__name__ = original.__name__
    return method


def _json_or_none(body: Any) -> Any:
    try:
        return json.loads(body) if body else None
    except (TypeError, ValueError):
        return None


def _describe_clusters(self: Any) -> Any:
    """Real ECS returns settings/configuration only when asked, and counts what is there."""
    from moto.core.responses import ActionResult

    backend = self.ecs_backend
    clusters, failures = backend.describe_clusters(self._get_param("clusters", []))
    include = self._get_param("include", []) or []
    for key, word in (("tags", "TAGS"), ("settings", "SETTINGS"), ("configuration", "CONFIGURATIONS")):
        if word in include:
            self._include_in_response(CLUSTER_PATH + key)
        else:
            self._exclude_from_response(CLUSTER_PATH + key)
    for cluster in clusters:
        live = [s for s in backend.services.values() if s.cluster_name == cluster.name and s.status == "ACTIVE"]
        cluster.active_services_count = len(live)
        cluster.running_tasks_count = sum(s.running_count for s in live)
        cluster.pending_tasks_count = sum(s.pending_count for s in live)
        if cluster.capacity_providers is None:
            cluster.capacity_providers = []
        if cluster.default_capacity_provider_strategy is None:
            cluster.default_capacity_provider_strategy = []
    return ActionResult({"clusters": clusters, "failures": failures})


def _patch_task_definition_lookup(cls: type) -> None:
    original = cls.describe_task_definition

    def describe_task_definition(self: Any, task_definition_str: str) -> Any:
        """A bare family means its latest ACTIVE revision (moto takes the latest of any status)."""
        name = task_definition_str.split("/")[-1]
        if bound() is None or ":" in name:
            return original(self, task_definition_str)
        revisions = self.task_definitions.get(name, {})
        active = [rev for rev, td in revisions.items() if td.status == "ACTIVE"]
        if not active:
            raise ecs_models.TaskDefinitionNotFoundException()
        return revisions[max(active)]

    cls.describe_task_definition = describe_task_definition


def _patch_task_definition_registration(cls: type) -> None:
    original = cls.register_task_definition

    def register_task_definition(self: Any, family: str, container_definitions: list, *args: Any, **kwargs: Any) -> Any:
        """Store and return the definition the way ECS does (see `task_definitions`)."""
        if bound() is None:
            return original(self, family, container_definitions, *args, **kwargs)
        task_definitions.check_request(container_definitions)
        registered = original(self, family, container_definitions, *args, **kwargs)
        return task_definitions.registered(registered, kwargs.get("network_mode"), self.account_id)

    cls.register_task_definition = register_task_definition


def _patch_cluster_service_connect(cls: type) -> None:
    """serviceConnectDefaults.namespace: resolved in Cloud Map (a new name creates it), returned as its ARN."""
    original_create, original_update = cls.create_cluster, cls.update_cluster

    def resolved(self: Any, defaults: dict | None) -> tuple[dict | None, str | None]:
        reference = (defaults or {}).get("namespace")
        if not reference:
            return None, None
        namespace = cloud_map.resolve_or_create(self.account_id, self.region_name, reference)
        return {"namespace": namespace.arn}, reference

    def create_cluster(self: Any, cluster_name: str, *args: Any, **kwargs: Any) -> Any:
        if bound() is None:
            return original_create(self, cluster_name, *args, **kwargs)
        defaults, reference = resolved(self, kwargs.pop("service_connect_defaults", None))
        cluster = original_create(self, cluster_name, *args, service_connect_defaults=defaults, **kwargs)
        cluster.local_service_connect_namespace = reference
        return cluster

    def update_cluster(
        self: Any, cluster_name: str, cluster_settings: Any, configuration: Any, service_connect_defaults: Any
    ) -> Any:
        if bound() is None or service_connect_defaults is None:
            return original_update(self, cluster_name, cluster_settings, configuration, service_connect_defaults)
        defaults, reference = resolved(self, service_connect_defaults)
        cluster = original_update(self, cluster_name, cluster_settings, configuration, None)
        cluster.service_connect_defaults = defaults  # "" removes the default, as in ECS
        cluster.local_service_connect_namespace = reference
        return cluster

    cls.create_cluster, cls.update_cluster = create_cluster, update_cluster


# Target services moto can deliver to; others (ECS, Lambda, ...) are skipped, not a 500.
DELIVERABLE = ("sqs", "logs", "events")


def _patch_rule_delivery(cls: type) -> None:
    original = cls.send_to_targets

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        if bound() is None:
            return original(self, event, transform_input)
        if not self.event_pattern.get_pattern():
            return  # schedule-only rules never match events in EventBridge
        targets = [t for t in self.targets if t["Arn"].split(":")[2] in DELIVERABLE]
        if not targets:
            return
        plain = [t for t in targets if "InputTransformer" not in t]
        shaped = [t for t in targets if "InputTransformer" in t]
        if plain:
            view = copy.copy(self)
            view.targets = plain
            # moto's default template drops "account"; send the envelope as EventBridge does.
            envelope = {k: v for k, v in event.items() if k != "ingestion-time"}
            original(view, envelope, False)
        if shaped:
            view = copy.copy(self)
            view.targets = shaped
            original(view, event, True)

    cls.send_to_targets = send_to_targets
