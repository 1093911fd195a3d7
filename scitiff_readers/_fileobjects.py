"""Seekable binary file objects (``open(p, "rb")``, ``io.BytesIO``, ...) as locations to read from.

A file object becomes a :class:`~scitiff_readers._byteaccess.RemotePath` on a small
fsspec file system of this process (protocol :data:`PROTOCOL`) that serves exactly
that object: the backends then read it like any URL, through
:class:`~scitiff_readers._byteaccess.RemoteFile` (read-ahead for headers, exact
ranges for pixels), without knowing it is a file object. Reads seek and read under
a lock and put the object's position back, so the caller's own use of the object
is undisturbed.

Such a location is one file with no folder around it: folder formats (NDTiff,
OME-Zarr, VISoR) and datasets naming other files cannot be read from it, and a
reader on it cannot be sent to another process (the object stays in this one).

fsspec's own file objects (``fsspec.open(url).open()``, ``fs.open(path)``) are not
handled here: :func:`scitiff_readers._byteaccess.as_location` reads their URL through
their file system directly.
"""

from __future__ import annotations

import contextlib
import io
import threading
import uuid
import weakref
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import FileObjectError, MetadataError, UnsupportedFormatError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._byteaccess import RemotePath

__all__ = [
    "LIMITS",
    "PROTOCOL",
    "FileObjectError",
    "is_file_object",
    "is_file_object_location",
    "location_of",
    "reader_limits",
]

#: The URL scheme of file-object locations (``scitiff-fileobj://<id>/<name>``).
PROTOCOL = "scitiff-fileobj"


#: What a file object cannot hold, for error messages.
LIMITS = (
    "formats stored as folders or as several files (NDTiff, OME-Zarr, VISoR, multi-file OME-TIFF) "
    "need a path or URL, not a file object"
)


def is_file_object_location(path: Any) -> bool:
    """Whether ``path`` is a location made by :func:`location_of`."""
    return str(getattr(path, "protocol", "")) == PROTOCOL


@contextmanager
def reader_limits(path: Any, reader: str) -> Iterator[None]:
    """Around a reader's open: on a file object, "no such file / not this format" says why.

    A backend of a folder format looks for files beside the one it was given, which a
    file object does not have; its error becomes an :class:`UnsupportedFormatError`
    that says so.
    """
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, UnsupportedFormatError, MetadataError) as exc:
        if not is_file_object_location(path) or isinstance(exc, FileObjectError):
            raise
        raise UnsupportedFormatError(
            f"{path}: the {reader!r} reader cannot read this file object ({exc}); {LIMITS}"
        ) from exc


def is_file_object(obj: Any) -> bool:
    """Whether ``obj`` looks like a binary file object (has ``read`` and ``seek``)."""
    return callable(getattr(obj, "read", None)) and callable(getattr(obj, "seek", None))


class _Entry:
    """One registered file object, with the lock its positioned reads take."""

    def __init__(self, fh: Any, name: str) -> None:
        self.fh = fh
        self.name = name
        self.lock = threading.Lock()
        with self.lock:
            here = fh.tell()
            try:
                self.size = int(fh.seek(0, io.SEEK_END))
            finally:
                fh.seek(here)

    def read(self, start: int, end: int) -> bytes:
        with self.lock:
            here = self.fh.tell()
            try:
                self.fh.seek(start)
                parts = []
                remaining = end - start
                while remaining > 0:
                    chunk = self.fh.read(remaining)
                    if not chunk:
                        break
                    parts.append(bytes(chunk))
                    remaining -= len(chunk)
                return b"".join(parts)
            finally:
                self.fh.seek(here)


# The entries of the live file-object locations of this process (kept alive by
# their file systems, which the RemotePath objects hold).
_entries: weakref.WeakValueDictionary[str, _Entry] = weakref.WeakValueDictionary()


def _filesystem_class() -> type:
    from fsspec import AbstractFileSystem

    class FileObjectFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped: its base class is Any to mypy
        """The one-file "file system" of a file object: ``scitiff-fileobj://<id>/<name>``."""

        protocol = PROTOCOL
        cachable = False

        def __init__(self, entry_id: str | None = None, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            # Held strongly: the object lives as long as a location uses it.
            self._entry = _entries.get(entry_id) if entry_id else None

        def _find(self, path: str) -> _Entry:
            path = self._strip_protocol(path)
            key, _, name = path.partition("/")
            entry = _entries.get(key)
            if entry is None:
                raise FileObjectError(
                    f"{PROTOCOL}://{key}/{name}: this location is a file object of another process (or one "
                    "no longer open); readers of file objects cannot be sent to other processes"
                )
            if name != entry.name:
                raise FileNotFoundError(
                    2, "No such file (a file object has no other files beside it)", f"{PROTOCOL}://{path}"
                )
            return entry

        def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
            entry = self._find(path)
            return {"name": self._strip_protocol(path), "size": entry.size, "type": "file"}

        def isdir(self, path: str) -> bool:
            return False

        def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
            raise NotADirectoryError(
                f"{PROTOCOL}://{self._strip_protocol(path)}: a file object has no folder"
            )

        def cat_file(
            self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
        ) -> bytes:
            entry = self._find(path)
            start = 0 if start is None else (start if start >= 0 else entry.size + start)
            end = entry.size if end is None else (end if end >= 0 else entry.size + end)
            return entry.read(max(0, start), min(end, entry.size))

    return FileObjectFileSystem


_fs_class: type | None = None
# The location of each file object given (selecting the reader and opening it resolve
# the object twice: one location, so they share its read-ahead blocks).
# Values are keys of _entries (not locations, which would keep the object alive).
_locations: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def location_of(fh: Any) -> RemotePath:
    """A :class:`~scitiff_readers._byteaccess.RemotePath` reading the binary file object ``fh``.

    Raises
    ------
    FileObjectError
        If ``fh`` is a text stream, not seekable, or not readable.
    """
    global _fs_class
    from ._byteaccess import RemotePath

    try:
        known = _locations.get(fh)
    except TypeError:  # an object without weak references: no re-use
        known = None
    entry = _entries.get(known) if known is not None else None
    if known is not None and entry is not None and _fs_class is not None:
        return RemotePath(f"{PROTOCOL}://{known}/{entry.name}", fs=_fs_class(known))
    if isinstance(fh, io.TextIOBase):
        raise FileObjectError(f"{fh!r}: a text-mode file object; open the file in binary mode ('rb')")
    if getattr(fh, "closed", False):
        raise FileObjectError(f"{fh!r}: the file object is closed")
    seekable = getattr(fh, "seekable", None)
    readable = getattr(fh, "readable", None)
    if (callable(seekable) and not seekable()) or (callable(readable) and not readable()):
        raise FileObjectError(f"{fh!r}: the file object must be readable and seekable (a random-access file)")
    raw_name = getattr(fh, "name", None)
    name = (
        str(raw_name).replace("\\", "/").rsplit("/", 1)[-1] if isinstance(raw_name, str) and raw_name else ""
    )
    name = name or "file-object"
    try:
        entry = _Entry(fh, name)
    except (OSError, ValueError, AttributeError) as exc:
        raise FileObjectError(f"{fh!r}: cannot find the size of the file object ({exc})") from exc
    key = uuid.uuid4().hex[:16]
    _entries[key] = entry
    if _fs_class is None:
        import fsspec

        _fs_class = _filesystem_class()
        fsspec.register_implementation(PROTOCOL, _fs_class, clobber=True)
    location = RemotePath(f"{PROTOCOL}://{key}/{name}", fs=_fs_class(key))
    with contextlib.suppress(TypeError):  # an object without weak references: not remembered
        _locations[fh] = key
    return location
