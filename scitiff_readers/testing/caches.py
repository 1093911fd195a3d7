"""File-cache helpers for tests that rewrite files and re-open them quickly."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from .. import _filecache as filecache

__all__ = ["let_files_age", "short_cache_window"]


@contextlib.contextmanager
def short_cache_window(seconds: float = 0.2) -> Iterator[float]:
    """Shorten the "recently changed, never cached" window and start with empty caches.

    Files changed less than :data:`scitiff_readers._filecache.RACY_SECONDS` ago are never
    cached; tests shorten that window (instead of sleeping 2 s) and then call
    :func:`let_files_age` when a file must become cacheable.
    """
    previous = filecache.RACY_SECONDS
    # A constant for the library; only tests change it (setattr: it is Final for mypy).
    setattr(filecache, "RACY_SECONDS", seconds)  # noqa: B010
    filecache.clear_file_caches()
    try:
        yield seconds
    finally:
        setattr(filecache, "RACY_SECONDS", previous)  # noqa: B010
        filecache.clear_file_caches()


def let_files_age() -> None:
    """Sleep until files written so far have left the (shortened) recently-changed window."""
    time.sleep(filecache.RACY_SECONDS + 0.05)
