"""The one guarded entry point into tifffile: opening a file, walking its IFD chain, decoding a page.

tifffile trusts the file it parses. On a damaged or hostile TIFF it raises its own
``TiffFileError`` and a range of builtins (``struct.error``, ``ValueError``,
``IndexError``, ``TypeError``, ``RuntimeError: incompatible keyframe``,
``OverflowError`` ...), and a next-IFD pointer back to an earlier IFD makes it walk
the chain forever. Every module of the core and of the plugins that builds a
``tifffile.TiffFile`` or decodes with tifffile goes through this module (a test of
the repository, ``tests/test_guards.py``, fails on a direct call elsewhere):

* :func:`open_tifffile` builds the ``TiffFile`` (local path, or a file object over a
  remote file), maps what tifffile raises to a typed error naming the file, and
  installs the IFD-chain guard;
* :func:`guard_ifd_chain` is that guard, for a ``TiffFile`` made elsewhere;
* :func:`tifffile_errors` wraps the accesses that follow (``tif.series``,
  ``tif.pages[i]``, ``page.asarray()``, keyframes) and names the page;
* :func:`page_at` builds tifffile's page for an IFD offset (SubIFDs);
* :func:`page_decoder` builds tifffile's segment decoder for the page at an IFD offset.

tifffile is imported only when one of them is called (``import scitiff_readers``
imports no tifffile).
"""

from __future__ import annotations

import contextlib
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._byteaccess import file_argument
from ._guards import library_errors
from .errors import CorruptFileError

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator

    from numpy.typing import NDArray

    #: tifffile's ``TiffPage.decode``: ``(segment bytes, index, jpegtables=) -> (array or None, index, shape)``.
    SegmentDecoder = Callable[..., tuple[NDArray[Any] | None, Any, tuple[int, ...]]]

__all__ = ["guard_ifd_chain", "open_tifffile", "page_at", "page_decoder", "tifffile_errors"]


def open_tifffile(path: str | os.PathLike[str], *, omexml: str | None = None, **flags: Any) -> Any:
    """``tifffile.TiffFile(path)``, guarded: typed errors, and the IFD chain checked for loops.

    Parameters
    ----------
    path
        Local path or remote location (read through :func:`file_argument`).
    omexml
        OME-XML that replaces the file's own (companion files), as tifffile allows.
    **flags
        tifffile's format flags (``is_ome=False``, ``is_mmstack=False`` ...).

    Returns
    -------
    tifffile.TiffFile
        Open, with :func:`guard_ifd_chain` installed; the caller closes it.

    Raises
    ------
    CorruptFileError
        If tifffile cannot parse the header or the first IFD (whatever it raises:
        ``TiffFileError``, ``struct.error``, ``ValueError`` ...), naming the file.
    FileNotFoundError, PermissionError, OSError
        Unchanged: the file is missing or the disk failed, not the file's content.
    """
    import tifffile

    with library_errors(path, "not a readable TIFF file"):
        source = file_argument(path)
        tif = (
            tifffile.TiffFile(source, omexml=omexml, **flags)
            if omexml
            else tifffile.TiffFile(source, **flags)
        )
    return guard_ifd_chain(tif, path)


@contextmanager
def tifffile_errors(path: str | os.PathLike[str], page: int | None = None, what: str = "") -> Iterator[None]:
    """Re-raise what tifffile (or code reading its results) raises in the block as a typed error.

    The message names ``path`` and, when given, the ``page`` (IFD number) and ``what``
    was being read; see :func:`scitiff_readers.backend.typed_error` for the mapping.
    """
    where = what or "parsing the TIFF structure"
    if page is not None:
        where = f"page {page}: {where}"
    with library_errors(path, where):
        yield


def page_decoder(path: str | os.PathLike[str], ifd_offset: int) -> tuple[SegmentDecoder, Any]:
    """The segment decoder (tifffile's) and JPEG tables of the page whose IFD is at ``ifd_offset``.

    The decoder closure keeps the page's properties, not the file handle: the file is
    closed on return.
    """
    with open_tifffile(path) as tif:
        page = page_at(tif, ifd_offset, 0)
        return page.decode, page.jpegtables


def page_at(tif: Any, ifd_offset: int, index: int | tuple[int, ...]) -> Any:
    """The tifffile page for the IFD at ``ifd_offset`` of the open ``tif`` (a SubIFD, a page by offset).

    ``index`` is the page's number as tifffile names it (``(page, level)`` for a
    SubIFD). What tifffile raises on a bad IFD becomes a typed error naming the file
    and the offset.
    """
    import tifffile

    with tifffile_errors(str(tif.filehandle.path), what=f"the IFD at offset {ifd_offset}"):
        tif.filehandle.seek(ifd_offset)
        return tifffile.TiffPage(tif, index)


def guard_ifd_chain(tif: Any, path: str | os.PathLike[str]) -> Any:
    """Install the IFD-chain guard on ``tif.pages``; return ``tif``.

    tifffile follows next-IFD pointers as pages are asked for and catches a loop
    only in some cases (it compares offsets once, at the 100th IFD): a pointer back
    to an earlier IFD makes iterating the pages (any series over all pages) spin
    forever, and a page asked for by number comes back as an earlier page. The
    guard wraps the pages' ``_seek`` (the one place tifffile walks the chain): every
    IFD offset it discovers is checked once (a set lookup) and the first repeat
    raises :class:`~scitiff_readers.errors.CorruptFileError`.
    """
    pages: Any = getattr(tif, "pages", None)
    seek = getattr(pages, "_seek", None)
    if seek is None or not isinstance(getattr(pages, "_offsets", None), list) or hasattr(seek, "_sr_guard"):
        return tif  # a tifffile without these internals: unguarded (tests would show it)
    seen: set[int] = set()
    done = [0]

    def guarded_seek(index: int) -> Any:
        result = seek(index)
        offsets = pages._offsets
        if done[0] > len(offsets):  # tifffile dropped an offset it found corrupt: recount
            seen.clear()
            done[0] = 0
        for i in range(done[0], len(offsets)):
            offset = offsets[i]
            if offset in seen:
                raise CorruptFileError(
                    f"{path}: the TIFF's IFD chain loops: IFD {i} points back to IFD {offsets.index(offset)} "
                    f"(offset {offset}); the file is corrupt"
                )
            seen.add(offset)
        done[0] = len(offsets)
        return result

    guarded_seek._sr_guard = True  # type: ignore[attr-defined]  # a marker attribute on the function object
    with contextlib.suppress(AttributeError):
        pages._seek = guarded_seek  # the instance attribute shadows TiffPages._seek
    return tif
