"""Happenings are said once per state, and link to the commit on known hosts."""

from __future__ import annotations

from reconciler.controller.happenings import Announcer, Timeline, commit_url, github_repository

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_commit_links_for_known_hosts_only():
    assert commit_url("https://github.com/acme/deploy.git#main:manifests", SHA) == \
        f"https://github.com/acme/deploy/commit/{SHA}"
    assert commit_url("git@gitlab.com:group/sub/deploy.git", SHA) == f"https://gitlab.com/group/sub/deploy/-/commit/{SHA}"
    assert commit_url("https://***@github.com/acme/deploy", SHA) == f"https://github.com/acme/deploy/commit/{SHA}"
    assert commit_url("https://git.example.com/acme/deploy.git", SHA) is None
    assert commit_url("/srv/manifests", "sha256-of-a-directory") is None
    assert github_repository("https://github.com/acme/deploy.git#main:ecs") == "acme/deploy"
    assert github_repository("git@gitlab.com:acme/deploy.git") is None


def test_the_same_state_is_announced_once_and_again_after_it_ended():
    timeline = Timeline()
    announcer = Announcer("https://github.com/acme/deploy", [timeline])
    said = []
    for paths in (("spec.desiredCount",), ("spec.desiredCount",), ("spec.desiredCount", "spec.tags")):
        if announcer.once("drift", "Service/web", paths):
            said.append(announcer.say("drift-found", "Service/web", "drifted", SHA))
    assert len(said) == 2 and said[0].commit_url.endswith(SHA)
    assert announcer.forget("drift", "Service/web") and not announcer.forget("drift", "Service/web")
    assert announcer.once("drift", "Service/web", ("spec.desiredCount",))
    assert [d["kind"] for d in timeline.documents()] == ["drift-found", "drift-found"]


def test_a_drifted_secret_is_masked_in_the_status_row_and_on_the_dashboard():
    from reconciler.controller.dashboard import render
    from reconciler.controller.resource_rows import Outcome, RolloutTracker, resource_rows
    from reconciler.diff.compare import Change
    from reconciler.plan.model import Action, Plan

    path = "spec.containerDefinitions[web].environment[DB_PASSWORD]"
    action = Action("TaskDefinition", "web", "update", [Change(path, "hunter2-desired", "hunter2-observed")])
    rows, _ = resource_rows(Plan([action]), Outcome(syncs=set()), RolloutTracker(0))
    row = rows[0].document()
    assert row["state"] == "drifted" and row["diff"][0]["path"] == path
    page = render({"source": "/srv/m", "resources": [row], "timeline": []})
    assert path in page and "hunter2" not in page and "hunter2" not in str(row)
