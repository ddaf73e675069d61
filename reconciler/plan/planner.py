"""Turn desired manifests and observed state into an ordered plan of actions.

Order: clusters, task definitions, services, scheduled tasks; deletions (prune) come last, in the
reverse order. Ownership is checked here, so a conflict is known before anything is written.
"""

from __future__ import annotations

from typing import Any

from ..desired.loader import DesiredState, Located
from ..desired.references import cluster_name, is_external_task_definition
from ..diff import autoscaling as scaling_rules
from ..diff import capacity_provider as provider_rules
from ..diff import cluster as cluster_rules
from ..diff import schedule as schedule_rules
from ..diff import scheduled_task as scheduled_rules
from ..diff import service as service_rules
from ..diff import task_definition as td_rules
from ..diff.compare import Change, compare, is_ignored
from ..diff.declared import comparable, fields_fingerprint
from ..diff.write_only import write_only_changes, write_only_hash
from ..diff.rules import family_revision
from ..diff.update_policy import IN_PLACE_HOW, replace_reasons
from ..observed.schedules import owns_group, schedule_group
from ..observed.state import Observed, ObservedState
from ..ownership import FIELDS, OWNER, WRITE_ONLY, is_owned, user_tags
from ..rule_targets import TARGET_ID, spec_from_aws
from .model import Action, Plan

NEW_REVISION = "(new revision)"
DELETE_ORDER = ("Schedule", "ScheduledTask", "Service", "TaskDefinition", "Cluster", "CapacityProvider")


class Planner:
    """A pure function of desired and observed state: it never calls AWS (the readers read all it needs)."""

    def __init__(self, instance: str, owners: dict[str, str] | None = None):
        self.instance = instance
        self.owners = owners or {}  # label -> the object that owns it (operator); empty: not checked

    def plan(self, desired: DesiredState, observed: ObservedState) -> Plan:
        actions: list[Action] = []
        revisions: dict[str, str] = {}  # family -> "family:N" or "family:(new revision)"
        for item in desired.resources:
            kind = item.manifest.KIND
            obs = observed.get(kind, item.manifest.name)
            if kind == "CapacityProvider":
                action = self._plan_capacity_provider(item, obs)
            elif kind == "Cluster":
                action = self._plan_cluster(item, obs, observed.namespaces)
                action.depends_on = [f"CapacityProvider/{p}" for p in item.manifest.spec.capacityProviders or []
                                     if desired.get("CapacityProvider", p) is not None]
            elif kind == "TaskDefinition":
                action = self._plan_task_definition(item, obs, observed)
                revisions[item.manifest.name] = _managed_revision(action)
            elif kind == "Service":
                action = self._plan_service(item, obs, desired, revisions, observed)
            elif kind == "Schedule":
                action = self._plan_schedule(item, obs, desired, revisions, observed)
            else:
                action = self._plan_scheduled_task(item, obs, desired, revisions)
            actions.append(action)
        for kind in DELETE_ORDER:
            for (k, _), obs in sorted(observed.prune_candidates.items()):
                if k == kind:
                    where = f" in cluster {obs.cluster}" if obs.cluster else ""
                    actions.append(Action(kind, obs.name, "delete", observed=obs,
                                          reasons=[f"owned by this instance and no longer in the manifests{where}"]))
        return Plan(actions)

    # -- shared ----------------------------------------------------------------------------------------

    def _decide(self, item: Located, obs: Observed | None, desired_form: dict[str, Any], observed_form: dict[str, Any],
                request: dict[str, Any], ownership: dict[str, str] | None = None) -> Action:
        """`ownership`: the tags that say who owns the resource (default: the observed resource's)."""
        kind, name = item.manifest.KIND, item.manifest.name
        ignore = item.manifest.metadata.ignoreDifferences
        fields = fields_fingerprint(desired_form)
        if obs is None:
            changes = compare(desired_form, {})
            desired_tags = item.manifest.spec.tags or {}
            changes += [Change(f"spec.tags.{k}", v, None) for k, v in sorted(desired_tags.items())]
            return Action(kind, name, "create", changes, desired=item, request=request, fields=fields)
        observed_form = comparable(desired_form, observed_form, (obs.tags or {}).get(FIELDS))
        changes = [c for c in compare(desired_form, observed_form) + _tag_changes(item, obs) if not is_ignored(c.path, ignore)]
        ownership = obs.tags if ownership is None else ownership
        owned = is_owned(ownership, self.instance)
        if not owned and not item.manifest.adopt:
            return Action(kind, name, "conflict", changes, desired=item, observed=obs, request=request, reasons=[
                f"{kind} {name!r} exists but is not managed by {self.instance!r}; set the annotation "
                "ecs-reconciler.io/adopt: \"true\" to adopt it"])
        owner, recorded = self.owners.get(f"{kind}/{name}"), (ownership or {}).get(OWNER)
        if owned and owner and recorded and recorded != owner:
            return Action(kind, name, "conflict", changes, desired=item, observed=obs, request=request,
                          owned_by=recorded, reasons=[
                              f"{kind} {name!r} is owned by another object ({recorded}); nothing is written"])
        adopt = not owned
        claim = owned and bool(owner) and not recorded  # ours, written before owners were recorded (or released)
        if not changes and not adopt and not claim:
            return Action(kind, name, "none", desired=item, observed=obs, request=request, fields=fields)
        replace = replace_reasons(kind, changes, request)
        reasons = replace or ([IN_PLACE_HOW[kind]] if changes or adopt else []) + (
            ["adopts the existing resource (adds ownership tags)"] if adopt else []) + (
            [f"records its owner (tag {OWNER})"] if claim else [])
        return Action(kind, name, "replace" if replace else "update", changes, reasons, desired=item, observed=obs,
                      adopt=adopt, request=request, fields=fields)

    # -- per kind -------------------------------------------------------------------------------------

    def _plan_capacity_provider(self, item: Located, obs: Observed | None) -> Action:
        request = item.manifest.spec.to_api()
        desired_form = provider_rules.normalize(request)
        observed_form = provider_rules.normalize(obs.body) if obs else {}
        action = self._decide(item, obs, desired_form, observed_form, request)
        replace = sorted({f"{c.path[5:]}: {why}" for c in action.changes for path, why in provider_rules.REPLACE_PATHS.items()
                          if c.path == path or c.path.startswith(path + ".")})
        if replace and action.action == "update":
            action.action, action.reasons = "replace", replace
        return action

    def _plan_cluster(self, item: Located, obs: Observed | None, namespaces: dict[str, str]) -> Action:
        request = item.manifest.spec.to_api()
        desired_form = cluster_rules.normalize(request, namespaces)
        observed_form = cluster_rules.normalize(obs.body, namespaces) if obs else {}
        return self._decide(item, obs, desired_form, observed_form, request)

    def _plan_task_definition(self, item: Located, obs: Observed | None, observed: ObservedState) -> Action:
        request = item.manifest.spec.to_api()
        desired_form = td_rules.normalize(request)
        observed_form = td_rules.normalize(obs.body) if obs else {}
        ownership = None
        if obs is not None and not is_owned(obs.tags, self.instance):
            # Someone may have registered an untagged revision on top of ours: the family is still ours.
            ours = observed.owned_revisions.get(item.manifest.name)
            ownership = ours.tags if ours is not None else None
        action = self._decide(item, obs, desired_form, observed_form, request, ownership)
        if action.action == "update" and action.changes and all(c.path.startswith("spec.tags") for c in action.changes):
            action.reasons = ["TagResource on the latest revision"]
        return action

    def _plan_service(self, item: Located, obs: Observed | None, desired: DesiredState,
                      revisions: dict[str, str], observed: ObservedState) -> Action:
        request = item.manifest.spec.to_api()
        request["cluster"] = cluster_name(request.get("cluster"))
        moved = observed.moved.get(item.key)
        if obs is None and moved is not None and is_owned(moved.tags, self.instance):
            obs = moved  # planned as a move: created in the new cluster, then deleted from the old one
        if "taskDefinition" in request:
            request["taskDefinition"] = self._resolve_task_definition(request["taskDefinition"], revisions)
        desired_form = service_rules.normalize(request, observed.namespaces)
        observed_form = service_rules.normalize(obs.body, observed.namespaces) if obs else {}
        service_rules.drop_server_chosen(desired_form, observed_form)
        scaler = (request["cluster"], item.manifest.name)
        if "autoScaling" in request:
            # Declared: compared with the service's scalable target, policies and scheduled actions.
            desired_form["autoScaling"] = scaling_rules.normalize(request["autoScaling"])
            if obs is not None and scaler in observed.scaling:
                observed_form["autoScaling"] = scaling_rules.normalize(scaling_rules.from_observed(observed.scaling[scaler]))
        elif obs is not None and scaler in observed.undeclared_scaling:
            # Ours, and no longer declared: deleted, and desiredCount is the manifest's again.
            observed_form["autoScaling"] = scaling_rules.normalize(
                scaling_rules.from_observed(observed.undeclared_scaling[scaler]))
        if (scaler in observed.autoscaled and scaler not in observed.undeclared_scaling) or "autoScaling" in request:
            # Application Auto Scaling owns desiredCount: neither report nor write it.
            desired_form.pop("desiredCount", None)
            observed_form.pop("desiredCount", None)
        action = self._decide(item, obs, desired_form, observed_form, request)
        action.depends_on = _depends(item, desired)
        action.write_only = write_only_hash(request, service_rules.WRITE_ONLY_FIELDS)
        if obs is not None and action.action in ("none", "update"):
            extra = write_only_changes(request, service_rules.WRITE_ONLY_FIELDS, (obs.tags or {}).get(WRITE_ONLY))
            extra = [c for c in extra if not is_ignored(c.path, item.manifest.metadata.ignoreDifferences)]
            if extra:
                action.changes += extra
                if action.action == "none":
                    action.action, action.reasons = "update", [IN_PLACE_HOW["Service"]]
        if obs is not None and obs.cluster and obs.cluster != request["cluster"] and action.action == "replace":
            action.reasons = [f"moves from cluster {obs.cluster} to {request['cluster']}: created in {request['cluster']}, "
                              f"then deleted from {obs.cluster}"]
        return action

    def _plan_scheduled_task(self, item: Located, obs: Observed | None, desired: DesiredState,
                             revisions: dict[str, str]) -> Action:
        request = item.manifest.spec.to_api()
        request["cluster"] = cluster_name(request["cluster"])
        request["taskDefinition"] = self._resolve_task_definition(request["taskDefinition"], revisions)
        desired_form = scheduled_rules.normalize(request)
        if obs is not None:
            observed_form = scheduled_rules.normalize(spec_from_aws(obs.body["rule"], obs.body.get("target")))
        else:
            observed_form = {}
        action = self._decide(item, obs, desired_form, observed_form, request)
        action.depends_on = _depends(item, desired)
        others = ((obs.body.get("target") or {}).get("otherTargets") if obs is not None else None) or []
        if others and action.action in ("none", "update"):
            # The manifest describes the rule's only target: another one would start the task again.
            action.changes.append(Change("spec.targets", [TARGET_ID], sorted([TARGET_ID, *others])))
            if action.action == "none":
                action.action, action.reasons = "update", ["RemoveTargets (the rule's other targets)"]
        return action

    def _plan_schedule(self, item: Located, obs: Observed | None, desired: DesiredState,
                       revisions: dict[str, str], observed: ObservedState) -> Action:
        """A schedule has no tags: it is ours when its group is (observed/schedules.py). A schedule
        in a group we do not own is managed only with the adopt annotation, and never pruned."""
        request = item.manifest.spec.to_api()
        group = request["GroupName"] = schedule_group(item.manifest, self.instance)
        ecs = request["Target"].get("EcsParameters")
        if ecs is not None:
            ecs["TaskDefinitionArn"] = self._resolve_task_definition(ecs["TaskDefinitionArn"], revisions)
        desired_form = schedule_rules.normalize(request)
        observed_form = schedule_rules.normalize(obs.body) if obs is not None else {}
        deps = [f"{kind}/{ref}" for kind, ref in (("Cluster", item.manifest.cluster_ref),
                                                  ("TaskDefinition", item.manifest.task_definition_ref))
                if ref and desired.get(kind, ref) is not None]
        group_tags = observed.schedule_groups.get(group)
        if obs is None and group_tags is not None and not owns_group(group_tags, self.instance) and not item.manifest.adopt:
            return Action("Schedule", item.manifest.name, "conflict", compare(desired_form, {}), desired=item, request=request,
                          depends_on=deps, reasons=[
                              f"schedule group {group!r} exists but is not managed by {self.instance!r}: a schedule "
                              "created in it would not be ours; set the annotation ecs-reconciler.io/adopt: \"true\" "
                              "to manage it anyway (it is then never pruned)"])
        action = self._decide(item, obs, desired_form, observed_form, request)
        action.depends_on = deps
        if action.action == "update":
            # Nothing to tag: an adopted schedule in a group we do not own stays managed by the
            # annotation, and no owner tag can be recorded on a schedule.
            action.adopt = False
            action.reasons = [r for r in action.reasons if not r.startswith(("adopts", "records its owner"))]
            if not action.changes:
                action.action, action.reasons = "none", []
        return action

    @staticmethod
    def _resolve_task_definition(ref: str, revisions: dict[str, str]) -> str:
        if is_external_task_definition(ref):
            return family_revision(ref) or ref
        return revisions.get(ref, ref)


def _managed_revision(action: Action) -> str:
    """The revision services will run: the latest one when its content matches, else the one apply registers."""
    obs = action.observed
    if obs is not None and action.action in ("none", "update", "conflict") and all(
            c.path.startswith("spec.tags") for c in action.changes):
        return f"{action.name}:{obs.body['revision']}"
    return f"{action.name}:{NEW_REVISION}"


def _tag_changes(item: Located, obs: Observed) -> list[Change]:
    if obs.tags is None:
        return []
    desired = item.manifest.spec.tags or {}
    observed = user_tags(obs.tags)
    return [Change(f"spec.tags.{k}", desired.get(k), observed.get(k))
            for k in sorted(set(desired) | set(observed)) if desired.get(k) != observed.get(k)]


def _depends(item: Located, desired: DesiredState) -> list[str]:
    spec = item.manifest.spec
    deps = []
    cluster = cluster_name(spec.cluster)
    if desired.get("Cluster", cluster):
        deps.append(f"Cluster/{cluster}")
    if spec.taskDefinition and desired.get("TaskDefinition", spec.taskDefinition):
        deps.append(f"TaskDefinition/{spec.taskDefinition}")
    return deps
