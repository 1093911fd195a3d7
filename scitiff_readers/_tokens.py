"""Stable names for a file's pixels in dask graphs: one rule for every backend.

Two readers of the same unchanged file give their sources the same token, so equal
files give equal graph names (and dask can share work between them); a file
rewritten in place gets a new token, because its modification time or size changed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["file_token"]


def file_token(
    kind: str,
    path: str | os.PathLike[str],
    *parts: Any,
    stamp_from: Iterable[str | os.PathLike[str]] | None = None,
    mtime_size: tuple[int, int] | None = None,
) -> str:
    """Return ``"<kind>-<absolute path>-<mtime_ns>-<size>-<parts>..."``.

    Parameters
    ----------
    kind
        The backend's prefix (``"tiff"``, ``"zarr"`` ...).
    path
        The file or dataset folder the pixels come from.
    *parts
        What tells sources of one file apart (scene, level, options).
    stamp_from
        Files whose modification time and size stand for the dataset (a folder's
        index or metadata file); the first one that exists is used. Default: ``path``.
        ``"missing"`` when none exists.
    mtime_size
        ``(st_mtime_ns, st_size)`` of ``path`` when the caller has just taken them
        (no ``stat`` then).
    """
    from ._byteaccess import is_remote

    if is_remote(path):
        return _remote_token(kind, path, parts, stamp_from)
    stamp = "missing" if mtime_size is None else f"{mtime_size[0]}-{mtime_size[1]}"
    for candidate in () if mtime_size is not None else stamp_from if stamp_from is not None else (path,):
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        stamp = f"{st.st_mtime_ns}-{st.st_size}"
        break
    # abspath, not realpath: resolving symbolic links costs more than the rest of a
    # small file's open, and two names for one file only cost dask a shared graph.
    return "-".join([kind, os.path.abspath(path), stamp, *map(str, parts)])


def _remote_token(kind: str, path: Any, parts: tuple[Any, ...], stamp_from: Iterable[Any] | None) -> str:
    """The token of a remote location.

    Its URL shown without secrets, a digest of the full URL, and the server's ETag /
    modification time and size of the first ``stamp_from`` that exists.
    """
    import hashlib

    stamp = "missing"
    for candidate in stamp_from if stamp_from is not None else (path,):
        try:
            info = candidate.info()
        except OSError:
            continue
        changed = info.get("ETag") or info.get("LastModified") or info.get("mtime") or ""
        stamp = f"{changed}-{info.get('size')}"
        break
    digest = hashlib.sha1(path.url.encode()).hexdigest()[:12]
    return "-".join([kind, str(path), digest, stamp, *map(str, parts)])
