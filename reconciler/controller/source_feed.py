"""Where the controller's desired state comes from: a git branch or a directory, loaded whole.

A new revision (commit or directory content hash) is loaded and validated as a set; an invalid or
refused one is reported and the last good desired state stays in force. Loads take turns (the
watcher, the resync timer, `sync_once`), and a directory is hashed inside the turn: the load that
runs last read the files last, so an older one never wins. Values from elsewhere (`${ssm:...}`)
are looked up once per resync period, and substituted again at each resync.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any, Callable

from ..desired.loader import DesiredState, load_manifests
from ..desired.lookups import Lookups
from ..desired.substitution import Substitution
from ..errors import InvalidManifests
from ..report.masking import mask_text
from ..sources.directory import DirectorySource
from ..sources.git import GitSource, GitSourceError, redact_url

log = logging.getLogger("reconciler.controller")


def is_directory_source(spec: str) -> bool:
    return "://" not in spec and "#" not in spec and "@" not in spec.split("/")[0] and Path(spec).exists()


class SourceFeed:
    """The source and the desired state it last loaded. `on_error(message, rejected)` reports a source
    that cannot be read or (rejected=True) a revision refused whole, `on_fetched(revision)` each new
    revision seen, `on_loaded(revision)` each one taken."""

    def __init__(self, source: str, clients: Any, *, workdir: Callable[[], str], poll_interval: float,
                 resync_period: float, tfstate: tuple[str, ...], control_files: tuple[str, ...],
                 allow_env: tuple[str, ...] = (),
                 on_error: Callable[..., None], on_fetched: Callable[[str], None],
                 on_loaded: Callable[[str], None]) -> None:
        self.git: GitSource | None = None
        self.directory: DirectorySource | None = None
        if is_directory_source(source):
            self.directory = DirectorySource(source, quiet_ms=100, max_delay_ms=1000)
            self.display = str(source)
        else:
            self.git = GitSource.from_spec(source, workdir=workdir(), poll_interval=poll_interval,
                                           control_files=control_files)
            self.display = redact_url(source)
        # Anyone who can push writes the manifests: they read only the environment variables named.
        self.lookups = Lookups(lambda: clients, tfstate, ttl=resync_period, allow_env=tuple(allow_env))
        self.on_error, self.on_fetched, self.on_loaded = on_error, on_fetched, on_loaded
        self.desired: DesiredState | None = None
        self.revision: str | None = None
        self.manifest_dir: Path | None = None
        self.seen_revision: str | None = None
        self._last: tuple[str, Path] | None = None  # what `load` read last
        self._lock = threading.RLock()  # one load at a time
        self._swap = threading.Lock()

    def current(self) -> tuple[DesiredState | None, str | None]:
        with self._swap:
            return self.desired, self.revision

    def refresh(self) -> bool:
        """Read the source; on a new valid revision swap the desired state. True if it changed."""
        with self._lock:
            if self.git is not None:
                snap = self.git.poll()
                return self.load(snap.commit, snap.path) if snap is not None else False
            snap = self.directory.snapshot()
            return self.load(snap.revision, snap.path) if snap.revision != self.seen_revision else False

    def on_change(self, snap: Any) -> None:
        """A watcher saw a new revision (git commit or directory content hash)."""
        if self.directory is not None:
            try:
                self.refresh()  # hashed again in turn: the watcher's snapshot may be old by now
            except OSError as exc:
                self.on_error(str(exc))
            return
        with self._lock:
            if snap.revision != self.seen_revision:
                self.load(snap.revision, Path(snap.path))

    def rejected(self, revision: str, reason: str) -> None:
        """The source refused a revision before loading it (over a limit): like an invalid one."""
        self.seen_revision = revision
        self.on_fetched(revision)
        self.on_error(f"revision {revision[:12]} rejected: {reason}", rejected=True)

    def resync(self) -> None:
        """At each resync: substitute values from elsewhere again (they change without a commit), and
        look at the directory again (a watcher can miss an event)."""
        desired = self.desired
        if desired is not None and desired.uses_references and self._last is not None:
            with self._lock:
                self.load(*self._last)
        if self.directory is not None:
            try:
                self.refresh()
            except OSError as exc:
                self.on_error(str(exc))

    def load(self, revision: str, path: Path) -> bool:
        self._last = (revision, path)
        self.seen_revision = revision
        self.on_fetched(revision)
        folder = path if path.is_dir() else path.parent
        try:
            desired = load_manifests([str(path)], Substitution(self.lookups))
        except InvalidManifests as exc:
            self.manifest_dir = folder
            errors = [safe_error(self._relative(str(e), path), e.path) for e in exc.errors]
            self.on_error(f"revision {revision[:12]} rejected: " + "; ".join(errors), rejected=True)
            return False
        with self._swap:
            self.desired, self.revision, self.manifest_dir = desired, revision, folder
        for warning in desired.warnings:
            log.warning("manifest accepted with changes: %s", self._relative(str(warning), path),
                        extra={"revision": revision})
        log.info("loaded revision", extra={"revision": revision, "resources": len(desired)})
        self.on_loaded(revision)
        return True

    def _relative(self, message: str, path: Path) -> str:
        """Paths in `message` relative to the manifests, or to the checkout for a base outside them."""
        message = message.replace(str(path) + "/", "")
        if self.git is not None and self.git.path:
            root = path.parents[len(Path(self.git.path).parts) - 1]
            message = message.replace(str(root) + "/", "")
        return message

    def watcher(self, stop: threading.Event, changed: Callable[[Any], None]
                ) -> tuple[Callable[..., None], tuple[Any, ...], str]:
        """The thread body that follows the source, calling `changed(snapshot)`: (target, args, name)."""
        if self.git is not None:
            return self.git.watch, (stop, changed, self.rejected), "git-source"
        return self.directory.watch, (stop, changed), "directory-source"


def safe_error(message: str, path: str | None) -> str:
    """Drop the offending value from errors under environment/secrets, and mask secrets elsewhere."""
    if path and re.search(r"environment|secret", path, re.IGNORECASE):
        return _GOT_VALUE.sub("", message)
    return mask_text(message)


_GOT_VALUE = re.compile(r"\s*\(got .*\)$")


__all__ = ["SourceFeed", "GitSourceError", "is_directory_source", "safe_error"]
