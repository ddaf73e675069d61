"""Parsing EventBridge envelopes from the event queue into small, ordered facts.

ECS delivers events at least once and out of order, and may add fields or detail-types at any
time. So parsing never raises: a message is either a `ParsedEvent` (what changed, how to order it
against other events of the same resource, and which managed resources to re-read) or a
`Rejected` with a reason. Only the fields needed for ordering and key mapping are checked; the
rest is kept as-is and unfamiliar names are reported in `unknown_fields` so they can be counted.

Ordering: task and container-instance events carry `detail.version`, which increases with every
change of that resource; equal versions are duplicates. Service action, deployment and CloudTrail
events carry no version, so they are ordered by their own timestamp, then the event id, which
makes a redelivered copy compare equal (a duplicate) and two distinct events never do.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # EventBridge and SQS both cap a message at 256 KiB

TASK = "ECS Task State Change"
CONTAINER_INSTANCE = "ECS Container Instance State Change"
SERVICE_ACTION = "ECS Service Action"
DEPLOYMENT = "ECS Deployment State Change"
API_CALL = "AWS API Call via CloudTrail"

ENVELOPE_FIELDS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail", "replay-name"}
)
# Field names from the documented example payloads and the ECS Task/ContainerInstance shapes.
TASK_FIELDS = frozenset(
    """attachments attributes availabilityZone capacityProviderName clusterArn connectivity connectivityAt
    containerInstanceArn containers cpu createdAt desiredStatus enableExecuteCommand ephemeralStorage
    executionStoppedAt fargateEphemeralStorage group healthStatus inferenceAccelerators lastStatus
    launchType memory overrides platformFamily platformVersion pullStartedAt pullStoppedAt startedAt
    startedBy stopCode stoppedAt stoppedReason stoppingAt tags taskArn taskDefinitionArn updatedAt
    version""".split()
)
CONTAINER_INSTANCE_FIELDS = frozenset(
    """accountType agentConnected agentUpdateStatus attachments attributes capacityProviderName clusterArn
    containerInstanceArn ec2InstanceId healthStatus pendingTasksCount registeredAt registeredResources
    remainingResources runningTasksCount status statusReason tags updatedAt version versionInfo""".split()
)
SERVICE_ACTION_FIELDS = frozenset(
    """capacityProviderArns clusterArn containerInstanceArns containerPort createdAt desiredCount
    ec2InstanceIds eventMetadata eventName eventType reason serviceRegistryArns targetGroupArns targets
    taskArns taskSetArns""".split()
)
DEPLOYMENT_FIELDS = frozenset("eventType eventName deploymentId updatedAt reason".split())
API_CALL_FIELDS = frozenset(
    """eventVersion userIdentity eventTime eventSource eventName awsRegion sourceIPAddress userAgent
    requestParameters responseElements additionalEventData requestID eventID readOnly resources
    eventType apiVersion managementEvent recipientAccountId sharedEventID vpcEndpointId
    vpcEndpointAccountId eventCategory tlsDetails sessionCredentialFromConsole errorCode errorMessage
    serviceEventDetails edgeDeviceDetails insightDetails""".split()
)


@dataclass(frozen=True)
class ParsedEvent:
    """One event, reduced to what the cache and the controller need."""

    kind: str  # task | container-instance | service-action | deployment | api-call
    detail_type: str
    resource: str  # the key events are versioned by, e.g. "task:<task ARN>"
    version: int | None  # detail.version when the event carries one
    time: datetime  # when the change happened (most precise timestamp available)
    event_id: str
    affects: frozenset = frozenset()  # managed resource keys to re-read
    unknown_fields: tuple[str, ...] = ()
    name: str = ""  # lastStatus / eventName, for logs
    detail: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def order(self) -> tuple:
        """Sort key among events of the same `resource`; equal means duplicate."""
        if self.version is not None:
            return (self.version,)
        return (self.time.timestamp(), self.event_id)


@dataclass(frozen=True)
class Rejected:
    """A message that is not usable. `category` is "malformed" or "unknown" (a detail-type we skip)."""

    reason: str
    category: str = "malformed"
    detail_type: str = ""


class _Bad(Exception):
    """Internal: a field has the wrong shape; becomes a `Rejected`."""


def parse_message(body: str | bytes) -> ParsedEvent | Rejected:
    """Parse one SQS message body (an EventBridge envelope). Never raises."""
    try:
        return _parse(body)
    except _Bad as exc:
        return Rejected(str(exc))
    except Exception as exc:  # a bug here must not stop the consumer
        log.exception("unexpected error parsing event")
        return Rejected(f"unexpected error: {type(exc).__name__}: {exc}")


def _parse(body: str | bytes) -> ParsedEvent | Rejected:
    if isinstance(body, str):
        size = len(body.encode("utf-8", "surrogatepass"))
    elif isinstance(body, (bytes, bytearray)):
        size = len(body)
    else:
        raise _Bad(f"body is {type(body).__name__}, not text")
    if size > MAX_BODY_BYTES:
        raise _Bad(f"body is {size} bytes, over the {MAX_BODY_BYTES} byte limit")
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Bad(f"not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise _Bad(f"envelope is {type(envelope).__name__}, not an object")
    detail_type = _str(envelope, "detail-type", "envelope")
    if "detail" not in envelope:
        raise _Bad("missing detail")
    detail = envelope["detail"]
    if not isinstance(detail, dict):
        raise _Bad(f"detail is {type(detail).__name__}, not an object")
    parser = PARSERS.get(detail_type)
    if parser is None:
        return Rejected(f"unhandled detail-type {detail_type!r}", "unknown", detail_type)
    resources = envelope.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise _Bad("resources is not a list of strings")
    event_id = _str(envelope, "id", "envelope")
    envelope_time = _time(_str(envelope, "time", "envelope"), "time")
    event = parser(detail, resources, event_id, envelope_time)
    known, allowed = ENVELOPE_FIELDS, ALLOWED_DETAIL_FIELDS[detail_type]
    unknown = sorted({f for f in envelope if f not in known} | {f"detail.{f}" for f in detail if f not in allowed})
    if unknown:
        log.debug("%s %s has unknown fields: %s", detail_type, event_id, ", ".join(unknown))
    return ParsedEvent(**event, detail_type=detail_type, event_id=event_id, unknown_fields=tuple(unknown), detail=detail)


def _parse_task(detail: dict, resources: list, event_id: str, when: datetime) -> dict:
    arn = _str(detail, "taskArn")
    cluster = _cluster_name(_str(detail, "clusterArn"))
    affects = set()
    group = _opt_str(detail, "group")
    if group and group.startswith("service:"):
        affects.add(("Service", cluster, group[len("service:") :]))
    started_by = _opt_str(detail, "startedBy")
    if started_by and started_by.startswith("events-rule/"):
        # EventBridge starts scheduled tasks with startedBy "events-rule/<rule name>" (may be cut at 36 chars).
        affects.add(("ScheduledTask", started_by[len("events-rule/") :]))
    return dict(
        kind="task",
        resource=f"task:{arn}",
        version=_version(detail),
        time=_opt_time(detail, "updatedAt") or when,
        affects=frozenset(affects),
        name=_opt_str(detail, "lastStatus") or "",
    )


def _parse_container_instance(detail: dict, resources: list, event_id: str, when: datetime) -> dict:
    arn = _str(detail, "containerInstanceArn")
    cluster = _cluster_name(_str(detail, "clusterArn"))
    return dict(
        kind="container-instance",
        resource=f"container-instance:{arn}",
        version=_version(detail),
        time=_opt_time(detail, "updatedAt") or when,
        affects=frozenset({("Cluster", cluster)}),
        name=_opt_str(detail, "status") or "",
    )


def _services_from_resources(resources: list) -> frozenset:
    keys = {_service_key_from_arn(r) for r in resources}
    keys.discard(None)
    if not keys:
        raise _Bad("resources names no ECS service ARN")
    return frozenset(keys)


def _parse_service_action(detail: dict, resources: list, event_id: str, when: datetime) -> dict:
    affects = _services_from_resources(resources)
    return dict(
        kind="service-action",
        resource="service:" + ",".join(sorted(r for r in resources if ":service/" in r)),
        version=_version(detail, required=False),
        time=_opt_time(detail, "createdAt") or when,
        affects=affects,
        name=_opt_str(detail, "eventName") or "",
    )


def _parse_deployment(detail: dict, resources: list, event_id: str, when: datetime) -> dict:
    affects = _services_from_resources(resources)
    return dict(
        kind="deployment",
        resource=f"deployment:{_str(detail, 'deploymentId')}",
        version=_version(detail, required=False),
        time=_opt_time(detail, "updatedAt") or when,
        affects=affects,
        name=_opt_str(detail, "eventName") or "",
    )


def _parse_api_call(detail: dict, resources: list, event_id: str, when: datetime) -> dict:
    source = _str(detail, "eventSource")
    name = _str(detail, "eventName")
    params = detail.get("requestParameters") or {}
    if not isinstance(params, dict):
        raise _Bad("detail.requestParameters is not an object")
    call_id = _opt_str(detail, "eventID") or event_id
    affects = frozenset() if detail.get("errorCode") else _api_call_keys(source, name, params)
    # Calls on the same resources are ordered by eventTime; a call that touches none is its own key.
    resource = "api:" + ";".join("/".join(k) for k in sorted(affects)) if affects else f"api-call:{call_id}"
    return dict(
        kind="api-call",
        resource=resource,
        version=None,
        time=_opt_time(detail, "eventTime") or when,
        affects=affects,
        name=f"{source.split('.')[0]}:{name}",
    )


def _api_call_keys(source: str, name: str, p: dict) -> frozenset:
    """Managed resources a CloudTrail API call may have changed, from its request parameters."""
    keys: set = set()
    if source == "ecs.amazonaws.com":
        if name in ("CreateCluster",):
            keys.add(("Cluster", _p(p, "clusterName") or "default"))
        elif name in ("UpdateCluster", "DeleteCluster", "UpdateClusterSettings", "PutClusterCapacityProviders"):
            keys.add(("Cluster", _cluster_name(_p(p, "cluster") or "default")))
        elif name == "RegisterTaskDefinition" and _p(p, "family"):
            keys.add(("TaskDefinition", _p(p, "family")))
        elif name == "DeregisterTaskDefinition" and _p(p, "taskDefinition"):
            keys.add(("TaskDefinition", _family(_p(p, "taskDefinition"))))
        elif name == "DeleteTaskDefinitions":
            tds = p.get("taskDefinitions")
            for td in tds if isinstance(tds, list) else []:
                if isinstance(td, str) and td:
                    keys.add(("TaskDefinition", _family(td)))
        elif name in ("CreateService", "UpdateService", "DeleteService", "CreateTaskSet", "UpdateTaskSet",
                      "DeleteTaskSet", "UpdateServicePrimaryTaskSet"):
            service = _p(p, "service") or _p(p, "serviceName")
            if service:
                keys.add(_service_key(_p(p, "cluster"), service))
        elif name in ("CreateCapacityProvider", "UpdateCapacityProvider") and _p(p, "name"):
            keys.add(("CapacityProvider", _p(p, "name")))
        elif name == "DeleteCapacityProvider" and _p(p, "capacityProvider"):
            keys.add(("CapacityProvider", _p(p, "capacityProvider").rsplit("/", 1)[-1]))
        elif name in ("TagResource", "UntagResource"):
            keys |= _keys_from_arn(_p(p, "resourceArn"))
    elif source == "events.amazonaws.com":
        if name in ("PutRule", "DeleteRule", "EnableRule", "DisableRule") and _p(p, "name"):
            keys.add(("ScheduledTask", _p(p, "name")))
        elif name in ("PutTargets", "RemoveTargets") and _p(p, "rule"):
            keys.add(("ScheduledTask", _p(p, "rule")))
        elif name in ("TagResource", "UntagResource"):
            arn = _p(p, "resourceARN") or ""
            if ":rule/" in arn:
                keys.add(("ScheduledTask", arn.rsplit("/", 1)[-1]))
    elif source == "scheduler.amazonaws.com":
        if name in ("CreateSchedule", "UpdateSchedule", "DeleteSchedule") and _p(p, "name"):
            keys.add(("Schedule", _p(p, "name")))
    elif source == "application-autoscaling.amazonaws.com":
        resource_id = _p(p, "resourceId") or ""
        parts = resource_id.split("/")
        if _p(p, "serviceNamespace") in (None, "ecs") and len(parts) == 3 and parts[0] == "service":
            keys.add(("Service", parts[1], parts[2]))
    return frozenset(keys)


def _p(params: dict, name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) and value else None


def _keys_from_arn(arn: str | None) -> set:
    if not arn:
        return set()
    service = _service_key_from_arn(arn)
    if service:
        return {service}
    if ":cluster/" in arn:
        return {("Cluster", _cluster_name(arn))}
    if ":capacity-provider/" in arn:
        return {("CapacityProvider", arn.rsplit("/", 1)[-1])}
    if ":task-definition/" in arn:
        return {("TaskDefinition", _family(arn))}
    return set()


def _service_key_from_arn(arn: str) -> tuple | None:
    """`arn:...:service/CLUSTER/NAME`; the old short form `service/NAME` means the default cluster."""
    if not arn.startswith("arn:") or ":service/" not in arn:
        return None
    path = arn.split(":service/", 1)[1].split("/")
    if len(path) == 2 and all(path):
        return ("Service", path[0], path[1])
    if len(path) == 1 and path[0]:
        return ("Service", "default", path[0])
    return None


def _service_key(cluster: str | None, service: str) -> tuple:
    from_arn = _service_key_from_arn(service)
    if from_arn and (cluster is None or from_arn[1] != "default"):
        return from_arn
    name = from_arn[2] if from_arn else service
    return ("Service", _cluster_name(cluster or "default"), name)


def _cluster_name(value: str) -> str:
    return value.split(":cluster/", 1)[1] if ":cluster/" in value else value


def _family(value: str) -> str:
    """`family`, `family:3` or a task definition ARN -> `family`."""
    if ":task-definition/" in value:
        value = value.split(":task-definition/", 1)[1]
    return value.split(":", 1)[0]


def _str(obj: dict, key: str, where: str = "detail") -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise _Bad(f"{where}.{key} is missing or not a string")
    return value


def _opt_str(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"detail.{key} is not a string")
    return value


def _version(detail: dict, required: bool = True) -> int | None:
    value = detail.get("version")
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad("detail.version is missing or not a non-negative integer")
    return value


def _time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(f"{name} is not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _opt_time(detail: dict, key: str) -> datetime | None:
    value = _opt_str(detail, key)
    return _time(value, f"detail.{key}") if value else None


PARSERS: dict[str, Callable[..., dict]] = {
    TASK: _parse_task,
    CONTAINER_INSTANCE: _parse_container_instance,
    SERVICE_ACTION: _parse_service_action,
    DEPLOYMENT: _parse_deployment,
    API_CALL: _parse_api_call,
}
ALLOWED_DETAIL_FIELDS = {
    TASK: TASK_FIELDS,
    CONTAINER_INSTANCE: CONTAINER_INSTANCE_FIELDS,
    SERVICE_ACTION: SERVICE_ACTION_FIELDS,
    DEPLOYMENT: DEPLOYMENT_FIELDS,
    API_CALL: API_CALL_FIELDS,
}
