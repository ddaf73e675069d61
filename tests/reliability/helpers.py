"""Shared helpers for the reliability tests: an account inventory and engine runs through a proxy."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.desired.loader import load_manifests
from reconciler.engine import Engine, EngineOptions
from reconciler.ownership import MANAGED_BY, tag_list_to_dict

EXAMPLE = str(Path(__file__).resolve().parents[2] / "manifests" / "base")  # the example app's manifests
# Copy the example as a plain directory (its manifests without the kustomization), so a test can add
# or remove files: copytree(EXAMPLE, dest, ignore=PLAIN).
PLAIN = shutil.ignore_patterns("kustomization.yaml", "kustomizeconfig.yaml")


def clients_for(url: str, max_attempts: int = 10) -> Clients:
    return Clients(AwsSettings(region="us-east-1", endpoint_url=url, max_attempts=max_attempts), CallLog())


def inventory(clients: Clients) -> dict:
    """Everything in the account, read directly (no proxy): clusters, services (by name, counted per
    cluster, ACTIVE/DRAINING only), ACTIVE revisions per family, rules, and who manages each."""
    ecs, events = clients.ecs, clients.events
    clusters = {}
    services: Counter = Counter()
    owners: dict[str, str | None] = {}
    for arn in ecs.list_clusters()["clusterArns"]:
        cluster = ecs.describe_clusters(clusters=[arn], include=["TAGS"])["clusters"][0]
        if cluster["status"] != "ACTIVE":
            continue
        clusters[cluster["clusterName"]] = cluster
        owners[f"Cluster/{cluster['clusterName']}"] = tag_list_to_dict(cluster.get("tags")).get(MANAGED_BY)
        arns = [a for page in ecs.get_paginator("list_services").paginate(cluster=arn) for a in page["serviceArns"]]
        for i in range(0, len(arns), 10):
            for svc in ecs.describe_services(cluster=arn, services=arns[i:i + 10], include=["TAGS"])["services"]:
                if svc["status"] in ("ACTIVE", "DRAINING"):
                    services[svc["serviceName"]] += 1
                    owners[f"Service/{svc['serviceName']}"] = tag_list_to_dict(svc.get("tags")).get(MANAGED_BY)
    families: Counter = Counter()
    for page in ecs.get_paginator("list_task_definitions").paginate(status="ACTIVE"):
        for arn in page["taskDefinitionArns"]:
            family = arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
            families[family] += 1
            if f"TaskDefinition/{family}" not in owners:
                tags = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]).get("tags")
                owners[f"TaskDefinition/{family}"] = tag_list_to_dict(tags).get(MANAGED_BY)
    rules = [r["Name"] for r in events.list_rules()["Rules"]]
    for rule in events.list_rules()["Rules"]:
        tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
        owners[f"ScheduledTask/{rule['Name']}"] = tag_list_to_dict(tags).get(MANAGED_BY)
    return {"clusters": set(clusters), "services": services, "families": families, "rules": Counter(rules),
            "owners": owners}


def expected_names(paths) -> dict[str, set[str]]:
    desired = load_manifests(paths)
    return {kind: {r.manifest.name for r in desired.of_kind(kind)}
            for kind in ("Cluster", "TaskDefinition", "Service", "ScheduledTask")}


def assert_exactly_one_of_each(inv: dict, names: dict[str, set[str]], instance: str = "ecs-reconciler") -> None:
    """One service/rule/revision per manifest, nothing else owned by `instance`."""
    assert names["Cluster"] <= inv["clusters"]
    for name in names["Service"]:
        assert inv["services"][name] == 1, (name, inv["services"])
    for name in names["ScheduledTask"]:
        assert inv["rules"][name] == 1, (name, inv["rules"])
    for name in names["TaskDefinition"]:
        assert inv["families"][name] == 1, (name, inv["families"])
    declared = {f"{kind}/{n}" for kind, ns in names.items() for n in ns}
    orphans = sorted(k for k, owner in inv["owners"].items() if owner == instance and k not in declared)
    assert orphans == [], orphans


def plan_once(url: str, paths, instance: str = "ecs-reconciler", prune: bool = False, max_attempts: int = 10):
    engine = Engine(clients_for(url, max_attempts), EngineOptions(instance=instance, prune=prune))
    return engine, engine.plan(load_manifests(paths))


def converge(url: str, paths, rounds: int = 4, max_attempts: int = 10) -> tuple[int, list[str]]:
    """Plan+apply until a plan is clean; returns (rounds used, errors seen on the way)."""
    errors = []
    for round_no in range(1, rounds + 1):
        try:
            engine, plan = plan_once(url, paths, max_attempts=max_attempts)
            if not plan.has_changes:
                return round_no, errors
            engine.apply(plan)
        except Exception as exc:  # noqa: BLE001 - a faulted round is retried by the next one
            errors.append(f"{type(exc).__name__}: {exc}")
    raise AssertionError(f"did not converge in {rounds} rounds: {errors}")
