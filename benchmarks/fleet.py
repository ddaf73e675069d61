"""A synthetic fleet as manifests: clusters, one task definition family per service, scheduled tasks.

The default is the benchmark fleet (5 clusters, 1,000 services, 200 scheduled tasks with their own
families), written one file per cluster into a directory. Everything targets the local endpoint's
default VPC. Services run zero tasks: the benchmark measures the reconciler, not the scheduler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SUBNETS = ["subnet-00000000000000001", "subnet-00000000000000002"]
SECURITY_GROUP = "sg-00000000000000001"
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
EVENTS_ROLE = "arn:aws:iam::123456789012:role/ecsEventsRole"
IMAGE_TAG = "1.0.0"


@dataclass(frozen=True)
class FleetShape:
    clusters: int = 5
    services: int = 1000
    scheduled: int = 200

    def cluster(self, i: int) -> str:
        return f"bench-{i % self.clusters:02d}"

    def service_names(self) -> list[str]:
        return [f"svc-{i:04d}" for i in range(self.services)]

    def job_names(self) -> list[str]:
        return [f"job-{i:04d}" for i in range(self.scheduled)]

    def services_per_cluster(self) -> dict[str, int]:
        counts = {self.cluster(c): 0 for c in range(self.clusters)}
        for i in range(self.services):
            counts[self.cluster(i)] += 1
        return counts

    @property
    def families(self) -> int:
        return self.services + self.scheduled


def _task_definition(name: str, port: int) -> str:
    return f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata:
  name: {name}
  labels: {{fleet: bench}}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  executionRoleArn: {EXECUTION_ROLE}
  containerDefinitions:
    - name: app
      image: registry.example.com/{name}:{IMAGE_TAG}
      essential: true
      portMappings:
        - containerPort: {port}
      environment:
        - name: APP_NAME
          value: {name}
        - name: LOG_LEVEL
          value: info
      logConfiguration:
        logDriver: awslogs
        options:
          awslogs-group: /ecs/{name}
          awslogs-region: us-east-1
          awslogs-stream-prefix: app
  tags:
    fleet: bench
---
"""


def _network() -> str:
    return f"""  networkConfiguration:
    awsvpcConfiguration:
      subnets: [{', '.join(SUBNETS)}]
      securityGroups: [{SECURITY_GROUP}]
      assignPublicIp: DISABLED
"""


def _service(name: str, cluster: str) -> str:
    return f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata:
  name: {name}
spec:
  cluster: {cluster}
  taskDefinition: {name}
  desiredCount: 0
  launchType: FARGATE
  deploymentConfiguration:
    maximumPercent: 200
    minimumHealthyPercent: 100
{_network()}  tags:
    fleet: bench
---
"""


def _scheduled_task(name: str, cluster: str, minute: int) -> str:
    return f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: ScheduledTask
metadata:
  name: {name}
spec:
  cluster: {cluster}
  taskDefinition: {name}
  schedule: cron({minute} 3 * * ? *)
  description: Benchmark job {name}
  roleArn: {EVENTS_ROLE}
  launchType: FARGATE
  taskCount: 1
{_network()}  tags:
    fleet: bench
---
"""


def write_fleet(directory: str | Path, shape: FleetShape = FleetShape()) -> list[Path]:
    """Write the fleet, one file per cluster; returns the files."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    parts: dict[str, list[str]] = {shape.cluster(c): [] for c in range(shape.clusters)}
    for cluster in parts:
        parts[cluster].append(f"""apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata:
  name: {cluster}
spec:
  settings:
    - name: containerInsights
      value: disabled
  tags:
    fleet: bench
---
""")
    for i, name in enumerate(shape.service_names()):
        parts[shape.cluster(i)] += [_task_definition(name, 8000 + i % 1000), _service(name, shape.cluster(i))]
    for i, name in enumerate(shape.job_names()):
        parts[shape.cluster(i)] += [_task_definition(name, 9000), _scheduled_task(name, shape.cluster(i), i % 60)]
    files = []
    for cluster, docs in parts.items():
        file = root / f"{cluster}.yaml"
        file.write_text("".join(docs))
        files.append(file)
    return files


def change_image(directory: str | Path, family: str, tag: str) -> Path:
    """Point one family's container at a new image tag (the one-line change of a typical deploy)."""
    pattern = re.compile(rf"(image: registry\.example\.com/{re.escape(family)}):\S+")
    for file in sorted(Path(directory).glob("*.yaml")):
        text = file.read_text()
        new, count = pattern.subn(rf"\g<1>:{tag}", text)
        if count:
            file.write_text(new)
            return file
    raise KeyError(f"no task definition {family!r} in {directory}")
