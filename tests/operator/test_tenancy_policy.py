"""The tenancy policy file and owner tag values, without Kubernetes or AWS: parsing and its errors,
prefix rules, reloading a changed file, the `--policy` flag, and the chart's default value."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.operator.convert import InvalidObject, validate
from reconciler.operator.tenancy import Policy, PolicyError, PolicyFile, describe_owner, owner_of

CHART = Path(__file__).resolve().parents[2] / "helm"
# AWS tag values: up to 256 Unicode letters, digits, white space, and _ . : / = + - @
TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]{0,256}$")


def test_without_a_policy_every_namespace_may_adopt_and_use_every_name():
    policy = Policy()
    assert policy.may_adopt("anything") and policy.may_name("anything", "whatever-name")


def test_prefixes_per_namespace_with_a_fallback_and_the_namespace_placeholder():
    policy = Policy.parse('adoptNamespaces: [platform]\n'
                          'namePrefixes: {shop: ["shop-", "web"], platform: [""], "*": ["{namespace}-"]}\n', "p.yaml")
    assert policy.may_name("shop", "shop-api") and policy.may_name("shop", "web") and not policy.may_name("shop", "api")
    assert policy.may_name("platform", "anything")
    assert policy.may_name("team-b", "team-b-web") and not policy.may_name("team-b", "team-a-web")
    assert policy.prefixes("team-b") == ("team-b-",)
    assert policy.may_adopt("platform") and not policy.may_adopt("shop")


def test_a_namespace_without_an_entry_and_no_fallback_may_name_nothing():
    policy = Policy.parse('namePrefixes: {shop: ["shop-"]}\n', "p.yaml")
    assert policy.prefixes("other") == () and not policy.may_name("other", "x")
    assert policy.may_adopt("other")  # adoptNamespaces keeps its default


def test_targets_are_given_per_namespace_and_none_by_default():
    assert not Policy().may_target("anything", "payments-eu")
    policy = Policy.parse('targets: {payments: [payments-eu], platform: ["*"], "*": [shared]}\n', "p.yaml")
    assert policy.may_target("payments", "payments-eu") and not policy.may_target("payments", "search-ap")
    assert policy.may_target("platform", "search-ap") and policy.may_target("other", "shared")
    assert policy.may_target("payments", "shared") and not policy.may_target("other", "payments-eu")


@pytest.mark.parametrize("text, expected", [
    ("adoptNamespaces: platform\n", "adoptNamespaces: Input should be a valid list"),
    ("namePrefixes: {shop: shop-}\n", "namePrefixes.shop: Input should be a valid list"),
    ("namePrefix: {}\n", "namePrefix: Extra inputs are not permitted"),
    ("adoptNamespaces: [1]\n", "adoptNamespaces.0: Input should be a valid string"),
    ("adoptNamespaces: [\n", "not valid YAML"),
    ("targets: {shop: payments-eu}\n", "targets.shop: Input should be a valid list"),
])
def test_a_bad_policy_file_names_the_file_and_the_field(tmp_path, text, expected):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        Policy.load(path)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)


def test_a_changed_file_is_read_again_and_a_broken_change_keeps_the_last_good_policy(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('adoptNamespaces: ["*"]\n')
    source = PolicyFile(path)
    assert source.current().may_adopt("shop")
    path.write_text("adoptNamespaces: [platform]\n")
    os.utime(path, ns=(1, 1))  # a different modification time, as a ConfigMap update gives
    assert not source.current().may_adopt("shop") and source.current().may_adopt("platform")
    path.write_text("adoptNamespaces: platform-only\n")
    os.utime(path, ns=(2, 2))
    assert source.current().may_adopt("platform") and not source.current().may_adopt("shop")


def test_the_operator_refuses_to_start_with_a_bad_policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("namePrefixes: [shop-]\n")
    result = CliRunner().invoke(cli, ["operator", "--namespace", "shop", "--policy", str(path),
                                      "--metrics-listen", ""])
    assert result.exit_code == 2
    assert "--policy" in result.output and "namePrefixes: Input should be a valid dictionary" in result.output


def test_owner_values_are_valid_tag_values_even_for_the_longest_names():
    uid = "0b5e4a8e-1f0c-4d8e-9a51-6c1a2b3c4d5e"
    short = owner_of({"metadata": {"namespace": "shop", "name": "web", "uid": uid}})
    assert short == f"shop/web/{uid}" and describe_owner(short) == f"shop/web (uid {uid})"
    longest = owner_of({"metadata": {"namespace": "n" * 63, "name": "a." * 126 + "b", "uid": uid}})
    assert len(longest) == 256 and TAG_VALUE.match(longest) and longest.endswith(f"/{uid}")
    assert longest.startswith("n" * 63 + "/a.a.")


def test_the_charts_default_policy_is_valid_and_allows_everything():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(values, json.loads((CHART / "values.schema.json").read_text()))
    policy = Policy.parse(yaml.safe_dump(values["policy"]), "values.yaml: policy")
    assert policy == Policy()
    locked = {**values, "policy": {"adoptNamespaces": ["platform"], "namePrefixes": {"*": ["{namespace}-"]}}}
    jsonschema.validate(locked, json.loads((CHART / "values.schema.json").read_text()))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**values, "policy": {"namePrefix": {}}}, json.loads((CHART / "values.schema.json").read_text()))


@pytest.mark.parametrize("tags", [{"ecs-reconciler.io/owner": "team-a/web/1111", "team": "b"},
                                  [{"key": "ecs-reconciler.io/managed-by", "value": "other"}]])
def test_an_object_cannot_set_ownership_tags_itself(tags):
    body = {"apiVersion": "ecs-reconciler.io/v1alpha1", "kind": "EcsCluster",
            "metadata": {"name": "shop", "namespace": "team-b", "uid": "2222"}, "spec": {"tags": tags}}
    with pytest.raises(InvalidObject, match=r"spec.tags: ecs-reconciler.io/\S+: tag keys under ecs-reconciler.io/ or aws: are reserved"):
        validate(body)
