"""Which files under a path this process holds open or memory-mapped."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["open_handles_under"]


def open_handles_under(path: str | os.PathLike[str]) -> list[str]:
    """Open descriptors and memory maps of files at or under ``path`` (one entry each)."""
    import psutil

    # The kernel reports canonical paths (``/proc/self/fd`` links and ``/proc/self/maps``),
    # so resolving ``path`` once and comparing strings is exact; resolving each of the
    # process's hundreds of mapped libraries made this check cost tenths of a second.
    root = os.path.realpath(path)
    prefix = root.rstrip(os.sep) + os.sep

    def inside(p: str) -> bool:
        return p == root or p.startswith(prefix)

    found = [f.path for f in psutil.Process().open_files() if inside(f.path)]
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/") and inside(parts[5].strip()):
                found.append(f"mmap:{parts[5].strip()}")
    return sorted(found)  # one entry per descriptor or mapping: a second handle on a file counts
