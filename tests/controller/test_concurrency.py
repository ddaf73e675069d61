"""`--concurrency` is the number of writes in flight at once within a wave of independent actions."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.controller.loop import Controller, ControllerConfig

CLUSTER = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: wide}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: wide}
spec:
  containerDefinitions: [{name: app, image: public.ecr.aws/nginx/nginx:1.27, memory: 128}]
"""
SERVICE = """---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: svc-NAME}
spec: {cluster: wide, taskDefinition: wide, desiredCount: 0}
"""


class InFlight:
    """Counts CreateService requests on the wire at once (each held a moment so siblings overlap)."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def sent(self, **_) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.2)

    def answered(self, **_) -> None:
        with self.lock:
            self.now -= 1


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_bounds_the_writes_in_flight(local, local_clients, tmp_path, concurrency):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "app.yaml").write_text(CLUSTER + "".join(SERVICE.replace("NAME", str(i)) for i in range(8)))
    meter = InFlight()
    local_clients.on("before-send.ecs.CreateService", meter.sent)
    local_clients.on("after-call.ecs.CreateService", meter.answered)
    controller = Controller(local_clients, ControllerConfig(source=str(folder), concurrency=concurrency,
                                                            rollout_timeout=0))
    try:
        assert controller.sync_once()
    finally:
        controller.stop()
    assert meter.peak == concurrency
