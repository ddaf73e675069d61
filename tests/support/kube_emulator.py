"""kmock's Kubernetes emulator with the two API-server behaviours the operator tests rely on and
kmock leaves out: names for objects created with only `generateName`, and `resourceVersion` on
Leases (the precondition that makes a Lease safe, reconciler/target_leases.py)."""

from __future__ import annotations

import uuid

import attrs
import kmock


@attrs.frozen
class StaleResourceVersion(kmock.KubernetesError):
    status: int = 409
    reason: str = "Conflict"
    message: str = "the object has been modified; please apply your changes to the latest version and try again"


class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator, naming objects created with only `generateName` (kopf's Events) as the
    API server does; kmock keys objects by name and would answer 409 to the second one. Leases
    keep `resourceVersion` as the API server does (a write naming a stale one gets 409), which is
    what makes a Lease safe (reconciler/target_leases.py)."""

    async def _handle(self, request):
        data = request.data if request.resource is not None and request.action == kmock.action.CREATE else None
        if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
            meta = data["metadata"]
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:8]
        if request.resource is not None and request.resource.plural == "leases" and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            if request.action == kmock.action.CREATE:
                meta["resourceVersion"] = "1"
            elif request.action == kmock.action.UPDATE and request.name is not None:
                async with self._lock:
                    key = (request.resource, request.namespace, request.name)
                    current = self.objects[key] if key in self.objects and not self.objects[key].deleted else None
                    stored = current.get("metadata", {}).get("resourceVersion") if current is not None else None
                    if meta.get("resourceVersion") not in (None, stored):
                        raise StaleResourceVersion()
                    meta["resourceVersion"] = str(int(stored or 0) + 1)
        return await super()._handle(request)
