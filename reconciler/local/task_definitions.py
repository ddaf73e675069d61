"""RegisterTaskDefinition as real ECS answers it, on top of moto's model.

moto stores a task definition much as it was sent. Real ECS fills in defaults, adds output-only
fields and does not keep the order of lists whose order means nothing; a reconciler that reads it
back must cope with all of that, so the local endpoint does the same (evidence for each rule in
docs/normalization.md, "What the local endpoint fills in, like AWS"). moto also turns every
definition that is not EC2-only into `awsvpc`, which breaks ECS Anywhere (`EXTERNAL`) definitions.
These rules apply only to requests served by a `LocalEndpoint` (see `fidelity`).
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.ecs.exceptions import EcsClientException

FIRELENS_ROOT = "0"
HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}
# Fields ECS lists on every container it returns, empty when the request had none.
CONTAINER_LIST_DEFAULTS = ("systemControls",)
STATIC_PORT_MODES = ("awsvpc", "host")


def check_request(container_definitions: list[dict[str, Any]]) -> None:
    """Refuse what ECS refuses before anything is stored."""
    for container in container_definitions or []:
        user = container.get("user")
        if container.get("firelensConfiguration") and user and user.split(":")[0] != FIRELENS_ROOT:
            raise EcsClientException("If 'user' field is specified on firelens container, then 'UID' has to be '0'.")


def network_mode(requested: str | None, requires_compatibilities: list[str] | None) -> str:
    """The mode ECS stores: as given, else awsvpc for Fargate and bridge for EC2 and EXTERNAL."""
    if requested:
        return requested
    return "awsvpc" if "FARGATE" in (requires_compatibilities or []) else "bridge"


def compatibilities(task_definition: Any) -> list[str]:
    """What the definition can run on, as ECS computes it (not what it requires)."""
    if task_definition.network_mode == "awsvpc":
        fargate = task_definition.cpu is not None and task_definition.memory is not None
        return ["EC2", "FARGATE"] if fargate else ["EC2"]
    return ["EXTERNAL", "EC2"]


def requires_attributes(task_definition: Any) -> list[dict[str, str]]:
    """The container-instance capabilities the definition needs (the subset derivable from it)."""
    names: list[str] = []
    execution_role = bool(getattr(task_definition, "execution_role_arn", None))
    for container in task_definition.container_definitions:
        driver = (container.get("logConfiguration") or {}).get("logDriver")
        if driver:
            names.append(f"com.amazonaws.ecs.capability.logging-driver.{driver}")
            if driver == "awslogs" and execution_role:
                names.append("ecs.capability.execution-role-awslogs")
        if ".dkr.ecr." in container.get("image", ""):
            names.append("com.amazonaws.ecs.capability.ecr-auth")
            if execution_role:
                names.append("ecs.capability.execution-role-ecr-pull")
    if getattr(task_definition, "task_role_arn", None):
        names.append("com.amazonaws.ecs.capability.task-iam-role")
    if task_definition.network_mode == "awsvpc":
        names.append("ecs.capability.task-eni")
    return [{"name": name} for name in dict.fromkeys(names)]


def fill_container(container: dict[str, Any], mode: str) -> None:
    """Defaults ECS writes into a container definition; what the request set is kept."""
    if container.get("firelensConfiguration") and not container.get("user"):
        container["user"] = FIRELENS_ROOT
    for mapping in container.get("portMappings") or []:
        mapping.setdefault("protocol", "tcp")
        if "containerPort" in mapping and "hostPort" not in mapping and mode in STATIC_PORT_MODES:
            mapping["hostPort"] = mapping["containerPort"]
    health = container.get("healthCheck")
    if health:
        for key, value in HEALTH_CHECK_DEFAULTS.items():
            health.setdefault(key, value)
    for key in CONTAINER_LIST_DEFAULTS:
        container.setdefault(key, [])
    for key in ("environment", "secrets"):
        if container.get(key):
            container[key] = list(reversed(container[key]))


def registered(task_definition: Any, requested_network_mode: str | None, account_id: str) -> Any:
    """Turn moto's freshly registered definition into what ECS returns for the same request."""
    task_definition.network_mode = network_mode(requested_network_mode, task_definition.requires_compatibilities)
    task_definition.compatibilities = compatibilities(task_definition)
    for container in task_definition.container_definitions:
        fill_container(container, task_definition.network_mode)
    for volume in task_definition.volumes or []:
        volume.setdefault("configuredAtLaunch", False)
    proxy = task_definition.proxy_configuration
    if proxy and proxy.get("properties"):
        proxy["properties"] = list(reversed(proxy["properties"]))
    if task_definition.tags:
        task_definition.tags = list(reversed(task_definition.tags))
    task_definition.requires_attributes = requires_attributes(task_definition)
    task_definition.registered_at = utcnow()
    task_definition.registered_by = f"arn:aws:iam::{account_id}:root"
    return task_definition
