"""Manifests from a git branch, materialised one immutable commit at a time.

The controller must only ever apply what was committed and pushed, so this source never reads a
working tree: it fetches into a private bare repository, resolves ``origin/<branch>`` to a commit
and extracts that commit's tree with ``git archive`` into a per-commit directory. Credentials come
from the environment and reach git through an askpass helper (never argv or ``.git/config``);
every URL or git message that leaves this module has its secrets redacted first.

Whoever can push to the branch chooses what a commit holds, so the archive is streamed (never held
in memory) and only manifest files (and the caller's control files) are written out, within the
limits of ``desired.files``; a commit over them is rejected whole and not read again.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Callable

from ..desired.files import MAX_FILE_BYTES, MAX_FILES, MAX_SOURCE_BYTES, is_manifest, size_text

log = logging.getLogger(__name__)

TOKEN_ENV = "ECS_RECONCILER_GIT_TOKEN"
USERNAME_ENV = "ECS_RECONCILER_GIT_USERNAME"
_ASKPASS_USER_ENV = "ECS_RECONCILER_ASKPASS_USERNAME"
_ASKPASS_PASS_ENV = "ECS_RECONCILER_ASKPASS_PASSWORD"
# Git asks "Username for '...'" then "Password for '...'"; answer from env vars, so the secret is
# neither in a file nor in any process's argv.
_ASKPASS_SCRIPT = f"""#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "${_ASKPASS_USER_ENV}" ;;
  *) printf '%s\\n' "${_ASKPASS_PASS_ENV}" ;;
esac
"""
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_HTTP_SCHEMES = {"http", "https", "ftp", "ftps"}
MAX_ARCHIVE_ENTRIES = 10 * MAX_FILES  # entries of any kind streamed past before a commit is refused


class GitSourceError(RuntimeError):
    """A git operation failed; the message is already redacted and safe to log or show."""


class RevisionRejected(GitSourceError):
    """A commit the source refuses to read (over a limit, or an unsafe entry): rejected for good,
    until a later commit replaces it."""

    def __init__(self, commit: str, message: str) -> None:
        super().__init__(f"revision {commit[:12]} rejected: {message}")
        self.commit, self.reason = commit, message


@dataclass(frozen=True)
class SourceSpec:
    url: str
    branch: str = "main"
    path: str = ""


@dataclass(frozen=True)
class Snapshot:
    """One commit's manifests, extracted to ``path`` (read-only by convention)."""

    commit: str
    path: Path
    message: str
    author: str

    @property
    def revision(self) -> str:
        return self.commit


def parse_source_spec(spec: str) -> SourceSpec:
    """Split ``URL[#branch][:path]``; ':path' only counts after '#', as URLs contain ':' too."""
    url, sep, ref = spec.partition("#")
    if not url:
        raise ValueError(f"source spec {redact_url(spec)!r} has no URL")
    branch, path = (ref.split(":", 1) + [""])[:2] if sep else ("", "")
    return SourceSpec(url=url, branch=branch or "main", path=normalize_subpath(path))


def normalize_subpath(path: str) -> str:
    """Reject paths that would escape the repository root; '' means the whole tree."""
    parts = [p for p in PurePosixPath(path.strip("/")).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError(f"source path {path!r} must stay inside the repository")
    return "/".join(parts)


def redact_url(url: str) -> str:
    """Hide URL secrets: passwords always, a bare http(s) user too (tokens are often sent so)."""

    def replace(m: re.Match[str]) -> str:
        user, has_password, _ = m.group("userinfo").partition(":")
        scheme = m.group("scheme")[:-3].lower()
        if has_password:
            return f"{m.group('scheme')}{user}:***@"
        if scheme in _HTTP_SCHEMES:
            return f"{m.group('scheme')}***@"
        return m.group(0)

    return _URL_USERINFO.sub(replace, url)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Return (url without password, username, password) so git never sees the password inline."""
    parts = urllib.parse.urlsplit(url)
    if "://" not in url or parts.password is None:
        return url, parts.username if "://" in url else None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return clean, urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password)


class GitSource:
    """Polls one branch of one repository and hands out a Snapshot whenever its head moves."""

    def __init__(
        self,
        url: str,
        branch: str = "main",
        path: str = "",
        *,
        workdir: str | os.PathLike[str],
        poll_interval: float = 60.0,
        depth: int | None = 1,
        keep: int = 3,
        timeout: float = 300.0,
        env: dict[str, str] | None = None,
        control_files: tuple[str, ...] = (),
    ) -> None:
        if url.startswith("-") or branch.startswith("-"):
            raise ValueError("git URL and branch must not start with '-'")
        self.url, self._username, self._password = split_credentials(url)
        self.branch = branch
        self.path = normalize_subpath(path)
        self.workdir = Path(workdir)
        self.poll_interval = poll_interval
        self.depth = depth
        self.keep = keep
        self.timeout = timeout
        self.control_files = frozenset(control_files)  # extracted besides manifests (e.g. a suspend marker)
        self._env = dict(os.environ if env is None else env)
        self._repo = self.workdir / "repo.git"
        self._snapshots = self.workdir / "snapshots"
        self._current: Snapshot | None = None
        self._rejected: str | None = None  # the last commit refused as too large: not read again
        self._ready = False
        self._wake = threading.Event()
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str, **kwargs) -> "GitSource":
        s = parse_source_spec(spec)
        return cls(s.url, s.branch, s.path, **kwargs)

    @property
    def current(self) -> Snapshot | None:
        return self._current

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    def wake(self) -> None:
        """Make a running ``watch`` poll now (e.g. on a verified push webhook)."""
        self._wake.set()

    def matches_ref(self, ref: str) -> bool:
        return ref in (self.branch, f"refs/heads/{self.branch}")

    def poll(self) -> Snapshot | None:
        """Fetch; return a new Snapshot if the branch head differs from the last one, else None."""
        with self._lock:
            self._ensure_repo()
            self._fetch()
            commit = self._git("rev-parse", "--verify", f"refs/remotes/origin/{self.branch}^{{commit}}")
            if self._current is not None and self._current.commit == commit or commit == self._rejected:
                return None
            try:
                snapshot = self._materialise(commit)
            except RevisionRejected:
                self._rejected = commit
                raise
            self._current = snapshot
            self._prune()
            log.info("git source %s#%s now at %s", self.display_url, self.branch, commit[:12])
            return snapshot

    def watch(self, stop_event: threading.Event, on_change: Callable[[Snapshot], None],
              on_rejected: Callable[[str, str], None] | None = None) -> None:
        """Poll every ``poll_interval`` (or sooner after ``wake``) until ``stop_event`` is set; a
        commit it refuses (over a limit, an unsafe entry) goes to ``on_rejected(commit, reason)`` once."""
        while not stop_event.is_set():
            try:
                snapshot = self.poll()
                if snapshot is not None:
                    on_change(snapshot)
            except RevisionRejected as exc:
                log.error("git source: %s", exc)
                if on_rejected is not None:
                    on_rejected(exc.commit, exc.reason)
            except GitSourceError as exc:
                log.warning("git poll failed: %s", exc)
            except Exception:  # a failure handling one commit must not stop the source being followed
                log.exception("git source: handling a new commit failed")
            self._sleep(stop_event)

    def _sleep(self, stop_event: threading.Event) -> None:
        """Wait out ``poll_interval``, cut short by ``wake`` or by ``stop_event``."""
        deadline = time.monotonic() + self.poll_interval
        while not stop_event.is_set() and not self._wake.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._wake.wait(min(left, 0.25))
        self._wake.clear()

    def _ensure_repo(self) -> None:
        """Create the private bare repo once; a reused workdir is pointed at our URL again."""
        if self._ready:
            return
        if (self._repo / "HEAD").exists():
            self._git("remote", "set-url", "--", "origin", self.url)
        else:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._git("init", "--quiet", "--bare", str(self._repo), cwd=self.workdir, in_repo=False)
            self._git("remote", "add", "--", "origin", self.url)
        self._ready = True

    def _fetch(self) -> None:
        args = ["fetch", "--quiet", "--no-tags", "--force", "--prune"]
        if self.depth:
            args.append(f"--depth={self.depth}")
        refspec = f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}"
        self._git(*args, "origin", refspec)

    def _materialise(self, commit: str) -> Snapshot:
        target = self._snapshots / commit
        manifests = target / self.path if self.path else target
        if not target.exists():
            treeish = f"{commit}:{self.path}" if self.path else f"{commit}^{{tree}}"
            if self._git("cat-file", "-t", treeish, check=False) != "tree":
                raise GitSourceError(f"path {self.path!r} is not a directory in commit {commit[:12]}")
            tmp = self._snapshots / f".tmp-{commit}"
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / self.path).mkdir(parents=True)
            try:
                if self.path and self._holds_kustomization(commit):
                    # An overlay builds on bases elsewhere in the repository (../../base): extract it all.
                    self._extract(commit, f"{commit}^{{tree}}", tmp)
                else:
                    self._extract(commit, treeish, tmp / self.path)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            tmp.rename(target)
        meta = self._git("show", "-s", "--format=%an <%ae>%x00%B", commit)
        author, _, message = meta.partition("\x00")
        return Snapshot(commit=commit, path=manifests, message=message.strip(), author=author)

    def _holds_kustomization(self, commit: str) -> bool:
        from .kustomize import KUSTOMIZATION_FILES

        return any(self._git("cat-file", "-t", f"{commit}:{self.path}/{name}", check=False) == "blob"
                   for name in KUSTOMIZATION_FILES)

    def _extract(self, commit: str, treeish: str, dest: Path) -> None:
        """Stream ``git archive`` of ``treeish`` into ``dest``: memory stays flat however large the
        commit, and only manifests and control files within the limits reach the disk."""
        cmd = ["git", f"--git-dir={self._repo}", "archive", "--format=tar", treeish]
        with tempfile.TemporaryFile() as stderr:
            try:
                proc = subprocess.Popen(cmd, cwd=self.workdir, env=self._git_env(), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=stderr)
            except OSError as exc:
                raise GitSourceError(f"cannot run git: {exc}") from None
            timed_out = threading.Event()

            def expire() -> None:
                timed_out.set()
                proc.kill()

            timer = threading.Timer(self.timeout, expire)
            timer.start()
            unpack_error: Exception | None = None
            finished = False
            try:
                self._unpack(proc.stdout, dest, commit)
                while proc.stdout.read(1 << 16):  # the archive's end padding: let git exit cleanly
                    pass
                finished = True
            except (tarfile.TarError, OSError) as exc:
                unpack_error = exc
            finally:  # refused or broken half way: stop git rather than read the rest
                timer.cancel()
                if not finished and proc.poll() is None:
                    proc.kill()
                proc.stdout.close()
                proc.wait()
            if timed_out.is_set():
                raise GitSourceError(f"git archive timed out after {self.timeout}s ({self.display_url})")
            if proc.returncode != 0:
                stderr.seek(0)
                message = stderr.read(64 * 1024).decode(errors="replace").strip()
                raise GitSourceError(f"git archive failed for {self.display_url} (exit {proc.returncode}): "
                                     f"{self._redact(message)}")
            if unpack_error is not None:
                raise GitSourceError(f"unsafe or unreadable archive for {commit[:12]}: {unpack_error}")

    def _unpack(self, stream: IO[bytes], dest: Path, commit: str) -> None:
        """Write the manifests (and control files) of a tar stream to ``dest``, skipping everything
        else unread; refuse the commit once it passes a limit of ``desired.files``."""
        entries = files = total = 0
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                entries += 1
                if entries > MAX_ARCHIVE_ENTRIES:
                    raise RevisionRejected(commit, f"file limit: the tree has more than {MAX_ARCHIVE_ENTRIES} entries; "
                                                 f"expected at most {MAX_ARCHIVE_ENTRIES} (point the source at a smaller directory)")
                if not (member.isfile() or member.issym()):
                    continue
                if not (is_manifest(member.name) or member.name in self.control_files):
                    continue
                files += 1
                total += member.size
                if member.size > MAX_FILE_BYTES:
                    raise RevisionRejected(commit, f"size limit: {member.name} is {size_text(member.size)}; "
                                                 f"expected at most {size_text(MAX_FILE_BYTES)} per manifest file")
                if files > MAX_FILES:
                    raise RevisionRejected(commit, f"file limit: more than {MAX_FILES} manifest files; "
                                                 f"expected at most {MAX_FILES} in one source")
                if total > MAX_SOURCE_BYTES:
                    raise RevisionRejected(commit, f"size limit: the manifests pass {size_text(MAX_SOURCE_BYTES)} in all; "
                                                 f"expected at most {size_text(MAX_SOURCE_BYTES)} in one source")
                try:
                    tar.extract(member, dest, filter="data")
                except tarfile.FilterError as exc:  # a link out of the tree, an absolute path
                    raise RevisionRejected(commit, f"unsafe entry {member.name}: {exc}") from None

    def _prune(self) -> None:
        dirs = [d for d in self._snapshots.iterdir() if d.is_dir() and not d.name.startswith(".")]
        dirs.sort(key=lambda d: d.stat().st_mtime, reverse=True)
        live = self._current.commit if self._current else None
        for old in [d for d in dirs if d.name != live][max(self.keep - 1, 0):]:
            shutil.rmtree(old, ignore_errors=True)

    def _git(self, *args: str, cwd: Path | None = None, in_repo: bool = True, check: bool = True) -> str:
        cmd = ["git", *args] if not in_repo else ["git", f"--git-dir={self._repo}", *args]
        proc = self._run(cmd, cwd=cwd or self.workdir, check=check)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def _run(self, cmd: list[str], *, cwd: Path, check: bool = True):
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=self._git_env(), capture_output=True, text=True,
                timeout=self.timeout, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise GitSourceError(f"git {cmd[1]} timed out after {self.timeout}s ({self.display_url})") from None
        except OSError as exc:
            raise GitSourceError(f"cannot run git: {exc}") from None
        if check and proc.returncode != 0:
            stderr = proc.stderr
            verb = next((a for a in cmd[1:] if not a.startswith("-")), "git")
            raise GitSourceError(
                f"git {verb} failed for {self.display_url} (exit {proc.returncode}): "
                f"{self._redact(stderr.strip())}"
            )
        return proc

    def _redact(self, text: str) -> str:
        text = redact_url(text)
        for secret in (self._password, self._env.get(TOKEN_ENV)):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _git_env(self) -> dict[str, str]:
        env = dict(self._env, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        env.setdefault("GIT_ALLOW_PROTOCOL", "file:git:http:https:ssh")
        password = self._password or self._env.get(TOKEN_ENV)
        if password:
            env[_ASKPASS_PASS_ENV] = password
            env[_ASKPASS_USER_ENV] = self._username or self._env.get(USERNAME_ENV, "x-access-token")
            env["GIT_ASKPASS"] = str(self._askpass_helper())
        env.pop(TOKEN_ENV, None)
        return env

    def _askpass_helper(self) -> Path:
        helper = self.workdir / "askpass.sh"
        if not helper.exists():
            self.workdir.mkdir(parents=True, exist_ok=True)
            helper.write_text(_ASKPASS_SCRIPT)
            helper.chmod(stat.S_IRWXU)
        return helper
