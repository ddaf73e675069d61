"""Cloud Map namespace names for the namespace ARNs ECS returns.

A manifest names its Service Connect namespace the way CreateService accepts it, by name or ARN;
DescribeServices and DescribeClusters return the ARN, whose last segment is the namespace id
(`ns-...`), not the name. The names are read with servicediscovery GetNamespace, once per ARN and
process (a namespace's name never changes), and only for ARNs the observed side holds.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable

from botocore.exceptions import ClientError

from ..aws import Clients


class NamespaceNames:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def names_for(self, arns: Iterable[str]) -> dict[str, str]:
        """ARN -> name for every ARN given (those Cloud Map does not know are left out)."""
        out: dict[str, str] = {}
        for arn in sorted(set(arns)):
            with self._lock:
                known = self._names.get(arn)
            if known is None:
                known = self._read(arn)
            if known is not None:
                out[arn] = known
        return out

    def _read(self, arn: str) -> str | None:
        try:
            namespace = self.clients.client("servicediscovery").get_namespace(Id=arn.rsplit("/", 1)[-1])["Namespace"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NamespaceNotFound":
                return None
            raise
        with self._lock:
            self._names[arn] = namespace["Name"]
        return namespace["Name"]


def namespace_arns(bodies: Iterable[dict[str, Any]]) -> set[str]:
    """Service Connect namespace ARNs in DescribeServices / DescribeClusters bodies."""
    arns: set[str] = set()
    for body in bodies:
        configs = [body.get("serviceConnectConfiguration"), body.get("serviceConnectDefaults")]
        configs += [d.get("serviceConnectConfiguration") for d in body.get("deployments") or []]
        for config in configs:
            value = config.get("namespace") if isinstance(config, dict) else None
            if isinstance(value, str) and value.startswith("arn:") and ":servicediscovery:" in value:
                arns.add(value)
    return arns
