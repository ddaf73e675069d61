"""ECS service calls as real ECS answers them, on top of moto's models.

moto drops most CreateService fields, overwrites a service of the same name, stores UpdateService's
task definition verbatim and sets runningCount on every desiredCount change. These replacements keep
every field a reconciler manages, start deployments the way ECS does, and leave task counts to the
local scheduler. They run only for requests served by a `LocalEndpoint` (see `fidelity`).
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2 import ec2_backends
from moto.ec2.exceptions import InvalidSecurityGroupNotFoundError, InvalidSubnetIdError
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.moto_api._internal import mock_random

from reconciler.local import cloud_map

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
FARGATE_PLATFORM = "1.4.0"
# maximumPercent / minimumHealthyPercent ECS fills in per scheduling strategy.
PERCENT_DEFAULTS = {"REPLICA": (200, 100), "DAEMON": (100, 0)}
CIRCUIT_BREAKER_DEFAULTS = {
    "enable": False,
    "rollback": False,
    "resetOnHealthyTask": True,
    "thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 50},
}
ALARMS_DEFAULTS = {"alarmNames": [], "enable": False, "rollback": False}
LIFECYCLE_HOOK_DEFAULTS = {
    "targetType": "AWS_LAMBDA",
    "timeoutConfiguration": {"action": "ROLLBACK", "timeoutInMinutes": 1440},
}
# placementStrategy[].field as ECS stores it.
PLACEMENT_FIELDS = {"cpu": "CPU", "memory": "MEMORY", "host": "instanceId"}
# Request fields that the Deployment shape carries and the Service shape does not: request name ->
# attribute on the service holding the current value; each new deployment takes a copy.
DEPLOYMENT_FIELDS = {
    "serviceConnectConfiguration": "local_service_connect",
    "volumeConfigurations": "local_volume_configurations",
    "vpcLatticeConfigurations": "local_vpc_lattice_configurations",
}
# UpdateService fields stored as given: request name -> moto attribute.
PLAIN_UPDATES = {
    "placementConstraints": "placement_constraints",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "enableExecuteCommand": "enable_execute_command",
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "propagateTags": "propagate_tags",
}
# UpdateService fields whose change starts a new deployment in ECS.
DEPLOYING_UPDATES = {
    "loadBalancers": "load_balancers",
    "serviceRegistries": "service_registries",
}
MAX_DESCRIBE = 10
LIST_PAGE = 10


class ServiceNotActiveException(ECSException):
    def __init__(self) -> None:
        super().__init__("ServiceNotActiveException", "Service was not ACTIVE.")


def create_service(self: Any, owner: Any = None) -> ActionResult:
    params = self.params
    backend = self.ecs_backend
    cluster = backend._get_cluster(params.get("cluster", "default"))
    name = params["serviceName"]
    existing = backend.services.get(f"{cluster.name}:{name}")
    token = params.get("clientToken")
    if existing is not None and existing.status in ("ACTIVE", "DRAINING"):
        if token and getattr(existing, "client_token", None) == token:
            return ActionResult({"service": existing})
        raise InvalidParameterException("Creation of service was not idempotent.")

    launch_type = params.get("launchType")
    strategy = params.get("capacityProviderStrategy")
    if launch_type and strategy:
        raise InvalidParameterException("Specify either a launch type or a capacity provider strategy, but not both.")
    if not launch_type and not strategy:
        strategy = copy.deepcopy(cluster.default_capacity_provider_strategy) or None
        launch_type = None if strategy else "EC2"
    task_definition = resolve_task_definition(backend, params.get("taskDefinition"))
    network = check_network(backend, params.get("networkConfiguration"), task_definition)
    service_connect = check_service_connect(backend, cluster, params.get("serviceConnectConfiguration"))

    service = backend.create_service(
        cluster.name,
        name,
        params.get("desiredCount"),
        task_definition.arn if task_definition else None,
        params.get("loadBalancers"),
        params.get("schedulingStrategy"),
        reordered(params.get("tags")),
        params.get("deploymentController"),
        launch_type if launch_type in ("EC2", "FARGATE") else "EC2",
        service_registries=params.get("serviceRegistries"),
        platform_version=params.get("platformVersion"),
        propagate_tags=params.get("propagateTags") or "NONE",
        network_configuration=None,
        role_arn=params.get("role"),
    )
    fargate = is_fargate(launch_type, strategy)
    service.launch_type = launch_type
    service.capacity_provider_strategy = strategy
    service.network_configuration = network
    service.platform_version = params.get("platformVersion") or ("LATEST" if fargate else None)
    service.platform_family = "Linux" if fargate else None
    service.deployment_configuration = merged_deployment_configuration(
        default_deployment_configuration(params.get("schedulingStrategy")), params.get("deploymentConfiguration")
    )
    service.placement_constraints = params.get("placementConstraints") or []
    service.placement_strategy = placement_strategy(params.get("placementStrategy"))
    service.availability_zone_rebalancing = params.get("availabilityZoneRebalancing") or (
        "DISABLED" if binpacks(service.placement_strategy) else "ENABLED"
    )
    service.local_service_connect = service_connect
    service.local_volume_configurations = copy.deepcopy(params.get("volumeConfigurations"))
    service.local_vpc_lattice_configurations = copy.deepcopy(params.get("vpcLatticeConfigurations"))
    service.health_check_grace_period_seconds = params.get("healthCheckGracePeriodSeconds")
    service.enable_ecs_managed_tags = bool(params.get("enableECSManagedTags", False))
    service.enable_execute_command = bool(params.get("enableExecuteCommand", False))
    service.created_at = utcnow()
    service.created_by = f"arn:aws:iam::{backend.account_id}:root"
    service.client_token = token
    service.local_owner = owner
    service.running_count = 0
    service.pending_count = 0
    service.deployments = []
    if service.deployment_controller.get("type", "ECS") == "ECS":
        start_deployment(service)
    return ActionResult({"service": service})


def update_service(self: Any) -> ActionResult:
    params = self.params
    backend = self.ecs_backend
    cluster = backend._get_cluster(params.get("cluster", "default"))
    service = backend._get_service(cluster.name, params["service"])
    if service.status != "ACTIVE":
        raise ServiceNotActiveException()
    deploy = bool(params.get("forceNewDeployment"))

    task_definition = resolve_task_definition(backend, params.get("taskDefinition"))
    if task_definition is None:
        current = service.task_definition
        task_definition = backend.describe_task_definition(current) if current else None
    elif task_definition.arn != service.task_definition:
        service.task_definition = task_definition.arn
        deploy = True
    if "networkConfiguration" in params:
        network = check_network(backend, params["networkConfiguration"], task_definition)
        deploy |= comparable(network) != comparable(service.network_configuration)
        service.network_configuration = network
    if "serviceConnectConfiguration" in params:
        service_connect = check_service_connect(backend, cluster, params["serviceConnectConfiguration"])
        deploy |= service_connect != getattr(service, "local_service_connect", None)
        service.local_service_connect = service_connect
    for field in ("volumeConfigurations", "vpcLatticeConfigurations"):
        if params.get(field) is not None:
            attribute = DEPLOYMENT_FIELDS[field]
            deploy |= params[field] != getattr(service, attribute, None)
            setattr(service, attribute, copy.deepcopy(params[field]))
    if "capacityProviderStrategy" in params:
        deploy |= params["capacityProviderStrategy"] != service.capacity_provider_strategy
        service.capacity_provider_strategy = params["capacityProviderStrategy"] or None
        service.launch_type = None if service.capacity_provider_strategy else service.launch_type
    if "platformVersion" in params:
        deploy |= params["platformVersion"] != service.platform_version
        service.platform_version = params["platformVersion"]
    for field, attribute in DEPLOYING_UPDATES.items():
        if field in params:
            deploy |= params[field] != getattr(service, attribute)
            setattr(service, attribute, params[field])
    for field, attribute in PLAIN_UPDATES.items():
        if field in params:
            setattr(service, attribute, params[field])
    if "placementStrategy" in params:
        service.placement_strategy = placement_strategy(params["placementStrategy"])
    if params.get("availabilityZoneRebalancing"):
        service.availability_zone_rebalancing = params["availabilityZoneRebalancing"]
    if "deploymentConfiguration" in params:
        service.deployment_configuration = merged_deployment_configuration(
            service.deployment_configuration, params["deploymentConfiguration"]
        )
    if params.get("desiredCount") is not None:
        service.desired_count = int(params["desiredCount"])
        if service.deployments:
            service.deployments[0]["desiredCount"] = service.desired_count
            service.deployments[0]["updatedAt"] = utcnow()
    if deploy and service.deployment_controller.get("type", "ECS") == "ECS":
        start_deployment(service)
    return ActionResult({"service": service})


def describe_services(self: Any) -> ActionResult:
    names = self._get_param("services", []) or []
    if len(names) > MAX_DESCRIBE:
        raise InvalidParameterException(f"service names can have at most {MAX_DESCRIBE} items.")
    services, failures = self.ecs_backend.describe_services(self._get_param("cluster", "default"), names)
    path = "DescribeServicesResponse.services.Service.tags"
    if "TAGS" in (self._get_param("include", []) or []):
        self._include_in_response(path)
    else:
        self._exclude_from_response(path)
    return ActionResult({"services": services, "failures": failures})


def list_services(self: Any) -> ActionResult:
    """Only ACTIVE and DRAINING services, paginated like ECS (10 per page unless maxResults)."""
    backend = self.ecs_backend
    cluster = backend._get_cluster(self._get_param("cluster", "default"))
    launch_type = self._get_param("launchType")
    strategy = self._get_param("schedulingStrategy")
    arns = sorted(
        s.arn
        for s in backend.services.values()
        if s.cluster_name == cluster.name
        and s.status in ("ACTIVE", "DRAINING")
        and (launch_type is None or s.launch_type == launch_type)
        and (strategy is None or s.scheduling_strategy == strategy)
    )
    start = int(self._get_param("nextToken") or 0)
    size = min(int(self._get_param("maxResults") or LIST_PAGE), 100)
    result: dict[str, Any] = {"serviceArns": arns[start : start + size]}
    if start + size < len(arns):
        result["nextToken"] = str(start + size)
    return ActionResult(result)


def resolve_task_definition(backend: Any, reference: str | None) -> Any:
    """Family, family:revision or ARN -> the task definition; ECS refuses INACTIVE ones."""
    if not reference:
        return None
    task_definition = backend.describe_task_definition(reference)
    if task_definition.status != "ACTIVE":
        raise InvalidParameterException("TaskDefinition is inactive")
    return task_definition


def check_network(backend: Any, network: dict | None, task_definition: Any) -> dict | None:
    """Validate like ECS and return the configuration as DescribeServices shows it."""
    awsvpc = task_definition is not None and task_definition.network_mode == "awsvpc"
    if not network:
        if awsvpc:
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )
        return None
    if task_definition is not None and not awsvpc:
        raise InvalidParameterException("Network Configuration is not valid for the given networkMode of this task definition.")
    config = dict(network.get("awsvpcConfiguration") or {})
    subnets = config.get("subnets") or []
    if not subnets:
        raise InvalidParameterException("subnets can not be empty.")
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    try:
        ec2.describe_subnets(subnet_ids=subnets)
    except InvalidSubnetIdError as exc:
        raise InvalidParameterException(f"Error retrieving subnet information for {subnets}: {exc.message}")
    groups = config.get("securityGroups") or []
    if groups:
        try:
            ec2.describe_security_groups(group_ids=groups)
        except InvalidSecurityGroupNotFoundError as exc:
            raise InvalidParameterException(f"Error retrieving security group information for {groups}: {exc.message}")
    config.setdefault("assignPublicIp", "DISABLED")
    config["subnets"] = reordered(subnets)
    if groups:
        config["securityGroups"] = reordered(groups)
    return {"awsvpcConfiguration": config}


def reordered(items: list | None) -> list | None:
    """A list whose order ECS does not keep, in another (deterministic) order than sent: reversed."""
    return list(reversed(items)) if items else items


def comparable(network: dict | None) -> Any:
    """A network configuration with its id lists as sets: sending them in another order changes nothing."""
    if not network:
        return network
    config = dict(network.get("awsvpcConfiguration") or {})
    for key in ("subnets", "securityGroups"):
        config[key] = sorted(config.get(key) or [])
    return config


def check_service_connect(backend: Any, cluster: Any, config: dict | None) -> dict | None:
    """Refuse a namespace that does not exist (as ECS does) and return the configuration as ECS keeps it.

    The namespace stays as the request gave it (name or ARN); with none, the cluster default applies.
    """
    if not config:
        return None
    kept = copy.deepcopy(config)
    namespace = kept.get("namespace")
    if namespace:
        cloud_map.resolve(backend.account_id, backend.region_name, namespace)
    elif kept.get("enabled"):
        default = getattr(cluster, "local_service_connect_namespace", None)
        if default is None:
            raise InvalidParameterException(
                "Service Connect namespace is required: the service does not name one and the cluster has no default."
            )
        kept["namespace"] = default
    log_configuration = kept.get("logConfiguration")
    if log_configuration is not None:
        log_configuration.setdefault("secretOptions", [])
    return kept


def default_deployment_configuration(scheduling_strategy: str | None) -> dict:
    maximum, minimum = PERCENT_DEFAULTS.get(scheduling_strategy or "REPLICA", PERCENT_DEFAULTS["REPLICA"])
    return {
        "deploymentCircuitBreaker": copy.deepcopy(CIRCUIT_BREAKER_DEFAULTS),
        "maximumPercent": maximum,
        "minimumHealthyPercent": minimum,
        "alarms": copy.deepcopy(ALARMS_DEFAULTS),
        "strategy": "ROLLING",
        "bakeTimeInMinutes": 0,
    }


def merged_deployment_configuration(base: dict, sent: dict | None) -> dict:
    """What was sent, over what is stored (or ECS's defaults); lifecycle hooks get their defaults."""
    merged = deep_merged(base, sent or {})
    if merged.get("lifecycleHooks"):
        merged["lifecycleHooks"] = [deep_merged(LIFECYCLE_HOOK_DEFAULTS, hook) for hook in merged["lifecycleHooks"]]
    return merged


def deep_merged(base: dict, sent: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in sent.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def placement_strategy(items: list | None) -> list:
    """binpack fields come back upper case, spread by `host` comes back as `instanceId`."""
    stored = []
    for item in items or []:
        item = dict(item)
        field = item.get("field")
        if field and field.lower() in PLACEMENT_FIELDS:
            item["field"] = PLACEMENT_FIELDS[field.lower()]
        stored.append(item)
    return stored


def binpacks(strategy: list) -> bool:
    return any(item.get("type") == "binpack" for item in strategy)


def is_fargate(launch_type: str | None, strategy: list | None) -> bool:
    if launch_type:
        return launch_type == "FARGATE"
    return any(item.get("capacityProvider") in FARGATE_PROVIDERS for item in strategy or [])


def restore_deployment_fields(service: Any, deployment: dict) -> None:
    """A rollback returns to what `deployment` ran with: its Service Connect, volume and Lattice configurations."""
    for field, attribute in DEPLOYMENT_FIELDS.items():
        setattr(service, attribute, copy.deepcopy(deployment.get(field)))


def start_deployment(service: Any, task_definition: str | None = None) -> dict:
    """Make a new PRIMARY deployment; the previous primary becomes ACTIVE and drains later."""
    for deployment in service.deployments:
        if deployment["status"] == "PRIMARY":
            deployment["status"] = "ACTIVE"
    now = utcnow()
    deployment_id = f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}"
    fargate = is_fargate(service.launch_type, service.capacity_provider_strategy)
    deployment = {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition or service.task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
    }
    if service.launch_type:
        deployment["launchType"] = service.launch_type
    if service.capacity_provider_strategy:
        deployment["capacityProviderStrategy"] = copy.deepcopy(service.capacity_provider_strategy)
    if fargate:
        version = service.platform_version
        deployment["platformVersion"] = FARGATE_PLATFORM if version in (None, "LATEST") else version
        deployment["platformFamily"] = "Linux"
    if service.network_configuration:
        deployment["networkConfiguration"] = copy.deepcopy(service.network_configuration)
    for field, attribute in DEPLOYMENT_FIELDS.items():
        if getattr(service, attribute, None):
            deployment[field] = copy.deepcopy(getattr(service, attribute))
    service.deployments.insert(0, deployment)
    return deployment
