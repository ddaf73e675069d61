"""`ecs-reconciler export`: write manifests for what already runs in a cluster, so it can be adopted.

Each resource is read, shaped like its request (CreateCluster, RegisterTaskDefinition,
CreateService, the ScheduledTask spec, CreateSchedule, CreateCapacityProvider, the service's
Application Auto Scaling as `autoScaling`), then cleaned by running the normalizers in reverse: a
field (at any depth) is dropped when the canonical form is the same without it, so defaults,
empty lists and output-only fields disappear and the result reads like hand-written YAML. Every
manifest carries `ecs-reconciler.io/adopt: "true"`: the first apply adds the ownership tags.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any, Callable, Iterable

import click
from pydantic import ValidationError
from ruamel.yaml import YAML

from .aws import Clients
from .cli_context import aws_errors
from .diff import autoscaling as scaling_rules
from .diff import capacity_provider as provider_rules
from .diff import cluster as cluster_rules
from .diff import schedule as schedule_rules
from .diff import scheduled_task as scheduled_rules
from .diff import service as service_rules
from .diff import task_definition as td_rules
from .diff.rules import arn_name, family_revision, project
from .observed.autoscaling import scaling_of
from .observed.batching import DESCRIBE_SERVICES_MAX, chunks, every_item
from .ownership import user_tags, tag_list_to_dict
from .desired.capacity_provider import CapacityProviderSpec
from .desired.cluster import ClusterSpec
from .desired.schedule import ScheduleSpec
from .desired.service import ServiceSpec
from .desired.task_definition import TaskDefinitionSpec
from .rule_targets import spec_from_aws

API_VERSION = "ecs-reconciler.io/v1alpha1"
ADOPT = {"ecs-reconciler.io/adopt": "true"}
Normalizer = Callable[[dict[str, Any]], Any]


# -- cleaning -----------------------------------------------------------------------------------------

def strip_defaults(spec: dict[str, Any], normalize: Normalizer, keep: Iterable[str] = (),
                   valid: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Drop every field (at any depth) whose removal leaves the canonical form unchanged and the spec
    `valid` (a required member, like a circuit breaker's `enable`, stays while its structure does)."""
    target = normalize(spec)
    result = copy.deepcopy(spec)
    keep = set(keep)

    def walk(node: Any, top: bool) -> None:
        if isinstance(node, dict):
            for key in list(node):
                if top and key in keep:
                    continue
                value = node.pop(key)
                if normalize(result) != target or (valid is not None and not valid(result)):
                    node[key] = value
                    walk(value, False)
        elif isinstance(node, list):
            for item in node:
                walk(item, False)

    walk(result, True)
    return result


def _valid_as(model: Any) -> Callable[[dict[str, Any]], bool]:
    def valid(spec: dict[str, Any]) -> bool:
        try:
            model.model_validate(spec)
        except ValidationError:
            return False
        return True
    return valid


def _tags(tags: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in user_tags(tags).items() if not k.startswith("aws:")}


FIRST = ("cluster", "taskDefinition", "schedule", "state", "desiredCount", "launchType", "requiresCompatibilities",
         "networkMode", "cpu", "memory")
LAST = ("containerDefinitions", "volumes", "tags")


def _ordered(spec: dict[str, Any]) -> dict[str, Any]:
    """The order a person writes: what and where first, container details and tags last."""
    rank = {k: i for i, k in enumerate(FIRST)}
    rank.update({k: 1000 + i for i, k in enumerate(LAST)})
    return dict(sorted(spec.items(), key=lambda kv: rank.get(kv[0], 500)))


def _document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    spec = _ordered(spec)
    return {"apiVersion": API_VERSION, "kind": kind,
            "metadata": {"name": name, "annotations": dict(ADOPT)}, "spec": spec}


def _with_tags(spec: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    if tags:
        spec["tags"] = tags
    return spec


# -- per kind -----------------------------------------------------------------------------------------

def cluster_document(body: dict[str, Any]) -> dict[str, Any]:
    spec = project(body, cluster_rules.REQUEST_FIELDS)
    spec = strip_defaults(spec, cluster_rules.normalize, valid=_valid_as(ClusterSpec))
    return _document("Cluster", body["clusterName"], _with_tags(spec, _tags(tag_list_to_dict(body.get("tags")))))


def task_definition_document(body: dict[str, Any], tags: list[dict[str, str]] | None) -> dict[str, Any]:
    spec = strip_defaults(project(body, td_rules.REQUEST_FIELDS), td_rules.normalize, valid=_valid_as(TaskDefinitionSpec))
    return _document("TaskDefinition", body["family"], _with_tags(spec, _tags(tag_list_to_dict(tags))))


def capacity_provider_document(body: dict[str, Any]) -> dict[str, Any]:
    spec = project(body, provider_rules.REQUEST_FIELDS)
    asg = spec.get("autoScalingGroupProvider")
    if asg:
        asg["autoScalingGroupArn"] = provider_rules.group_name(asg.get("autoScalingGroupArn"))
    spec = strip_defaults(spec, provider_rules.normalize, valid=_valid_as(CapacityProviderSpec))
    return _document("CapacityProvider", body["name"], _with_tags(spec, _tags(tag_list_to_dict(body.get("tags")))))


def schedule_document(body: dict[str, Any]) -> dict[str, Any]:
    """A Scheduler schedule that runs tasks in the exported cluster: its target names the cluster
    and task definition family manifests."""
    spec = project(body, schedule_rules.REQUEST_FIELDS)
    for name in ("StartDate", "EndDate"):
        if spec.get(name) is not None:
            spec[name] = schedule_rules._instant(spec[name])
    ecs = spec["Target"]["EcsParameters"]
    spec["Target"]["Arn"] = arn_name(spec["Target"]["Arn"])
    ecs["TaskDefinitionArn"] = family_revision(ecs["TaskDefinitionArn"]).rsplit(":", 1)[0]
    spec = strip_defaults(spec, schedule_rules.normalize, keep=("ScheduleExpression", "FlexibleTimeWindow", "Target",
                                                                "GroupName"), valid=_valid_as(ScheduleSpec))
    return _document("Schedule", body["Name"], spec)


def _autoscaling(found: dict[str, Any] | None) -> dict[str, Any] | None:
    if found is None:
        return None
    config = scaling_rules.from_observed(found)
    config["policies"] = [{k: v for k, v in p.items() if k in scaling_rules.POLICY_FIELDS or k == "policyName"}
                          for p in config.get("policies") or []]
    config["scheduledActions"] = [
        {k: (scaling_rules._instant(v) if k in ("startTime", "endTime") else v) for k, v in a.items()
         if (k in scaling_rules.ACTION_FIELDS or k == "scheduledActionName") and v is not None}
        for a in config.get("scheduledActions") or []]
    config = {k: v for k, v in config.items() if v not in (None, [])}
    return strip_defaults(config, scaling_rules.normalize, keep=("minCapacity", "maxCapacity"))


def service_document(body: dict[str, Any], scaling: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = project(body, service_rules.REQUEST_FIELDS)
    service_rules.from_primary_deployment(body, spec)
    spec["cluster"] = arn_name(body["clusterArn"])
    if body.get("roleArn") and "AWSServiceRoleForECS" not in body["roleArn"]:
        spec["role"] = body["roleArn"]
    if spec.get("taskDefinition"):
        spec["taskDefinition"] = family_revision(spec["taskDefinition"]).rsplit(":", 1)[0]
    # Server-chosen fields are part of what runs: keep them even where they equal a default.
    spec = strip_defaults(spec, service_rules.normalize, keep=("cluster", "taskDefinition", "desiredCount"),
                          valid=_valid_as(ServiceSpec))
    auto_scaling = _autoscaling(scaling)
    if auto_scaling:
        spec["autoScaling"] = auto_scaling
    return _document("Service", body["serviceName"], _with_tags(spec, _tags(tag_list_to_dict(body.get("tags")))))


def scheduled_task_document(rule: dict[str, Any], target: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    spec = {k: v for k, v in spec_from_aws(rule, target).items() if v is not None}
    spec["cluster"] = arn_name(spec["cluster"])
    spec["taskDefinition"] = family_revision(spec["taskDefinition"]).rsplit(":", 1)[0]
    spec = strip_defaults(spec, scheduled_rules.normalize, keep=("cluster", "taskDefinition", "schedule", "roleArn"))
    return _document("ScheduledTask", rule["Name"], _with_tags(spec, _tags(tags)))


# -- reading ------------------------------------------------------------------------------------------

def export_documents(clients: Clients, cluster: str, services: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Manifests for `cluster`, its services (all, or those named), the task definition revision
    each runs (as a manifest of that family) and the scheduled tasks that target the cluster."""
    ecs = clients.ecs
    found = ecs.describe_clusters(clusters=[cluster], include=["SETTINGS", "CONFIGURATIONS", "TAGS"])["clusters"]
    found = [c for c in found if c.get("status") != "INACTIVE"]
    if not found:
        raise click.ClickException(f"cluster {cluster!r} not found")
    cluster_body = found[0]
    documents = [cluster_document(cluster_body)]

    names = list(services)
    if not names:
        for page in ecs.get_paginator("list_services").paginate(cluster=cluster):
            names.extend(arn_name(a) for a in page.get("serviceArns", []))
    bodies: list[dict[str, Any]] = []
    for batch in chunks(sorted(set(names)), DESCRIBE_SERVICES_MAX):
        response = ecs.describe_services(cluster=cluster, services=list(batch), include=["TAGS"])
        bodies.extend(s for s in response.get("services", []) if s.get("status") != "INACTIVE")
    missing = set(names) - {s["serviceName"] for s in bodies}
    if missing:
        raise click.ClickException(f"services not found in {cluster!r}: {', '.join(sorted(missing))}")

    task_definitions: dict[str, str] = {}  # family -> ARN of the revision to export
    service_docs = []
    for body in sorted(bodies, key=lambda b: b["serviceName"]):
        if body.get("taskDefinition"):
            arn = body["taskDefinition"]
            task_definitions.setdefault(family_revision(arn).rsplit(":", 1)[0], arn)
        service_docs.append(service_document(body, scaling_of(clients, arn_name(body["clusterArn"]), body["serviceName"])))

    scheduled_docs = []
    events = clients.events
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if "EcsParameters" in target and target.get("Arn") == cluster_body["clusterArn"]:
                    tags = tag_list_to_dict(events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags"))
                    arn = target["EcsParameters"]["TaskDefinitionArn"]
                    task_definitions.setdefault(family_revision(arn).rsplit(":", 1)[0], arn)
                    scheduled_docs.append(scheduled_task_document(rule, target, tags))
                    break

    schedule_docs = []
    scheduler = clients.client("scheduler")
    for summary in every_item(scheduler, "list_schedules", "Schedules"):
        if summary.get("Target", {}).get("Arn") not in (None, cluster_body["clusterArn"]):
            continue
        body = scheduler.get_schedule(Name=summary["Name"], GroupName=summary.get("GroupName") or "default")
        target = body.get("Target") or {}
        if "EcsParameters" in target and target.get("Arn") == cluster_body["clusterArn"]:
            arn = target["EcsParameters"]["TaskDefinitionArn"]
            task_definitions.setdefault(family_revision(arn).rsplit(":", 1)[0], arn)
            schedule_docs.append(schedule_document(body))

    provider_names = [p for p in cluster_body.get("capacityProviders") or [] if not p.startswith("FARGATE")]
    provider_docs = [capacity_provider_document(p) for p in ecs.describe_capacity_providers(
        capacityProviders=provider_names, include=["TAGS"])["capacityProviders"]] if provider_names else []

    td_docs = []
    for family, arn in sorted(task_definitions.items()):
        response = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        td_docs.append(task_definition_document(response["taskDefinition"], response.get("tags")))
    return provider_docs + documents + td_docs + service_docs + scheduled_docs + schedule_docs


# -- output -------------------------------------------------------------------------------------------

def to_yaml(documents: list[dict[str, Any]]) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    out = io.StringIO()
    yaml.dump_all(documents, out)
    return out.getvalue()


def file_name(document: dict[str, Any]) -> str:
    return f"{document['kind'].lower()}-{document['metadata']['name']}.yaml"


@click.command("export")
@click.option("--cluster", required=True, help="The cluster to export.")
@click.option("--service", "services", multiple=True, help="Export only these services (repeatable).")
@click.option("--output", type=click.Path(file_okay=False), help="Write one file per manifest here (default: stdout).")
@click.pass_obj
def export(state: Any, cluster: str, services: tuple[str, ...], output: str | None) -> None:
    """Write manifests (marked for adoption) for an existing cluster, its capacity providers, its
    services (with their autoscaling), their task definitions and the scheduled tasks and Scheduler
    schedules that target it."""
    with aws_errors():
        documents = export_documents(state.clients(), cluster, services)
    if not output:
        click.echo(to_yaml(documents), nl=False)
        return
    directory = Path(output)
    directory.mkdir(parents=True, exist_ok=True)
    for document in documents:
        (directory / file_name(document)).write_text(to_yaml([document]))
    click.echo(f"Wrote {len(documents)} manifests to {directory}", err=True)
