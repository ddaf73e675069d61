"""Manifests from a local directory, with a content hash standing in for a commit.

A directory has no commits, so the revision is a hash over every manifest's relative path and
bytes: saving a file without changing it, or touching an unrelated file, yields the same revision
and so no re-plan. ``watch`` uses watchfiles (debounced) so an editor's burst of writes becomes one
change: watchfiles yields once nothing has changed for ``quiet_ms`` (its ``step``), or after
``max_delay_ms`` of continuous churn (its ``debounce``). A kustomization may build on bases outside
the directory (``../../base``): their files count towards the revision and are watched too.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import watchfiles

from ..desired.files import is_manifest
from .kustomize import local_bases

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DirectorySnapshot:
    revision: str
    path: Path
    files: tuple[Path, ...]


class DirectorySource:
    """A directory (or single manifest file) watched for content changes."""

    def __init__(
        self, path: str | Path, *, quiet_ms: int = 300, max_delay_ms: int = 3000, force_polling: bool | None = None
    ) -> None:
        self.path = Path(path)
        self.quiet_ms = quiet_ms
        self.max_delay_ms = max(max_delay_ms, quiet_ms)
        self.force_polling = force_polling

    def manifest_files(self) -> list[Path]:
        """Manifests in a stable order; hidden files and directories (.git, editor swaps) skipped;
        then those of the kustomization's bases outside the directory."""
        if self.path.is_file():
            return [self.path]
        found: list[Path] = []
        for root in self._roots():
            files = (p for p in root.rglob("*") if p.is_file())
            found.extend(sorted(p for p in files if is_manifest(p.relative_to(root)) and p not in found))
        return found

    def _roots(self) -> list[Path]:
        """The directory, and the bases outside it that its kustomization builds on."""
        if not self.path.is_dir():
            return [self.path]
        inside = self.path.resolve()
        outside = [b for b in local_bases(self.path) if b != inside and inside not in b.parents]
        # A base inside another base is covered by the outer one.
        return [self.path] + [b for b in outside if not any(o in b.parents for o in outside)]

    def snapshot(self) -> DirectorySnapshot:
        if not self.path.exists():
            raise FileNotFoundError(f"manifest path {self.path} does not exist")
        digest = hashlib.sha256()
        files = self.manifest_files()
        root = self.path.parent if self.path.is_file() else self.path
        for f in files:
            try:
                name = f.relative_to(root).as_posix()
            except ValueError:  # a base outside the directory
                name = f.resolve().as_posix()
            digest.update(name.encode() + b"\0")
            with open(f, "rb") as handle:  # in chunks: a huge file costs time, never memory
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            digest.update(b"\0")
        return DirectorySnapshot(revision=digest.hexdigest(), path=self.path, files=tuple(files))

    def _watch_root(self) -> Path:
        return (self.path.parent if self.path.is_file() else self.path).resolve()

    def _relevant(self, _change: watchfiles.Change, name: str) -> bool:
        changed = Path(name)
        if self.path.is_file():
            return changed == self.path.resolve()
        for root in [self._watch_root(), *(r.resolve() for r in self._roots()[1:])]:
            try:
                return is_manifest(changed.relative_to(root))
            except ValueError:
                continue
        return False

    def watch(self, stop_event: threading.Event, on_change: Callable[[DirectorySnapshot], None]) -> None:
        """Call ``on_change`` with each new snapshot whose revision differs; blocks until stopped."""
        last = self.snapshot().revision
        extra = [r.resolve() for r in self._roots()[1:]]  # bases as they are when watching starts
        for _changes in watchfiles.watch(
            self._watch_root(), *extra, watch_filter=self._relevant, step=self.quiet_ms, debounce=self.max_delay_ms, stop_event=stop_event,
            force_polling=self.force_polling, poll_delay_ms=100, raise_interrupt=False,
        ):
            try:
                snap = self.snapshot()
            except OSError as exc:
                log.warning("cannot read manifests under %s: %s", self.path, exc)
                continue
            if snap.revision != last:
                last = snap.revision
                log.info("manifests under %s changed (revision %s)", self.path, snap.revision[:12])
                on_change(snap)
