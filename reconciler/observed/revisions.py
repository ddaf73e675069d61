"""Task definition revisions are immutable: describe each ARN at most once per process.

An optional directory cache (`--cache-dir`) keeps them across runs (a CI plan after a CI plan);
an entry can never be stale because a revision never changes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any


class RevisionCache:
    def __init__(self, directory: str | Path | None = None):
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._dir = Path(directory) if directory else None
        if self._dir:
            self._dir.mkdir(parents=True, exist_ok=True)

    def _file(self, arn: str) -> Path:
        assert self._dir is not None
        return self._dir / (hashlib.sha256(arn.encode()).hexdigest() + ".json")

    def get(self, arn: str) -> dict[str, Any] | None:
        with self._lock:
            if arn in self._memory:
                return self._memory[arn]
        if self._dir:
            file = self._file(arn)
            if file.exists():
                try:
                    entry = json.loads(file.read_text())
                except (OSError, ValueError):
                    return None
                with self._lock:
                    self._memory[arn] = entry
                return entry
        return None

    def put(self, arn: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self._memory[arn] = entry
        if self._dir:
            tmp = self._file(arn).with_suffix(".tmp")
            tmp.write_text(json.dumps(entry, default=str, sort_keys=True))
            tmp.replace(self._file(arn))

    def __len__(self) -> int:
        return len(self._memory)
