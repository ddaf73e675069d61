"""Canonical form of a task definition, for desired specs and DescribeTaskDefinition responses alike.

See docs/normalization.md for each rule and its evidence.
"""

from __future__ import annotations

import re
from typing import Any

from ..desired.shapes import service_model
from .rules import as_set, bracket, fill, keyed, keyed_values, prune_empty, project

REQUEST_FIELDS = [m for m in service_model("ecs").operation_model("RegisterTaskDefinition").input_shape.members
                  if m not in ("family", "tags")]

CONTAINER_DEFAULTS = {"essential": True}
# A FireLens log router runs as root unless the definition says otherwise: ECS returns user "0".
FIRELENS_DEFAULTS = {"user": "0"}
VOLUME_DEFAULTS = {"configuredAtLaunch": False}
HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}
TASK_DEFAULTS = {"networkMode": "bridge"}
EFS_DEFAULTS = {"rootDirectory": "/"}
# Optional task-level strings that AWS drops when sent empty (pairs/03: taskRoleArn "").
EMPTY_IS_UNSET = ("taskRoleArn", "executionRoleArn", "pidMode", "ipcMode")

# "1 vCPU", "0.25 vCPU" and ".25 vcpu"; "1GB", "0.5 GB" and ".5 gb": forms RegisterTaskDefinition accepts.
_VCPU_RE = re.compile(r"^\s*(\d*\.?\d+)\s*vcpu\s*$", re.IGNORECASE)
_GB_RE = re.compile(r"^\s*(\d*\.?\d+)\s*gb\s*$", re.IGNORECASE)
_MB_RE = re.compile(r"^\s*(\d+)\s*(mb|mib)?\s*$", re.IGNORECASE)


def task_cpu(value: Any) -> Any:
    """Task cpu in CPU units as a string: "1 vCPU" -> "1024", 256 -> "256"."""
    if value is None:
        return None
    text = str(value)
    match = _VCPU_RE.match(text)
    if match:
        return str(int(float(match.group(1)) * 1024))
    return text.strip()


def task_memory(value: Any) -> Any:
    """Task memory in MiB as a string: "1GB" -> "1024", "512" -> "512"."""
    if value is None:
        return None
    text = str(value)
    match = _GB_RE.match(text)
    if match:
        return str(int(float(match.group(1)) * 1024))
    match = _MB_RE.match(text)
    if match:
        return match.group(1)
    return text.strip()


def _port_mappings(mappings: list[dict[str, Any]] | None, network_mode: str) -> dict[str, Any]:
    out = []
    for mapping in mappings or []:
        mapping = dict(mapping)
        mapping.setdefault("protocol", "tcp")
        if network_mode in ("awsvpc", "host") and "containerPort" in mapping:
            mapping.setdefault("hostPort", mapping["containerPort"])
        if network_mode == "bridge" and mapping.get("hostPort") == 0:
            mapping.pop("hostPort")  # 0 and absent both mean a dynamic host port
        out.append(mapping)
    return keyed(out, lambda m: f"{m.get('containerPort', m.get('containerPortRange'))}/{m['protocol']}")


def _container(c: dict[str, Any], network_mode: str) -> dict[str, Any]:
    """Normalizes in place: `c` belongs to the copy `normalize` made."""
    fill(c, CONTAINER_DEFAULTS)
    if c.get("cpu") == 0:
        c.pop("cpu")
    c["portMappings"] = _port_mappings(c.get("portMappings"), network_mode)
    c["environment"] = keyed_values(c.get("environment"), "name", "value")
    c["secrets"] = keyed_values(c.get("secrets"), "name", "valueFrom")
    c["ulimits"] = keyed(c.get("ulimits"), "name")
    c["systemControls"] = keyed(c.get("systemControls"), "namespace")
    c["mountPoints"] = keyed(c.get("mountPoints"), "containerPath")
    c["volumesFrom"] = keyed(c.get("volumesFrom"), "sourceContainer")
    c["dependsOn"] = keyed(c.get("dependsOn"), "containerName")
    c["extraHosts"] = keyed(c.get("extraHosts"), "hostname")
    c["resourceRequirements"] = keyed(c.get("resourceRequirements"), "type")
    c["environmentFiles"] = as_set(c.get("environmentFiles"))
    c["dockerLabels"] = bracket(c.get("dockerLabels"))
    if c.get("firelensConfiguration") is not None:
        fill(c, FIRELENS_DEFAULTS)
        if isinstance(c["firelensConfiguration"], dict):
            c["firelensConfiguration"]["options"] = bracket(c["firelensConfiguration"].get("options"))
    if isinstance(c.get("healthCheck"), dict):
        fill(c["healthCheck"], HEALTH_CHECK_DEFAULTS)
    log = c.get("logConfiguration")
    if isinstance(log, dict):
        log["options"] = bracket(log.get("options"))
        log["secretOptions"] = keyed_values(log.get("secretOptions"), "name", "valueFrom")
    linux = c.get("linuxParameters")
    if isinstance(linux, dict):
        caps = linux.get("capabilities")
        if isinstance(caps, dict):
            caps["add"] = as_set(caps.get("add"))
            caps["drop"] = as_set(caps.get("drop"))
        linux["devices"] = keyed(linux.get("devices"), "hostPath")
        linux["tmpfs"] = keyed(linux.get("tmpfs"), "containerPath")
    return c


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    """Every volume comes back with configuredAtLaunch false, an EFS volume with rootDirectory "/".
    In place, like `_container`."""
    v = volume
    fill(v, VOLUME_DEFAULTS)
    efs = v.get("efsVolumeConfiguration")
    if isinstance(efs, dict):
        fill(efs, EFS_DEFAULTS)
    docker = v.get("dockerVolumeConfiguration")
    if isinstance(docker, dict):
        docker["driverOpts"] = bracket(docker.get("driverOpts"))
        docker["labels"] = bracket(docker.get("labels"))
    return v


def normalize(spec: dict[str, Any]) -> dict[str, Any]:
    """Canonical form of a RegisterTaskDefinition request or a DescribeTaskDefinition response."""
    td = project(spec, REQUEST_FIELDS)
    fill(td, TASK_DEFAULTS)
    network_mode = td.get("networkMode", "bridge")
    td["cpu"] = task_cpu(td.get("cpu"))
    td["memory"] = task_memory(td.get("memory"))
    td["containerDefinitions"] = keyed([_container(c, network_mode) for c in td.get("containerDefinitions") or []], "name")
    for name in EMPTY_IS_UNSET:
        if td.get(name) == "":
            td.pop(name)
    td["volumes"] = keyed([_volume(v) for v in td.get("volumes") or []], "name")
    td["requiresCompatibilities"] = as_set(td.get("requiresCompatibilities"))
    td["placementConstraints"] = as_set(td.get("placementConstraints"))
    td["inferenceAccelerators"] = keyed(td.get("inferenceAccelerators"), "deviceName")
    proxy = td.get("proxyConfiguration")
    if isinstance(proxy, dict):
        proxy["properties"] = keyed_values(proxy.get("properties"), "name", "value")
    if td.get("enableFaultInjection") is False:
        td.pop("enableFaultInjection")
    return prune_empty(td)
