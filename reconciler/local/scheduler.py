"""The part of ECS that moto leaves out: tasks start, deployments finish, services reach steady state.

A background thread looks at every ACTIVE service served by the local endpoint. Once a primary
deployment (or a desiredCount change) is `settle_seconds` old it moves the counts, completes the
deployment, drains the old ones and records the service events ECS would. A deployment whose task
definition uses an image containing `fail_marker`, or one named with `fail_next()`, fails the way
the deployment circuit breaker fails it (and rolls back when the breaker asks for it).
Every change is also published to listeners as an EventBridge-shaped ECS event.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from moto.core.utils import utcnow
from moto.ecs.models import ecs_backends

from reconciler.local import fidelity, services
from reconciler.local.events import envelope, iso

log = logging.getLogger(__name__)
Listener = Callable[[dict], None]
FAIL_MARKER = os.environ.get("ECS_LOCAL_FAIL_IMAGE", "fail-deploy")
CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
ESSENTIAL_EXIT_REASON = "Essential container in task exited"


class Scheduler:
    def __init__(
        self, owner: Any = None, settle_seconds: float = 1.0, interval: float = 0.2, fail_marker: str = FAIL_MARKER
    ):
        self.owner = owner  # only services created through this endpoint are scheduled here
        self.settle_seconds = settle_seconds
        self.interval = interval
        self.fail_marker = fail_marker
        self._listeners: list[Listener] = []
        self._versions: dict[str, int] = {}
        self._fail_next: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def has_listeners(self) -> bool:
        return bool(self._listeners)

    def fail_next(self, service_name: str) -> None:
        """Make the next deployment of this service fail (one-shot)."""
        self._fail_next.add(service_name)

    def publish(self, event: dict) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one broken listener must not stop the others
                log.exception("local event listener failed")

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-ecs-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def clear(self) -> None:
        """Forget per-resource state (after a reset of the endpoint)."""
        self._versions.clear()
        self._fail_next.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:
                log.exception("local scheduler tick failed")

    def tick(self) -> list[dict]:
        """One pass over all services; returns (and publishes) the events it produced."""
        produced: list[dict] = []
        now = time.monotonic()
        with fidelity.LOCK:
            for account, per_account in list(ecs_backends.items()):
                for region, backend in list(per_account.items()):
                    for service in list(backend.services.values()):
                        if service.__dict__.get("local_owner", self) is self.owner and service.status == "ACTIVE":
                            _Step(self, backend, service, account, region, now, produced).run()
        for event in produced:
            self.publish(event)
        return produced

    def version(self, resource: str) -> int:
        self._versions[resource] = self._versions.get(resource, 0) + 1
        return self._versions[resource]


class _Step:
    """What one tick does to one service."""

    def __init__(self, scheduler: Scheduler, backend: Any, service: Any, account: str, region: str, now: float, out: list):
        self.s, self.backend, self.svc = scheduler, backend, service
        self.account, self.region, self.now, self.out = account, region, now, out
        self.state = service.__dict__.setdefault("local_state", {"tasks": [], "primary": None, "since": now})

    def run(self) -> None:
        primary = self.svc.deployments[0] if self.svc.deployments else None
        if primary is None or primary["status"] != "PRIMARY":
            return
        if primary["id"] != self.state["primary"]:
            self.state.update(primary=primary["id"], since=self.now, scale_since=None)
            self.deployment_event(primary, "SERVICE_DEPLOYMENT_IN_PROGRESS", "INFO")
        if primary["rolloutState"] == "IN_PROGRESS":
            if self.now - self.state["since"] >= self.s.settle_seconds:
                self.fail(primary) if self.should_fail(primary) else self.complete(primary)
        elif primary["rolloutState"] == "COMPLETED" and self.svc.running_count != self.svc.desired_count:
            if self.state.get("scale_since") is None:
                self.state["scale_since"] = self.now
                gap = max(self.svc.desired_count - self.svc.running_count, 0)
                self.svc.pending_count = primary["pendingCount"] = gap
            elif self.now - self.state["scale_since"] >= self.s.settle_seconds:
                self.state["scale_since"] = None
                self.settle(primary)
                self.steady()

    def should_fail(self, primary: dict) -> bool:
        if self.svc.name in self.s._fail_next:
            self.s._fail_next.discard(self.svc.name)
            return True
        try:
            task_definition = self.backend.describe_task_definition(primary["taskDefinition"])
        except Exception:
            return False
        return any(self.s.fail_marker in c.get("image", "") for c in task_definition.container_definitions)

    def complete(self, primary: dict) -> None:
        for task in self.state["tasks"]:
            self.task_event(task, primary, "STOPPED", f"Scaling activity initiated by (deployment {primary['id']})")
        self.state["tasks"] = []
        self.settle(primary)
        primary["rolloutState"] = "COMPLETED"
        primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
        self.svc.deployments[:] = [primary]
        self.service_event(f"(service {self.svc.name}) (deployment {primary['id']}) deployment completed.")
        self.deployment_event(primary, "SERVICE_DEPLOYMENT_COMPLETED", "INFO")
        self.steady()

    def settle(self, primary: dict) -> None:
        """Start or stop tasks until the primary deployment runs desiredCount of them."""
        desired = self.svc.desired_count
        while len(self.state["tasks"]) < desired:
            task = f"arn:aws:ecs:{self.region}:{self.account}:task/{self.svc.cluster_name}/{uuid.uuid4().hex}"
            self.state["tasks"].append(task)
            self.task_event(task, primary, "RUNNING")
        while len(self.state["tasks"]) > desired:
            self.task_event(self.state["tasks"].pop(), primary, "STOPPED", "Service scaled in")
        primary.update(runningCount=desired, pendingCount=0, desiredCount=desired, updatedAt=utcnow())
        self.svc.running_count, self.svc.pending_count = desired, 0

    def fail(self, primary: dict) -> None:
        # Before a circuit breaker trips, ECS starts tasks whose essential container exits.
        for _ in range(max(self.svc.desired_count, 1)):
            task = f"arn:aws:ecs:{self.region}:{self.account}:task/{self.svc.cluster_name}/{uuid.uuid4().hex}"
            self.task_event(task, primary, "STOPPED", ESSENTIAL_EXIT_REASON, stop_code="EssentialContainerExited",
                            exit_code=1, container=self.essential_container(primary))
        primary.update(
            rolloutState="FAILED",
            rolloutStateReason=CIRCUIT_BREAKER_REASON,
            failedTasks=max(self.svc.desired_count, 1),
            runningCount=0,
            pendingCount=0,
            updatedAt=utcnow(),
        )
        self.svc.pending_count = 0
        self.service_event(f"(service {self.svc.name}) (deployment {primary['id']}) deployment failed: tasks failed to start.")
        self.deployment_event(primary, "SERVICE_DEPLOYMENT_FAILED", "ERROR", CIRCUIT_BREAKER_REASON)
        breaker = (self.svc.deployment_configuration or {}).get("deploymentCircuitBreaker", {})
        previous = next((d for d in self.svc.deployments[1:] if d["rolloutState"] == "COMPLETED"), None)
        if breaker.get("enable") and breaker.get("rollback") and previous:
            self.svc.task_definition = previous["taskDefinition"]
            services.restore_deployment_fields(self.svc, previous)
            services.start_deployment(self.svc)

    def essential_container(self, primary: dict) -> str:
        try:
            containers = self.backend.describe_task_definition(primary["taskDefinition"]).container_definitions
        except Exception:
            return ""
        return next((c["name"] for c in containers if c.get("essential", True)), "")

    def steady(self) -> None:
        self.service_event(f"(service {self.svc.name}) has reached a steady state.")
        detail = {
            "eventType": "INFO",
            "eventName": "SERVICE_STEADY_STATE",
            "clusterArn": self.svc.cluster_arn,
            "createdAt": iso(),
        }
        self.emit("ECS Service Action", detail, self.svc.arn)

    def service_event(self, message: str) -> None:
        self.svc.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": utcnow(), "message": message})
        del self.svc.events[100:]

    def deployment_event(self, primary: dict, name: str, kind: str, reason: str | None = None) -> None:
        detail = {
            "eventType": kind,
            "eventName": name,
            "deploymentId": primary["id"],
            "updatedAt": iso(),
            "reason": reason or primary["rolloutStateReason"],
        }
        self.emit("ECS Deployment State Change", detail, self.svc.arn)

    def task_event(self, task: str, primary: dict, status: str, reason: str | None = None,
                   stop_code: str = "ServiceSchedulerInitiated", exit_code: int | None = None,
                   container: str = "") -> None:
        now = iso()
        detail = {
            "clusterArn": self.svc.cluster_arn,
            "taskArn": task,
            "taskDefinitionArn": primary["taskDefinition"],
            "group": f"service:{self.svc.name}",
            "startedBy": primary["id"],
            "launchType": self.svc.launch_type or "FARGATE",
            "lastStatus": status,
            "desiredStatus": status,
            "createdAt": now,
            "updatedAt": now,
        }
        if status == "RUNNING":
            detail["startedAt"] = now
        else:
            detail.update(stoppedAt=now, stoppedReason=reason, stopCode=stop_code)
            if exit_code is not None:
                detail["containers"] = [{"name": container, "lastStatus": "STOPPED", "exitCode": exit_code,
                                         "taskArn": task}]
        self.emit("ECS Task State Change", detail, task)

    def emit(self, detail_type: str, detail: dict, resource: str) -> None:
        detail["version"] = self.s.version(resource)
        self.out.append(envelope(detail_type, detail, [resource], self.account, self.region))
