"""Published request/response pairs: what was sent and what AWS answered plan no change.

The comparison is the planner's: both sides normalized, then the observed side limited to the fields
the request declares (diff/declared.py), as after a write of ours. A pair marked `partial` holds only
part of the response; the request is compared on the top-level fields the response holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.diff import service, task_definition
from reconciler.diff.compare import compare
from reconciler.diff.declared import comparable, fields_fingerprint
from reconciler.diff.rules import family_revision, resolve_family

PAIRS = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "pairs").glob("*.json"))

# Differences the published material itself has (see tests/fixtures/SOURCES.md): asserted, not hidden.
PUBLISHED_MISMATCHES = {
    "09-create-service-classic-elb-aws-cli.json": {"spec.loadBalancers"},
    # The published response contradicts its request (EC2 vs FARGATE, DISABLED vs ENABLED, the volume name's case).
    "15-create-service-ebs-volume-configurations-aws-cli.json": {
        "spec.launchType", "spec.platformVersion", "spec.networkConfiguration.awsvpcConfiguration.assignPublicIp",
        "spec.volumeConfigurations"},
}


def _forms(pair):
    request, response = pair["request"], pair["response"]
    if pair["operation"] == "RegisterTaskDefinition":
        desired_form, observed_form = task_definition.normalize(request), task_definition.normalize(response)
    else:
        desired = {k: v for k, v in request.items() if k != "service"}
        if pair.get("partial"):
            # The source shows the deployment controller in the definition only; the rules depend on it.
            response = {"deploymentController": request["deploymentController"], **response} \
                if "deploymentController" in request else response
            desired = {k: v for k, v in desired.items() if k in response}
        # The planner resolves a bare family to its latest revision; the response names that revision.
        if "taskDefinition" in request:
            desired["taskDefinition"] = resolve_family(request["taskDefinition"],
                                                       family_revision(response.get("taskDefinition")))
        desired_form, observed_form = service.normalize(desired), service.normalize(response)
        service.drop_server_chosen(desired_form, observed_form)
        if pair.get("partial") or pair["operation"] == "UpdateService":
            # Only what the request (an update sends only what changes) or the partial response holds.
            held = set(request if pair["operation"] == "UpdateService" else response) | {"cluster"}
            desired_form = {k: v for k, v in desired_form.items() if k in held}
            observed_form = {k: v for k, v in observed_form.items() if k in held}
    return desired_form, comparable(desired_form, observed_form, fields_fingerprint(desired_form))


@pytest.mark.parametrize("path", PAIRS, ids=[p.name for p in PAIRS])
def test_request_and_response_normalize_alike(path):
    pair = json.loads(path.read_text())
    desired, observed = _forms(pair)
    assert desired, "the request must normalize to something"
    changes = {c.path for c in compare(desired, observed)}
    assert changes == PUBLISHED_MISMATCHES.get(path.name, set())


def test_there_are_pairs_of_both_operations():
    operations = {json.loads(p.read_text())["operation"] for p in PAIRS}
    assert operations == {"RegisterTaskDefinition", "CreateService", "UpdateService"}
