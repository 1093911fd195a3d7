"""Guards against hostile files: typed errors, bounded allocations, confined paths.

Every library that parses file content (tifffile, zarr and numcodecs, json, the
XML parsers) can fail in its own way on a damaged or malicious file: with its own
exception classes, with builtins (``RuntimeError``, ``struct.error``,
``RecursionError``, ``OverflowError`` ...), by allocating what a length field
claims, or by following a name or a link out of the dataset. This module is the
one place that turns those into the project's typed errors:

* :func:`library_errors` wraps a call into a library and re-raises anything it
  throws as a :class:`~scitiff_readers.errors.CorruptFileError` (or
  :class:`~scitiff_readers.errors.MetadataError` for nesting, or
  :class:`~scitiff_readers.errors.ImageTooLargeError` for memory) that names the
  file and what was being read.
* :func:`check_allocation` refuses, before allocating, an array larger than the
  memory this process may use.
* :func:`check_inside` refuses a file or folder whose real location (symbolic
  links followed) is outside the dataset folder it belongs to.
* :func:`load_json` parses JSON text with nesting and size errors typed.

The core uses them at its boundaries (opening a reader, every pixel read), so no
backend can leak an untyped error; backends use them where they call a library,
so errors name the page, chunk or entry.
"""

from __future__ import annotations

import errno
import json
import os
import struct
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CorruptFileError, ImageTooLargeError, MetadataError, ScitiffReadersError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["check_allocation", "check_inside", "library_errors", "load_json", "memory_limit", "typed_error"]

#: Longest message text kept from a library's exception (names can be 5,000 characters).
_MAX_TEXT = 300

#: ``OSError`` numbers that mean "this path, found in the dataset, is broken" rather
#: than "the disk or the permissions failed": they become :class:`CorruptFileError`.
_PATH_ERRNOS = {errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EINVAL}


def _short(exc: BaseException) -> str:
    text = str(exc)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + f"... ({len(text)} characters)"
    return f"{type(exc).__name__}: {text}"


def typed_error(exc: BaseException, path: str | os.PathLike[str], what: str) -> Exception:
    """The typed error for ``exc``, raised by a library while reading ``what`` of ``path``.

    Errors of this project are returned unchanged; so are ``FileNotFoundError``
    and ``PermissionError``, which say what they mean. Everything else becomes a
    subclass of :class:`~scitiff_readers.errors.ScitiffReadersError` that also
    inherits the builtin a caller would expect (``ValueError`` or ``MemoryError``).
    """
    if isinstance(exc, (ScitiffReadersError, FileNotFoundError, PermissionError)):
        return exc
    if isinstance(exc, RecursionError):
        return MetadataError(f"{path}: {what}: the metadata is nested too deeply to be real ({_short(exc)})")
    if isinstance(exc, MemoryError):
        return ImageTooLargeError(
            f"{path}: {what}: the sizes the file declares need more memory than is available ({_short(exc)})"
        )
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno not in _PATH_ERRNOS:
        return exc  # a real I/O failure (EIO, ENOSPC ...), not the file's fault
    if isinstance(exc, (OverflowError, struct.error, ZeroDivisionError, IndexError, KeyError, TypeError)):
        return CorruptFileError(
            f"{path}: {what}: a size, offset or field of the file is invalid ({_short(exc)})"
        )
    return CorruptFileError(
        f"{path}: {what}: the file is damaged or not what it claims to be ({_short(exc)})"
    )


@contextmanager
def library_errors(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Re-raise what the block raises as a typed error naming ``path`` and ``what`` (see :func:`typed_error`)."""
    try:
        yield
    except Exception as exc:
        typed = typed_error(exc, path, what)
        if typed is exc:
            raise
        raise typed from exc


def memory_limit() -> int:
    """Bytes this process may still allocate: physical memory, or what an address-space limit leaves."""
    limit = _physical_memory()
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            left = max(0, soft - _address_space())
            limit = min(limit, left) if limit else left
    except (ImportError, OSError, ValueError):  # pragma: no cover - Windows
        pass
    return limit or 2**63 - 1


def _address_space() -> int:
    """Bytes of address space this process uses now (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - Windows
        return 0


def check_allocation(
    nbytes: int,
    path: str | os.PathLike[str] | None,
    what: str,
    advice: str = "read a selection (get_image_data(..., Z=0)) or use dask_data",
) -> None:
    """Refuse, before allocating, ``nbytes`` that this process cannot hold.

    Raises
    ------
    ImageTooLargeError
        If ``nbytes`` exceeds :func:`memory_limit`; the message says to read a
        selection or use the lazy (dask) array instead.
    """
    if nbytes < 2**24:
        return  # small: never worth a system call
    limit = memory_limit()
    if nbytes > limit:
        where = f"{path}: " if path is not None else ""
        raise ImageTooLargeError(
            f"{where}{what} would need {nbytes / 2**30:.1f} GiB, more than this process can allocate "
            f"({limit / 2**30:.1f} GiB); {advice}"
        )


def check_inside(root: str | os.PathLike[str], path: str | os.PathLike[str], what: str) -> Path:
    """Return ``path`` if its real location (links followed) is inside ``root``'s; else refuse.

    ``root`` is itself resolved first: a link the user made to a whole dataset is
    followed, and everything in the dataset must then be inside that real folder.
    A path that does not exist is returned as given (the caller reports it missing).

    Raises
    ------
    CorruptFileError
        If ``path`` is, or passes through, a symbolic link that leads outside
        ``root`` (or loops).
    """
    from ._byteaccess import is_remote

    if is_remote(path) or is_remote(root):
        # No symbolic links behind a URL; names found in files are checked for ".."
        # by resolve_inside where they are joined to the dataset's location.
        return path  # type: ignore[return-value]  # a RemotePath, which stands in for Path (same operators and methods)
    p = Path(path)
    try:
        real = Path(os.path.realpath(p, strict=True))
    except FileNotFoundError:
        if not os.path.lexists(p):
            return p
        raise CorruptFileError(f"{p}: the {what} is a symbolic link to nothing") from None
    except OSError as exc:
        raise CorruptFileError(f"{p}: the {what} cannot be resolved ({_short(exc)})") from None
    base = os.path.realpath(root)
    if real != Path(base) and not str(real).startswith(base.rstrip(os.sep) + os.sep):
        raise CorruptFileError(
            f"{p}: the {what} is a symbolic link (or inside one) that leads outside the dataset folder "
            f"{root} (to {real}); refusing to read it"
        )
    return p


def load_json(text: str | bytes, path: str | os.PathLike[str], what: str) -> Any:
    """``json.loads(text)`` with nesting that exhausts the stack reported as :class:`MetadataError`.

    Syntax errors stay ``json.JSONDecodeError`` (a ``ValueError``) for the caller
    to word; the caller knows what the document is.
    """
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise MetadataError(f"{path}: the {what} is nested too deeply to be real metadata") from exc
