"""Saved plans: the review flow of Terraform (CI plans, a person approves, that exact plan is applied).

`plan --out FILE` writes the plan as the reviewers read it (the masked JSON document), a
fingerprint of every observed resource the plan read, and a fingerprint of every manifest it was
made from. Values are never stored: the manifests themselves are the reference (`sources`), read
again at apply time, so a secret in a manifest never lands in the file in the clear (only inside a
salted SHA-256 of the whole resource).

`apply --plan FILE` reads the manifests and AWS again and re-plans. The planner is a pure function
of desired and observed state, so when both fingerprints match, the new plan is the saved plan
action for action (checked too), and that is what is applied. When a resource it read changed
since (out of band, or another apply), or a manifest did, apply refuses and names them.

Fingerprints are of what the planner compares: the observed resource in canonical form (the
normalizers of diff/, one entry per kind in `CANONICAL`) plus its tags, or "absent". Status that
moves on its own (running counts, deployments' progress, events) is not part of it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..desired.state import DesiredState
from ..diff import autoscaling as scaling_rules
from ..diff import capacity_provider as provider_rules
from ..diff import cluster as cluster_rules
from ..diff import schedule as schedule_rules
from ..diff import scheduled_task as scheduled_rules
from ..diff import service as service_rules
from ..diff import task_definition as td_rules
from ..errors import ReconcileError
from ..observed.state import Observed, ObservedState
from ..rule_targets import spec_from_aws
from .model import Plan

SAVED_FORMAT = "ecs-reconciler/saved-plan"
SAVED_VERSION = 1
ABSENT = "absent"


def _service(obs: Observed, state: ObservedState) -> Any:
    # declared, or ours and dropped from the manifest (a saved plan that deregisters it)
    scaling = state.scaling.get((obs.cluster, obs.name)) or state.undeclared_scaling.get((obs.cluster, obs.name))
    return [service_rules.normalize(obs.body, state.namespaces), obs.cluster,
            [obs.cluster, obs.name] in [list(k) for k in state.autoscaled],
            scaling_rules.normalize(scaling_rules.from_observed(scaling)) if scaling else None]


def _scheduled_task(obs: Observed, state: ObservedState) -> Any:
    target = obs.body.get("target")
    return [scheduled_rules.normalize(spec_from_aws(obs.body["rule"], target)), (target or {}).get("otherTargets")]


# kind -> the observed resource as the planner compares it
CANONICAL: dict[str, Callable[[Observed, ObservedState], Any]] = {
    "Cluster": lambda obs, state: cluster_rules.normalize(obs.body, state.namespaces),
    "TaskDefinition": lambda obs, state: [obs.arn, td_rules.normalize(obs.body)],
    "Service": _service,
    "ScheduledTask": _scheduled_task,
    "Schedule": lambda obs, state: [schedule_rules.normalize(obs.body), state.schedule_groups.get(obs.body.get("GroupName"))],
    "CapacityProvider": lambda obs, state: provider_rules.normalize(obs.body),
}


def _digest(value: Any, salt: str = "") -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256((salt + text).encode()).hexdigest()


def observed_fingerprint(obs: Observed | None, state: ObservedState, salt: str) -> str:
    if obs is None:
        return ABSENT
    canonical = CANONICAL.get(obs.kind, lambda o, s: o.body)(obs, state)
    return _digest([obs.kind, obs.name, obs.arn, canonical, obs.tags], salt)


def observed_fingerprints(plan: Plan, state: ObservedState, salt: str) -> dict[str, str]:
    """`Kind/name` -> fingerprint of what the plan read for it (deletions keyed by their cluster too)."""
    out: dict[str, str] = {}
    for action in plan.actions:
        key = action.label if action.action != "delete" or not (action.observed and action.observed.cluster) \
            else f"{action.kind}/{action.observed.cluster}/{action.name}"
        out[key] = observed_fingerprint(action.observed, state, salt)
    for family, revision in sorted(state.owned_revisions.items()):
        out[f"TaskDefinition/{family} (owned revision)"] = observed_fingerprint(revision, state, salt)
    return out


def desired_fingerprints(desired: DesiredState, salt: str) -> dict[str, str]:
    return {item.label: _digest(item.manifest.model_dump(mode="json"), salt) for item in desired.resources}


def _shape(plan: Plan) -> list[list[str]]:
    return [[a.kind, a.name, a.action] for a in plan.actions]


@dataclass
class SavedPlan:
    sources: list[str]
    options: dict[str, Any]
    document: dict[str, Any]  # the masked plan document, as `plan --output json` prints it
    observed: dict[str, str]
    desired: dict[str, str]
    salt: str
    shape: list[list[str]] = field(default_factory=list)
    created: str = ""

    @classmethod
    def make(cls, plan: Plan, desired: DesiredState, observed: ObservedState, sources: list[str],
             options: dict[str, Any], document: dict[str, Any]) -> SavedPlan:
        salt = secrets.token_hex(16)
        return cls(sources, options, document, observed_fingerprints(plan, observed, salt),
                   desired_fingerprints(desired, salt), salt, _shape(plan),
                   datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_json(self) -> str:
        return json.dumps({"format": SAVED_FORMAT, "formatVersion": SAVED_VERSION, "created": self.created,
                           "sources": self.sources, "options": self.options, "salt": self.salt,
                           "fingerprints": {"observed": self.observed, "manifests": self.desired},
                           "actions": self.shape, "plan": self.document}, indent=2)

    def write(self, path: str) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: str) -> SavedPlan:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReconcileError(f"{path}: not a saved plan ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != SAVED_FORMAT:
            raise ReconcileError(f"{path}: not a saved plan (written by `ecs-reconciler plan --out`)")
        if doc.get("formatVersion") != SAVED_VERSION:
            raise ReconcileError(f"{path}: saved plan format {doc.get('formatVersion')} is not supported "
                                 f"(this version reads {SAVED_VERSION}): plan again")
        fingerprints = doc.get("fingerprints") or {}
        return cls(list(doc.get("sources") or []), dict(doc.get("options") or {}), doc.get("plan") or {},
                   dict(fingerprints.get("observed") or {}), dict(fingerprints.get("manifests") or {}),
                   str(doc.get("salt") or ""), [list(a) for a in doc.get("actions") or []], str(doc.get("created") or ""))

    def stale(self, plan: Plan, desired: DesiredState, observed: ObservedState) -> list[str]:
        """Why this saved plan no longer describes what applying it would do: each resource that
        changed since, named; empty when the plan still holds."""
        problems: list[str] = []
        now_desired = desired_fingerprints(desired, self.salt)
        for label in sorted(set(now_desired) | set(self.desired)):
            if now_desired.get(label) != self.desired.get(label):
                how = ("is no longer in the manifests" if label not in now_desired else
                       "was added to the manifests" if label not in self.desired else "changed in the manifests")
                problems.append(f"{label} {how}")
        now_observed = observed_fingerprints(plan, observed, self.salt)
        for label in sorted(set(now_observed) | set(self.observed)):
            before, after = self.observed.get(label), now_observed.get(label)
            if before == after:
                continue
            if before == ABSENT:
                problems.append(f"{label} was created in AWS since the plan")
            elif after in (ABSENT, None):
                problems.append(f"{label} was deleted from AWS since the plan")
            else:
                problems.append(f"{label} changed in AWS since the plan")
        if not problems and _shape(plan) != self.shape:
            problems.append("the plan made now differs from the saved plan")
        return problems
