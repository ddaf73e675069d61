"""GitSource against real repositories made with the git CLI, served over file:// and HTTP."""

from __future__ import annotations

import base64
import functools
import http.server
import logging
import os
import subprocess
import threading
import tracemalloc
from pathlib import Path

import pytest

from reconciler.desired.files import MAX_FILE_BYTES
from reconciler.sources import git as git_module
from reconciler.sources.git import (
    GitSource,
    GitSourceError,
    RevisionRejected,
    SourceSpec,
    parse_source_spec,
    redact_url,
    split_credentials,
)

IDENT = ["-c", "user.name=Test Author", "-c", "user.email=author@example.com",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *IDENT, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def upstream(tmp_path):
    repo = tmp_path / "upstream"
    repo.mkdir()
    git(repo, "init", "-q")
    return repo


def source(upstream: Path, tmp_path: Path, **kwargs) -> GitSource:
    return GitSource(f"file://{upstream}", workdir=tmp_path / "work", **kwargs)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("https://host/org/repo.git#main:deploy/prod", SourceSpec("https://host/org/repo.git", "main", "deploy/prod")),
        ("file:///tmp/repo#main", SourceSpec("file:///tmp/repo", "main", "")),
        ("git@github.com:org/repo.git#release:path", SourceSpec("git@github.com:org/repo.git", "release", "path")),
        ("git@github.com:org/repo.git", SourceSpec("git@github.com:org/repo.git", "main", "")),
        ("ssh://git@host:2222/repo.git", SourceSpec("ssh://git@host:2222/repo.git", "main", "")),
        ("https://host/repo.git#:sub/dir/", SourceSpec("https://host/repo.git", "main", "sub/dir")),
        ("https://host/repo.git#feature/x", SourceSpec("https://host/repo.git", "feature/x", "")),
    ],
)
def test_parse_source_spec(spec, expected):
    assert parse_source_spec(spec) == expected


def test_parse_source_spec_rejects_escaping_path():
    with pytest.raises(ValueError):
        parse_source_spec("https://host/repo.git#main:../etc")


def test_redact_url_hides_passwords_and_bare_http_tokens():
    assert redact_url("https://user:s3cr3t@host/repo.git") == "https://user:***@host/repo.git"
    assert redact_url("https://ghp_token@host/repo.git") == "https://***@host/repo.git"
    assert redact_url("ssh://git@host/repo.git") == "ssh://git@host/repo.git"
    assert redact_url("git@github.com:org/repo.git") == "git@github.com:org/repo.git"
    assert "s3cr3t" not in redact_url("fatal: unable to access 'https://u:s3cr3t@h/r.git/': boom")


def test_split_credentials_moves_password_out_of_url():
    assert split_credentials("https://user:p%40ss@host:8443/r.git") == ("https://user@host:8443/r.git", "user", "p@ss")
    assert split_credentials("git@github.com:org/r.git") == ("git@github.com:org/r.git", None, None)


def test_poll_follows_branch_head(upstream, tmp_path):
    a = commit_files(upstream, {"svc.yaml": "name: a\n"}, "first")
    src = source(upstream, tmp_path)
    snap = src.poll()
    assert snap.commit == a and snap.message == "first"
    assert snap.author == "Test Author <author@example.com>"
    assert (snap.path / "svc.yaml").read_text() == "name: a\n"
    assert src.poll() is None

    b = commit_files(upstream, {"svc.yaml": "name: b\n"}, "second")
    snap_b = src.poll()
    assert snap_b.commit == b and (snap_b.path / "svc.yaml").read_text() == "name: b\n"
    assert (snap.path / "svc.yaml").read_text() == "name: a\n", "old snapshot is immutable"
    assert src.current == snap_b


def test_uncommitted_upstream_changes_are_never_materialised(upstream, tmp_path):
    commit_files(upstream, {"svc.yaml": "name: committed\n"}, "first")
    (upstream / "svc.yaml").write_text("name: dirty\n")
    (upstream / "extra.yaml").write_text("name: untracked\n")
    git(upstream, "add", "extra.yaml")  # staged but not committed
    snap = source(upstream, tmp_path).poll()
    assert (snap.path / "svc.yaml").read_text() == "name: committed\n"
    assert not (snap.path / "extra.yaml").exists()


def test_sub_path_selects_only_that_directory(upstream, tmp_path):
    commit_files(upstream, {"deploy/prod/a.yaml": "p\n", "deploy/dev/b.yaml": "d\n", "README.md": "r\n"}, "tree")
    snap = source(upstream, tmp_path, path="deploy/prod").poll()
    assert sorted(p.name for p in snap.path.iterdir()) == ["a.yaml"]
    assert not (snap.path.parent / "dev").exists()


def test_missing_sub_path_is_an_error(upstream, tmp_path):
    commit_files(upstream, {"a.yaml": "x\n"}, "tree")
    with pytest.raises(GitSourceError, match="not a directory"):
        source(upstream, tmp_path, path="nope").poll()


def test_branch_selection(upstream, tmp_path):
    main = commit_files(upstream, {"a.yaml": "main\n"}, "on main")
    git(upstream, "checkout", "-q", "-b", "staging")
    staging = commit_files(upstream, {"a.yaml": "staging\n"}, "on staging")
    git(upstream, "checkout", "-q", "main")
    spec = parse_source_spec(f"file://{upstream}#staging")
    snap = GitSource(spec.url, spec.branch, spec.path, workdir=tmp_path / "w1").poll()
    assert snap.commit == staging and (snap.path / "a.yaml").read_text() == "staging\n"
    assert source(upstream, tmp_path).poll().commit == main


def test_force_push_to_older_commit_is_a_change(upstream, tmp_path):
    a = commit_files(upstream, {"a.yaml": "1\n"}, "one")
    src = source(upstream, tmp_path)
    src.poll()
    commit_files(upstream, {"a.yaml": "2\n"}, "two")
    src.poll()
    git(upstream, "reset", "-q", "--hard", a)
    assert src.poll().commit == a


def test_reused_workdir_follows_new_url(upstream, tmp_path):
    commit_files(upstream, {"a.yaml": "1\n"}, "one")
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    b = commit_files(other, {"a.yaml": "other\n"}, "other")
    source(upstream, tmp_path).poll()
    assert GitSource(f"file://{other}", workdir=tmp_path / "work").poll().commit == b


def test_missing_branch_raises(upstream, tmp_path):
    commit_files(upstream, {"a.yaml": "1\n"}, "one")
    with pytest.raises(GitSourceError, match="fetch failed"):
        source(upstream, tmp_path, branch="nope").poll()


def test_secret_in_url_never_in_errors_or_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    src = GitSource("https://user:s3cr3t@127.0.0.1:1/org/repo.git", workdir=tmp_path / "w", timeout=30)
    with pytest.raises(GitSourceError) as err:
        src.poll()
    assert "127.0.0.1" in str(err.value) and "s3cr3t" not in str(err.value)
    assert "s3cr3t" not in (tmp_path / "w" / "repo.git" / "config").read_text()

    stop = threading.Event()
    src.poll_interval = 0.01
    worker = threading.Thread(target=src.watch, args=(stop, lambda snap: None))
    worker.start()
    for _ in range(500):
        if "git poll failed" in caplog.text:
            break
        stop.wait(0.01)
    stop.set()
    worker.join(10)
    assert "git poll failed" in caplog.text and "127.0.0.1" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_wake_makes_watch_poll_early(upstream, tmp_path):
    commit_files(upstream, {"a.yaml": "1\n"}, "one")
    src = source(upstream, tmp_path, poll_interval=3600)
    seen, stop = [], threading.Event()
    worker = threading.Thread(target=src.watch, args=(stop, seen.append))
    worker.start()
    for _ in range(500):
        if seen:
            break
        stop.wait(0.01)
    b = commit_files(upstream, {"a.yaml": "2\n"}, "two")
    src.wake()
    for _ in range(500):
        if len(seen) == 2:
            break
        stop.wait(0.01)
    stop.set()
    worker.join(10)
    assert not worker.is_alive() and [s.commit for s in seen][-1] == b and len(seen) == 2


class _AuthRepoHandler(http.server.SimpleHTTPRequestHandler):
    """Dumb-HTTP git server that insists on Basic auth, to prove credentials reach git."""

    expected = ""

    def do_GET(self):
        if self.headers.get("Authorization") != f"Basic {self.expected}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_repo(upstream, tmp_path):
    commit_files(upstream, {"a.yaml": "over http\n"}, "one")
    bare = tmp_path / "served" / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(upstream), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)

    def serve(user: str, password: str):
        handler = type("H", (_AuthRepoHandler,), {"expected": base64.b64encode(f"{user}:{password}".encode()).decode()})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(bare.parent)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}/repo.git"

    servers: list = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_password_in_url_reaches_git_without_being_stored(http_repo, tmp_path):
    host = http_repo("user", "s3cr3t")
    src = GitSource(f"http://user:s3cr3t@{host}", workdir=tmp_path / "w", depth=None)
    assert (src.poll().path / "a.yaml").read_text() == "over http\n"
    assert "s3cr3t" not in (tmp_path / "w" / "repo.git" / "config").read_text()
    assert "s3cr3t" not in (tmp_path / "w" / "askpass.sh").read_text()


def test_token_from_environment_is_used(http_repo, tmp_path):
    host = http_repo("x-access-token", "tok3n")
    env = {"PATH": "/usr/bin:/bin", "ECS_RECONCILER_GIT_TOKEN": "tok3n"}
    src = GitSource(f"http://{host}", workdir=tmp_path / "w", depth=None, env=env)
    assert src.poll() is not None


def test_wrong_token_fails_with_redacted_error(http_repo, tmp_path, caplog):
    host = http_repo("x-access-token", "right")
    env = {"PATH": "/usr/bin:/bin", "ECS_RECONCILER_GIT_TOKEN": "wr0ng-t0ken"}
    src = GitSource(f"http://{host}", workdir=tmp_path / "w", depth=None, env=env, timeout=30)
    with pytest.raises(GitSourceError) as err:
        src.poll()
    assert "wr0ng-t0ken" not in str(err.value) and "wr0ng-t0ken" not in caplog.text


# -- what a commit may hold: whoever can push chooses it --------------------------------------------

def test_a_huge_file_is_streamed_past_not_held_in_memory(upstream, tmp_path):
    (upstream / "blob.bin").write_bytes(os.urandom(24 * 1024 * 1024))
    commit_files(upstream, {"a.yaml": "x\n"}, "a manifest beside a large binary")
    src = source(upstream, tmp_path)
    tracemalloc.start()
    try:
        snap = src.poll()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"
    assert sorted(p.name for p in snap.path.iterdir()) == ["a.yaml"]  # only manifests are written out


def test_an_oversized_manifest_rejects_the_commit_once_and_a_fix_is_read(upstream, tmp_path):
    good = commit_files(upstream, {"a.yaml": "x\n"}, "good")
    src = source(upstream, tmp_path)
    assert src.poll().commit == good
    (upstream / "big.yaml").write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    bad = commit_files(upstream, {}, "a 4 MiB manifest")
    with pytest.raises(RevisionRejected) as caught:
        src.poll()
    assert caught.value.commit == bad
    assert "size limit: big.yaml is 4.0 MiB; expected at most 4.0 MiB per manifest file" in str(caught.value)
    assert src.poll() is None  # not fetched into a snapshot again
    assert src.current.commit == good and not (tmp_path / "work" / "snapshots" / bad).exists()
    (upstream / "big.yaml").unlink()
    fixed = commit_files(upstream, {"a.yaml": "y\n"}, "fixed")
    assert src.poll().commit == fixed


def test_too_many_files_or_bytes_reject_the_commit(upstream, tmp_path, monkeypatch):
    monkeypatch.setattr(git_module, "MAX_FILES", 5)
    commit_files(upstream, {f"m{i}.yaml": "x\n" for i in range(6)}, "six manifests")
    with pytest.raises(RevisionRejected, match="file limit: more than 5 manifest files"):
        source(upstream, tmp_path).poll()

    monkeypatch.setattr(git_module, "MAX_FILES", 100)
    monkeypatch.setattr(git_module, "MAX_SOURCE_BYTES", 10)
    with pytest.raises(RevisionRejected, match="size limit: the manifests pass 10 bytes in all"):
        source(upstream, tmp_path / "2").poll()

    monkeypatch.setattr(git_module, "MAX_SOURCE_BYTES", 1 << 20)
    monkeypatch.setattr(git_module, "MAX_ARCHIVE_ENTRIES", 20)
    commit_files(upstream, {f"docs/n{i}.txt": "x\n" for i in range(30)}, "many other files")
    with pytest.raises(RevisionRejected, match="more than 20 entries"):
        source(upstream, tmp_path / "3").poll()


def test_a_link_out_of_the_tree_rejects_the_commit(upstream, tmp_path):
    (upstream / "evil.yaml").symlink_to("/etc/passwd")
    bad = commit_files(upstream, {"a.yaml": "x\n"}, "a link to a host file")
    with pytest.raises(RevisionRejected, match="unsafe entry evil.yaml") as caught:
        source(upstream, tmp_path).poll()
    assert caught.value.commit == bad


def test_control_files_are_extracted_beside_manifests(upstream, tmp_path):
    commit_files(upstream, {"a.yaml": "x\n", ".suspend": "", "README.md": "r\n"}, "suspended")
    snap = source(upstream, tmp_path, control_files=(".suspend",)).poll()
    assert sorted(p.name for p in snap.path.iterdir()) == [".suspend", "a.yaml"]


def test_watch_reports_a_rejected_commit_once_and_keeps_following(upstream, tmp_path):
    commit_files(upstream, {"a.yaml": "1\n"}, "one")
    src = source(upstream, tmp_path, poll_interval=0.05)
    seen, rejected, stop = [], [], threading.Event()
    worker = threading.Thread(target=src.watch, args=(stop, seen.append, lambda c, r: rejected.append((c, r))))
    worker.start()
    try:
        for _ in range(500):
            if seen:
                break
            stop.wait(0.01)
        (upstream / "big.yaml").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
        bad = commit_files(upstream, {}, "too big")
        for _ in range(500):
            if rejected:
                break
            stop.wait(0.01)
        stop.wait(0.3)  # several more polls of the same head
        (upstream / "big.yaml").unlink()
        good = commit_files(upstream, {"a.yaml": "2\n"}, "two")
        for _ in range(500):
            if len(seen) == 2:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        worker.join(10)
    assert [c for c, _ in rejected] == [bad] and "size limit" in rejected[0][1]
    assert [s.commit for s in seen][-1] == good and len(seen) == 2
