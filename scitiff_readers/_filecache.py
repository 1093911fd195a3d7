"""Per-process caches of facts read from files, keyed so that a changed file is never served stale.

Selecting a reader sniffs a file several times (one ``can_open`` per candidate
backend), and opening the same file again (a loop over readers, a reader re-created
from a pickle in a worker) parses the same header and metadata again. A
:class:`FileCache` keeps such parsed facts per file and hands them back only while
the file is provably unchanged:

* the entry is keyed by the absolute path and stored with the file's identity
  ``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)``, re-checked with one
  ``stat`` on every look-up; any write, truncation, replacement (new inode) or
  ``touch`` changes the identity, and ``st_ctime`` cannot be set back by a user;
* files changed less than :data:`RACY_SECONDS` ago are never cached ("racy"
  files, as git calls them): a file system's timestamps are coarse (a few ms on
  ext4, 2 s on FAT), so a rewrite within the same tick, with the same size, would
  not change the identity. Such files are simply parsed every time.

Only values that depend on the file's bytes alone may be cached (not, for example,
whether a sibling file exists).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Final

__all__ = [
    "MISSING",
    "RACY_SECONDS",
    "FileCache",
    "cacheable",
    "clear_file_caches",
    "file_identity",
    "file_stamp",
]

#: Files whose mtime or ctime is more recent than this are never cached.
RACY_SECONDS: Final = 2.0

#: Returned by :meth:`FileCache.get` when nothing valid is cached (``None`` is a valid value).
MISSING: Final = object()

Identity = tuple[int, int, int, int, int]

# Weak references in a list, not a WeakSet: clear_file_caches runs before every
# "never-opened" measurement, and a WeakSet's iteration guard costs more than the clearing.
_all_caches: list[weakref.ref[FileCache]] = []


def file_stamp(path: str | os.PathLike[str]) -> Identity | None:
    """``(st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)`` of a regular file, else ``None``.

    Two equal stamps taken at different times mean the file was (almost certainly)
    not changed in between; see :func:`file_identity` for the exception.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError, TypeError):  # TypeError: a remote location (no stamp, never cached)
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_identity(path: str | os.PathLike[str]) -> Identity | None:
    """The :func:`file_stamp` of a file that may be cached, else ``None``.

    ``None`` also for a file changed less than :data:`RACY_SECONDS` ago (or with a
    timestamp in the future): a rewrite within the file system's timestamp
    granularity, with the same size, would leave its stamp unchanged.
    """
    return cacheable(file_stamp(path))


def cacheable(stamp: Identity | None) -> Identity | None:
    """``stamp`` if its file may be cached (see :func:`file_identity`), else ``None``."""
    if stamp is None or time.time_ns() - max(stamp[3], stamp[4]) < RACY_SECONDS * 1e9:
        return None
    return stamp


class FileCache:
    """A small thread-safe LRU cache of values derived from one file's content.

    Parameters
    ----------
    name
        What is cached (for ``repr``).
    max_entries
        Most files kept.
    max_bytes
        Budget for the values' declared sizes (see :meth:`put`); the least recently
        used entries are dropped beyond it.
    """

    def __init__(self, name: str, *, max_entries: int = 64, max_bytes: int = 64 * 2**20) -> None:
        self.name = name
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[Identity, Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        _all_caches.append(weakref.ref(self))

    @staticmethod
    def _key(path: str | os.PathLike[str]) -> str:
        return os.path.abspath(os.fspath(path))

    def get(self, path: str | os.PathLike[str], identity: Identity | None = None) -> Any:
        """The value cached for ``path`` if the file is unchanged, else :data:`MISSING`.

        ``identity`` may be passed when the caller has just computed it (saves a ``stat``).
        """
        key = self._key(path)
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return MISSING
        current = identity if identity is not None else file_identity(key)
        with self._lock:
            if current is None or current != entry[0]:
                self._drop(key)
                return MISSING
            if key in self._entries:
                self._entries.move_to_end(key)
        return entry[1]

    def put(
        self, path: str | os.PathLike[str], identity: Identity | None, value: Any, nbytes: int = 0
    ) -> None:
        """Cache ``value`` for ``path`` as it was at ``identity`` (nothing if ``identity`` is ``None``).

        ``identity`` must have been taken *before* the file was read, so that a file
        changed while it was read is stored under its old identity and never matches.
        """
        if identity is None or nbytes > self.max_bytes:
            return
        key = self._key(path)
        with self._lock:
            self._drop(key)
            self._entries[key] = (identity, value, nbytes)
            self._bytes += nbytes
            while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[2]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"FileCache({self.name!r}, {len(self)} files, {self._bytes} bytes)"


def clear_file_caches() -> None:
    """Forget everything every :class:`FileCache` of this process holds."""
    for ref in tuple(_all_caches):
        cache = ref()
        if cache is None:
            with contextlib.suppress(ValueError):  # another thread pruned it first
                _all_caches.remove(ref)
        else:
            cache.clear()
