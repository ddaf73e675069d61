"""DirectorySource: content-hash revisions and debounced watching with watchfiles."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.sources.directory import DirectorySource


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a.yaml").write_text("kind: Cluster\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("kind: Service\n")
    (tmp_path / "notes.txt").write_text("ignored\n")
    return tmp_path


def test_revision_depends_on_manifest_content_only(tree):
    src = DirectorySource(tree)
    first = src.snapshot()
    assert [p.name for p in first.files] == ["a.yaml", "b.yml"]
    (tree / "notes.txt").write_text("changed\n")
    (tree / "a.yaml").write_text("kind: Cluster\n")  # rewritten, same bytes
    (tree / ".hidden").mkdir()
    (tree / ".hidden" / "x.yaml").write_text("x\n")
    assert src.snapshot().revision == first.revision
    (tree / "sub" / "b.yml").write_text("kind: Service\nmetadata: {}\n")
    assert src.snapshot().revision != first.revision


def test_renaming_a_manifest_changes_revision(tree):
    src = DirectorySource(tree)
    before = src.snapshot().revision
    (tree / "a.yaml").rename(tree / "c.yaml")
    assert src.snapshot().revision != before


def test_single_file_source(tree):
    src = DirectorySource(tree / "a.yaml")
    assert src.snapshot().files == (tree / "a.yaml",)


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        DirectorySource(tmp_path / "nope").snapshot()


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("force_polling", [False, True])
def test_watch_reports_content_changes_once_per_burst(tree, force_polling):
    src = DirectorySource(tree, quiet_ms=300, force_polling=force_polling)
    seen, stop = [], threading.Event()
    worker = threading.Thread(target=src.watch, args=(stop, seen.append), daemon=True)
    worker.start()
    time.sleep(0.5)  # let the watcher arm before the first write
    try:
        (tree / "notes.txt").write_text("not a manifest\n")
        time.sleep(0.8)
        assert seen == []
        for i in range(5):  # an editor-like burst: one change expected
            (tree / "a.yaml").write_text(f"kind: Cluster\n# {i}\n")
            time.sleep(0.02)
        assert _wait_for(lambda: len(seen) >= 1)
        time.sleep(0.8)
        assert len(seen) == 1
        assert seen[0].revision == src.snapshot().revision
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()


# --- two threads loading one directory (the watcher and the resync timer) ---

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import reconciler.controller.source_feed as loop  # noqa: E402 (where the controller loads manifests)
from reconciler.aws import AwsSettings, CallLog, Clients  # noqa: E402
from reconciler.controller.loop import Controller, ControllerConfig  # noqa: E402

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "base"


def _image(controller: Controller) -> str:
    return controller.desired.get("TaskDefinition", "shop-web").manifest.spec.containerDefinitions[0].image


def test_a_slow_load_of_older_files_never_overwrites_a_newer_one(tmp_path, monkeypatch):
    """The resync timer starts loading the directory, the files change, and the watcher loads the new
    ones while the first load is still running. Whatever the interleaving, the newest files win,
    and stay in force (nothing later reads the directory as 'unchanged' under an old state)."""
    source = tmp_path / "manifests"
    source.mkdir()
    for name in ("cluster.yaml", "web.yaml"):
        shutil.copy(MANIFESTS / name, source / name)
    controller = Controller(Clients(AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"), CallLog()),
                            ControllerConfig(source=str(source), workdir=str(tmp_path / "work")))

    real_load, first_read, release = loop.load_manifests, threading.Event(), threading.Event()

    def load_manifests(paths, *args, **kwargs):
        desired = real_load(paths, *args, **kwargs)  # the real loader; only the first call is made to finish late
        if not first_read.is_set():
            first_read.set()
            release.wait(10)
        return desired

    monkeypatch.setattr(loop, "load_manifests", load_manifests)
    older = threading.Thread(target=controller.refresh_source, name="resync")
    older.start()
    assert first_read.wait(10)
    web = source / "web.yaml"
    web.write_text(web.read_text().replace("nginx/nginx:1.27", "nginx/nginx:1.28"))
    newer = threading.Thread(target=controller._on_source_change,
                             args=(controller.directory.snapshot(),), name="directory-source")
    newer.start()
    newer.join(0.5)  # let the watcher's load finish first where nothing holds it back
    release.set()
    older.join(10)
    newer.join(10)
    revision = controller.directory.snapshot().revision
    assert (controller.revision, _image(controller)) == (revision, "public.ecr.aws/nginx/nginx:1.28")
    controller.refresh_source()
    assert (controller.revision, _image(controller)) == (revision, "public.ecr.aws/nginx/nginx:1.28")
    controller.stop()
