"""`python -m benchmarks.targets [--targets 10 --services 200]`: many targets from one process.

Each target is an account reached by AssumeRole (moto keys state by the assumed role's account) in
one of a few Regions, with its own fleet (benchmarks/fleet.py) of `services` services. Measured:

- cold plan calls per target against the lower bound of one fleet (bounds.py): targets must not
  cost each other calls (the AssumeRole of each target is reported apart);
- wall time of the cold plan over all targets (run in parallel) against the slowest target
  planned alone (goal <= 1.3x);
- peak RSS of this process per 1,000 services (the endpoint runs in another process);
- the projected AWS time: each target has its own buckets (ECS throttles per account and Region),
  so the whole takes as long as the slowest target's projection.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from reconciler.aws import AwsSettings, CallLog
from reconciler.desired.loader import load_manifests
from reconciler.engine import EngineOptions
from reconciler.ratelimit import projected_seconds
from reconciler.target_engines import TargetEngines

from .bounds import bounds
from .endpoint import EndpointProcess
from .fleet import EVENTS_ROLE, EXECUTION_ROLE, SECURITY_GROUP, SUBNETS, FleetShape, write_fleet
from .scenarios import INSTANCE, peak_rss_mb

REGIONS = ("eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1", "us-east-2")
ROLE = "arn:aws:iam::{account}:role/deployer"


def account(i: int) -> str:
    return f"{100000000000 + i:012d}"


def _network(url: str, account_id: str, region: str) -> tuple[list[str], str]:
    """The default VPC's subnets and security group in that account and Region (moto makes one)."""
    creds = boto3.client("sts", endpoint_url=url, region_name=region, aws_access_key_id="local",
                         aws_secret_access_key="local").assume_role(
        RoleArn=ROLE.format(account=account_id), RoleSessionName="bench-seed")["Credentials"]
    ec2 = boto3.client("ec2", endpoint_url=url, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = sorted(s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"])
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                 {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    return subnets[:2], group["GroupId"]


def write_targets(root: Path, url: str, targets: int, shape: FleetShape) -> list[Path]:
    """Per target: a Target manifest and its fleet, every manifest naming the target."""
    files = []
    for i in range(targets):
        name, account_id, region = f"t{i:02d}", account(i + 1), REGIONS[i % len(REGIONS)]
        subnets, group = _network(url, account_id, region)
        for file in write_fleet(root / name, shape):
            text = file.read_text().replace("metadata:\n  name:", f"metadata:\n  target: {name}\n  name:")
            for ours, theirs in zip(SUBNETS, subnets):
                text = text.replace(ours, theirs)
            text = text.replace(SECURITY_GROUP, group)
            text = text.replace(EXECUTION_ROLE, EXECUTION_ROLE.replace("123456789012", account_id))
            text = text.replace(EVENTS_ROLE, EVENTS_ROLE.replace("123456789012", account_id))
            file.write_text(text)
            files.append(file)
        target = root / name / "target.yaml"
        target.write_text(f"apiVersion: ecs-reconciler.io/v1alpha1\nkind: Target\nmetadata: {{name: {name}}}\n"
                          f"spec: {{region: {region}, roleArn: \"{ROLE.format(account=account_id)}\"}}\n")
        files.append(target)
    return files


def _cold_plan(desired: Any, settings: AwsSettings, cpu: list | None = None) -> tuple[float, dict[str | None, CallLog], list]:
    logs: dict[str | None, CallLog] = {}
    engines = TargetEngines(desired, settings, EngineOptions(instance=INSTANCE),
                            call_log_for=lambda name: logs.setdefault(name, CallLog()))
    started, cpu_started = time.perf_counter(), time.process_time()
    runs = engines.plan()
    wall = time.perf_counter() - started
    if cpu is not None:
        cpu.append(time.process_time() - cpu_started)
    failed = [(r.label, r.error) for r in runs if r.error]
    if failed:
        raise RuntimeError(f"cold plan failed: {failed}")
    return wall, logs, runs


def run(targets: int, shape: FleetShape) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, EndpointProcess(0.2) as endpoint:
        files = write_targets(Path(tmp), endpoint.url, targets, shape)
        desired = load_manifests([str(f) for f in files])
        settings = AwsSettings(region="us-east-1", endpoint_url=endpoint.url)
        started = time.perf_counter()
        apply_engines = TargetEngines(desired, settings, EngineOptions(instance=INSTANCE))
        apply_engines.plan()
        apply_engines.apply()
        if apply_engines.failed:
            raise RuntimeError(f"cold apply failed: {[(r.label, r.error) for r in apply_engines.failed]}")
        cold_apply_wall = time.perf_counter() - started

        cpu: list[float] = []
        wall, logs, runs = _cold_plan(desired, settings, cpu)
        lower, _ = bounds("cold_plan", shape)
        per_target = {}
        for run_ in runs:
            calls = Counter({k: v for k, v in logs[run_.name].calls.items() if k[0] != "sts"})
            per_target[run_.label] = {
                "calls": sum(calls.values()), "assume_role": logs[run_.name].calls[("sts", "AssumeRole")],
                "ratio_to_lower_bound": round(sum(calls.values()) / sum(lower.values()), 3),
                "in_sync": not run_.plan.has_changes, "projected_aws_s": round(projected_seconds(calls)["seconds"], 1)}
        rss = peak_rss_mb()
        # Each target planned alone (fresh clients, so cold too): the slowest is the goal's yardstick.
        alone = {}
        for name, part in desired.by_target().items():
            alone[name or "(ambient)"] = round(_cold_plan(part, settings)[0], 3)
    slowest = max(alone.values())
    return {
        "targets": targets, "services_per_target": shape.services, "clusters_per_target": shape.clusters,
        "scheduled_per_target": shape.scheduled, "lower_bound_per_target": sum(lower.values()),
        "cold_apply_wall_s": round(cold_apply_wall, 2), "cold_plan_wall_s": round(wall, 3),
        # This process's CPU (all threads) during the parallel cold plan: near the wall time means
        # the engine is CPU-bound under one interpreter lock, so threads cannot overlap it.
        "cold_plan_cpu_s": round(cpu[0], 3),
        "slowest_target_alone_s": slowest, "wall_to_slowest": round(wall / slowest, 2),
        "sum_of_targets_alone_s": round(sum(alone.values()), 2),
        "peak_rss_mb": round(rss, 1), "peak_rss_mb_per_1000_services": round(rss / (targets * shape.services / 1000), 1),
        "projected_aws_s_all_targets": max(t["projected_aws_s"] for t in per_target.values()),
        "per_target": per_target, "alone_s": alone,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.targets", description=__doc__)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--services", type=int, default=200, help="services per target")
    parser.add_argument("--clusters", type=int, default=2, help="clusters per target")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("results-targets.json"))
    args = parser.parse_args(argv)
    shape = FleetShape(clusters=args.clusters, services=args.services, scheduled=args.services // 5)
    results = run(args.targets, shape)
    print(json.dumps({k: v for k, v in results.items() if k not in ("per_target", "alone_s")}, indent=2))
    args.output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
