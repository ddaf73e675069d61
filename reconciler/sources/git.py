"""Manifests from a git branch, materialised one immutable commit at a time.

The controller must only ever apply what was committed and pushed, so this source never reads a
working tree: it fetches into a private bare repository, resolves ``origin/<branch>`` to a commit
and extracts that commit's tree with ``git archive`` into a per-commit directory. Credentials come
from the environment and reach git through an askpass helper (never argv or ``.git/config``);
every URL or git message that leaves this module has its secrets redacted first.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import stat
import subprocess
import tarfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

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


class GitSourceError(RuntimeError):
    """A git operation failed; the message is already redacted and safe to log or show."""


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
        self._env = dict(os.environ if env is None else env)
        self._repo = self.workdir / "repo.git"
        self._snapshots = self.workdir / "snapshots"
        self._current: Snapshot | None = None
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
            if self._current is not None and self._current.commit == commit:
                return None
            snapshot = self._materialise(commit)
            self._current = snapshot
            self._prune()
            log.info("git source %s#%s now at %s", self.display_url, self.branch, commit[:12])
            return snapshot

    def watch(self, stop_event: threading.Event, on_change: Callable[[Snapshot], None]) -> None:
        """Poll every ``poll_interval`` (or sooner after ``wake``) until ``stop_event`` is set."""
        while not stop_event.is_set():
            try:
                snapshot = self.poll()
                if snapshot is not None:
                    on_change(snapshot)
            except GitSourceError as exc:
                log.warning("git poll failed: %s", exc)
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
            if self.path and self._holds_kustomization(commit):
                # An overlay builds on bases elsewhere in the repository (../../base): extract it all.
                self._extract(f"{commit}^{{tree}}", tmp)
            else:
                self._extract(treeish, tmp / self.path)
            tmp.rename(target)
        meta = self._git("show", "-s", "--format=%an <%ae>%x00%B", commit)
        author, _, message = meta.partition("\x00")
        return Snapshot(commit=commit, path=manifests, message=message.strip(), author=author)

    def _holds_kustomization(self, commit: str) -> bool:
        from .kustomize import KUSTOMIZATION_FILES

        return any(self._git("cat-file", "-t", f"{commit}:{self.path}/{name}", check=False) == "blob"
                   for name in KUSTOMIZATION_FILES)

    def _extract(self, treeish: str, dest: Path) -> None:
        proc = self._run(["git", f"--git-dir={self._repo}", "archive", "--format=tar", treeish],
                         cwd=self.workdir, binary=True)
        try:
            with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
                tar.extractall(dest, filter="data")
        except tarfile.TarError as exc:
            raise GitSourceError(f"unsafe or unreadable archive for {treeish[:12]}: {exc}") from None

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

    def _run(self, cmd: list[str], *, cwd: Path, check: bool = True, binary: bool = False):
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=self._git_env(), capture_output=True, text=not binary,
                timeout=self.timeout, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise GitSourceError(f"git {cmd[1]} timed out after {self.timeout}s ({self.display_url})") from None
        except OSError as exc:
            raise GitSourceError(f"cannot run git: {exc}") from None
        if check and proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace") if binary else proc.stderr
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
