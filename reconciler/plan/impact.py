"""What an action will do to what runs: its impact, and the API calls the apply will make for it.

One describer per kind in `IMPACT`, so a new kind adds its own; each names one category:

| category | meaning |
| --- | --- |
| `metadata` | tags only: nothing that runs changes |
| `in-place` | updated in place, no new tasks (scaling, deployment settings, cluster settings) |
| `new-revision` | a new task definition revision is registered: no deployment by itself |
| `rolling` | a rolling deployment of a service (figures from deploymentConfiguration and desiredCount) |
| `blue-green` | a deployment through CodeDeploy (or the ECS blue/green strategy) |
| `external` | the service's EXTERNAL deployment controller deploys it, not ECS |
| `replace` | delete then create: the service is down in between (a move to another cluster is not) |
| `schedule` | the schedule rule or what it starts changes; no running task changes |
| `create` / `delete` | a new resource / a removed one (for services: tasks started / stopped) |
| `suspended` | a service rolled back by hand (`ecs-reconciler rollback`): nothing is written until `resume` |

A circuit-breaker rollback by ECS is a note on the service's impact (`notes`), whatever the change.

Which service fields start a new deployment, from the UpdateService API reference ("a new
deployment is triggered" when the task definition, network configuration, platform version,
load balancers, service registries, capacity provider strategy, Service Connect, volume or VPC
Lattice configuration, placement or ECS Exec changes; the managed-tags fields take effect on new
tasks only, so they are in place). Everything else UpdateService takes applies in place.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from ..diff.update_policy import top_field
from ..observed.rollouts import circuit_breaker_rollback
from .manual_rollback import manual_rollback
from .model import Action, Plan

DEPLOYING_FIELDS = frozenset({
    "taskDefinition", "networkConfiguration", "platformVersion", "loadBalancers", "serviceRegistries",
    "capacityProviderStrategy", "serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations",
    "placementConstraints", "placementStrategy", "enableExecuteCommand", "launchType"})
RULE_FIELDS = frozenset({"schedule", "state", "description", "roleArn"})
ROLLS = frozenset({"rolling", "blue-green", "external", "replace"})


@dataclass
class Impact:
    category: str
    text: str
    calls: list[tuple[str, str]] = field(default_factory=list)  # (service, operation) in the order apply sends them
    rolls: bool = False  # the service gets new tasks
    notes: list[str] = field(default_factory=list)  # what a reviewer should know (a rollback behind this change)

    def document(self) -> dict[str, Any]:
        return {"category": self.category, "text": self.text, "rolls": self.rolls,
                "calls": [f"{service}:{operation}" for service, operation in self.calls], "notes": list(self.notes)}


def _fields(action: Action) -> set[str]:
    return {top_field(c.path) for c in action.changes}


def _tag_calls(service: str, action: Action) -> list[tuple[str, str]]:
    """TagResource when a tag is set or ours move (the executor's rule; `apply --revision` re-tags
    everything it writes), UntagResource when the manifest dropped a tag."""
    tags = [c for c in action.changes if top_field(c.path) == "tags"]
    calls = []
    if action.tags_due() and (any(c.desired is not None for c in tags) or len(tags) < len(action.changes) or action.adopt
                              or action.retag or not tags):
        calls.append((service, "TagResource"))
    if any(c.desired is None for c in tags):
        calls.append((service, "UntagResource"))
    return calls


def _tags_only(action: Action) -> bool:
    return _fields(action) <= {"tags"}


# -- services -------------------------------------------------------------------------------------------

def _deployment(action: Action) -> dict[str, Any]:
    """The deployment settings that will apply: the manifest's, else what runs."""
    body = action.observed.body if action.observed else {}
    config = {**(body.get("deploymentConfiguration") or {}), **(action.request.get("deploymentConfiguration") or {})}
    controller = (action.request.get("deploymentController") or body.get("deploymentController") or {}).get("type", "ECS")
    count = action.request.get("desiredCount", body.get("desiredCount"))
    return {"config": config, "controller": controller, "count": count,
            "daemon": (action.request.get("schedulingStrategy") or body.get("schedulingStrategy")) == "DAEMON"}


def rolling_figures(count: int, maximum_percent: int = 200, minimum_healthy_percent: int = 100) -> str:
    """ECS rounds maximumPercent down and minimumHealthyPercent up (service deployment docs)."""
    most = math.floor(count * maximum_percent / 100)
    least = math.ceil(count * minimum_healthy_percent / 100)
    return f"replaces {count} task{'s' if count != 1 else ''}, at most {most} running, at least {least} healthy"


def _service_deploys(action: Action, name: str) -> Impact:
    d = _deployment(action)
    if d["controller"] == "CODE_DEPLOY":
        return Impact("blue-green", f"a blue/green deployment of service {name} through CodeDeploy", rolls=True)
    if d["controller"] == "EXTERNAL":
        return Impact("external", f"service {name} uses an EXTERNAL deployment controller: it deploys the change",
                      rolls=True)
    if d["config"].get("strategy") in ("BLUE_GREEN", "LINEAR", "CANARY"):
        strategy = d["config"]["strategy"].replace("_", "/").lower()
        bake = d["config"].get("bakeTimeInMinutes")
        extra = f", then {bake} min of bake time" if bake else ""
        return Impact("blue-green", f"an ECS {strategy} deployment of service {name}: a full new set of "
                                    f"{d['count'] if d['count'] is not None else 'its'} tasks{extra}", rolls=True)
    if d["daemon"]:
        return Impact("rolling", f"a rolling deployment of daemon service {name}: one new task per instance", rolls=True)
    if d["count"] is None:
        return Impact("rolling", f"a rolling deployment of service {name}", rolls=True)
    figures = rolling_figures(int(d["count"]), int(d["config"].get("maximumPercent", 200)),
                              int(d["config"].get("minimumHealthyPercent", 100)))
    return Impact("rolling", f"a rolling deployment of service {name}: {figures}", rolls=True)


def _service(action: Action) -> Impact:
    impact = _service_change(action)
    if action.observed is not None and action.action != "delete":
        breaker = circuit_breaker_rollback(action.observed.body)
        if breaker:
            impact.notes.append(breaker + "; deploying the same revision again may fail the same way")
    rolled = manual_rollback(action) if action.action in ("update", "replace") else None
    if rolled is not None:
        return Impact("suspended", f"nothing is written: {rolled.reason}", notes=[
            *impact.notes, f"without the rollback: {impact.text}", f"to deploy the manifest again: {rolled.resume_command}"])
    return impact


def _service_change(action: Action) -> Impact:
    name = action.name
    if action.action == "create":
        count = action.request.get("desiredCount")
        started = f"starts {count} task{'s' if count != 1 else ''}" if count is not None else "starts its tasks"
        return Impact("create", f"creates service {name}: {started}", [("ecs", "CreateService")] + _scaling_calls(action))
    if action.action == "delete":
        running = (action.observed.body or {}).get("runningCount") if action.observed else None
        stopped = f"stops its {running} running task{'s' if running != 1 else ''}" if running is not None else "stops its tasks"
        return Impact("delete", f"deletes service {name}: {stopped}", [("ecs", "DeleteService")])
    if action.action == "replace":
        calls = [("ecs", "DeleteService"), ("ecs", "CreateService")]
        if action.request.get("autoScaling") is None and "autoScaling" in _fields(action):
            calls += _scaling_removed_calls(action)
        if action.observed and action.observed.cluster and action.observed.cluster != action.request.get("cluster"):
            return Impact("replace", f"service {name} moves to cluster {action.request.get('cluster')}: the new one "
                                     "starts before the old one is deleted", calls[::-1], rolls=True)
        return Impact("replace", f"replace: service {name} is deleted, then created; it is down in between",
                      calls, rolls=True)
    fields = _fields(action) - {"tags"}
    update = [("ecs", "UpdateService")] if fields - {"autoScaling"} else []
    calls = update + _scaling_calls(action) + _tag_calls("ecs", action)
    if not fields:
        return Impact("metadata", "metadata only (tags): no task changes", calls)
    if "autoScaling" in fields and action.request.get("autoScaling") is None:
        return Impact("in-place", _scaling_removed(action), calls)
    if fields == {"autoScaling"}:
        return Impact("in-place", "in place, no new tasks: the service's Application Auto Scaling changes", calls)
    if fields & DEPLOYING_FIELDS:
        impact = _service_deploys(action, name)
        impact.calls = calls
        return impact
    if "desiredCount" in fields and action.observed is not None:
        before, after = action.observed.body.get("desiredCount"), action.request.get("desiredCount")
        return Impact("in-place", f"in place, no new deployment: scales from {before} to {after} "
                                  f"task{'s' if after != 1 else ''}", calls)
    return Impact("in-place", "in place, no new tasks (" + ", ".join(sorted(fields)) + ")", calls)


def _scaling_calls(action: Action) -> list[tuple[str, str]]:
    """The Application Auto Scaling calls for `spec.autoScaling` (apply/scaling.py): the target, the
    policies and actions that changed, and the deletes of those the manifest dropped."""
    config = action.request.get("autoScaling")
    if action.action != "create" and "autoScaling" not in _fields(action):
        return []
    if config is None:
        return [] if action.action == "create" else _scaling_removed_calls(action)
    if action.action == "create":
        paths = {"spec.autoScaling"}
    else:
        paths = {c.path for c in action.changes if c.path.startswith("spec.autoScaling")}

    def touched(prefix: str) -> bool:
        return any(p == prefix or p.startswith((prefix + ".", prefix + "[")) or prefix.startswith((p + ".", p + "["))
                   for p in paths)

    aas = "application-autoscaling"
    calls = []
    if any(touched(f"spec.autoScaling.{n}") for n in ("minCapacity", "maxCapacity", "suspendedState")):
        calls.append((aas, "RegisterScalableTarget"))
    calls += [(aas, "PutScalingPolicy") for p in config.get("policies") or []
              if touched(f"spec.autoScaling.policies[{p['policyName']}]")]
    calls += [(aas, "PutScheduledAction") for a in config.get("scheduledActions") or []
              if touched(f"spec.autoScaling.scheduledActions[{a['scheduledActionName']}]")]
    dropped = [c for c in action.changes if c.path.startswith("spec.autoScaling.") and c.desired is None
               and c.path.count("[") == 1 and c.path.endswith("]")]
    calls += [(aas, "DeleteScalingPolicy" if ".policies[" in c.path else "DeleteScheduledAction") for c in dropped]
    return calls


def _removed_scaling(action: Action) -> dict:
    """The observed autoScaling of a service whose manifest dropped it (the change's observed side)."""
    return next((c.observed for c in action.changes if c.path == "spec.autoScaling"), None) or {}


def _scaling_removed_calls(action: Action) -> list[tuple[str, str]]:
    """apply/scaling.py `deregister_scaling`: each policy and scheduled action, then the target."""
    found, aas = _removed_scaling(action), "application-autoscaling"
    return ([(aas, "DeleteScalingPolicy")] * len(found.get("policies") or {})
            + [(aas, "DeleteScheduledAction")] * len(found.get("scheduledActions") or {})
            + [(aas, "DeregisterScalableTarget")])


def _scaling_removed(action: Action) -> str:
    found = _removed_scaling(action)
    policies, actions = len(found.get("policies") or {}), len(found.get("scheduledActions") or {})
    count = action.request.get("desiredCount")
    back = (f"desiredCount returns to the manifest's {count}" if count is not None
            else "desiredCount stays where the scaler left it (the manifest sets none)")
    return (f"removes the service's Application Auto Scaling (no longer in the manifest): deregisters its "
            f"scalable target ({found.get('minCapacity')}-{found.get('maxCapacity')} tasks), deletes "
            f"{policies} scaling polic{'y' if policies == 1 else 'ies'} and {actions} scheduled "
            f"action{'' if actions == 1 else 's'}; {back}")


# -- other kinds ------------------------------------------------------------------------------------------

def _cluster(action: Action) -> Impact:
    if action.action == "create":
        return Impact("create", f"creates cluster {action.name}", [("ecs", "CreateCluster")])
    if action.action == "delete":
        return Impact("delete", f"deletes cluster {action.name}", [("ecs", "DeleteCluster")])
    fields = _fields(action)
    calls = ([("ecs", "UpdateCluster")] if fields & {"settings", "configuration", "serviceConnectDefaults"} else []) + (
        [("ecs", "PutClusterCapacityProviders")] if fields & {"capacityProviders", "defaultCapacityProviderStrategy"}
        else []) + _tag_calls("ecs", action)
    if _tags_only(action):
        return Impact("metadata", "metadata only (tags): no task changes", calls)
    return Impact("in-place", "in place, no new tasks (" + ", ".join(sorted(fields - {"tags"})) + ")", calls)


def _task_definition(action: Action) -> Impact:
    if action.action == "delete":
        return Impact("delete", f"deregisters the owned revisions of {action.name} (running tasks keep theirs)",
                      [("ecs", "DeregisterTaskDefinition")])
    if action.observed is not None and _tags_only(action):
        return Impact("metadata", "metadata only (tags on the latest revision): no task changes",
                      _tag_calls("ecs", action) or [("ecs", "TagResource")])
    what = "the first revision" if action.action == "create" else "a new revision"
    return Impact("new-revision", f"registers {what} of {action.name}: no deployment by itself",
                  [("ecs", "RegisterTaskDefinition")])


def _scheduled_task(action: Action) -> Impact:
    if action.action == "create":
        return Impact("schedule", f"creates schedule rule {action.name} ({action.request.get('schedule')})",
                      [("events", "PutRule"), ("events", "PutTargets")])
    if action.action == "delete":
        return Impact("delete", f"deletes schedule rule {action.name}: no more runs start",
                      [("events", "RemoveTargets"), ("events", "DeleteRule")])
    fields = _fields(action)
    calls = [("events", "PutRule"), ("events", "PutTargets")]
    if "targets" in fields:
        calls.append(("events", "RemoveTargets"))
    calls += _tag_calls("events", action) if action.observed is not None and action.observed.tags is not None \
        else [("events", "TagResource")]
    if _tags_only(action):
        return Impact("metadata", "metadata only (tags): no task changes", calls)
    if "schedule" in fields:
        return Impact("schedule", f"schedule change: {_old(action, 'schedule')} -> {action.request.get('schedule')}", calls)
    if "state" in fields:
        return Impact("schedule", f"schedule change: rule becomes {action.request.get('state', 'ENABLED')}", calls)
    return Impact("schedule", "schedule change: the next runs start the new target ("
                  + ", ".join(sorted(fields - {"tags"})) + "); running tasks are not touched", calls)


def _schedule(action: Action) -> Impact:
    request = action.request
    zone = request.get("ScheduleExpressionTimezone")
    when = f"{request.get('ScheduleExpression')}{f' in {zone}' if zone else ''}"
    if action.action == "create":
        return Impact("schedule", f"creates Scheduler schedule {action.name} ({when})",
                      [("scheduler", "CreateSchedule")])
    if action.action == "delete":
        return Impact("delete", f"deletes Scheduler schedule {action.name}: no more runs start",
                      [("scheduler", "DeleteSchedule")])
    if action.action == "replace":
        return Impact("schedule", f"moves Scheduler schedule {action.name} to group {request.get('GroupName')}: "
                                  "created there, then deleted from its old group",
                      [("scheduler", "CreateSchedule"), ("scheduler", "DeleteSchedule")])
    fields = _fields(action)
    return Impact("schedule", "schedule change (" + ", ".join(sorted(fields)) + "): the next runs follow it; "
                  "running tasks are not touched", [("scheduler", "UpdateSchedule")])


def _capacity_provider(action: Action) -> Impact:
    if action.action == "create":
        return Impact("create", f"creates capacity provider {action.name}", [("ecs", "CreateCapacityProvider")])
    if action.action == "delete":
        return Impact("delete", f"deletes capacity provider {action.name} once no cluster uses it",
                      [("ecs", "DeleteCapacityProvider")])
    if action.action == "replace":
        return Impact("replace", f"replace: capacity provider {action.name} is deleted, then created on its new "
                                 "Auto Scaling group", [("ecs", "DeleteCapacityProvider"), ("ecs", "CreateCapacityProvider")])
    fields = _fields(action)
    calls = ([("ecs", "UpdateCapacityProvider")] if fields - {"tags"} else []) + _tag_calls("ecs", action)
    if _tags_only(action):
        return Impact("metadata", "metadata only (tags): no task changes", calls)
    return Impact("in-place", "in place: managed scaling, termination protection or draining of its instances", calls)


def _old(action: Action, name: str) -> Any:
    return next((c.observed for c in action.changes if top_field(c.path) == name), None)


# kind -> describer; a kind without one gets a generic in-place/create/delete impact
IMPACT: dict[str, Callable[[Action], Impact]] = {
    "Cluster": _cluster,
    "TaskDefinition": _task_definition,
    "Service": _service,
    "ScheduledTask": _scheduled_task,
    "Schedule": _schedule,
    "CapacityProvider": _capacity_provider,
}


def impact_of(action: Action) -> Impact:
    if action.action == "none":
        return Impact("none", "in sync")
    if action.action == "conflict":
        return Impact("conflict", "nothing is written: " + "; ".join(action.reasons))
    describe = IMPACT.get(action.kind)
    if describe is None:
        return Impact(action.action, f"{action.action} {action.label}")
    return describe(action)


def planned_calls(plan: Plan) -> Counter:
    """(service, operation) -> how many times the apply sends it."""
    calls: Counter = Counter()
    for action in plan.pending:
        calls.update(impact_of(action).calls)
    return calls


def services_rolling(plan: Plan) -> list[str]:
    return [a.label for a in plan.pending if a.kind == "Service" and impact_of(a).rolls]
