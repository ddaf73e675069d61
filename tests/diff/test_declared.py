"""The general rule for fields a manifest does not set (reconciler/diff/declared.py), on canonical forms
made by the real normalizers."""

from __future__ import annotations

import copy

from reconciler.diff import service as service_rules
from reconciler.diff import task_definition as td_rules
from reconciler.diff.compare import compare
from reconciler.diff.declared import comparable, declared_paths, fields_fingerprint, is_collection

REQUEST = {
    "family": "web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [{
        "name": "web",
        "image": "nginx:1.27",
        "user": "1000",
        "environment": [{"name": "A", "value": "1"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}},
    }],
}


def _described(request):
    """What AWS answers: the request plus fields AWS fills in that no table of ours knows."""
    body = copy.deepcopy(request)
    body["containerDefinitions"][0]["versionConsistency"] = "enabled"  # added to the API in 2024
    body["containerDefinitions"][0]["startTimeout"] = 120
    body["runtimePlatform"] = {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}
    body.update(revision=3, status="ACTIVE", taskDefinitionArn="arn:aws:ecs:us-east-1:123456789012:task-definition/web:3")
    return body


def _changes(request, body, recorded):
    desired = td_rules.normalize(request)
    observed = comparable(desired, td_rules.normalize(body), recorded)
    return {c.path: (c.desired, c.observed) for c in compare(desired, observed)}


def test_fields_aws_fills_in_are_not_drift_once_our_fingerprint_is_recorded():
    recorded = fields_fingerprint(td_rules.normalize(REQUEST))
    assert _changes(REQUEST, _described(REQUEST), recorded) == {}


def test_without_a_recorded_fingerprint_every_field_is_compared():
    # A resource written before the rule, or being adopted: what the manifest does not set is reset once.
    changes = _changes(REQUEST, _described(REQUEST), None)
    assert set(changes) == {"spec.containerDefinitions[web].versionConsistency",
                            "spec.containerDefinitions[web].startTimeout", "spec.runtimePlatform"}
    assert all(desired is None for desired, _ in changes.values())


def test_an_out_of_band_change_to_a_declared_field_is_drift():
    recorded = fields_fingerprint(td_rules.normalize(REQUEST))
    body = _described(REQUEST)
    body["containerDefinitions"][0]["user"] = "0"
    body["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"] = "/ecs/other"
    assert _changes(REQUEST, body, recorded) == {
        "spec.containerDefinitions[web].user": ("1000", "0"),
        "spec.containerDefinitions[web].logConfiguration.options[awslogs-group]": ("/ecs/web", "/ecs/other"),
    }


def test_a_field_removed_from_the_manifest_is_planned_as_a_reset():
    recorded = fields_fingerprint(td_rules.normalize(REQUEST))  # what the last write declared
    body = _described(REQUEST)
    without_user = copy.deepcopy(REQUEST)
    del without_user["containerDefinitions"][0]["user"]
    changes = _changes(without_user, body, recorded)
    assert changes["spec.containerDefinitions[web].user"] == (None, "1000")


def test_a_collection_the_manifest_declares_is_compared_whole():
    recorded = fields_fingerprint(td_rules.normalize(REQUEST))
    body = _described(REQUEST)
    body["containerDefinitions"][0]["environment"].append({"name": "EXTRA", "value": "x"})
    body["containerDefinitions"][0]["logConfiguration"]["options"]["mode"] = "non-blocking"
    body["containerDefinitions"].append({"name": "sidecar", "image": "busybox"})
    changes = _changes(REQUEST, body, recorded)
    assert set(changes) == {"spec.containerDefinitions[web].environment[EXTRA]",
                            "spec.containerDefinitions[web].logConfiguration.options[mode]",
                            "spec.containerDefinitions[sidecar]"}


def test_the_fingerprint_is_of_paths_not_values():
    other_image = copy.deepcopy(REQUEST)
    other_image["containerDefinitions"][0]["image"] = "nginx:1.28"
    other_image["containerDefinitions"][0]["environment"][0]["value"] = "2"
    assert fields_fingerprint(td_rules.normalize(other_image)) == fields_fingerprint(td_rules.normalize(REQUEST))
    more = copy.deepcopy(REQUEST)
    more["containerDefinitions"][0]["workingDirectory"] = "/srv"
    assert fields_fingerprint(td_rules.normalize(more)) != fields_fingerprint(td_rules.normalize(REQUEST))


def test_collection_keys_are_part_of_paths_but_not_fields():
    form = td_rules.normalize(REQUEST)
    paths = set(declared_paths(form))
    assert "containerDefinitions[web].user" in paths
    assert "containerDefinitions" in paths and "containerDefinitions[web]" not in paths
    assert is_collection(form["containerDefinitions"]) and not is_collection(form)


def test_ordered_structure_lists_are_compared_item_by_item():
    request = {"cluster": "c", "taskDefinition": "web:1", "placementStrategy": [
        {"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}]}
    desired = service_rules.normalize(request)
    body = copy.deepcopy(request)
    body["placementStrategy"][1]["field"] = "MEMORY"
    observed = comparable(desired, service_rules.normalize(body), fields_fingerprint(desired))
    assert compare(desired, observed) == []
    body["placementStrategy"].reverse()  # the order of strategies means something
    observed = comparable(desired, service_rules.normalize(body), fields_fingerprint(desired))
    assert [c.path for c in compare(desired, observed)] == ["spec.placementStrategy"]
