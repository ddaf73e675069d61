"""ECS capacity providers as ECS answers them, where moto differs.

- A new Auto Scaling group provider has `managedDraining: ENABLED` unless the request says otherwise
  (moto leaves it out).
- UpdateCapacityProvider writes `managedDraining` (moto ignored it).
- DescribeCapacityProviders without names describes every capacity provider (moto failed).
- DeleteCapacityProvider refuses a provider a cluster still uses, and an unknown one, with a
  ClientException (moto deleted the first and answered the second with an internal error).
"""

from __future__ import annotations

from typing import Any, Callable

from moto.ecs import models as ecs_models
from moto.ecs.exceptions import EcsClientException


def install(bound: Callable[[], Any]) -> None:
    backend = ecs_models.EC2ContainerServiceBackend
    original_create, original_describe = backend.create_capacity_provider, backend.describe_capacity_providers
    original_delete, original_update = backend.delete_capacity_provider, backend.update_capacity_provider

    def create_capacity_provider(self: Any, name: str, asg_details: dict, tags: Any) -> Any:
        provider = original_create(self, name, asg_details, tags)
        if bound() is not None:
            provider.auto_scaling_group_provider.setdefault("managedDraining", "ENABLED")
        return provider

    def describe_capacity_providers(self: Any, names: Any) -> Any:
        if bound() is not None and not names:
            return list(self.capacity_providers.values()), []
        return original_describe(self, names)

    def delete_capacity_provider(self: Any, name_or_arn: str) -> Any:
        if bound() is None:
            return original_delete(self, name_or_arn)
        provider = self._get_provider(name_or_arn)
        if provider is None:
            raise EcsClientException("The specified capacity provider does not exist.")
        users = [c.name for c in self.clusters.values() if provider.name in (c.capacity_providers or [])]
        if users:
            raise EcsClientException("The specified capacity provider is in use and cannot be removed.")
        return original_delete(self, name_or_arn)

    def update_capacity_provider(self: Any, name_or_arn: str, asg_provider: dict) -> Any:
        provider = original_update(self, name_or_arn, asg_provider)
        if bound() is not None and (asg_provider or {}).get("managedDraining"):
            provider.auto_scaling_group_provider["managedDraining"] = asg_provider["managedDraining"]
        return provider

    backend.create_capacity_provider = create_capacity_provider
    backend.update_capacity_provider = update_capacity_provider
    backend.describe_capacity_providers = describe_capacity_providers
    backend.delete_capacity_provider = delete_capacity_provider
