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
