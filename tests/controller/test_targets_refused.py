"""The controller reconciles the ambient account only (for now): a source with Target manifests is
rejected before anything is read or written, as any invalid revision is, instead of applying every
target's manifests into one account."""

from __future__ import annotations

from reconciler.controller.loop import Controller, ControllerConfig

TARGET_SET = """\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Target
metadata: {name: payments-eu}
spec: {region: eu-west-1, roleArn: "arn:aws:iam::222222222222:role/deployer"}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: shop, target: payments-eu}
"""


def test_a_source_with_targets_is_rejected_with_nothing_written(local, local_clients, tmp_path):
    source = tmp_path / "manifests"
    source.mkdir()
    (source / "set.yaml").write_text(TARGET_SET)
    controller = Controller(local_clients, ControllerConfig(source=str(source), workdir=str(tmp_path / "work"),
                                                            poll_interval=0.2, resync_period=60))
    assert not controller.sync_once()
    assert local_clients.call_log.writes() == {}
    error = controller.status.document()["lastError"]
    assert "set.yaml:1" in error and "not supported by the controller (run) yet" in error
    assert local.client("ecs").list_clusters()["clusterArns"] == []
    controller.stop()
