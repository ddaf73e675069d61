"""`--target KIND/NAME`: only the targets and what they depend on are planned and applied."""

from __future__ import annotations

import json

import pytest

from reconciler.desired.loader import load_text
from reconciler.errors import ReconcileError
from reconciler.plan.targeting import select

MANIFESTS = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec: {}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec: {containerDefinitions: [{name: web, image: "nginx:1"}]}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec: {containerDefinitions: [{name: job, image: "job:1"}]}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web}
spec: {cluster: c, taskDefinition: web, desiredCount: 1}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: ScheduledTask
metadata: {name: nightly}
spec: {cluster: c, taskDefinition: job, schedule: "rate(1 day)", roleArn: "arn:aws:iam::1:role/r"}
"""


def test_a_target_brings_its_dependencies_and_says_which():
    desired = load_text(MANIFESTS)
    subset, targeting = select(desired, ["service/web"])
    assert [r.label for r in subset.resources] == ["Cluster/c", "TaskDefinition/web", "Service/web"]
    assert targeting.dependencies == {"Cluster/c": ["Service/web"], "TaskDefinition/web": ["Service/web"]}
    subset, targeting = select(desired, ["Service/web", "ScheduledTask/nightly", "Cluster/c"])
    assert len(subset.resources) == 5

    assert "Cluster/c" not in targeting.dependencies  # targeted itself, not a mere dependency
    subset, targeting = select(desired, ["Cluster/c"])  # dependents are not included
    assert [r.label for r in subset.resources] == ["Cluster/c"] and targeting.dependencies == {}


@pytest.mark.parametrize("target", ["Service/nope", "web", "Service/"])
def test_a_bad_target_is_a_clear_error(target):
    with pytest.raises(ReconcileError, match="--target"):
        select(load_text(MANIFESTS), [target])


def test_apply_with_a_target_writes_only_it_and_its_dependencies(run_cli):
    code, out, err, writes = run_cli("plan", "manifests", "--target", "Service/shop-web", "--output", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["targeting"] == {"targets": ["Service/shop-web"],
                                "dependencies": {"Cluster/shop": ["Service/shop-web"],
                                                 "TaskDefinition/shop-web": ["Service/shop-web"]}}
    code, out, err, writes = run_cli("apply", "manifests", "--target", "Service/shop-web", "--yes")
    assert code == 0, err
    assert "Included as a dependency: TaskDefinition/shop-web (needed by Service/shop-web)." in out
    assert writes == {("ecs", "CreateCluster"): 1, ("ecs", "RegisterTaskDefinition"): 1, ("ecs", "CreateService"): 1}
    code, out, err, writes = run_cli("apply", "manifests", "--target", "Service/shop-web", "--prune", "--yes")
    assert code == 1 and "cannot be combined" in err and not writes
    code, out, err, writes = run_cli("plan", "manifests", "--target", "Service/nope")
    assert code == 1 and "no such manifest" in err
