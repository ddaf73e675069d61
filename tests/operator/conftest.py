"""kmock as the Kubernetes API (over HTTP on 127.0.0.1) and the operator run in-process against it.

kmock's emulator stores objects and serves list/watch/patch/delete with finalizers; it does not
assign `metadata.uid`, `generation` or `resourceVersion` (kopf sends JSON-patch `test` ops on
the latter), so `Kube.create` and
`Kube.patch_spec` set them as the API server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from typing import Any

import aiohttp
import kmock
import kopf
import pytest
import pytest_asyncio

from reconciler.operator.command import operator_settings
from reconciler.operator.crds import CRD_KINDS, GROUP, TARGET_CRD_KIND, VERSION, plural
from reconciler.operator.handlers import OperatorConfig, build_registry
from tests.support.kube_emulator import Emulator


class Kube:
    def __init__(self, emulator: kmock.KubernetesEmulator, url: str, session: aiohttp.ClientSession):
        self.emulator, self.url, self.session = emulator, url, session

    def path(self, crd_kind: str, name: str | None = None, namespace: str = "default") -> str:
        base = f"{self.url}/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural(crd_kind)}"
        return f"{base}/{name}" if name else base

    async def create(self, crd_kind: str, name: str, spec: dict[str, Any], namespace: str = "default",
                     annotations: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": crd_kind,
                "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "generation": 1,
                             "resourceVersion": "1", **({"annotations": annotations} if annotations else {})},
                "spec": spec}
        async with self.session.post(self.path(crd_kind, namespace=namespace), json=body) as response:
            assert response.status < 300, await response.text()
        return body

    async def get(self, crd_kind: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        async with self.session.get(self.path(crd_kind, name, namespace)) as response:
            return await response.json() if response.status == 200 else None

    async def patch_spec(self, crd_kind: str, name: str, spec: dict[str, Any], namespace: str = "default") -> None:
        current = await self.get(crd_kind, name, namespace)
        patch = {"metadata": {"generation": current["metadata"]["generation"] + 1}, "spec": spec}
        async with self.session.patch(self.path(crd_kind, name, namespace), json=patch,
                                      headers={"Content-Type": "application/merge-patch+json"}) as response:
            assert response.status < 300, await response.text()

    async def delete(self, crd_kind: str, name: str, namespace: str = "default") -> None:
        async with self.session.delete(self.path(crd_kind, name, namespace)) as response:
            assert response.status < 300, await response.text()

    async def status(self, crd_kind: str, name: str, namespace: str = "default") -> dict[str, Any]:
        body = await self.get(crd_kind, name, namespace)
        return (body or {}).get("status") or {}

    def events(self) -> list[dict[str, Any]]:
        return [dict(obj) for (res, _, _), obj in self.emulator.objects.items() if res.plural == "events"]

    async def wait_for_event(self, reason: str, contains: str = "", timeout: float = 15.0) -> dict[str, Any]:
        """kopf posts Events in the background, after the status patch that a test waits for: an
        assertion on them right after that patch races the post."""
        async def posted():
            return next((e for e in self.events()
                         if e.get("reason") == reason and contains in e.get("message", "")), None)
        return await self.wait_for(posted, timeout=timeout,
                                   what=f"an Event {reason!r} containing {contains!r}")

    async def wait_for(self, predicate, timeout: float = 30.0, what: str = "condition") -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await predicate()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.2)


@pytest_asyncio.fixture
async def kube():
    emulator = Emulator()
    async with emulator, kmock.Server(emulator) as server, aiohttp.ClientSession() as session:
        for crd_kind in CRD_KINDS:
            emulator.resources[f"{GROUP}/{VERSION}/{plural(crd_kind)}"] = kmock.ResourceInfo(
                kind=crd_kind, singular=crd_kind.lower(), namespaced=True, subresources={"status"},
                verbs={"list", "watch", "get", "patch", "create", "delete"})
        emulator.resources[f"{GROUP}/{VERSION}/{plural(TARGET_CRD_KIND)}"] = kmock.ResourceInfo(
            kind=TARGET_CRD_KIND, singular=TARGET_CRD_KIND.lower(), namespaced=True,
            verbs={"list", "watch", "get", "create", "delete"})
        # kopf waits to discover namespaces before it watches anything. kmock cannot parse the
        # cluster-level /api/v1/namespaces URL, so the operator runs with scanning disabled (below).
        emulator.resources["v1/namespaces"] = kmock.ResourceInfo(kind="Namespace", namespaced=False,
                                                                 verbs={"list", "watch", "get"})
        emulator.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create"})
        emulator.resources["coordination.k8s.io/v1/leases"] = kmock.ResourceInfo(
            kind="Lease", namespaced=True, verbs={"list", "get", "create", "patch"})
        yield Kube(emulator, str(server.url).rstrip("/"), session)


@contextlib.asynccontextmanager
async def running_operator(url: str, config: OperatorConfig, namespaces: tuple[str, ...] = ("default",)):
    """kopf in its own thread and event loop, logged in to kmock; stopped through kopf's stop flag."""
    registry = build_registry(config, kopf.OperatorRegistry())

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=url, insecure=True)

    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    settings = operator_settings()
    settings.scanning.disabled = True  # take the named namespace as existing; see the fixture above

    def main() -> None:
        try:
            asyncio.run(kopf.operator(registry=registry, settings=settings, standalone=True,
                                      namespaces=list(namespaces), stop_flag=stop, ready_flag=ready))
        except BaseException as exc:  # surfaced by the test below
            errors.append(exc)

    thread = threading.Thread(target=main, name="kopf", daemon=True)
    thread.start()
    assert await asyncio.to_thread(ready.wait, 15), errors
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 30)
        assert not thread.is_alive(), "kopf did not stop"


@pytest.fixture
def run_operator():
    """The operator as an async context manager: `async with run_operator(url, config[, namespaces]): ...`."""
    return running_operator
