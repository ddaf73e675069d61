"""${...} references: each kind resolved from a real source (the environment, SSM, CloudFormation and
S3 on the local endpoint, a Terraform state file), located errors, escapes, origins, caching."""

from __future__ import annotations

import json

import pytest

from reconciler.desired.loader import load_manifests
from reconciler.desired.lookups import Lookups
from reconciler.desired.substitution import Substitution
from reconciler.errors import InvalidManifests

TASK = """apiVersion: ecs-reconciler.io/v1alpha1
kind: TaskDefinition
metadata: {{name: web}}
spec:
  cpu: "256"
  containerDefinitions:
    - name: web
      image: {image}
      command: ["sh", "-c", "echo ${{HOME}} $${{env:LITERAL}}"]
      environment:
        - {{name: A, value: "{value}"}}
"""
SERVICE = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{name: web}}
spec:
  cluster: arn:aws:ecs:us-east-1:123456789012:cluster/shared
  taskDefinition: web
  desiredCount: {count}
  networkConfiguration:
    awsvpcConfiguration:
      subnets: {subnets}
"""

STATE = {
    "version": 4, "terraform_version": "1.9.5", "serial": 3, "lineage": "x",
    "outputs": {"private_subnets": {"value": ["subnet-0a", "subnet-0b"], "type": ["list", "string"]},
                "web_count": {"value": 3, "type": "number"}},
    "resources": [
        {"module": "module.vpc", "mode": "managed", "type": "aws_subnet", "name": "private", "provider": "p",
         "instances": [{"index_key": 0, "schema_version": 1, "attributes": {"id": "subnet-0a"}},
                       {"index_key": 1, "schema_version": 1, "attributes": {"id": "subnet-0b"}}]},
        {"mode": "managed", "type": "aws_ecr_repository", "name": "web", "provider": "p",
         "instances": [{"schema_version": 0, "attributes": {"repository_url": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"}}]},
    ],
}


def write(tmp_path, image="nginx:1.27", value="plain", count=1, subnets="[subnet-1]"):
    (tmp_path / "app.yaml").write_text(TASK.format(image=image, value=value) + "---\n"
                                       + SERVICE.format(count=count, subnets=subnets))
    return tmp_path


def load(path, lookups):
    return load_manifests([str(path)], Substitution(lookups))


def errors(path, lookups):
    with pytest.raises(InvalidManifests) as caught:
        load(path, lookups)
    return [str(e) for e in caught.value.errors]


def container(state):
    return state.get("TaskDefinition", "web").manifest.spec.to_api()["containerDefinitions"][0]


def test_environment_values_defaults_and_escapes(tmp_path):
    path = write(tmp_path, image="nginx:${env:TAG}", value="${env:UNSET:-fallback}-${env:EMPTY:-x}")
    state = load(path, Lookups(environ={"TAG": "1.28", "EMPTY": ""}))
    web = container(state)
    assert web["image"] == "nginx:1.28"
    assert web["environment"] == [{"name": "A", "value": "fallback-x"}]
    # A shell variable is left alone; $${...} writes a literal reference.
    assert web["command"][2] == "echo ${HOME} ${env:LITERAL}"
    assert [o.source for o in state.origins] == [
        "environment variable TAG", "environment variable UNSET (unset: the default)",
        "environment variable EMPTY (unset: the default)"]


def test_missing_value_is_a_located_error_and_the_document_is_not_loaded(tmp_path):
    path = write(tmp_path, image="nginx:${env:NOPE}")
    assert errors(path, Lookups(environ={})) == [
        f"{path}/app.yaml:8: TaskDefinition/web: spec.containerDefinitions[0].image: ${{env:NOPE}}: "
        "environment variable NOPE is not set (give a default with ${env:NOPE:-value})"]


def test_ssm_string_is_used_and_secure_string_refused(tmp_path, local, local_clients):
    ssm = local.client("ssm")
    ssm.put_parameter(Name="/shop/web/tag", Value="1.29", Type="String")
    ssm.put_parameter(Name="/shop/db/password", Value="hunter2-canary", Type="SecureString")
    lookups = Lookups(lambda: local_clients)
    state = load(write(tmp_path, image="nginx:${ssm:/shop/web/tag}"), lookups)
    assert container(state)["image"] == "nginx:1.29"
    assert state.origins[0].source == "SSM parameter /shop/web/tag (version 1)"

    found = errors(write(tmp_path, value="${ssm:/shop/db/password}", image="${ssm:/shop/missing}"),
                   Lookups(lambda: local_clients))
    assert any("app.yaml:8:" in e and "${ssm:/shop/missing}: SSM parameter /shop/missing not found" in e for e in found)
    secure = next(e for e in found if "password" in e)
    assert "app.yaml:11:" in secure and "is a SecureString" in secure and "secrets[].valueFrom" in secure
    assert "hunter2-canary" not in " ".join(found)


def test_cloudformation_outputs_and_exports(tmp_path, local, local_clients):
    template = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/cfn/web"}}},
                "Outputs": {"Subnet": {"Value": "subnet-cfn"},
                            "Cluster": {"Value": "arn:aws:ecs:us-east-1:123456789012:cluster/from-cfn",
                                        "Export": {"Name": "shared-cluster-arn"}}}}
    local.client("cloudformation").create_stack(StackName="network", TemplateBody=json.dumps(template))
    path = write(tmp_path, subnets="['${cfn:network/Subnet}']", value="${cfn-export:shared-cluster-arn}")
    state = load(path, Lookups(lambda: local_clients))
    spec = state.get("Service", "web").manifest.spec.to_api()
    assert spec["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-cfn"]
    assert container(state)["environment"][0]["value"] == "arn:aws:ecs:us-east-1:123456789012:cluster/from-cfn"
    assert {o.source for o in state.origins} == {"CloudFormation stack network, output Subnet",
                                                 "CloudFormation export shared-cluster-arn (stack network)"}

    found = errors(write(tmp_path, subnets="['${cfn:network/Nope}', '${cfn:absent/X}']", value="${cfn-export:nope}"),
                   Lookups(lambda: local_clients))
    assert any("${cfn:network/Nope}: CloudFormation stack network has no output Nope (its outputs: Cluster, Subnet)" in e
               for e in found)
    assert any("${cfn:absent/X}: CloudFormation stack absent does not exist" in e for e in found)
    assert any("${cfn-export:nope}: no CloudFormation export named nope" in e for e in found)


@pytest.mark.parametrize("where", ["file", "s3"])
def test_terraform_state_from_a_file_and_from_s3(tmp_path, local, local_clients, where):
    state_file = tmp_path / "terraform.tfstate"
    state_file.write_text(json.dumps(STATE))
    location = str(state_file)
    if where == "s3":
        s3 = local.client("s3")
        s3.create_bucket(Bucket="tf-state")
        s3.put_object(Bucket="tf-state", Key="shop/terraform.tfstate", Body=json.dumps(STATE).encode())
        location = "s3://tf-state/shop/terraform.tfstate"
    app = tmp_path / "app"
    app.mkdir()
    path = write(app, image="${tfstate:aws_ecr_repository.web.repository_url}:1.0",
                 value="${tfstate:module.vpc.aws_subnet.private[1].id}",
                 count="${tfstate:output.web_count}", subnets="${tfstate:output.private_subnets}")
    lookups = Lookups(lambda: local_clients, [location])
    state = load(path, lookups)
    service = state.get("Service", "web").manifest.spec.to_api()
    assert service["desiredCount"] == 3
    assert service["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-0a", "subnet-0b"]
    assert container(state)["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0"
    assert container(state)["environment"][0]["value"] == "subnet-0b"
    assert lookups.calls == (1 if where == "s3" else 0)  # the state is read once per run

    found = errors(write(app, value="${tfstate:module.vpc.aws_subnet.private.id}"), Lookups(lambda: local_clients, [location]))
    assert any("module.vpc.aws_subnet.private has several instances ([0], [1]): name one" in e for e in found)


def test_a_missing_terraform_state_in_s3_is_located(tmp_path, local, local_clients):
    found = errors(write(tmp_path, value="${tfstate:output.x}"), Lookups(lambda: local_clients, ["s3://nobucket/k"]))
    assert len(found) == 1 and "app.yaml:11:" in found[0] and "Terraform state s3://nobucket/k not found" in found[0]


def test_each_lookup_is_made_once_and_cached_for_the_ttl(tmp_path, local, local_clients):
    local.client("ssm").put_parameter(Name="/tag", Value="1", Type="String")
    now = [0.0]
    lookups = Lookups(lambda: local_clients, ttl=300, clock=lambda: now[0])
    path = write(tmp_path, image="nginx:${ssm:/tag}", value="${ssm:/tag}")
    load(path, lookups)
    load(path, lookups)
    assert lookups.calls == 1
    local.client("ssm").put_parameter(Name="/tag", Value="2", Type="String", Overwrite=True)
    now[0] = 301.0
    assert container(load(path, lookups))["image"] == "nginx:2" and lookups.calls == 2


def test_plan_show_origins_names_each_source_without_values(run_cli, local, tmp_path, monkeypatch):
    local.client("ssm").put_parameter(Name="/shop/replicas", Value="2", Type="String")
    monkeypatch.setenv("WEB_TAG", "1.28")
    path = write(tmp_path, image="nginx:${env:WEB_TAG}", count="${ssm:/shop/replicas}")
    code, out, err, writes = run_cli("plan", str(path), "--show-origins")
    assert code == 0, err
    assert f"{path}/app.yaml:8: TaskDefinition/web: spec.containerDefinitions[0].image: ${{env:WEB_TAG}} <- environment variable WEB_TAG" in out
    assert f"{path}/app.yaml:19: Service/web: spec.desiredCount: ${{ssm:/shop/replicas}} <- SSM parameter /shop/replicas (version 1)" in out
    code, out, err, writes = run_cli("plan", str(path), "--show-origins", "--output", "json")
    assert {o["reference"] for o in json.loads(out)["origins"]} == {"${env:WEB_TAG}", "${ssm:/shop/replicas}"}
    code, out, err, writes = run_cli("apply", str(write(tmp_path, image="nginx:${ssm:/nope}")), "--yes")
    assert code == 1 and "${ssm:/nope}: SSM parameter /nope not found" in err and sum(writes.values()) == 0


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "ECS_RECONCILER_ADMIN_TOKEN",
                                  "GITHUB_TOKEN", "DB_PASSWORD", "STRIPE_API_KEY"])
def test_credentials_in_the_environment_are_never_substituted(tmp_path, name):
    path = write(tmp_path, value="${env:%s}" % name)
    with pytest.raises(InvalidManifests) as caught:
        load(path, Lookups(environ={name: "s3cr3t-value"}))
    (error,) = caught.value.errors
    assert "may hold a credential and is not available to manifests" in error.message
    assert "s3cr3t-value" not in str(caught.value)


def test_the_controller_reads_only_the_environment_variables_it_was_given(tmp_path):
    environ = {"WEB_TAG": "1.28", "HOME": "/root"}
    allowed = Lookups(environ=environ, allow_env=("WEB_*",))
    assert load(write(tmp_path, image="nginx:${env:WEB_TAG}"), allowed).resources[0].manifest.spec \
        .containerDefinitions[0].image == "nginx:1.28"
    with pytest.raises(InvalidManifests) as caught:
        load(write(tmp_path, image="nginx:${env:HOME}"), allowed)
    assert "is not one manifests may read here (--allow-env: WEB_*)" in caught.value.errors[0].message
    with pytest.raises(InvalidManifests):
        load(write(tmp_path, image="nginx:${env:WEB_TAG}"), Lookups(environ=environ, allow_env=()))
