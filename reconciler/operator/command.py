"""`ecs-reconciler operator`: run the kopf operator for the ecs-reconciler.io CRDs."""

from __future__ import annotations

from collections.abc import Sequence
import logging

import click
import kopf

from ..apply.flap_guard import DEFAULT_LIMIT
from ..aws import AwsSettings, CallLog
from ..controller.status import StatusBoard
from ..notifications.dispatcher import NotificationCollector
from ..notifications.options import notification_options, notifier_from
from ..observed.rollouts import ROLLOUT_TIMEOUT
from ..report.masking import MaskingFilter
from ..target_leases import LeaseApi
from .handlers import FINALIZER, OperatorConfig, build_registry
from .metrics import OperatorMetrics
from .sharding import ShardGate, default_replica_id
from .tenancy import Policy, PolicyError, PolicyFile


def operator_settings(log_level: str | None = None, namespaces: Sequence[str] = ()) -> kopf.OperatorSettings:
    """kopf's settings; `namespaces`: the namespaces the operator watches (empty: all of them)."""
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="ecs-reconciler.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="ecs-reconciler.io", key="last-handled-configuration")
    settings.posting.level = 20  # INFO and up become Kubernetes Events
    settings.watching.server_timeout = 300
    # A drift check runs in a thread and cannot stop mid-call; when an object is deleted while its
    # check runs, kopf polls for the timer's exit this often (its default, 60 s, delays deletions).
    settings.background.cancellation_polling = 1.0
    # Watching named namespaces needs nothing cluster-wide, and the chart grants only a Role there.
    # kopf would still list namespaces and watch CRDs cluster-wide, retrying each 403 for about a
    # minute before it falls back; it only needs those for namespace patterns (kopf's `*?!,`).
    settings.scanning.disabled = bool(namespaces) and not any(set(ns) & set("*?!,") for ns in namespaces)
    # kopf logs a handler's failure on the object's logger, which also posts it as a Kubernetes
    # Event: mask the record before any of its handlers sees it.
    objects = logging.getLogger("kopf.objects")
    if not any(isinstance(f, MaskingFilter) for f in objects.filters):
        objects.addFilter(MaskingFilter())
    return settings


def sharded(replica_id: str | None, lease_namespace: str | None, prefix: str, lease_seconds: float) -> ShardGate:
    """The gate over this replica's share of the targets, with the pod's own API access."""
    try:
        api = LeaseApi.in_cluster(lease_namespace)
    except (KeyError, OSError) as exc:
        raise click.UsageError(f"--shard needs to run in a pod (the Kubernetes API's address and token): {exc}")
    try:
        return ShardGate(api, replica_id or default_replica_id(), prefix=prefix, lease_seconds=lease_seconds)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--lease-seconds") from exc


@click.command()
@click.option("--namespace", "-n", "namespaces", multiple=True, help="Watch this namespace (repeatable).")
@click.option("--all-namespaces", "-A", is_flag=True, help="Watch every namespace (needs namespaces list).")
@click.option("--resync-seconds", default=300.0, show_default=True, help="How often each object re-checks drift.")
@click.option("--self-heal/--no-self-heal", default=True, show_default=True, help="Apply when drift is found.")
@click.option("--events-queue", envvar="ECS_RECONCILER_EVENTS_QUEUE",
              help="SQS queue of the ECS event stream (`events setup`): objects re-check drift as events arrive.")
@click.option("--peering", default=None, help="kopf peering name for several replicas (default: standalone).")
@click.option("--liveness", default="http://0.0.0.0:8080/healthz", show_default=True,
              help="kopf's liveness endpoint URL (empty to disable).")
@click.option("--metrics-listen", default="127.0.0.1:9090", show_default=True,
              help="Serve Prometheus /metrics, /status and the dashboard (/) on HOST:PORT (empty to disable).")
@click.option("--rollout-timeout", default=ROLLOUT_TIMEOUT, show_default=True,
              help="Seconds a service deployment may stay in progress before it is Stalled/RolloutFailed (0: never).")
@click.option("--flap-limit", default=DEFAULT_LIMIT, show_default=True,
              help="Stop writing an object applied this many times in a row with the same diff that the next check "
                   "still shows (Stalled/PerpetualDiff); 0: never stop.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
              help="Tenancy policy file (YAML): which namespaces may adopt, which AWS name prefixes each namespace "
                   "may use, which EcsTargets each may name; read again when it changes. Default: every namespace "
                   "may adopt and use any name, none may name a target.")
@click.option("--targets-namespace", envvar="ECS_RECONCILER_TARGETS_NAMESPACE", default=None,
              help="The (watched) namespace holding EcsTargets: other accounts and Regions that objects name in "
                   "spec.target, as the policy allows. Default: none, objects cannot name a target.")
@click.option("--shard", is_flag=True, envvar="ECS_RECONCILER_SHARD",
              help="Run sharded with the other replicas: targets are divided by one Lease each (coordination.k8s.io) "
                   "and each object is handled by the replica holding its target's Lease (replaces --peering).")
@click.option("--replica-id", default=None, help="This replica's name in the Leases (default: $POD_NAME, else the host name).")
@click.option("--lease-namespace", envvar="POD_NAMESPACE", default=None,
              help="Namespace of the Leases (default: the pod's own namespace).")
@click.option("--lease-prefix", default="ecs-reconciler", show_default=True,
              help="Lease names start with this (one prefix per operator installation).")
@click.option("--lease-seconds", default=15.0, show_default=True,
              help="A dead replica's targets move to another within this; renewals every lease/7.5 s, and a replica "
                   "stops acting when its last renewal is older than 2/3 of it.")
@notification_options
@click.pass_obj
def operator(state, namespaces: tuple[str, ...], all_namespaces: bool, resync_seconds: float, self_heal: bool,
             events_queue: str | None, peering: str | None, liveness: str, metrics_listen: str,
             rollout_timeout: float, flap_limit: int, policy_path: str | None, targets_namespace: str | None,
             shard: bool, replica_id: str | None, lease_namespace: str | None, lease_prefix: str,
             lease_seconds: float, **notify: str | None) -> None:
    """Run the Kubernetes operator: EcsCapacityProvider, EcsCluster, EcsTaskDefinition, EcsService,
    EcsScheduledTask and EcsSchedule objects."""
    if not namespaces and not all_namespaces:
        raise click.UsageError("pass --namespace NS (repeatable) or --all-namespaces")
    try:
        policy = PolicyFile(policy_path) if policy_path else Policy()
    except PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from exc
    if shard and peering:
        raise click.UsageError("--shard and --peering exclude each other: sharded replicas all run")
    gate = sharded(replica_id, lease_namespace, lease_prefix, lease_seconds) if shard else None
    endpoint = state.start_local().url if state.local else state.endpoint_url
    settings = AwsSettings(region=state.region or ("us-east-1" if state.local else None), endpoint_url=endpoint)
    call_log = CallLog()
    metrics = OperatorMetrics(call_log)
    board = StatusBoard("kubernetes", {"selfHeal": self_heal})
    if metrics_listen:
        host, _, port = metrics_listen.rpartition(":")
        metrics.serve(host or "127.0.0.1", int(port), board)
    notifier = notifier_from(notify)
    if notifier.destinations:
        board.notifications = notifier.stats
        metrics.registry.register(NotificationCollector(notifier))
        notifier.start()
    config = OperatorConfig(board=board, notify=notifier if notifier.destinations else None, region=settings.region, endpoint_url=settings.endpoint_url, instance=state.instance,
                            resync_seconds=resync_seconds, self_heal=self_heal, events_queue=events_queue,
                            call_log=call_log, metrics=metrics, rollout_timeout=rollout_timeout,
                            flap_limit=flap_limit, policy=policy, targets_namespace=targets_namespace,
                            shard=gate)
    registry = build_registry(config, kopf.SmartOperatorRegistry())
    settings = operator_settings(namespaces=() if all_namespaces else namespaces)
    # Sharded replicas run standalone: kopf's peering would pause all but one of them.
    kopf.run(registry=registry, settings=settings, standalone=peering is None, peering_name=peering,
             clusterwide=all_namespaces, namespaces=list(namespaces), liveness_endpoint=liveness or None)
