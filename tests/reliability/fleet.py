"""Generate a fleet of manifests in a directory: one cluster, N services each with its own family."""

from __future__ import annotations

from pathlib import Path

CLUSTER = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {{name: {cluster}}}
spec: {{}}
"""

SERVICE = """---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {{name: {name}}}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: public.ecr.aws/nginx/nginx:1.27
      environment:
        - {{name: INDEX, value: "{index}"}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: {name}}}
spec:
  cluster: {cluster}
  taskDefinition: {name}
  desiredCount: 1
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration:
      subnets: [subnet-00000000000000001]
      securityGroups: [sg-00000000000000001]
"""


def write_fleet(directory: Path, services: int, cluster: str = "fleet", prefix: str = "svc") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cluster.yaml").write_text(CLUSTER.format(cluster=cluster))
    body = "".join(SERVICE.format(name=f"{prefix}-{i:04d}", cluster=cluster, index=i) for i in range(services))
    (directory / "services.yaml").write_text(body)
    return directory
