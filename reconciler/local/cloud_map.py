"""Cloud Map namespaces as ECS Service Connect looks them up (moto serves Cloud Map on the same port).

ECS accepts a namespace by name or ARN. A service whose namespace does not exist is refused with
NamespaceNotFoundException; a cluster default given as a new name creates an HTTP namespace, as
the ECS API reference says for `ClusterServiceConnectDefaultsRequest.namespace`.
"""

from __future__ import annotations

from typing import Any

from moto.ecs.exceptions import ECSException
from moto.servicediscovery.models import servicediscovery_backends


class NamespaceNotFoundException(ECSException):
    def __init__(self, reference: str) -> None:
        super().__init__("NamespaceNotFoundException", f"Failed to retrieve namespace for {reference}")


def _backend(account_id: str, region: str) -> Any:
    return servicediscovery_backends[account_id][region]


def find(account_id: str, region: str, reference: str) -> Any:
    """The namespace named `reference` (name, id or ARN), or None."""
    for namespace in _backend(account_id, region).namespaces.values():
        if reference in (namespace.arn, namespace.id, namespace.name):
            return namespace
    return None


def resolve(account_id: str, region: str, reference: str) -> Any:
    namespace = find(account_id, region, reference)
    if namespace is None:
        raise NamespaceNotFoundException(reference)
    return namespace


def resolve_or_create(account_id: str, region: str, reference: str) -> Any:
    """For cluster defaults: an unknown name becomes a new HTTP namespace, an unknown ARN is refused."""
    namespace = find(account_id, region, reference)
    if namespace is not None:
        return namespace
    if reference.startswith("arn:"):
        raise NamespaceNotFoundException(reference)
    _backend(account_id, region).create_http_namespace(reference, creator_request_id=None, description=None, tags=[])
    return resolve(account_id, region, reference)
