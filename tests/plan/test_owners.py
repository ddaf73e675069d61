"""Owner tags (EngineOptions.owners, written by the operator): a resource recorded as another
object's is a conflict even with the adopt annotation; one of ours without an owner is claimed; an
engine without owners (CLI, controller) neither checks nor writes them."""

from __future__ import annotations

import pytest

from reconciler.desired.loader import load_text
from reconciler.errors import InvalidManifests
from reconciler.engine import Engine, EngineOptions
from reconciler.observed.state import Observed, ObservedState
from reconciler.ownership import OWNER, OWNERSHIP_KEYS, ownership_tags, tag_list_to_dict
from reconciler.plan.planner import Planner

CLUSTER = """apiVersion: ecs-reconciler.io/v1alpha1
kind: Cluster
metadata: {name: c%s}
spec: {}
"""
ADOPT = ", annotations: {ecs-reconciler.io/adopt: 'true'}"
MINE, THEIRS = "team-b/c/2222", "team-a/c/1111"


def plan_for(tags: dict[str, str], owners: dict[str, str] | None, adopt: bool = False):
    state = ObservedState()
    state.put(Observed("Cluster", "c", "arn:cluster/c", {"clusterName": "c", "settings": []}, tags))
    return Planner("ecs-reconciler", owners).plan(
        load_text(CLUSTER % (ADOPT if adopt else "")), state).get("Cluster", "c")


def test_a_resource_another_object_owns_is_a_conflict_even_with_the_adopt_annotation():
    tags = ownership_tags("ecs-reconciler", "Cluster", "c", owner=THEIRS)
    for adopt in (False, True):
        action = plan_for(tags, {"Cluster/c": MINE}, adopt)
        assert action.action == "conflict" and action.owned_by == THEIRS
        assert THEIRS in action.reasons[0]


def test_ours_is_in_sync_and_an_unrecorded_owner_is_claimed():
    assert plan_for(ownership_tags("ecs-reconciler", "Cluster", "c", owner=MINE), {"Cluster/c": MINE}).action == "none"
    claim = plan_for(ownership_tags("ecs-reconciler", "Cluster", "c"), {"Cluster/c": MINE})
    assert (claim.action, claim.changes, claim.adopt) == ("update", [], False)
    assert claim.reasons == [f"records its owner (tag {OWNER})"]


def test_without_owners_the_owner_tag_is_neither_checked_nor_a_change():
    assert OWNER in OWNERSHIP_KEYS
    assert plan_for(ownership_tags("ecs-reconciler", "Cluster", "c", owner=THEIRS), None).action == "none"


def test_the_engine_writes_the_owner_and_a_spec_tag_cannot_forge_it(clients):
    with pytest.raises(InvalidManifests, match="reserved"):  # no manifest may set an ownership tag
        load_text((CLUSTER % "").replace("spec: {}", f"spec: {{tags: {{ecs-reconciler.io/owner: {THEIRS}, team: b}}}}"))
    plain = load_text((CLUSTER % "").replace("spec: {}", "spec: {tags: {team: b}}"))
    engine = Engine(clients, EngineOptions(owners={"Cluster/c": MINE}))
    engine.apply(engine.plan(plain))
    tags = tag_list_to_dict(clients.ecs.describe_clusters(clusters=["c"], include=["TAGS"])["clusters"][0]["tags"])
    assert tags[OWNER] == MINE and tags["team"] == "b"
    assert engine.plan(plain).get("Cluster", "c").action == "none"

    # An owner missing from a resource of ours (written by an older version) is added, nothing else.
    clients.ecs.untag_resource(resourceArn=clients.ecs.describe_clusters(clusters=["c"])["clusters"][0]["clusterArn"],
                               tagKeys=[OWNER])
    before = clients.call_log.writes()
    engine.apply(engine.plan(plain))
    assert clients.call_log.writes() - before == {("ecs", "TagResource"): 1}
    tags = tag_list_to_dict(clients.ecs.describe_clusters(clusters=["c"], include=["TAGS"])["clusters"][0]["tags"])
    assert tags[OWNER] == MINE
