"""Multi-file OME-TIFF datasets behind a URL: OME ``TiffData`` mapped to the pages of every file.

Locally, tifffile maps a multi-file dataset itself, but it opens the other files by
local path name (the folder joined with the ``UUID`` ``FileName``), which cannot
reach a URL. For a remote dataset this module does the same mapping -- each
``TiffData`` block puts ``PlaneCount`` consecutive IFDs of its file from ``IFD`` on
at its ``First*`` plane, planes counted in ``DimensionOrder`` -- with every file
opened through the byte-access layer (only its IFDs are fetched) and confined to
the dataset folder (:func:`scitiff_readers._files.resolve_inside`: no ``..``, no
absolute names, no other URL).

SubIFD pyramid levels are mapped as tifffile maps them locally: level ``k`` of a
plane is the ``k``-th SubIFD of its full-resolution page (:func:`level_sources`),
read from the same file; a level stops where a plane has no such SubIFD.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import resolve_inside
from scitiff_readers.errors import CorruptFileError, MetadataError

from .common import open_tiff
from .source import TiffPageSource

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from .omexml import OmeImageInfo

__all__ = ["DatasetFiles", "image_sources", "is_multifile", "level_sources"]


def is_multifile(infos: Sequence[OmeImageInfo], own: str | None) -> bool:
    """Whether the images name a file other than ``own`` (the TIFF holding the XML)."""
    return any(name != own for info in infos for name in info.files)


class DatasetFiles:
    """The open TIFF files of one dataset, by ``FileName`` (each opened once, closed together).

    Parameters
    ----------
    folder
        The dataset folder (a :class:`~scitiff_readers._byteaccess.RemotePath`).
    holder
        The open ``TiffFile`` the reader started from: blocks naming its file, or no
        file at all, are its pages.
    """

    def __init__(self, folder: Path, holder: Any) -> None:
        self.folder = folder
        self.holder = holder
        self.holder_name = os.path.basename(str(holder.filehandle.path))
        self._opened: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        """The open ``TiffFile`` named ``name`` in the dataset folder."""
        if not name or name == self.holder_name:
            return self.holder
        tif = self._opened.get(name)
        if tif is None:
            path = resolve_inside(self.folder, name, what="OME TiffData UUID FileName")
            tif = self._opened[name] = open_tiff(path, is_ome=False)
        return tif

    def close(self) -> None:
        """Close the files this object opened (not the holder)."""
        for tif in self._opened.values():
            tif.close()
        self._opened.clear()


def _int(block: dict[str, str], key: str, default: int, where: str) -> int:
    try:
        value = int(block.get(key, default))
    except ValueError:
        raise MetadataError(f"{where}: TiffData {key}={block.get(key)!r} is not a number") from None
    if value < 0:
        raise MetadataError(f"{where}: TiffData {key}={value} is negative")
    return value


def image_sources(
    info: OmeImageInfo, files: DatasetFiles, tokens: Callable[[int], str], where: Path
) -> list[TiffPageSource]:
    """Sources over the pages of every file of one OME image (``TCZYX``, plus ``S`` for RGB).

    The full resolution first, then its SubIFD levels (:func:`level_sources`);
    ``tokens(k)`` is the graph name of level ``k``.

    Planes no ``TiffData`` block covers read as zeros, as tifffile reads them.

    Raises
    ------
    MetadataError
        If a block's numbers are not usable, or no block maps any page.
    CorruptFileError
        If a block names IFDs its file does not have, or a file is not a readable TIFF.
    """
    blocks = info.tiff_data
    if not blocks:
        raise MetadataError(f"{where}: the OME image {info.id} has no TiffData")
    first = files.get(blocks[0].get("FileName", ""))
    first_ifd = _int(blocks[0], "IFD", 0, str(where))
    if first_ifd >= len(first.pages):
        raise CorruptFileError(f"{where}: the OME image {info.id} starts at IFD {first_ifd}, beyond the file")
    samples = int(first.pages[first_ifd].samplesperpixel)
    size = info.size
    sizes = {"Z": size["Z"], "C": max(1, size["C"] // samples), "T": size["T"]}
    slow_first = info.dimension_order[2:][::-1]  # e.g. "TCZ" for XYZCT
    loop_shape = tuple(sizes[d] for d in slow_first)
    n = int(np.prod(loop_shape))
    flat = np.full(n, None, dtype=object)
    for block in blocks:
        tif = files.get(block.get("FileName", ""))
        ifd = _int(block, "IFD", 0, str(where))
        count = _int(
            block, "PlaneCount", _int(block, "NumPlanes", 1 if "IFD" in block else 0, str(where)), str(where)
        )
        try:
            start = int(
                np.ravel_multi_index(
                    [_int(block, f"First{d}", 0, str(where)) for d in slow_first], loop_shape
                )
            )
        except ValueError:
            raise MetadataError(
                f"{where}: a TiffData block of {info.id} starts outside the image "
                f"({ {k: v for k, v in block.items() if k.startswith('First')} })"
            ) from None
        pages = tif.pages
        if count == 0:  # "all remaining planes" of that file
            count = len(pages) - ifd
        count = min(count, n - start)
        if ifd + count > len(pages):
            raise CorruptFileError(
                f"{where}: a TiffData block of {info.id} names IFDs {ifd}-{ifd + count - 1} of "
                f"{block.get('FileName') or files.holder_name!r}, which has {len(pages)}"
            )
        for i in range(count):
            flat[start + i] = pages[ifd + i]
    present = [p for p in flat if p is not None]
    if not present:
        raise MetadataError(f"{where}: no TiffData block of the OME image {info.id} maps a page")
    grid = flat.reshape(loop_shape).transpose([slow_first.index(d) for d in "TCZ"])
    shape = (sizes["T"], sizes["C"], sizes["Z"], size["Y"], size["X"]) + ((samples,) if samples > 1 else ())
    pages = np.ascontiguousarray(grid)
    base = TiffPageSource.from_pages(pages, shape, tokens(0))
    return [base, *level_sources(base, pages, tokens, where)]


def level_sources(
    base: TiffPageSource, pages: np.ndarray, tokens: Callable[[int], str], where: Path
) -> list[TiffPageSource]:
    """The SubIFD pyramid levels of a multi-file image whose full-resolution pages are ``pages``.

    tifffile's rule for OME series (which it applies to local datasets only): level
    ``k`` is made of the ``k``-th SubIFD of every page, parsed from the page's own
    file; the number of levels is that of the first page's SubIFDs, and a level whose
    pages are all absent ends the pyramid. Each SubIFD is fetched once, through the
    byte-access layer (the read-ahead block that holds it).

    Parameters
    ----------
    base
        The full-resolution source (its shape gives ``T``, ``C``, ``Z`` and ``S``).
    pages
        Its ``(T, C, Z)`` object array of pages (``None`` for unmapped planes).
    tokens
        The graph name of level ``k`` (``k >= 1``).
    where
        The dataset's first file, for messages.

    Raises
    ------
    CorruptFileError
        If a SubIFD cannot be parsed or its plane differs in size from the others of
        its level.
    """
    from scitiff_readers.backend import page_at

    present = [p for p in pages.ravel() if p is not None]
    first = present[0] if present else None
    count = len(first.subifds or ()) if first is not None else 0
    levels: list[TiffPageSource] = []
    for level in range(count):
        grid = np.full(pages.shape, None, dtype=object)
        plane: tuple[int, int] | None = None
        for pos, page in np.ndenumerate(pages):
            offsets = getattr(page, "subifds", None) if page is not None else None
            if not offsets or level >= len(offsets) or offsets[level] < 8:
                continue
            try:
                sub = page_at(page.parent, offsets[level], (page.index, level + 1))
            except Exception as exc:  # tifffile raises many types for a bad IFD
                raise CorruptFileError(
                    f"{where}: SubIFD {level + 1} of IFD {page.index} in "
                    f"{os.path.basename(str(page.parent.filehandle.path))!r} cannot be read "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            size = (int(sub.imagelength), int(sub.imagewidth))
            if plane is None:
                plane = size
            elif size != plane:
                raise CorruptFileError(
                    f"{where}: SubIFD {level + 1} planes differ in size ({plane} and {size}); "
                    "the pyramid is inconsistent"
                )
            grid[pos] = sub
        if plane is None:
            break
        shape = (*base.shape[:3], *plane, *base.shape[5:])
        levels.append(TiffPageSource.from_pages(grid, shape, tokens(level + 1)))
    return levels
