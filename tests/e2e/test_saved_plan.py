"""Saved plans on the local endpoint: a plan applied later is refused when what it read changed,
and otherwise applied exactly, with the write calls it listed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import boto3

SECRET = "not-a-real-secret-local-demo-only"  # manifests/base/web.yaml's SESSION_SECRET


def edited_manifests(tmp_path: Path) -> Path:
    root = tmp_path / "manifests"
    shutil.copytree("manifests", root)
    web = root / "base" / "web.yaml"
    web.write_text(web.read_text().replace("nginx/nginx:1.27", "nginx/nginx:1.28").replace("desiredCount: 2", "desiredCount: 3"))
    return root


def test_saved_plan_is_refused_after_an_out_of_band_change_and_applied_exactly_otherwise(run_cli, local, tmp_path):
    code, _, err, _ = run_cli("apply", "manifests", "--yes")
    assert code == 0, err
    manifests = edited_manifests(tmp_path)
    saved = tmp_path / "plan.saved"

    code, out, err, writes = run_cli("plan", str(manifests), "--out", str(saved))
    assert code == 0, err
    assert not writes
    text = saved.read_text()
    assert SECRET not in text  # the file stores fingerprints and masked values, never the value
    doc = json.loads(text)
    assert {(r["kind"], r["name"], r["action"]) for r in doc["plan"]["resources"] if r["action"] != "none"} == {
        ("TaskDefinition", "shop-web", "update"), ("Service", "shop-web", "update")}

    # Someone changes another service by hand: the plan read it, so it no longer holds.
    ecs = boto3.client("ecs", endpoint_url=local.url, region_name="us-east-1")
    ecs.update_service(cluster="shop", service="shop-worker", enableExecuteCommand=True)
    code, out, err, writes = run_cli("apply", "--plan", str(saved), "--yes")
    assert code == 1
    assert "Service/shop-worker changed in AWS since the plan" in err
    assert "Service/shop-web" not in err and "nothing was applied" in err
    assert not writes

    # Planned again, and nothing moves in between: applied exactly, with the calls it listed.
    code, out, err, _ = run_cli("plan", str(manifests), "--out", str(saved))
    assert code == 0, err
    planned = json.loads(saved.read_text())["plan"]["apiCalls"]["calls"]
    assert planned == {"ecs:RegisterTaskDefinition": 1, "ecs:UpdateService": 2}
    code, out, err, writes = run_cli("apply", "--plan", str(saved), "--yes")
    assert code == 0, err
    assert {f"{service}:{op}": n for (service, op), n in writes.items()} == planned
    service = ecs.describe_services(cluster="shop", services=["shop-web"])["services"][0]
    assert service["desiredCount"] == 3

    # A manifest edited after the plan: refused too, naming it.
    code, out, err, _ = run_cli("plan", str(manifests), "--out", str(saved))
    web = manifests / "base" / "web.yaml"
    web.write_text(web.read_text().replace("desiredCount: 3", "desiredCount: 4"))
    code, out, err, writes = run_cli("apply", "--plan", str(saved), "--yes")
    assert code == 1 and "Service/shop-web changed in the manifests" in err and not writes


def test_planned_calls_match_the_writes_for_tags_schedules_and_scaling(run_cli, local, tmp_path):
    code, _, err, _ = run_cli("apply", "manifests", "--yes")
    assert code == 0, err
    root = tmp_path / "manifests"
    shutil.copytree("manifests", root)
    cluster = root / "base" / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("    env: demo\n", "    cost-center: cc-7\n"))  # one tag set, one dropped
    nightly = root / "base" / "nightly-report.yaml"
    nightly.write_text(nightly.read_text().replace("cron(0 3 * * ? *)", "cron(0 4 * * ? *)"))
    worker = root / "base" / "worker.yaml"  # autoscaled: its autoScaling is what changes
    worker.write_text(worker.read_text().replace("    maxCapacity: 4\n    policies", "    maxCapacity: 6\n    policies")
                      .replace("targetValue: 70", "targetValue: 65"))
    saved = tmp_path / "plan.saved"
    code, out, err, _ = run_cli("plan", str(root), "--out", str(saved), "--output", "json")
    assert code == 0, err
    impacts = {r["name"] if r["kind"] != "Cluster" else "cluster": r["impact"] for r in json.loads(out)["resources"]
               if r["action"] != "none"}
    assert impacts["cluster"]["category"] == "metadata"
    assert impacts["shop-nightly-report"]["text"] == "schedule change: cron(0 3 * * ? *) -> cron(0 4 * * ? *)"
    assert impacts["shop-worker"]["text"] == "in place, no new tasks: the service's Application Auto Scaling changes"
    assert impacts["shop-worker"]["calls"] == ["application-autoscaling:RegisterScalableTarget",
                                               "application-autoscaling:PutScalingPolicy"]
    planned = json.loads(saved.read_text())["plan"]["apiCalls"]["calls"]
    code, out, err, writes = run_cli("apply", "--plan", str(saved), "--yes")
    assert code == 0, err
    assert {f"{service}:{op}": n for (service, op), n in writes.items()} == planned


def test_apply_with_a_revision_lists_the_tag_calls_it_makes(run_cli, local, tmp_path):
    """`apply --revision` records the commit on everything it writes, so an update also re-tags:
    the plan it prints lists those calls too, and they are exactly the writes made."""
    code, _, err, _ = run_cli("apply", "manifests", "--yes")
    assert code == 0, err
    root = tmp_path / "manifests"
    shutil.copytree("manifests", root)
    nightly = root / "base" / "nightly-report.yaml"
    nightly.write_text(nightly.read_text().replace("cron(0 3 * * ? *)", "cron(0 4 * * ? *)"))
    worker = root / "base" / "worker.yaml"
    worker.write_text(worker.read_text().replace("    maxCapacity: 4\n    policies", "    maxCapacity: 6\n    policies"))
    web = root / "base" / "web.yaml"
    web.write_text(web.read_text().replace("nginx/nginx:1.27", "nginx/nginx:1.28"))

    code, out, err, writes = run_cli("apply", str(root), "--yes", "--revision", "0123abc")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("API calls: "))
    listed: dict[str, int] = {}
    for op, n in re.findall(r"(\w+) x(\d+)", line):  # one entry per service: ecs and events both tag
        listed[op] = listed.get(op, 0) + int(n)
    made: dict[str, int] = {}
    for (_, op), n in writes.items():
        made[op] = made.get(op, 0) + n
    assert listed == made, (line, writes)
    assert made.get("TagResource", 0) >= 2  # the service and the rule re-tagged with the revision
