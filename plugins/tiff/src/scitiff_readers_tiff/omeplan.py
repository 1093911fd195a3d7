"""Step 2 of the TIFF pipeline for OME-TIFF: OME ``TiffData`` mapped to pages, without tifffile's series.

tifffile's OME series reads every page's IFD at open (about 20 us per page: 40 ms for
2000 pages). For the common single-file layout the OME-XML already says which IFD holds
which plane (``TiffData``), so the reader needs only the first IFD of each image at open.
:func:`plan_images` turns the ``TiffData`` blocks into an IFD number per ``(t, c, z)``.

Anything unusual -- several files, SubIFD pyramids, volumetric pages, TiffData that
does not cover the planes exactly, pages that do not match the OME sizes -- returns
``None``, and the reader uses tifffile's series (:mod:`.series`) instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .layout import PageLayout, page_layout

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from .omexml import OmeImageInfo

__all__ = ["ImagePlan", "plan_images", "plan_pages"]

_OME_DTYPES = {"float": "float32", "double": "float64", "bit": "bool"}


@dataclass(frozen=True)
class ImagePlan:
    """Where one OME image's planes are: IFD index per ``(t, c, z)`` and the page layout."""

    ifd_grid: np.ndarray
    layout: PageLayout
    shape: tuple[int, ...]
    segments: int
    #: How many planes have an IFD (``ifd_grid >= 0``); all of them in most files.
    planes: int


def plan_images(tif: Any, infos: Sequence[OmeImageInfo] | None, path: Path) -> list[ImagePlan] | None:
    """Plans for every image of a simple single-file OME-TIFF, or ``None`` (use tifffile's series)."""
    if not infos or tif.is_ndtiff:
        return None
    return plan_pages(tif.pages.__getitem__, infos, path)


def plan_pages(
    page_at: Callable[[int], Any], infos: Sequence[OmeImageInfo] | None, path: Path
) -> list[ImagePlan] | None:
    """Like :func:`plan_images`, with the pages from ``page_at(ifd)``.

    ``page_at`` gives a tifffile page or an :class:`~scitiff_readers.backend.IfdPage` (or ``None``: a page
    to be left to tifffile), and raises ``IndexError`` for an IFD the file lacks.
    """
    if not infos:
        return None
    plans = []
    own = path.name.lower()
    for info in infos:
        plan = _plan_one(page_at, info, own)
        if plan is None:
            return None
        plans.append(plan)
    return plans


def _plan_one(page_at: Callable[[int], Any], info: OmeImageInfo, own: str) -> ImagePlan | None:
    order = info.dimension_order[2:]  # fastest first, e.g. "ZCT"
    size = info.size
    blocks = info.tiff_data
    if not blocks:
        return None
    for block in blocks:
        name = block.get("FileName")
        if name is not None and name.lower() != own:
            return None
    try:
        firsts = [int(b.get("IFD", 0)) for b in blocks]
        first_page = page_at(min(firsts))
    except (ValueError, IndexError, Exception):  # noqa: BLE001 - any oddity: let tifffile decide
        return None
    if first_page is None or getattr(first_page, "subifds", None) or first_page.shaped[1] != 1:
        return None
    samples = int(first_page.samplesperpixel)
    if size["C"] % samples or first_page.imagewidth != size["X"] or first_page.imagelength != size["Y"]:
        return None
    wanted = info.pixel_type
    if wanted and _dtype_name(first_page.dtype) != _OME_DTYPES.get(wanted, wanted):
        return None
    sizes = {"Z": size["Z"], "C": size["C"] // samples, "T": size["T"]}
    n = sizes["Z"] * sizes["C"] * sizes["T"]
    # Linear plane index in DimensionOrder (fastest first) -> (t, c, z).
    dims_slow_first = order[::-1]
    loop_shape = tuple(sizes[d] for d in dims_slow_first)
    ifds = _single_block_ifds(blocks, n)
    present = n  # one block covering every plane: all present
    if ifds is None:
        ifds = _block_ifds(blocks, n, dims_slow_first, loop_shape)
        if ifds is None:
            return None
        present = int(np.count_nonzero(ifds >= 0))
    by_order = ifds.reshape(loop_shape)
    grid = by_order.transpose([dims_slow_first.index(d) for d in "TCZ"])
    layout = page_layout(first_page, 0)
    shape = (sizes["T"], sizes["C"], sizes["Z"], size["Y"], size["X"]) + ((samples,) if samples > 1 else ())
    segments = len(first_page.dataoffsets)
    return ImagePlan(np.ascontiguousarray(grid), layout, shape, segments, present)


@functools.lru_cache(maxsize=64)
def _dtype_name(dtype: Any) -> str:
    """The numpy name of ``dtype`` (``"uint16"``), remembered: asked at every open."""
    return str(np.dtype(dtype).name)


def _ifd_and_count(block: dict[str, str]) -> tuple[int, int]:
    """A ``TiffData`` block's first IFD and plane count (0: all remaining planes).

    Raises ``ValueError`` for attributes that are not numbers; the reader refuses
    negative ones before planning (see ``ome._tiffdata_problem``).
    """
    ifd = int(block.get("IFD", 0))
    count = int(block.get("PlaneCount", block.get("NumPlanes", 1 if "IFD" in block else 0)))
    return ifd, count


def _single_block_ifds(blocks: Sequence[dict[str, str]], n: int) -> np.ndarray | None:
    """IFD of every plane when one ``TiffData`` block covers all ``n`` planes from its IFD on.

    What tifffile, Bio-Formats and most writers of single-file OME-TIFF write; ``None``
    for anything else (:func:`_block_ifds` handles it).
    """
    if len(blocks) != 1:
        return None
    block = blocks[0]
    if any(block.get(f"First{d}", "0") != "0" for d in "TCZ"):
        return None
    try:
        ifd, count = _ifd_and_count(block)
    except ValueError:
        return None
    if count not in (0, n):  # PlaneCount 0 (or neither attribute): all planes
        return None
    return np.arange(ifd, ifd + n, dtype=np.int64)


def _block_ifds(
    blocks: Sequence[dict[str, str]], n: int, dims_slow_first: str, loop_shape: tuple[int, ...]
) -> np.ndarray | None:
    """IFD of every plane (in DimensionOrder), ``-1`` where no block puts one; ``None`` if inconsistent."""
    ifds = np.full(n, -1, dtype=np.int64)
    for block in blocks:
        try:
            ifd, count = _ifd_and_count(block)
            start_index = [int(block.get(f"First{d}", 0)) for d in dims_slow_first]
            start = int(np.ravel_multi_index(start_index, loop_shape))
        except ValueError:
            return None
        if count == 0:
            if len(blocks) != 1:
                return None
            count = n - start
        if count < 0 or start + count > n or np.any(ifds[start : start + count] >= 0):
            return None
        ifds[start : start + count] = ifd + np.arange(count, dtype=np.int64)
    return ifds
