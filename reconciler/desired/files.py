"""Which files are manifests, and how much manifest text one source may hold.

One rule for every reader of a source: the loader, the directory source's revision hash and the
git source's extraction. A file that changes the revision is a file that is loaded, and anyone who
can write to the source (push to the deploy repository) can make the controller read at most
`MAX_SOURCE_BYTES`, in at most `MAX_FILES` files of at most `MAX_FILE_BYTES` each.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

MANIFEST_SUFFIXES = (".yaml", ".yml")  # compared case-insensitively: `web.YAML` is a manifest
MAX_FILE_BYTES = 4 * 1024 * 1024  # one manifest file (a large task definition is ~64 KiB)
MAX_SOURCE_BYTES = 64 * 1024 * 1024  # every manifest file of one source together
MAX_FILES = 10_000  # manifest files in one source


def is_manifest(relative: str | PurePath) -> bool:
    """A `.yaml`/`.yml` file (any case) whose path, relative to the source root, has no hidden part
    (`.git/`, editor swap files)."""
    path = PurePath(relative)
    return path.suffix.lower() in MANIFEST_SUFFIXES and not any(part.startswith(".") for part in path.parts)


def size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


class TooLarge(Exception):
    """A file, or the source as a whole, is over its limit; the message says which and by how much."""


class ReadBudget:
    """Reads the manifest files of one source, refusing a file over `MAX_FILE_BYTES` and any file
    once the source's total would pass `MAX_SOURCE_BYTES` (sizes are checked before reading)."""

    def __init__(self, max_file: int | None = None, max_total: int | None = None) -> None:
        self.max_file = MAX_FILE_BYTES if max_file is None else max_file
        self.max_total = MAX_SOURCE_BYTES if max_total is None else max_total
        self.total = 0

    def read_text(self, file: Path) -> str:
        size = os.stat(file).st_size
        if size > self.max_file:
            raise TooLarge(f"file is {size_text(size)}; a manifest file may be at most {size_text(self.max_file)}")
        if self.total + size > self.max_total:
            raise TooLarge(f"the source's manifests pass {size_text(self.max_total)} in all with this file "
                           f"({size_text(self.total + size)}); split the manifests over several sources")
        self.total += size
        with open(file, "rb") as handle:
            data = handle.read(self.max_file + 1)  # the file may have grown since stat
        if len(data) > self.max_file:
            raise TooLarge(f"file is over {size_text(self.max_file)}, the most a manifest file may be")
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it
