"""Cluster wiring: the capacity providers a service or scheduled task names are attached to its
cluster (and custom ones exist), and the Service Connect and Cloud Map namespaces and services named
exist. A managed cluster is judged by its manifest (apply attaches what it lists); any other cluster
by DescribeClusters."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..desired.references import cluster_name, is_external_cluster
from .context import Context, NotAllowed, error_code, error_text

FARGATE_PROVIDERS = {"FARGATE", "FARGATE_SPOT"}


def check(ctx: Context) -> None:
    _capacity_providers(ctx)
    _namespaces(ctx)


def _capacity_providers(ctx: Context) -> None:
    clusters: dict[str, Any] = {}

    def attached(ref: str | None) -> Any:
        name = cluster_name(ref)
        located = None if ref and is_external_cluster(ref) else ctx.desired.get("Cluster", name)
        if located is not None:
            return set(ctx.spec(located).get("capacityProviders") or []), f"cluster {name} (its manifest)"
        if name not in clusters:
            try:
                found = ctx.call("ecs", "describe_clusters", clusters=[ref or name])["clusters"]
                clusters[name] = set(found[0].get("capacityProviders") or []) if found else None
            except (NotAllowed, ClientError) as exc:
                clusters[name] = exc
        return clusters[name], f"cluster {name}"

    for kind in ("Service", "ScheduledTask"):
        for item in ctx.items(kind):
            spec = ctx.spec(item)
            for index, entry in enumerate(spec.get("capacityProviderStrategy") or []):
                path = ["spec", "capacityProviderStrategy", index, "capacityProvider"]
                provider = entry.get("capacityProvider")
                providers, where = attached(spec.get("cluster"))
                if isinstance(providers, NotAllowed):
                    ctx.unverified(item, path, f"capacity provider {provider}: {providers}")
                elif isinstance(providers, Exception):
                    ctx.unverified(item, path, f"capacity provider {provider}: {error_text(providers)}")
                elif providers is None:
                    ctx.ng(item, ["spec", "cluster"], f"{where} does not exist")
                elif provider not in providers:
                    listed = ", ".join(sorted(providers)) or "none"
                    ctx.ng(item, path, f"capacity provider {provider} is not attached to {where} (attached: {listed})")
                else:
                    ctx.ok(item, path, f"capacity provider {provider} is attached to {where}")

    custom: dict[str, list[tuple[Any, list[Any]]]] = {}
    for item in ctx.items("Cluster"):
        spec = ctx.spec(item)
        listed = spec.get("capacityProviders") or []
        for index, provider in enumerate(listed):
            if provider not in FARGATE_PROVIDERS:
                custom.setdefault(provider, []).append((item, ["spec", "capacityProviders", index]))
        for index, entry in enumerate(spec.get("defaultCapacityProviderStrategy") or []):
            path = ["spec", "defaultCapacityProviderStrategy", index, "capacityProvider"]
            if entry.get("capacityProvider") not in listed:
                ctx.ng(item, path, f"capacity provider {entry.get('capacityProvider')} is not in spec.capacityProviders")
    if custom:
        try:
            found = ctx.call("ecs", "describe_capacity_providers", capacityProviders=sorted(custom))
            existing = {p.get("name") for p in found.get("capacityProviders", []) if p.get("status") != "INACTIVE"}
            existing |= {p.get("capacityProviderArn") for p in found.get("capacityProviders", [])}
            answer: Any = existing
        except (NotAllowed, ClientError) as exc:
            answer = exc
        for provider, places in custom.items():
            for item, path in places:
                if isinstance(answer, Exception):
                    ctx.unverified(item, path, f"capacity provider {provider}: {error_text(answer) if not isinstance(answer, NotAllowed) else answer}")
                elif provider in answer:
                    ctx.ok(item, path, f"capacity provider {provider} exists")
                else:
                    ctx.ng(item, path, f"capacity provider {provider} does not exist")


def _namespaces(ctx: Context) -> None:
    wanted: list[tuple[Any, list[Any], str]] = []
    registries: list[tuple[Any, list[Any], str]] = []
    for item in ctx.items("Cluster"):
        namespace = (ctx.spec(item).get("serviceConnectDefaults") or {}).get("namespace")
        if namespace:
            wanted.append((item, ["spec", "serviceConnectDefaults", "namespace"], namespace))
    for item in ctx.items("Service"):
        spec = ctx.spec(item)
        namespace = (spec.get("serviceConnectConfiguration") or {}).get("namespace")
        if namespace:
            wanted.append((item, ["spec", "serviceConnectConfiguration", "namespace"], namespace))
        for index, registry in enumerate(spec.get("serviceRegistries") or []):
            if registry.get("registryArn"):
                registries.append((item, ["spec", "serviceRegistries", index, "registryArn"], registry["registryArn"]))
    if wanted:
        known = _list_namespaces(ctx)
        for item, path, namespace in wanted:
            if isinstance(known, NotAllowed):
                ctx.unverified(item, path, f"namespace {namespace}: {known}")
            elif isinstance(known, Exception):
                ctx.unverified(item, path, f"namespace {namespace}: {error_text(known)}")
            elif namespace in known:
                ctx.ok(item, path, f"Cloud Map namespace {namespace} exists")
            else:
                ctx.ng(item, path, f"Cloud Map namespace {namespace} does not exist")
    services: dict[str, Any] = {}
    for item, path, arn in registries:
        if arn not in services:
            try:
                ctx.call("servicediscovery", "get_service", Id=arn.rsplit("/", 1)[-1])
                services[arn] = True
            except NotAllowed as exc:
                services[arn] = exc
            except ClientError as exc:
                services[arn] = False if error_code(exc) == "ServiceNotFound" else exc
        answer = services[arn]
        if isinstance(answer, NotAllowed):
            ctx.unverified(item, path, f"Cloud Map service {arn}: {answer}")
        elif isinstance(answer, Exception):
            ctx.unverified(item, path, f"Cloud Map service {arn}: {error_text(answer)}")
        elif answer:
            ctx.ok(item, path, f"Cloud Map service {arn.rsplit('/', 1)[-1]} exists")
        else:
            ctx.ng(item, path, f"Cloud Map service {arn} does not exist")


def _list_namespaces(ctx: Context) -> Any:
    """Every namespace's name and ARN (ECS takes either), or the exception that kept us from knowing."""
    known: set[str] = set()
    token = None
    try:
        while True:
            page = ctx.call("servicediscovery", "list_namespaces", **({"NextToken": token} if token else {}))
            for namespace in page.get("Namespaces", []):
                known.update({namespace.get("Name"), namespace.get("Arn")})
            token = page.get("NextToken")
            if not token:
                return known
    except (NotAllowed, ClientError) as exc:
        return exc
