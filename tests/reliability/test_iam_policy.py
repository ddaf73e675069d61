"""Every operation an end-to-end flow calls is allowed by the printed IAM policy."""

from __future__ import annotations

import json
import shutil

import boto3

from reconciler.aws import PROCESS_CALL_LOG

from .helpers import EXAMPLE, PLAIN


def test_policy_covers_every_operation_of_apply_plan_drift_and_prune(run_cli, local, tmp_path):
    seen = set()

    def run(*args):
        code, out, err, _ = run_cli(*args)
        seen.update(f"{svc}:{op}" for svc, op in PROCESS_CALL_LOG.calls)
        assert code in (0, 2), err
        return out

    app = tmp_path / "app"
    shutil.copytree(EXAMPLE, app, ignore=PLAIN)
    run("apply", str(app), "--yes", "--wait", "--timeout", "30")
    run("plan", str(app), "--prune")
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    ecs.update_service(cluster="shop", service="shop-web", desiredCount=5)
    ecs.tag_resource(resourceArn=ecs.describe_clusters(clusters=["shop"])["clusters"][0]["clusterArn"],
                     tags=[{"key": "extra", "value": "x"}])
    run("apply", str(app), "--yes")
    # The worker's manifest drops autoScaling: our scalable target is deregistered without --prune.
    worker = app / "worker.yaml"
    text = worker.read_text()
    worker.write_text(text[:text.index("  # Application Auto Scaling")] + text[text.index("  tags:\n    app: shop\n    tier"):])
    before = set(seen)
    run("apply", str(app), "--yes")
    removal = seen - before
    code, out, _, _ = run_cli("iam-policy")
    assert {"application-autoscaling:DeregisterScalableTarget", "application-autoscaling:ListTagsForResource"} <= removal
    allowed = {a for s in json.loads(out)["Statement"] for a in s["Action"]}
    assert sorted(op for op in removal if op not in allowed) == []
    (app / "nightly-report.yaml").unlink()
    (app / "weekly-report.yaml").unlink()
    (app / "worker.yaml").unlink()
    run("apply", str(app), "--yes", "--prune")

    code, out, err, _ = run_cli("iam-policy", "--prune")
    assert code == 0
    allowed = {a
               for s in json.loads(out)["Statement"] for a in s["Action"]}
    missing = sorted(op for op in seen if op not in allowed)
    assert missing == [], missing
    assert {"ecs:DeleteService", "events:DeleteRule", "ecs:DeregisterTaskDefinition", "scheduler:DeleteSchedule",
            "application-autoscaling:DeregisterScalableTarget"} <= seen
    code, out, _, _ = run_cli("iam-policy")
    assert "ecs:DeleteService" not in out and "iam:PassRole" in out
    code, out, _, _ = run_cli("iam-policy", "--events")
    assert "sqs:ReceiveMessage" in out
