"""Target manifests: each resource's target, names unique per target, references within a target."""

from __future__ import annotations

import pytest

from reconciler.desired.loader import load_manifests, load_text
from reconciler.errors import InvalidManifests

TARGETS = """\
apiVersion: ecs-reconciler.io/v1alpha1
kind: Target
metadata: {name: payments-eu}
spec: {region: eu-west-1, roleArn: "arn:aws:iam::222222222222:role/deployer", externalId: ext-1}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Target
metadata: {name: search-ap}
spec: {region: ap-southeast-2, roleArn: "arn:aws:iam::333333333333:role/deployer"}
"""


def _app(target: str | None, cluster: str = "main", name: str = "web") -> str:
    meta = f"name: {name}" + (f", target: {target}" if target else "")
    return f"""
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {{name: main{', target: ' + target if target else ''}}}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {{{meta}}}
spec: {{cluster: {cluster}, taskDefinition: "web:1", desiredCount: 1}}
"""


def test_same_names_in_two_targets_are_two_resources():
    state = load_text(TARGETS + _app(None) + _app("payments-eu") + _app("search-ap"))
    assert sorted(state.targets) == ["payments-eu", "search-ap"]
    parts = state.by_target()
    assert list(parts) == [None, "payments-eu", "search-ap"]
    for name, part in parts.items():
        assert [(r.label, r.target) for r in part.resources] == [("Cluster/main", name), ("Service/web", name)]
        assert part.get("Service", "web").target == name
    assert parts["payments-eu"].targets["payments-eu"].manifest.account == "222222222222"
    assert parts[None].targets == {}


def test_default_target_takes_untargeted_manifests():
    text = TARGETS.replace("externalId: ext-1}", "externalId: ext-1, default: true}") + _app(None) + _app("search-ap")
    parts = load_text(text).by_target()
    assert list(parts) == ["payments-eu", "search-ap"]
    assert [r.target for r in parts["payments-eu"].resources] == ["payments-eu", "payments-eu"]


def test_duplicate_within_a_target_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text(TARGETS + _app("payments-eu") + _app("search-ap"))
    (tmp_path / "b.yaml").write_text(_app("payments-eu").lstrip("\n-"))
    with pytest.raises(InvalidManifests) as exc:
        load_manifests([tmp_path])
    assert any("duplicate Cluster/main in target 'payments-eu'" in str(e) for e in exc.value.errors)


def test_cross_target_reference_is_an_error_with_file_and_line(tmp_path):
    # The service lives in payments-eu but its cluster exists only in search-ap.
    text = TARGETS + """
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: shared, target: search-ap}
---
apiVersion: ecs-reconciler.io/v1alpha1
kind: Service
metadata: {name: web, target: payments-eu}
spec:
  cluster: shared
  taskDefinition: "web:1"
"""
    path = tmp_path / "set.yaml"
    path.write_text(text)
    with pytest.raises(InvalidManifests) as exc:
        load_manifests([path])
    [error] = exc.value.errors
    line = text.splitlines().index("  cluster: shared") + 1
    assert (error.file, error.line, error.path) == (str(path), line, "spec.cluster")
    assert "is in target 'search-ap'" in error.message and "within its own target ('payments-eu')" in error.message


@pytest.mark.parametrize("doc, field, expected", [
    (TARGETS + _app("nowhere"), "metadata.target", "no Target manifest named 'nowhere'"),
    (TARGETS.replace("ext-1}", "ext-1, default: true}").replace("deployer\"}", "deployer\", default: true}"),
     "spec.default", "only one Target may be the default"),
    (TARGETS.replace("arn:aws:iam::222222222222:role/deployer", "arn:aws:iam::22:role/x"), "spec.roleArn",
     "String should match pattern"),
    (TARGETS.replace("eu-west-1", "europe"), "spec.region", "String should match pattern"),
    (TARGETS.replace("{name: search-ap}", "{name: search-ap, target: payments-eu}"), "metadata.target",
     "a Target does not live in a target"),
])
def test_bad_targets_are_located_errors(doc, field, expected):
    with pytest.raises(InvalidManifests) as exc:
        load_text(doc)
    assert any(e.path == field and expected in e.message and e.line for e in exc.value.errors), exc.value.errors
