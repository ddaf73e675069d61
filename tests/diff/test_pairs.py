"""Published request/response pairs: the request and the response normalize to the same form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.diff import service, task_definition
from reconciler.diff.compare import compare
from reconciler.diff.rules import family_revision, resolve_family

PAIRS = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "pairs").glob("*.json"))

# Differences the published material itself has (see tests/fixtures/SOURCES.md): asserted, not hidden.
PUBLISHED_MISMATCHES = {
    "09-create-service-classic-elb-aws-cli.json": {"spec.loadBalancers"},
}


def _forms(pair):
    request, response = pair["request"], pair["response"]
    if pair["operation"] == "RegisterTaskDefinition":
        return task_definition.normalize(request), task_definition.normalize(response)
    desired = dict(request)
    # The planner resolves a bare family to its latest revision; the response names that revision.
    desired["taskDefinition"] = resolve_family(request.get("taskDefinition"), family_revision(response.get("taskDefinition")))
    desired_form, observed_form = service.normalize(desired), service.normalize(response)
    service.drop_server_chosen(desired_form, observed_form)
    return desired_form, observed_form


@pytest.mark.parametrize("path", PAIRS, ids=[p.name for p in PAIRS])
def test_request_and_response_normalize_alike(path):
    pair = json.loads(path.read_text())
    desired, observed = _forms(pair)
    assert desired, "the request must normalize to something"
    changes = {c.path for c in compare(desired, observed)}
    assert changes == PUBLISHED_MISMATCHES.get(path.name, set())


def test_there_are_pairs_of_both_operations():
    operations = {json.loads(p.read_text())["operation"] for p in PAIRS}
    assert operations == {"RegisterTaskDefinition", "CreateService"}
