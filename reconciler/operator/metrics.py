"""Prometheus metrics of the operator, served on their own port (`--metrics-listen`) with the dashboard.

kopf's own endpoint only answers liveness; these say what the operator did: reconciles per kind and
outcome, drift found and healed, and the AWS calls it made (read from the shared CallLog). The same
port serves the controller's read-only dashboard (`/`, `/status`) over the operator's board of
objects, grouped by namespace; it has no suspend (that is a Kubernetes object's own business).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from ..aws import CallLog
from ..controller.dashboard import add_dashboard
from ..controller.http import ControllerHTTPServer, health_handler, metrics_handler, status_handler
from ..controller.status import StatusBoard
from ..controller.metrics import AwsCallCollector


class OperatorMetrics:
    def __init__(self, call_log: CallLog) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(AwsCallCollector(call_log))
        self.reconciles = Counter("ecs_reconciler_operator_reconciles", "Object reconciles by kind and outcome",
                                  ["kind", "outcome"], registry=self.registry)
        self.drift_detected = Counter("ecs_reconciler_drift_detected", "Out-of-band drift found by a drift check",
                                      ["kind"], registry=self.registry)
        self.drift_healed = Counter("ecs_reconciler_drift_healed", "Out-of-band drift reverted", ["kind"],
                                    registry=self.registry)
        self.perpetual_diffs = Counter("ecs_reconciler_perpetual_diffs",
                                       "Objects whose writes stopped: applied with the same diff too many times",
                                       ["kind"], registry=self.registry)

    def serve(self, host: str, port: int, board: StatusBoard | None = None) -> ControllerHTTPServer:
        server = ControllerHTTPServer(host, port)
        server.route("GET", "/metrics", metrics_handler(self.registry))
        server.route("GET", "/healthz", health_handler())
        if board is not None:
            server.route("GET", "/status", status_handler(board.document))
            add_dashboard(server, board.document, lambda: board.version, control=False)
        return server.start()
