"""Anyone who can push to the deploy repository must not be able to take the controller down: the
running controller (its git watcher thread, a real repository over file://) meets an alias bomb, a
recursive alias and an oversized manifest after a good commit; it reports each, keeps the good
revision applied, stays up, and applies the next good commit."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from reconciler.controller.command import build_server
from reconciler.controller.loop import Controller, ControllerConfig
from reconciler.desired.files import MAX_FILE_BYTES

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "base"
IDENT = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false",
         "-c", "init.defaultBranch=main"]
HEAD = "apiVersion: ecs-reconciler.io/v1alpha1\nkind: Cluster\nmetadata: {name: bomb}\n"
LAUGHS = HEAD + "x0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)) + "spec: {tags: {t: *a8}}\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def status(server) -> dict:
    with urllib.request.urlopen(server.url + "/status", timeout=10) as response:
        return json.loads(response.read())


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_hostile_commit_is_reported_and_the_last_good_revision_stays_applied(local, local_clients, tmp_path):
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q")
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, upstream / name)
    good = commit(upstream, "shop")
    controller = Controller(local_clients, ControllerConfig(
        source=f"file://{upstream}#main", workdir=str(tmp_path / "work"), poll_interval=0.2, resync_period=60,
        rollout_poll=0.2, backoff_base=0.2))
    ecs = local.client("ecs")

    def image() -> str:
        return ecs.describe_task_definition(taskDefinition="shop-web")["taskDefinition"]["containerDefinitions"][0]["image"]

    with build_server(controller) as server:
        controller.start()
        try:
            wait_for(lambda: status(server)["revision"] == good, what="the good commit applied")
            watcher = next(t for t in controller._threads if t.name == "git-source")

            hostile = {
                "bomb.yaml": (LAUGHS, "bomb.yaml:", "alias limit: the aliases of this document expand"),
                "loop.yaml": (HEAD + "spec: &a {tags: *a}\n", "loop.yaml:4:", "alias limit: this alias refers"),
                "big.yaml": ("# " + "x" * MAX_FILE_BYTES + "\n", "big.yaml", "size limit: big.yaml is 4.0 MiB"),
            }
            for name, (text, where, what) in hostile.items():
                web = upstream / "web.yaml"  # a change that must not be applied with the hostile file
                web.write_text(web.read_text().replace("nginx/nginx:1.27", "nginx/nginx:1.28"))
                (upstream / name).write_text(text)
                bad = commit(upstream, f"hostile {name}")
                # The previous hostile commit's error stands until this one's is reported.
                doc = wait_for(lambda: (d := status(server))["fetchedRevision"] == bad and bad[:12] in (d["lastError"] or "")
                               and d, what=f"{name} reported")
                assert where in doc["lastError"] and what in doc["lastError"], doc["lastError"]
                assert bad[:12] in doc["lastError"]
                assert doc["revision"] == good
                assert {r["state"] for r in doc["resources"]} <= {"in-sync", "rolling-out"}
                assert watcher.is_alive()
                assert urllib.request.urlopen(server.url + "/healthz", timeout=10).status == 200
                assert image().endswith("nginx:1.27")
                (upstream / name).unlink()
                web.write_text(web.read_text().replace("nginx/nginx:1.28", "nginx/nginx:1.27"))

            web.write_text(web.read_text().replace("nginx/nginx:1.27", "nginx/nginx:1.29"))
            fixed = commit(upstream, "web: nginx 1.29")
            doc = wait_for(lambda: (d := status(server))["revision"] == fixed and d, what="the next good commit applied")
            assert doc["lastError"] is None
            assert image().endswith("nginx:1.29")
        finally:
            controller.stop()
