"""Kill apply (SIGKILL) right after its k-th write reached AWS, for every k: the next apply repairs
the account with no duplicates and no orphans, and a final plan is clean."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from reconciler.aws import is_read_operation
from support.faultproxy import FORWARDED, FaultProxy

from .helpers import EXAMPLE, PLAIN, assert_exactly_one_of_each, clients_for, converge, expected_names, inventory

CLI = str(Path(sys.executable).with_name("ecs-reconciler"))

EXTRA = """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: shop-mailer}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - {name: mailer, image: public.ecr.aws/docker/library/python:3.12-slim}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: shop-mailer}
spec:
  cluster: shop
  taskDefinition: shop-mailer
  desiredCount: 1
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration: {subnets: [subnet-00000000000000001], securityGroups: [sg-00000000000000001]}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: ScheduledTask
metadata: {name: shop-cleanup}
spec:
  cluster: shop
  taskDefinition: shop-mailer
  schedule: rate(1 hour)
  roleArn: arn:aws:iam::123456789012:role/ecsEventsRole
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration: {subnets: [subnet-00000000000000001], securityGroups: [sg-00000000000000001]}
"""


class KillAfterWrites(FaultProxy):
    """Kills `pid` once the `kill_after`-th write has been forwarded, before its response is sent."""

    def __init__(self, upstream_url: str, kill_after: int):
        super().__init__(upstream_url)
        self.kill_after = kill_after
        self.pid: int | None = None
        self.writes: list[str] = []
        self.killed = False

    def _record(self, operation: str, kind: str) -> None:
        super()._record(operation, kind)
        if kind != FORWARDED or is_read_operation(operation):
            return
        # Writes sent at the same moment by apply's concurrent workers still count after the kill.
        self.writes.append(operation)
        if not self.killed and len(self.writes) == self.kill_after and self.pid is not None:
            self.killed = True
            os.kill(self.pid, signal.SIGKILL)


def run_apply(url: str, paths: list[str]) -> subprocess.Popen:
    return subprocess.Popen([CLI, "--endpoint-url", url, "--region", "us-east-1", "apply", *paths, "--yes"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())


def test_sigkill_after_every_write_is_repaired_by_the_next_apply(local, tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "app", ignore=PLAIN)
    (tmp_path / "app" / "mailer.yaml").write_text(EXTRA)
    paths = [str(tmp_path / "app")]
    names = expected_names(paths)

    # A clean run counts the writes of the first apply.
    with KillAfterWrites(local.url, kill_after=10**6) as counter:
        proc = run_apply(counter.url, paths)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        total = len(counter.writes)
    assert total >= 12, counter.writes

    for k in range(1, total + 1):
        local.reset()
        with KillAfterWrites(local.url, kill_after=k) as proxy:
            proc = run_apply(proxy.url, paths)
            proxy.pid = proc.pid
            proc.communicate(timeout=60)
            assert proxy.killed and proc.returncode == -signal.SIGKILL, (k, proc.returncode)
        rounds, errors = converge(local.url, paths, rounds=2)
        # One apply repairs it (two rounds: apply, then a clean plan); when every write reached AWS
        # before the kill (the last one, or concurrent siblings of it), there is nothing left to do.
        done_before_kill = len(proxy.writes) >= total
        assert errors == [] and rounds == (1 if done_before_kill else 2), (k, proxy.writes, rounds, errors)
        assert_exactly_one_of_each(inventory(clients_for(local.url)), names)
