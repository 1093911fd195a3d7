"""File access shared by backends: per-process handles, safe paths, atomic output.

* :class:`SharedFile` opens a file once per process, reads with ``os.pread`` (no
  shared file position, so any number of threads may read at once; where the OS has
  no ``pread``, a seek and read under a lock, see
  :func:`scitiff_readers.backend.positioned_read`), offers a read-only memory map,
  pickles as its path and re-opens after unpickling. It is the local
  :class:`~scitiff_readers._byteaccess.ByteSource`; remote files have
  :class:`~scitiff_readers._byteaccess.RemoteFile`.
* :func:`resolve_inside` is the one place that turns a path found *inside* a
  dataset (an NDTiff index file name, a zarr dataset path) into a real path, and
  refuses anything that would leave the dataset folder.
* :func:`atomic_output` writes under a temporary name and renames on success.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._byteaccess import is_remote, positioned_read, positioned_readinto
from .errors import CorruptFileError, OutputExistsError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["SharedFile", "atomic_output", "resolve_inside"]

#: The concrete Path class of this platform: a path of it is kept as given.
_PATH_TYPE = type(Path())


class SharedFile:
    """A read-only file opened lazily, once per process, safe for concurrent reads.

    Parameters
    ----------
    path
        The file to read.
    """

    #: Local files can be memory-mapped.
    mappable = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path if type(path) is _PATH_TYPE else Path(path)
        self._lock = threading.Lock()
        # Serialises seek + read where the OS has no pread (see byteaccess.positioned_read).
        self._seek_lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self._mmap: mmap.mmap | None = None
        self._size: int | None = None
        self._finalizer: weakref.finalize[[int, int], SharedFile] | None = None

    # -- pickling: the path only; handles are re-opened on first use --------------
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["path"])

    def _descriptor(self) -> int:
        pid = os.getpid()
        fd = self._fd
        if fd is not None and self._pid == pid:
            return fd
        with self._lock:
            if self._fd is None or self._pid != pid:
                # After a fork the inherited descriptor shares its offset with the
                # parent; pread does not use the offset, but we re-open anyway so
                # close() in one process never affects another.
                self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                self._pid = pid
                self._mmap = None
                # A SharedFile unpickled inside a dask graph has no owner to close it:
                # release the descriptor when the object is garbage-collected.
                self._finalizer = weakref.finalize(self, _close_descriptor, self._fd, pid)
            return self._fd

    def fileno(self) -> int:
        """Return the descriptor this process uses for the file (opened on first use; do not close it)."""
        return self._descriptor()

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        if self._size is None:
            self._size = os.fstat(self._descriptor()).st_size
        return self._size

    @property
    def is_open(self) -> bool:
        """Whether this process currently holds a descriptor for the file."""
        return self._fd is not None and self._pid == os.getpid()

    def pread(self, offset: int, length: int) -> bytes:
        """Read ``length`` bytes at ``offset``; raise :class:`CorruptFileError` if short."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise CorruptFileError(
                f"{self.path}: a read of {length} bytes at offset {offset} goes beyond "
                f"the end of the file ({self.size} bytes); the file is truncated or "
                "its index is corrupt"
            )
        data = positioned_read(self._descriptor(), length, offset, self._seek_lock)
        if len(data) != length:
            raise CorruptFileError(
                f"{self.path}: short read ({len(data)} of {length} bytes at offset {offset})"
            )
        return data

    def readinto(self, offset: int, out: np.ndarray) -> None:
        """Fill the C-contiguous array ``out`` with the bytes at ``offset`` (one copy, no mmap faults)."""
        length = out.nbytes
        if offset < 0 or offset + length > self.size:
            raise CorruptFileError(
                f"{self.path}: a read of {length} bytes at offset {offset} goes beyond the end "
                f"of the file ({self.size} bytes); the file is truncated or its index is corrupt"
            )
        view = memoryview(out.reshape(-1).view(np.uint8))  # type: ignore[arg-type]  # numpy's stubs do not declare ndarray a Buffer under this Python
        done = positioned_readinto(self._descriptor(), view, offset, self._seek_lock)
        if done < length:
            raise CorruptFileError(f"{self.path}: unexpected end of file at offset {offset + done}")

    def read_at_most(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer at the end of the file)."""
        return positioned_read(self._descriptor(), max(0, length), offset, self._seek_lock)

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of each ``(offset, length)`` (one positioned read each: local reads are cheap)."""
        return [self.pread(offset, length) for offset, length in ranges]

    def memmap(self) -> mmap.mmap:
        """A copy-on-write memory map of the whole file, shared by all threads.

        Views of it are writeable, as users expect of computed arrays, but writes go
        to private memory: the file is never modified.
        """
        fd = self._descriptor()
        if self._mmap is None:
            with self._lock:
                if self._mmap is None:
                    self._mmap = mmap.mmap(fd, 0, access=mmap.ACCESS_COPY)
        return self._mmap

    def array(self, offset: int, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
        """A zero-copy (copy-on-write) array view of contiguous pixels at ``offset``."""
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if offset < 0 or offset + count * dt.itemsize > self.size:
            raise CorruptFileError(
                f"{self.path}: {count * dt.itemsize} bytes of pixels at offset {offset} "
                f"go beyond the end of the file ({self.size} bytes)"
            )
        mapped = self.memmap()
        # Ask the kernel to map this range ahead: touching a fresh mapping page by page
        # otherwise costs one fault per 4 KiB and makes large copies several times slower.
        start = offset - offset % mmap.PAGESIZE
        advice = getattr(mmap, "MADV_WILLNEED", None)  # POSIX only (not on Windows)
        if advice is not None:
            with contextlib.suppress(OSError, ValueError):
                mapped.madvise(advice, start, offset + count * dt.itemsize - start)
        return np.frombuffer(mapped, dtype=dt, count=count, offset=offset).reshape(shape)

    def close(self) -> None:
        """Close the descriptor and the memory map (both re-open on the next read)."""
        with self._lock:
            if self._mmap is not None:
                # Arrays still viewing the map keep it alive; closing would raise.
                with contextlib.suppress(BufferError):
                    self._mmap.close()
                self._mmap = None
            if self._finalizer is not None:
                self._finalizer()  # closes the descriptor exactly once
                self._finalizer = None
            self._fd = None
            self._pid = None

    def __repr__(self) -> str:
        return f"SharedFile({str(self.path)!r}, open={self.is_open})"


def _close_descriptor(fd: int, pid: int) -> None:
    if os.getpid() == pid:
        with contextlib.suppress(OSError):
            os.close(fd)


def resolve_inside(root: str | os.PathLike[str], relative: str, *, what: str = "path") -> Path:
    """Resolve ``relative`` (read from inside a dataset) under ``root``, safely.

    Absolute paths, ``..`` components and symbolic links that lead outside ``root``
    raise :class:`CorruptFileError`; nothing outside ``root`` is opened.
    """
    text = str(relative).replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":") or "\x00" in text:
        raise CorruptFileError(
            f"{root}: the {what} {relative!r} found in the dataset is absolute or empty; "
            "dataset paths must be relative to the dataset folder"
        )
    if is_remote(root):
        # No symbolic links behind a URL: refusing ".." components is enough, also once
        # percent-decoded (as often as a server might: "%2E%2E/" is "../" to it).
        from urllib.parse import unquote

        decoded = text
        while unquote(decoded) != decoded:
            decoded = unquote(decoded)
        decoded = decoded.replace("\\", "/")
        if any(part == ".." for part in decoded.split("/")) or "://" in decoded or decoded.startswith("/"):
            raise CorruptFileError(
                f"{root}: the {what} {relative!r} found in the dataset points outside the "
                "dataset folder; refusing to open it"
            )
        return root / text  # type: ignore[operator, no-any-return]  # root is a RemotePath here (is_remote), whose / gives a RemotePath
    root_path = Path(root).resolve()
    try:
        candidate = (root_path / text).resolve()
    except (OSError, RuntimeError) as exc:  # a name too long, a link loop
        raise CorruptFileError(
            f"{root}: the {what} {text[:100]!r}{'...' if len(text) > 100 else ''} found in the dataset cannot "
            f"be resolved ({type(exc).__name__}: {str(exc)[:100]})"
        ) from None
    if candidate != root_path and root_path not in candidate.parents:
        raise CorruptFileError(
            f"{root}: the {what} {relative!r} found in the dataset points outside the "
            f"dataset folder (to {candidate}); refusing to open it"
        )
    return candidate


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Raises :class:`OutputExistsError` up front if ``path`` exists and ``overwrite``
    is false. On any error the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target}: the file exists; pass overwrite=True to replace it")
    if not target.parent.exists():
        raise FileNotFoundError(f"{target}: the folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        yield tmp
        _replace(tmp, target)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _replace(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; a folder (an OME-Zarr) or a folder in the way is set aside first.

    ``os.replace`` swaps files atomically but cannot replace a non-empty folder, nor
    a file with a folder: the old target is renamed aside, the new one renamed in,
    and only then is the old one deleted (if the second rename fails, the old one is
    put back).
    """
    if not (tmp.is_dir() or target.is_dir()) or not (target.exists() or target.is_symlink()):
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.old")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    _remove(old)
