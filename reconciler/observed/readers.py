"""Read the observed state of the resources the manifests name, in as few calls as the API allows.

Reads go by name where the manifests name the resource: DescribeClusters (100 a call),
DescribeServices (10 a call, per cluster), DescribeTaskDefinition (one family a call), and
ListRules pages plus ListTargetsByRule per rule. Listing whole accounts happens only for prune.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from botocore.exceptions import ClientError

from ..aws import Clients
from ..desired.loader import DesiredState
from ..desired.references import cluster_name
from ..ownership import DEFAULT_INSTANCE, MANIFEST, is_owned, tag_list_to_dict
from ..rule_targets import TARGET_ID
from .autoscaling import owned_scaling, scaled_targets, scaling_of_many
from .namespaces import NamespaceNames, namespace_arns
from .batching import (DESCRIBE_CLUSTERS_MAX, DESCRIBE_SERVICES_MAX, chunks, parallel_map)
from .revisions import RevisionCache
from .schedules import ScheduleReader, schedule_group
from .state import Observed, ObservedState

log = logging.getLogger(__name__)


class StateReader:
    """Everything the planner needs is read here, so planning is a pure function of desired and
    observed state; `instance` is whose ownership tags count as ours."""

    def __init__(self, clients: Clients, revisions: RevisionCache | None = None, workers: int = 16,
                 instance: str = DEFAULT_INSTANCE):
        self.clients = clients
        self.instance = instance
        self.revisions = revisions or RevisionCache()
        self.workers = workers
        self.namespaces = NamespaceNames(clients)
        self.schedules = ScheduleReader(clients, workers)

    # -- whole state ------------------------------------------------------------------------------

    def read(self, desired: DesiredState, *, prune_instance: str | None = None) -> ObservedState:
        """Observed state of every resource `desired` names; with `prune_instance`, also the
        resources owned by that instance that no manifest names (candidates for deletion).

        The four kinds are read at the same time (they draw on different throttling buckets), and
        within a kind the batches go out in parallel."""
        state = ObservedState()
        clusters = sorted(self.cluster_names(desired))
        by_cluster: dict[str, list[str]] = {}
        for r in desired.of_kind("Service"):
            by_cluster.setdefault(cluster_name(r.manifest.spec.cluster), []).append(r.manifest.name)
        phases = [
            lambda: self.read_capacity_providers([r.manifest.name for r in desired.of_kind("CapacityProvider")]),
            lambda: self.read_clusters(clusters),
            lambda: self.read_task_definitions(r.manifest.name for r in desired.of_kind("TaskDefinition")),
            lambda: self.read_services_in(by_cluster),
            lambda: self.read_scheduled_tasks([r.manifest.name for r in desired.of_kind("ScheduledTask")]),
            lambda: self.read_schedules(desired, prune_instance),
            lambda: self.read_scaling(_declaring_scaling(desired)),
            lambda: self.read_autoscaled_targets(by_cluster),
        ]
        results = parallel_map(lambda phase: phase(), phases, len(phases))
        targets = results.pop()
        state.autoscaled = set(targets)
        state.scaling = results.pop()
        state.undeclared_scaling = self.read_undeclared_scaling(targets, desired)
        schedules, state.schedule_groups, stale_schedules = results.pop()
        for item in schedules:
            state.put(item)
        for item in stale_schedules:
            state.prune_candidates[("Schedule", item.name)] = item
        for items in results:
            for item in items:
                state.put(item)
        self._look_behind_foreign_revisions(state, [r.manifest.name for r in desired.of_kind("TaskDefinition")])
        if prune_instance:
            self._read_prune_candidates(desired, state, prune_instance, clusters)
        self._find_moved_services(desired, state)
        self._name_namespaces(state)
        return state

    def _find_moved_services(self, desired: DesiredState, state: ObservedState) -> None:
        """Services missing from their cluster, looked for (by our manifest tag) in the other clusters
        the manifests name or prune found; a cluster that runs no service is not asked."""
        missing: dict[str, str] = {r.manifest.name: cluster_name(r.manifest.spec.cluster)
                                   for r in desired.of_kind("Service") if state.get("Service", r.manifest.name) is None}
        if not missing:
            return
        clusters = [item for (kind, _), item in list(state.resources.items()) + list(state.prune_candidates.items())
                    if kind == "Cluster" and item.body.get("activeServicesCount", 1) > 0]
        by_cluster = {c.name: sorted(n for n, home in missing.items() if home != c.name) for c in clusters}
        for item in self.read_services_in({c: names for c, names in by_cluster.items() if names}):
            if (item.tags or {}).get(MANIFEST) == f"Service/{item.name}" and ("Service", item.name) not in state.moved:
                state.moved[("Service", item.name)] = item
                state.prune_candidates.pop(("Service", f"{item.cluster}/{item.name}"), None)

    def _name_namespaces(self, state: ObservedState) -> None:
        arns = namespace_arns(item.body for (kind, _), item in state.resources.items() if kind in ("Service", "Cluster"))
        if arns - set(state.namespaces):
            state.namespaces.update(self.namespaces.names_for(arns - set(state.namespaces)))

    def refresh(self, state: ObservedState, desired: DesiredState, keys: Iterable[tuple], *,
                scaling: bool = True) -> int:
        """Re-read only `keys` (event-cache keys: ("Cluster", name), ("TaskDefinition", family),
        ("Service", cluster, name), ("ScheduledTask", name)) that `desired` names, in place;
        returns how many were re-read. What the event stream left alone is not read at all.
        `scaling=False` keeps the services' scaling targets as they were (a warm resync)."""
        clusters, families, rules, schedules, providers = set(), set(), set(), set(), set()
        services: dict[str, list[str]] = {}
        for key in keys:
            kind, name = key[0], key[-1]
            if desired.get(kind, name) is None:
                continue
            if kind == "Cluster":
                clusters.add(name)
            elif kind == "TaskDefinition":
                families.add(name)
            elif kind == "Service":
                cluster = cluster_name(desired.get(kind, name).manifest.spec.cluster)
                services.setdefault(cluster, []).append(name)
            elif kind == "ScheduledTask":
                rules.add(name)
            elif kind == "Schedule":
                schedules.add(name)
            elif kind == "CapacityProvider":
                providers.add(name)
        wanted = ({("Cluster", n) for n in clusters} | {("TaskDefinition", n) for n in families}
                  | {("Service", n) for names in services.values() for n in names} | {("ScheduledTask", n) for n in rules}
                  | {("Schedule", n) for n in schedules} | {("CapacityProvider", n) for n in providers})
        found = self.read_clusters(sorted(clusters)) + self.read_task_definitions(families)
        found += self.read_capacity_providers(sorted(providers))
        found += self.read_services_in(services)
        if services and scaling:
            # An autoscaling event (RegisterScalableTarget, ...) marks its service: re-read that too.
            touched = {(c, n) for c, names in services.items() for n in names}
            targets = self.read_autoscaled_targets(services)
            state.autoscaled = (state.autoscaled - touched) | set(targets)
            declaring = [pair for pair in _declaring_scaling(desired) if pair in touched]
            for pair in declaring:
                state.scaling.pop(pair, None)
            state.scaling.update(self.read_scaling(declaring))
            for pair in touched:
                state.undeclared_scaling.pop(pair, None)
            state.undeclared_scaling.update(self.read_undeclared_scaling(targets, desired))
        found += [item for item in parallel_map(self._describe_scheduled_task, sorted(rules), self.workers) if item]
        if schedules:
            wanted_schedules = {n: schedule_group(desired.get("Schedule", n).manifest, self.instance) for n in schedules}
            read, groups, _ = self.schedules.read(wanted_schedules, self.instance)
            found += read
            state.schedule_groups.update(groups)
        for key in wanted:
            state.resources.pop(key, None)
        for item in found:
            state.put(item)
        self._look_behind_foreign_revisions(state, families)
        self._name_namespaces(state)
        return len(wanted)

    def _look_behind_foreign_revisions(self, state: ObservedState, families: Iterable[str]) -> None:
        """For a family whose latest revision is not ours, whether one of its last revisions is."""
        for family in families:
            state.owned_revisions.pop(family, None)
            latest = state.get("TaskDefinition", family)
            if latest is not None and not is_owned(latest.tags, self.instance):
                state.owned_revisions[family] = self.owned_revision_of(family, self.instance)

    def read_undeclared_scaling(self, targets: dict[tuple[str, str], dict], desired: DesiredState
                                ) -> dict[tuple[str, str], dict[str, Any]]:
        """The scaling of autoscaled services whose manifest does not declare `autoScaling`, when
        the scalable target is ours."""
        declaring = set(_declaring_scaling(desired))
        undeclared = {pair: target for pair, target in targets.items() if pair not in declaring}
        return owned_scaling(self.clients, undeclared, self.instance) if undeclared else {}

    def read_autoscaled_targets(self, by_cluster: dict[str, list[str]]) -> dict[tuple[str, str], dict]:
        services = [(cluster, name) for cluster, names in sorted(by_cluster.items()) for name in names]
        return scaled_targets(self.clients, services) if services else {}

    def read_schedules(self, desired: DesiredState, prune_instance: str | None = None
                       ) -> tuple[list[Observed], dict[str, Any], list[Observed]]:
        """The Schedules the manifests name, their groups' tags and (with `prune_instance`) the
        schedules in that instance's groups that no manifest names."""
        wanted = {r.manifest.name: schedule_group(r.manifest, self.instance) for r in desired.of_kind("Schedule")}
        return self.schedules.read(wanted, prune_instance or self.instance, prune=bool(prune_instance))

    def read_scaling(self, services: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Scalable target, policies and scheduled actions of each (cluster, service) that has one."""
        return scaling_of_many(self.clients, services)

    @staticmethod
    def cluster_names(desired: DesiredState) -> set[str]:
        names = {r.manifest.name for r in desired.of_kind("Cluster")}
        for r in desired.of_kind("Service") + desired.of_kind("ScheduledTask"):
            names.add(cluster_name(r.manifest.spec.cluster))
        return names

    # -- capacity providers ------------------------------------------------------------------------

    def read_capacity_providers(self, names: list[str] | None) -> list[Observed]:
        """DescribeCapacityProviders, 100 names a call, with tags; `None`: every one in the account
        (paginated), for prune. The FARGATE providers AWS keeps are never ours."""
        found: list[Observed] = []
        if names is not None and not names:
            return found
        batches = [list(b) for b in chunks(names, DESCRIBE_CLUSTERS_MAX)] if names is not None else [None]
        for batch in batches:
            kwargs: dict[str, Any] = {"include": ["TAGS"]}
            if batch is not None:
                kwargs["capacityProviders"] = batch
            while True:
                response = self.clients.ecs.describe_capacity_providers(**kwargs)
                for provider in response.get("capacityProviders", []):
                    if provider.get("status") == "INACTIVE" or provider["name"].startswith("FARGATE"):
                        continue
                    found.append(Observed("CapacityProvider", provider["name"], provider["capacityProviderArn"],
                                          provider, tag_list_to_dict(provider.get("tags"))))
                if not response.get("nextToken"):
                    break
                kwargs["nextToken"] = response["nextToken"]
        return found

    # -- clusters --------------------------------------------------------------------------------

    def read_clusters(self, names: list[str]) -> list[Observed]:
        found: list[Observed] = []
        for batch in chunks(names, DESCRIBE_CLUSTERS_MAX):
            response = self.clients.ecs.describe_clusters(
                clusters=list(batch), include=["SETTINGS", "CONFIGURATIONS", "TAGS"]
            )
            for cluster in response.get("clusters", []):
                if cluster.get("status") == "INACTIVE":
                    continue
                found.append(Observed("Cluster", cluster["clusterName"], cluster["clusterArn"], cluster,
                                      tag_list_to_dict(cluster.get("tags"))))
        return found

    # -- task definitions ---------------------------------------------------------------------------

    def read_task_definitions(self, families: Iterable[str]) -> list[Observed]:
        results = parallel_map(self.latest_revision, sorted(set(families)), self.workers)
        return [r for r in results if r is not None]

    def _describe_revision(self, ref: str) -> dict | None:
        """DescribeTaskDefinition of a family or ARN, with tags, stored in the revision cache by ARN;
        None when it does not exist."""
        try:
            response = self.clients.ecs.describe_task_definition(taskDefinition=ref, include=["TAGS"])
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        entry = {"taskDefinition": response["taskDefinition"], "tags": response.get("tags", [])}
        self.revisions.put(entry["taskDefinition"]["taskDefinitionArn"], entry)
        return entry

    def latest_revision(self, family: str) -> Observed | None:
        """The latest ACTIVE revision of `family` (DescribeTaskDefinition by family name)."""
        entry = self._describe_revision(family)
        if entry is None or entry["taskDefinition"].get("status") != "ACTIVE":
            return None
        return _task_definition(entry)

    def revision(self, arn: str) -> Observed | None:
        """A specific revision by ARN, described at most once per process (revisions are immutable)."""
        entry = self.revisions.get(arn) or self._describe_revision(arn)
        return _task_definition(entry) if entry is not None else None

    def owned_revision_of(self, family: str, instance: str, look_back: int = 5) -> Observed | None:
        """The newest ACTIVE revision of `family` that carries our tag (newest few only), for the case
        where someone registered an untagged revision on top of ours."""
        paginator = self.clients.ecs.get_paginator("list_task_definitions")
        arns: list[str] = []
        for page in paginator.paginate(familyPrefix=family, status="ACTIVE", sort="DESC"):
            arns.extend(a for a in page.get("taskDefinitionArns", []) if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family)
            if len(arns) >= look_back:
                break
        for arn in arns[:look_back]:
            item = self.revision(arn)
            if item is not None and is_owned(item.tags, instance):
                return item
        return None

    # -- services ------------------------------------------------------------------------------------

    def read_services(self, cluster: str, names: list[str]) -> list[Observed]:
        return self.read_services_in({cluster: names})

    def read_services_in(self, by_cluster: dict[str, list[str]]) -> list[Observed]:
        """DescribeServices in batches of 10, every batch of every cluster in parallel."""
        batches = [(cluster, list(batch)) for cluster, names in sorted(by_cluster.items())
                   for batch in chunks(sorted(names), DESCRIBE_SERVICES_MAX)]
        return [item for found in parallel_map(self._describe_services, batches, self.workers) for item in found]

    def _describe_services(self, batch: tuple[str, list[str]]) -> list[Observed]:
        cluster, names = batch
        try:
            response = self.clients.ecs.describe_services(cluster=cluster, services=names, include=["TAGS"])
        except ClientError as exc:
            if _error_code(exc) == "ClusterNotFoundException":
                return []
            raise
        return [Observed("Service", service["serviceName"], service["serviceArn"], service,
                         tag_list_to_dict(service.get("tags")), cluster=cluster)
                for service in response.get("services", []) if service.get("status") != "INACTIVE"]

    # -- scheduled tasks ------------------------------------------------------------------------------------

    def read_scheduled_tasks(self, names: list[str]) -> list[Observed]:
        if not names:
            return []
        wanted = set(names)
        rules = [r for r in self._list_rules() if r["Name"] in wanted]
        # Targets and tags (drift-checked by the planner) for every rule, in parallel.
        return parallel_map(self._complete_rule, rules, self.workers)

    def _complete_rule(self, rule: dict[str, Any]) -> Observed:
        item = Observed("ScheduledTask", rule["Name"], rule["Arn"], {"rule": rule, "target": self._ecs_target(rule["Name"])})
        self.rule_tags(item)
        return item

    def _describe_scheduled_task(self, name: str) -> Observed | None:
        """One rule by name (DescribeRule), for refreshing a few rules without listing them all."""
        try:
            rule = self.clients.events.describe_rule(Name=name)
        except ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        rule = {k: v for k, v in rule.items() if k != "ResponseMetadata"}
        return self._complete_rule(rule)

    def _list_rules(self) -> list[dict[str, Any]]:
        paginator = self.clients.events.get_paginator("list_rules")
        rules: list[dict[str, Any]] = []
        for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
            rules.extend(page.get("Rules", []))
        return rules

    def _ecs_target(self, rule: str) -> dict[str, Any] | None:
        """Our target when the rule has it, else its first ECS target (a rule being adopted); the
        other targets are listed under `otherTargets` so adoption can remove them."""
        targets = self.clients.events.list_targets_by_rule(Rule=rule).get("Targets", [])
        ours = [t for t in targets if t.get("Id") == TARGET_ID]
        ecs_targets = [t for t in targets if "EcsParameters" in t]
        chosen = (ours or ecs_targets or targets or [None])[0]
        if chosen is not None:
            others = [t["Id"] for t in targets if t is not chosen]
            chosen = {**chosen, "otherTargets": others} if others else chosen
        return chosen

    def rule_tags(self, item: Observed) -> dict[str, str]:
        """A rule's tags (ListRules does not carry them); read once, then kept on the item."""
        if item.tags is None and item.arn:
            response = self.clients.events.list_tags_for_resource(ResourceARN=item.arn)
            item.tags = tag_list_to_dict(response.get("Tags"))
        return item.tags or {}

    # -- prune ------------------------------------------------------------------------------------------

    def _read_prune_candidates(self, desired: DesiredState, state: ObservedState, instance: str,
                               clusters: list[str]) -> None:
        ecs = self.clients.ecs
        for item in self.read_capacity_providers(None):
            if desired.get("CapacityProvider", item.name) is None and _made_from_manifest(item, instance):
                state.prune_candidates[("CapacityProvider", item.name)] = item
        # Clusters we own that no manifest names.
        all_clusters: list[str] = []
        for page in ecs.get_paginator("list_clusters").paginate():
            all_clusters.extend(a.rsplit("/", 1)[-1] for a in page.get("clusterArns", []))
        extra_clusters = [c for c in all_clusters if c not in clusters]
        for item in self.read_clusters(extra_clusters):
            if _made_from_manifest(item, instance):
                state.prune_candidates[("Cluster", item.name)] = item
        # Services we own in every cluster we look after (named or owned).
        scan = sorted(set(clusters) | {name for (kind, name) in state.prune_candidates if kind == "Cluster"})
        for cluster in scan:
            names: list[str] = []
            try:
                for page in ecs.get_paginator("list_services").paginate(cluster=cluster):
                    names.extend(a.rsplit("/", 1)[-1] for a in page.get("serviceArns", []))
            except ClientError as exc:
                if _error_code(exc) == "ClusterNotFoundException":
                    continue
                raise
            # A same-named service in another cluster is another service: keyed by cluster and name.
            extra = [n for n in names if desired.get("Service", n) is None
                     or cluster_name(desired.get("Service", n).manifest.spec.cluster) != cluster]
            for item in self.read_services(cluster, extra):
                if _made_from_manifest(item, instance):
                    state.prune_candidates[("Service", f"{cluster}/{item.name}")] = item
        # Task definition families we own.
        families: list[str] = []
        for page in ecs.get_paginator("list_task_definition_families").paginate(status="ACTIVE"):
            families.extend(page.get("families", []))
        extra_families = [f for f in families if desired.get("TaskDefinition", f) is None]
        for item in self.read_task_definitions(extra_families):
            if _made_from_manifest(item, instance):
                state.prune_candidates[("TaskDefinition", item.name)] = item
        # Rules we own.
        for rule in self._list_rules():
            if desired.get("ScheduledTask", rule["Name"]) is not None:
                continue
            if rule.get("EventPattern") and not rule.get("ScheduleExpression"):
                continue  # an event rule (the event stream's own) is never a scheduled task
            item = Observed("ScheduledTask", rule["Name"], rule["Arn"], {"rule": rule, "target": None})
            self.rule_tags(item)
            if _made_from_manifest(item, instance):
                item.body["target"] = self._ecs_target(rule["Name"])
                state.prune_candidates[("ScheduledTask", item.name)] = item


def _declaring_scaling(desired: DesiredState) -> list[tuple[str, str]]:
    """(cluster, service) of the services whose manifest declares `autoScaling`."""
    return sorted((cluster_name(r.manifest.spec.cluster), r.manifest.name) for r in desired.of_kind("Service")
                  if getattr(r.manifest.spec, "autoScaling", None) is not None)


def _made_from_manifest(item: Observed, instance: str) -> bool:
    """Only what this instance made from a manifest of that kind and name may be pruned: the event
    stream's rule and queue, and anything else we tag for our own plumbing, carry no manifest tag."""
    return is_owned(item.tags, instance) and (item.tags or {}).get(MANIFEST) == f"{item.kind}/{item.name}"


def _task_definition(entry: dict[str, Any]) -> Observed:
    body = entry["taskDefinition"]
    return Observed("TaskDefinition", body["family"], body["taskDefinitionArn"], body, tag_list_to_dict(entry.get("tags")))


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _is_missing(exc: ClientError) -> bool:
    message = exc.response.get("Error", {}).get("Message", "")
    return _error_code(exc) in ("ClientException", "ResourceNotFoundException") and (
        "Unable to describe task definition" in message or "not found" in message.lower() or "does not exist" in message
    )
