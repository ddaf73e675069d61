"""Execute a plan: idempotent writes, ownership tags on everything we create, in plan order.

Each write is safe to repeat: CreateService carries a client token derived from the request,
RegisterTaskDefinition is compared against the latest revision before it is sent again after an
ambiguous failure, and everything else (Put*, Update*, Tag*) is naturally idempotent. A crash
mid-apply is repaired by the next run's plan.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from ..aws import Clients
from ..diff import capacity_provider as provider_rules
from ..diff import task_definition as td_rules
from ..diff.rules import fill
from ..diff.service import reset_value
from ..diff.update_policy import top_field
from ..errors import ReconcileError
from ..observed.readers import StateReader
from ..observed.schedules import group_tags
from ..ownership import (WRITE_ONLY, ecs_tag_list, events_tag_list, is_owned, ownership_tags,
                         user_tags)
from ..plan.model import Action, Plan
from ..plan.planner import NEW_REVISION
from ..rule_targets import rule_request, target_request
from .guards import check_applicable
from .scaling import deregister_scaling, write_scaling

log = logging.getLogger(__name__)
REGISTER_ATTEMPTS = 6


@dataclass
class Outcome:
    label: str
    action: str
    arn: str | None = None
    detail: str = ""


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    services: list[tuple[str, str]] = field(default_factory=list)  # (cluster, name) to wait for


# on_action(action, event, error): event is "started", "done" or "failed" (then `error` is set).
ActionListener = Callable[[Action, str, "BaseException | None"], None]


class Applier:
    def __init__(self, clients: Clients, reader: StateReader, instance: str, revision: str | None = None,
                 on_progress: Callable[[str], None] | None = None, workers: int = 8,
                 on_action: ActionListener | None = None, owners: dict[str, str] | None = None):
        self.clients = clients
        self.reader = reader
        self.instance = instance
        self.revision = revision
        self.on_progress = on_progress or (lambda message: None)
        self.on_action = on_action or (lambda action, event, error: None)
        self.workers = workers
        self.owners = owners or {}  # label -> owning object, recorded as the owner tag
        self.task_definition_arns: dict[str, str] = {}
        self.cluster_arns: dict[str, str] = {}
        self.capacity_provider_wait = 300.0  # seconds a delete waits for clusters to release the provider

    def apply(self, plan: Plan, allow_replace: bool = False) -> ApplyResult:
        check_applicable(plan, allow_replace)
        result = ApplyResult()
        for action in plan.actions:
            if action.observed is not None and action.kind == "Cluster":
                self.cluster_arns[action.name] = action.observed.arn or ""
            if action.observed is not None and action.kind == "TaskDefinition":
                self.task_definition_arns[action.name] = action.observed.arn or ""
        for wave in waves(plan.pending):
            self._apply_wave(wave, result)
        return result

    def _apply_wave(self, wave: list[Action], result: ApplyResult) -> None:
        """Actions of one wave do not depend on each other: run them on a bounded pool. Every action
        of the wave is attempted; the first failure is raised once the wave is over, so a partial
        apply stops before the next kind (which may depend on this one)."""
        def run(action: Action) -> Outcome:
            self.on_progress(f"{action.action} {action.label} ...")
            self.on_action(action, "started", None)
            try:
                arn = getattr(self, f"_{action.action}_{_snake(action.kind)}")(action)
            except BaseException as exc:
                self.on_action(action, "failed", exc)
                raise
            self.on_progress(f"{action.action} {action.label}: done")
            self.on_action(action, "done", None)
            return Outcome(action.label, action.action, arn)

        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(wave)))) as pool:
            futures = [(action, pool.submit(run, action)) for action in wave]
        errors = []
        for action, future in futures:
            if future.exception() is not None:
                errors.append(future.exception())
                continue
            result.outcomes.append(future.result())
            if action.kind == "Service" and action.action in ("create", "update", "replace"):
                result.services.append((action.request["cluster"], action.name))
        if errors:
            raise errors[0]

    # -- tags ---------------------------------------------------------------------------------------------

    def _desired_tags(self, action: Action) -> dict[str, str]:
        spec_tags = action.desired.manifest.spec.tags if action.desired else None
        return {**(spec_tags or {}),
                **ownership_tags(self.instance, action.kind, action.name, self.revision, action.fields,
                                 action.write_only, self.owners.get(action.label))}

    def _tags_due(self, action: Action) -> bool:
        """The plan's rule (Action.tags_due) with the owning object's owner tag; `--revision` re-tags
        everything written, also when the plan was made without it."""
        return action.tags_due(self.owners.get(action.label)) or bool(self.revision)

    def _tag_delta(self, action: Action, observed_tags: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
        """Tags to set (new or changed, ownership included) and user tags to remove."""
        desired = self._desired_tags(action)
        observed = observed_tags or {}
        changed = {k: v for k, v in desired.items() if observed.get(k) != v}
        stale = [k for k in (WRITE_ONLY,) if k in observed and k not in desired]  # the manifest dropped them
        return changed, [k for k in user_tags(observed) if k not in desired] + stale

    def _sync_ecs_tags(self, arn: str, action: Action, observed_tags: dict[str, str] | None) -> None:
        changed, removed = self._tag_delta(action, observed_tags)
        if changed:
            self.clients.ecs.tag_resource(resourceArn=arn, tags=ecs_tag_list(changed))
        if removed:
            self.clients.ecs.untag_resource(resourceArn=arn, tagKeys=removed)

    def _sync_rule_tags(self, arn: str, action: Action, observed_tags: dict[str, str] | None) -> None:
        changed, removed = self._tag_delta(action, observed_tags)
        if changed:
            self.clients.events.tag_resource(ResourceARN=arn, Tags=events_tag_list(changed))
        if removed:
            self.clients.events.untag_resource(ResourceARN=arn, TagKeys=removed)

    # -- capacity providers ----------------------------------------------------------------------------------

    def _create_capacity_provider(self, action: Action) -> str:
        request = {k: v for k, v in action.request.items() if k != "tags"}
        provider = self.clients.ecs.create_capacity_provider(
            name=action.name, tags=ecs_tag_list(self._desired_tags(action)), **request)["capacityProvider"]
        return provider["capacityProviderArn"]

    def _update_capacity_provider(self, action: Action) -> str:
        request, observed = action.request, action.observed
        fields = {top_field(c.path) for c in action.changes} - {"tags"}
        if fields:
            update: dict[str, Any] = {}
            asg = request.get("autoScalingGroupProvider")
            if asg is not None:
                # Whole, with ECS's defaults for what the manifest leaves out: a field it stopped setting is reset.
                asg = fill(json.loads(json.dumps(asg)), provider_rules.ASG_DEFAULTS)
                update["autoScalingGroupProvider"] = {k: v for k, v in asg.items() if k != "autoScalingGroupArn"}
            if request.get("managedInstancesProvider") is not None:
                update["managedInstancesProvider"] = request["managedInstancesProvider"]
            if request.get("cluster"):
                update["cluster"] = request["cluster"]
            self.clients.ecs.update_capacity_provider(name=action.name, **update)
        if self._tags_due(action):
            self._sync_ecs_tags(observed.arn, action, observed.tags)
        return observed.arn

    def _replace_capacity_provider(self, action: Action) -> str:
        self._delete_capacity_provider(action)
        return self._create_capacity_provider(action)

    def _delete_capacity_provider(self, action: Action) -> str:
        """ECS deletes only a capacity provider no cluster uses: wait while one does (an update of the
        cluster earlier in this apply, or someone else's, may be releasing it), then delete."""
        deadline = time.monotonic() + self.capacity_provider_wait
        while True:
            users = self._clusters_using(action.name)
            if not users:
                break
            if time.monotonic() >= deadline:
                raise ReconcileError(f"{action.label}: still used by cluster(s) {', '.join(users)} after "
                                     f"{self.capacity_provider_wait:.0f}s; remove it from their capacityProviders first")
            time.sleep(2)
        try:
            self.clients.ecs.delete_capacity_provider(capacityProvider=action.name)
        except ClientError as exc:
            if "not found" not in exc.response.get("Error", {}).get("Message", "").lower():
                raise
        return action.observed.arn

    def _clusters_using(self, provider: str) -> list[str]:
        names: list[str] = []
        for page in self.clients.ecs.get_paginator("list_clusters").paginate():
            names.extend(page.get("clusterArns", []))
        users = []
        for start in range(0, len(names), 100):
            for cluster in self.clients.ecs.describe_clusters(clusters=names[start:start + 100])["clusters"]:
                if cluster.get("status") == "ACTIVE" and provider in (cluster.get("capacityProviders") or []):
                    users.append(cluster["clusterName"])
        return sorted(users)

    # -- clusters --------------------------------------------------------------------------------------------

    def _create_cluster(self, action: Action) -> str:
        request = {k: v for k, v in action.request.items() if k != "tags"}
        cluster = self.clients.ecs.create_cluster(
            clusterName=action.name, tags=ecs_tag_list(self._desired_tags(action)), **request)["cluster"]
        self.cluster_arns[action.name] = cluster["clusterArn"]
        return cluster["clusterArn"]

    def _update_cluster(self, action: Action) -> str:
        request, arn = action.request, action.observed.arn
        fields = {top_field(c.path) for c in action.changes}
        update: dict[str, Any] = {}
        if "settings" in fields:
            settings = {s["name"]: s["value"] for s in request.get("settings") or []}
            settings.setdefault("containerInsights", "disabled")
            update["settings"] = [{"name": k, "value": v} for k, v in sorted(settings.items())]
        for name in ("configuration", "serviceConnectDefaults"):
            if name in fields and name in request:
                update[name] = request[name]
        if update:
            self.clients.ecs.update_cluster(cluster=action.name, **update)
        if fields & {"capacityProviders", "defaultCapacityProviderStrategy"}:
            self.clients.ecs.put_cluster_capacity_providers(
                cluster=action.name, capacityProviders=request.get("capacityProviders") or [],
                defaultCapacityProviderStrategy=request.get("defaultCapacityProviderStrategy") or [])
        if self._tags_due(action):
            self._sync_ecs_tags(arn, action, action.observed.tags)
        return arn

    def _delete_cluster(self, action: Action) -> str:
        self.clients.ecs.delete_cluster(cluster=action.name)
        return action.observed.arn

    # -- task definitions ------------------------------------------------------------------------------------

    def _create_task_definition(self, action: Action) -> str:
        fields = {top_field(c.path) for c in action.changes}
        if action.observed is not None and fields <= {"tags"}:  # tags only, or adoption alone
            arn = action.observed.arn
            self._sync_ecs_tags(arn, action, action.observed.tags)
            return arn
        arn = self._register(action)
        self.task_definition_arns[action.name] = arn
        return arn

    _update_task_definition = _create_task_definition

    def _register(self, action: Action) -> str:
        """RegisterTaskDefinition without blind retries: an ambiguous failure (timeout, 5xx, dropped
        connection) may have registered the revision, so look before sending it again."""
        request = {k: v for k, v in action.request.items() if k != "tags"}
        wanted = td_rules.normalize(request)
        client = self.clients.client("ecs", retries=False)
        delay = 0.2
        for attempt in range(REGISTER_ATTEMPTS):
            try:
                response = client.register_task_definition(
                    family=action.name, tags=ecs_tag_list(self._desired_tags(action)), **request)
                return response["taskDefinition"]["taskDefinitionArn"]
            except (ClientError, BotoCoreError) as exc:
                if isinstance(exc, ClientError) and not _retryable(exc):
                    raise
                if attempt == REGISTER_ATTEMPTS - 1:
                    raise
                latest = self.reader.latest_revision(action.name)
                if latest is not None and is_owned(latest.tags, self.instance) and td_rules.normalize(latest.body) == wanted \
                        and latest.arn != (action.observed.arn if action.observed else None):
                    log.info("revision %s was registered by the failed attempt; not registering again", latest.arn)
                    return latest.arn
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise ReconcileError(f"could not register {action.label}")

    def _delete_task_definition(self, action: Action) -> str:
        paginator = self.clients.ecs.get_paginator("list_task_definitions")
        for page in paginator.paginate(familyPrefix=action.name, status="ACTIVE"):
            for arn in page.get("taskDefinitionArns", []):
                if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] != action.name:
                    continue
                revision = self.reader.revision(arn)
                if revision is not None and is_owned(revision.tags, self.instance):
                    self.clients.ecs.deregister_task_definition(taskDefinition=arn)
        return action.observed.arn

    # -- services ----------------------------------------------------------------------------------------------

    def _task_definition_ref(self, ref: str | None) -> str | None:
        if ref and ref.endswith(f":{NEW_REVISION}"):
            family = ref.split(":", 1)[0]
            if family not in self.task_definition_arns:
                raise ReconcileError(f"task definition {family} was not registered")
            return self.task_definition_arns[family]
        return ref

    def _create_service(self, action: Action) -> str:
        request = {k: v for k, v in action.request.items() if k not in ("tags", "autoScaling")}
        if "taskDefinition" in request:
            request["taskDefinition"] = self._task_definition_ref(request["taskDefinition"])
        token = str(uuid.uuid5(uuid.NAMESPACE_URL, "ecs-reconciler:" + json.dumps(
            [self.instance, action.name, request], sort_keys=True, default=str)))
        service = self.clients.ecs.create_service(
            serviceName=action.name, clientToken=token, tags=ecs_tag_list(self._desired_tags(action)), **request)["service"]
        if "autoScaling" in action.request:
            write_scaling(self.clients, request["cluster"], action.name, action.request["autoScaling"],
                          tags=self._scaling_tags(action))
        return service["serviceArn"]

    def _scaling_tags(self, action: Action) -> dict[str, str]:
        """What marks a scalable target as ours (a dropped `autoScaling` then deregisters it)."""
        return ownership_tags(self.instance, action.kind, action.name)

    def _update_service(self, action: Action) -> str:
        request, observed = action.request, action.observed
        fields = {top_field(c.path) for c in action.changes} - {"tags", "autoScaling"}
        update: dict[str, Any] = {}
        for name in sorted(fields):
            if name in request:
                update[name] = request[name]
            elif reset_value(name, request) is not None:
                update[name] = reset_value(name, request)
            else:
                log.warning("%s: %s was removed from the manifest but cannot be cleared in place", action.label, name)
        if "taskDefinition" in update:
            update["taskDefinition"] = self._task_definition_ref(update["taskDefinition"])
        scaling_changed = any(top_field(c.path) == "autoScaling" for c in action.changes)
        if scaling_changed and "autoScaling" not in request:
            # Our scalable target, dropped from the manifest: gone before desiredCount is set again.
            deregister_scaling(self.clients, request["cluster"], action.name)
        if update:
            self.clients.ecs.update_service(cluster=request["cluster"], service=action.name, **update)
        if "autoScaling" in request and scaling_changed:
            write_scaling(self.clients, request["cluster"], action.name, request["autoScaling"],
                          [c.path for c in action.changes], self._scaling_tags(action))
        if self._tags_due(action):
            self._sync_ecs_tags(observed.arn, action, observed.tags)
        return observed.arn

    def _replace_service(self, action: Action) -> str:
        if action.observed.cluster and action.observed.cluster != action.request["cluster"]:
            # A move to another cluster: the new service runs before the old one goes.
            arn = self._create_service(action)
            self._delete_service(action)
            self._deregister_dropped_scaling(action)
            return arn
        self._delete_service(action)
        self._deregister_dropped_scaling(action)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            found = self.clients.ecs.describe_services(cluster=action.observed.cluster, services=[action.name])["services"]
            if not found or all(s["status"] == "INACTIVE" for s in found):
                break
            time.sleep(2)
        return self._create_service(action)

    def _deregister_dropped_scaling(self, action: Action) -> None:
        """Our scalable target outlives DeleteService: a replace whose manifest dropped `autoScaling`
        deregisters it (the plan lists it only when it is ours)."""
        if "autoScaling" not in action.request and any(top_field(c.path) == "autoScaling" for c in action.changes):
            deregister_scaling(self.clients, action.observed.cluster, action.name)

    def _delete_service(self, action: Action) -> str:
        try:
            self.clients.ecs.delete_service(cluster=action.observed.cluster, service=action.name, force=True)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ServiceNotFoundException":
                raise
        if action.action == "delete":  # pruned: its scaler has nothing left to scale
            deregister_scaling(self.clients, action.observed.cluster, action.name)
        return action.observed.arn

    # -- scheduled tasks ----------------------------------------------------------------------------------------

    def _cluster_arn(self, name: str) -> str:
        if name not in self.cluster_arns or not self.cluster_arns[name]:
            found = self.clients.ecs.describe_clusters(clusters=[name])["clusters"]
            if not found:
                raise ReconcileError(f"cluster {name} does not exist")
            self.cluster_arns[name] = found[0]["clusterArn"]
        return self.cluster_arns[name]

    def _put_scheduled_task(self, action: Action, create: bool) -> str:
        request = action.request
        rule = rule_request(action.name, request)
        if create:
            rule["Tags"] = events_tag_list(self._desired_tags(action))
        arn = self.clients.events.put_rule(**rule)["RuleArn"]
        td_arn = self._task_definition_ref(request["taskDefinition"])
        if not td_arn.startswith("arn:"):
            td_arn = self.clients.ecs.describe_task_definition(taskDefinition=td_arn)["taskDefinition"]["taskDefinitionArn"]
        target = target_request(request, self._cluster_arn(request["cluster"]), td_arn)
        response = self.clients.events.put_targets(Rule=action.name, Targets=[target])
        if response.get("FailedEntryCount"):
            raise ReconcileError(f"{action.label}: PutTargets failed: {response.get('FailedEntries')}")
        observed_target = (action.observed.body.get("target") or {}) if action.observed else {}
        others = list(observed_target.get("otherTargets") or [])
        if observed_target.get("Id") not in (None, target["Id"]):
            others.append(observed_target["Id"])
        if others:  # the manifest describes the rule's only target: an adopted rule's old one would run the task twice
            self.clients.events.remove_targets(Rule=action.name, Ids=sorted(set(others)))
        if not create:
            self._sync_rule_tags(arn, action, action.observed.tags)
        return arn

    def _create_scheduled_task(self, action: Action) -> str:
        return self._put_scheduled_task(action, create=True)

    def _update_scheduled_task(self, action: Action) -> str:
        return self._put_scheduled_task(action, create=False)

    def _delete_scheduled_task(self, action: Action) -> str:
        targets = self.clients.events.list_targets_by_rule(Rule=action.name).get("Targets", [])
        if targets:
            self.clients.events.remove_targets(Rule=action.name, Ids=[t["Id"] for t in targets])
        self.clients.events.delete_rule(Name=action.name)
        return action.observed.arn


    # -- schedules (EventBridge Scheduler) ---------------------------------------------------------------------

    def _schedule_request(self, action: Action) -> dict[str, Any]:
        """The CreateSchedule/UpdateSchedule request: the target's cluster and task definition as ARNs."""
        request = json.loads(json.dumps(action.request))
        ecs = request["Target"].get("EcsParameters")
        if ecs is not None:
            if not request["Target"]["Arn"].startswith("arn:"):
                request["Target"]["Arn"] = self._cluster_arn(request["Target"]["Arn"])
            td_arn = self._task_definition_ref(ecs["TaskDefinitionArn"])
            if not td_arn.startswith("arn:"):
                td_arn = self.clients.ecs.describe_task_definition(taskDefinition=td_arn)["taskDefinition"]["taskDefinitionArn"]
            ecs["TaskDefinitionArn"] = td_arn
        return request

    def _ensure_schedule_group(self, name: str) -> None:
        """Create the schedule's group, tagged as ours, unless it exists (the planner checked whose it is)."""
        scheduler = self.clients.client("scheduler")
        try:
            scheduler.get_schedule_group(Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            try:
                scheduler.create_schedule_group(Name=name, Tags=events_tag_list(group_tags(self.instance)))
            except ClientError as again:
                if again.response.get("Error", {}).get("Code") != "ConflictException":
                    raise

    def _create_schedule(self, action: Action) -> str:
        request = self._schedule_request(action)
        self._ensure_schedule_group(request["GroupName"])
        token = str(uuid.uuid5(uuid.NAMESPACE_URL, "ecs-reconciler:schedule:" + json.dumps(
            [self.instance, action.name, request], sort_keys=True, default=str)))
        try:
            return self.clients.client("scheduler").create_schedule(Name=action.name, ClientToken=token, **request)["ScheduleArn"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConflictException":
                raise
            # Created by an earlier attempt whose answer was lost: write it as declared.
            return self.clients.client("scheduler").update_schedule(Name=action.name, **request)["ScheduleArn"]

    def _update_schedule(self, action: Action) -> str:
        request = self._schedule_request(action)
        return self.clients.client("scheduler").update_schedule(Name=action.name, **request)["ScheduleArn"]

    def _replace_schedule(self, action: Action) -> str:
        """A move to another group: the new schedule exists before the old one goes."""
        arn = self._create_schedule(action)
        self._delete_schedule(action)
        return arn

    def _delete_schedule(self, action: Action) -> str:
        try:
            self.clients.client("scheduler").delete_schedule(Name=action.name, GroupName=action.observed.body["GroupName"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
        return action.observed.arn


def waves(actions: list[Action]) -> list[list[Action]]:
    """Consecutive actions of one kind and direction (writes, then deletes) form a wave: the plan
    orders kinds by dependency, and within a kind no action depends on another."""
    out: list[list[Action]] = []
    for action in actions:
        key = (action.kind, action.action == "delete")
        if out and (out[-1][0].kind, out[-1][0].action == "delete") == key:
            out[-1].append(action)
        else:
            out.append([action])
    return out


def _snake(kind: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")


def _retryable(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status >= 500 or "Throttl" in code or code in ("RequestLimitExceeded", "TooManyRequestsException", "ServerException")
