"""Many targets from one process: two assumed-role targets in other Regions plus the ambient one.

Every resource must land in its own account and Region only (checked with boto3 under each role,
against the local endpoint, which keys state by the account of the assumed role's credentials),
and a second plan must be clean.
"""

from __future__ import annotations

import json

import boto3
import pytest

from reconciler.aws import AwsSettings, CallLog, Clients
from reconciler.desired.loader import load_manifests
from reconciler.engine import EngineOptions
from reconciler.target_engines import TargetEngines
from support.faultproxy import DENIED, FaultProxy

AMBIENT_ACCOUNT = "123456789012"
TARGETS = {  # name: (account, region); None is the ambient account and Region
    None: (AMBIENT_ACCOUNT, "us-east-1"),
    "payments-eu": ("222222222222", "eu-west-1"),
    "search-ap": ("333333333333", "ap-southeast-2"),
}
DESIRED_COUNTS = {None: 1, "payments-eu": 2, "search-ap": 3}  # tells the copies apart


def _target_doc(name: str, account: str, region: str) -> str:
    return f"""
apiVersion: ecs-reconciler.io/v1alpha1
kind: Target
metadata: {{name: {name}}}
spec: {{region: {region}, roleArn: "arn:aws:iam::{account}:role/deployer", externalId: shared-secret-id}}
"""


def _app_docs(target: str | None) -> str:
    where = f", target: {target}" if target else ""
    return f"""
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {{name: shop{where}}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {{name: web{where}}}
spec:
  containerDefinitions:
    - {{name: web, image: "nginx:1.27", memory: 128}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web{where}}}
spec: {{cluster: shop, taskDefinition: web, desiredCount: {DESIRED_COUNTS[target]}}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: ScheduledTask
metadata: {{name: nightly{where}}}
spec:
  cluster: shop
  taskDefinition: web
  schedule: cron(0 3 * * ? *)
  roleArn: arn:aws:iam::{TARGETS[target][0]}:role/ecsEventsRole
"""


@pytest.fixture
def three_targets(tmp_path):
    for name, (account, region) in TARGETS.items():
        text = (_target_doc(name, account, region) + "---\n" if name else "") + _app_docs(name)
        (tmp_path / f"{name or 'ambient'}.yaml").write_text(text)
    return tmp_path


def _session(url: str, account: str, region: str) -> boto3.session.Session:
    if account == AMBIENT_ACCOUNT:
        return boto3.session.Session(region_name=region)
    sts = boto3.client("sts", endpoint_url=url, region_name=region)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/deployer", RoleSessionName="check")["Credentials"]
    return boto3.session.Session(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], region)


def _inventory(url: str, account: str, region: str) -> dict:
    session = _session(url, account, region)
    ecs, events = session.client("ecs", endpoint_url=url), session.client("events", endpoint_url=url)
    clusters = ecs.list_clusters()["clusterArns"]
    services = {}
    for arn in clusters:
        for svc in ecs.describe_services(cluster=arn, services=ecs.list_services(cluster=arn)["serviceArns"] or
                                         ["none"]).get("services", []):
            services[svc["serviceArn"]] = svc["desiredCount"]
    rules = {r["Name"]: events.list_targets_by_rule(Rule=r["Name"])["Targets"][0]["Arn"]
             for r in events.list_rules()["Rules"]}
    return {"clusters": clusters, "services": services, "families": ecs.list_task_definition_families()["families"],
            "rules": rules}


def test_each_target_applies_into_its_own_account_and_region_then_plans_clean(local, three_targets):
    desired = load_manifests([three_targets])
    logs: dict = {}
    engines = TargetEngines(desired, AwsSettings(endpoint_url=local.url, region="us-east-1"),
                            EngineOptions(), call_log_for=lambda name: logs.setdefault(name, CallLog()))
    runs = engines.plan()
    assert [(r.name, r.region, r.account, r.error) for r in runs] == [
        (None, "us-east-1", None, None), ("payments-eu", "eu-west-1", "222222222222", None),
        ("search-ap", "ap-southeast-2", "333333333333", None)]
    assert all(r.plan.summary()["create"] == 4 for r in runs)
    engines.apply()
    assert not engines.failed, [r.error for r in engines.runs]
    # Each assumed-role target assumed its own role (once: the credentials last an hour), the ambient none.
    assert {name: log.calls[("sts", "AssumeRole")] for name, log in logs.items()} == {
        None: 0, "payments-eu": 1, "search-ap": 1}

    for name, (account, region) in TARGETS.items():
        prefix = f"arn:aws:ecs:{region}:{account}:"
        found = _inventory(local.url, account, region)
        assert found["clusters"] == [f"{prefix}cluster/shop"], name
        assert found["services"] == {f"{prefix}service/shop/web": DESIRED_COUNTS[name]}, name
        assert found["families"] == ["web"], name
        assert found["rules"] == {"nightly": f"{prefix}cluster/shop"}, name
        # ... and nowhere else: not in the other targets' Regions of this account.
        for other, (_, other_region) in TARGETS.items():
            if other_region != region:
                empty = _inventory(local.url, account, other_region)
                assert not (empty["clusters"] or empty["families"] or empty["rules"]), (name, other_region)

    again = TargetEngines(load_manifests([three_targets]), AwsSettings(endpoint_url=local.url, region="us-east-1"),
                          EngineOptions()).plan()
    assert [(r.label, r.error, r.plan.has_changes) for r in again] == [
        ("(ambient)", None, False), ("payments-eu", None, False), ("search-ap", None, False)]


def test_cli_groups_by_target_and_a_failing_target_stops_no_other(run_cli, local, three_targets):
    """search-ap's Region refuses every call (AccessDenied, through the fault proxy): the two other
    targets apply, the failure is reported on search-ap, and the command exits 1."""
    from click.testing import CliRunner

    from reconciler.cli import cli

    with FaultProxy(local.url) as proxy:
        proxy.denied_regions.add("ap-southeast-2")
        result = CliRunner().invoke(cli, ["--endpoint-url", proxy.url, "--region", "us-east-1", "apply", "--yes",
                                          str(three_targets)], catch_exceptions=False)
        assert proxy.count(DENIED) >= 1
    assert result.exit_code == 1
    assert "Target payments-eu: applied 4 change(s)." in result.stdout
    assert "Target (ambient): applied 4 change(s)." in result.stdout
    assert "error: target search-ap: AWS AssumeRole failed: AccessDenied" in result.stderr
    assert "== Target search-ap (ap-southeast-2, account 333333333333) ==\nerror: AWS AssumeRole failed" in result.stdout
    assert _inventory(local.url, "333333333333", "ap-southeast-2")["clusters"] == []

    # Access is back: the next run applies search-ap; then everything plans clean, grouped by target.
    code, out, err, _ = run_cli("apply", "--yes", "--wait", "--timeout", "60", str(three_targets))
    assert code == 0, err
    assert "Target search-ap: applied 4 change(s); 1 service(s) reached steady state." in out
    assert "Target payments-eu: applied" not in out
    code, out, err, _ = run_cli("plan", "--output", "json", "--detailed-exitcode", str(three_targets))
    assert code == 0, err
    doc = json.loads(out)
    assert [(t["target"], t["region"], t["account"], t["error"], t["summary"]["none"]) for t in doc["targets"]] == [
        (None, "us-east-1", None, None, 4), ("payments-eu", "eu-west-1", "222222222222", None, 4),
        ("search-ap", "ap-southeast-2", "333333333333", None, 4)]
    assert len({(r["target"], r["kind"], r["name"]) for r in doc["resources"]}) == 12


def test_events_setup_per_target_puts_each_stream_in_its_own_account_and_region(run_cli, local, three_targets):
    code, out, err, _ = run_cli("events", "setup", "--target", "payments-eu", str(three_targets))
    assert code == 0, err
    [(label, result)] = json.loads(out).items()
    assert label == "payments-eu" and result["rule_arns"][0].startswith("arn:aws:events:eu-west-1:222222222222:")
    assert result["queue_arn"] == "arn:aws:sqs:eu-west-1:222222222222:ecs-reconciler"
    sqs = _session(local.url, "222222222222", "eu-west-1").client("sqs", endpoint_url=local.url)
    assert [u.rsplit("/", 1)[-1] for u in sqs.list_queues().get("QueueUrls", [])] == ["ecs-reconciler"]
    ambient = boto3.client("sqs", endpoint_url=local.url, region_name="eu-west-1")
    assert ambient.list_queues().get("QueueUrls", []) == []

    code, out, err, _ = run_cli("events", "setup", str(three_targets))
    assert code == 0, err
    assert sorted(json.loads(out)) == ["(ambient)", "payments-eu", "search-ap"]
    code, out, err, _ = run_cli("events", "setup", "--target", "nowhere", str(three_targets))
    assert code == 2 and "no Target named 'nowhere'" in err


def test_front_doors_without_target_support_refuse_targets_before_any_call(run_cli, three_targets):
    for args in (("verify",), ("plan", "--verify")):
        code, out, err, writes = run_cli(*args, str(three_targets))
        assert code == 1 and "Target" in err and "not support" in err, (args, err)
        assert writes == {}
