"""tifffile's "shaped" series of a contiguous file, found from the IFDs read by hand (no tifffile).

``tifffile.imwrite(path, data)`` stores the array's shape as JSON in the first page's
ImageDescription (``{"shape": [50000, 32, 32], "axes": "ZYX"}``) and, uncompressed, the
pixels of all its pages back to back. tifffile's ``TiffFile.series`` reads such a
series without its other pages (``_series_shaped``: "skip pages if possible") but
first counts the pages (``len(TiffFile.pages)``), one IFD at a time: for a file of
50,000 pages that walk is the open. :func:`shaped_file` takes the same decisions from
:class:`~scitiff_readers.backend.IfdChain` alone, whose walk checks IFDs lying at one
stride a run at a time. Anything it is not sure tifffile reads that way -- another
flavour, an unknown tag, a compressed, tiled or non-contiguous keyframe, a series that
needs its page list, a description tifffile would log about, damage -- gives ``None``
and the caller asks tifffile; the differential tests compare both paths.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scitiff_readers.backend import load_json
from scitiff_readers.errors import CorruptFileError, MetadataError

from .finalpages import is_final, local_chain

if TYPE_CHECKING:
    from pathlib import Path

    from scitiff_readers.backend import IfdChain

__all__ = ["ShapedFile", "ShapedSeries", "series_axes", "shaped_file"]

#: The tags ``tifffile.imwrite`` writes on a page of a plain shaped file. A page with any
#: other tag may be a flavour tifffile shapes differently or a tag it reports about.
_PLAIN_TAGS = frozenset(
    {254, 256, 257, 258, 259, 262, 266, 270, 273, 277, 278, 279, 282, 283, 284, 296, 305, 306, 315, 317}
    | {338, 339}
)
#: Shaped descriptions longer than this are not parsed here (tifffile decides).
_MAX_DESCRIPTION = 1 << 20


class ShapedKeyframe:
    """An :class:`~scitiff_readers.backend.IfdPage` with tifffile's ``TiffPage.shape`` and ``axes``."""

    def __init__(self, page: Any) -> None:
        self.page = page
        length, width, spp = page.imagelength, page.imagewidth, page.samplesperpixel
        if page.photometric == 2 or spp > 1:
            if page.planarconfig == 1:
                self.shape: tuple[int, ...] = (length, width, spp)
                self.axes = "YXS"
            else:
                self.shape, self.axes = (spp, length, width), "SYX"
        else:
            self.shape, self.axes = (length, width), "YX"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


@dataclass(frozen=True)
class ShapedSeries:
    """What tifffile's ``TiffPageSeries`` of kind ``shaped`` says of a series stored back to back.

    ``shape`` and ``axes`` are the series' (not squeezed: tifffile's shaped series
    are not); ``dataoffset`` is where its first plane starts.
    """

    keyframe: ShapedKeyframe
    shape: tuple[int, ...]
    axes: str
    name: str
    dataoffset: int
    truncated: bool

    @property
    def levels(self) -> list[ShapedSeries]:
        """The resolution levels: this series alone (tifffile's shaped series have no others)."""
        return [self]

    @property
    def pages(self) -> list[Any]:
        """Never listed: a series that needs its pages is left to tifffile (see :func:`shaped_file`)."""
        raise RuntimeError("a shaped series found by hand has no page list; open the file with tifffile")


@dataclass(frozen=True)
class ShapedFile:
    """The series of a shaped file and what the plain reader takes from its first page."""

    series: list[ShapedSeries]
    description: str
    resolution_tags: dict[int, Any]


@dataclass(frozen=True)
class _TagValue:
    value: Any


class _Tags:
    """The resolution tags of page 0, as ``page.tags.get(code).value`` gives them in tifffile."""

    def __init__(self, values: dict[int, Any]) -> None:
        self.values = values

    def get(self, code: int) -> _TagValue | None:
        return _TagValue(self.values[code]) if code in self.values else None


@dataclass(frozen=True)
class ResolutionPage:
    """Stands for tifffile's first page in :func:`~.calibration.resolution`."""

    tags: _Tags


def resolution_page(shaped: ShapedFile) -> ResolutionPage:
    """An object :func:`~.calibration.resolution` reads like tifffile's first page."""
    return ResolutionPage(_Tags(shaped.resolution_tags))


def shaped_file(path: Path) -> ShapedFile | None:
    """How tifffile's ``TiffFile(path).series`` shapes ``path``, or ``None`` if not surely as here.

    Mirrors ``TiffFile._series_shaped`` for series whose keyframe is final
    (uncompressed, contiguous strips, no predictor, not tiled) and whose pixels tifffile
    reads without the page list: the series ends before the next IFD, or is a single
    (possibly truncated) page. Local files only.
    """
    chain = local_chain(path)
    if chain is None:
        return None
    try:
        return _shaped_file(chain)
    except (
        CorruptFileError,
        MetadataError,
        OSError,
        IndexError,
        ValueError,
        KeyError,
        TypeError,
        struct.error,
    ):
        return None  # damage or anything unusual: tifffile reads what it can and reports it
    finally:
        chain.close()


def _shaped_file(chain: IfdChain) -> ShapedFile | None:
    first = _shaped_page(chain, 0)
    if first is None:
        return None
    resolution = _resolution_tags(chain)
    if resolution is None:
        return None
    npages_file = chain.count()
    if not chain.intact:
        return None  # tifffile logs the chain's damage
    series: list[ShapedSeries] = []
    index = 0
    while index < npages_file:
        found = _series_at(chain, index, npages_file)
        if found is None:
            return None
        one, index = found
        series.append(one)
    return ShapedFile(series, first[0].description, resolution)


def _shaped_page(chain: IfdChain, index: int) -> tuple[Any, dict[str, Any]] | None:
    """IFD ``index`` and its shaped metadata, when it is a plain final page with one shaped description."""
    entries = chain.entries(index)
    tags = [tag for tag, _ in entries]
    if tags.count(270) != 1 or not _PLAIN_TAGS.issuperset(tags):
        return None
    page = chain.page(index)
    if page is None or not is_final(page):
        return None
    text = page.description
    # tifffile's TiffPage.shaped_description (old-style "shape=(...)" left to tifffile).
    if not text or '"mibi.' in text or text[:1] != "{" or '"shape":' not in text:
        return None
    if len(text) > _MAX_DESCRIPTION:
        return None
    metadata = load_json(text, chain.path, "shaped ImageDescription")
    if not isinstance(metadata, dict):
        return None
    return page, metadata


def _series_at(chain: IfdChain, index: int, lenpages: int) -> tuple[ShapedSeries, int] | None:
    """The series whose keyframe is IFD ``index`` and the index after it (``detect_series``'s loop)."""
    found = _shaped_page(chain, index)
    if found is None:
        return None  # tifffile gives up on every shaped series then (and logs)
    page, metadata = found
    keyframe = ShapedKeyframe(page)
    reshape = metadata["shape"]
    if not isinstance(reshape, list) or not all(type(n) is int and n >= 0 for n in reshape):
        return None
    reshape_t = tuple(reshape)
    name = metadata.get("name", "")
    if not isinstance(name, str):
        return None
    truncated: Any = metadata.get("truncated", None)
    axes: str | None = None
    if "axes" in metadata:
        axes = metadata["axes"]
        if not isinstance(axes, str) or len(axes) != len(reshape_t):
            return None  # tifffile logs "axes do not match shape"
    size = math.prod(reshape_t)
    plane = math.prod(keyframe.shape)
    npages, mod = divmod(size, plane) if size > 0 else (1, 0)
    if mod:
        return None  # tifffile logs and gives up
    if 1 < npages <= lenpages - index:
        if truncated:
            npages = 1
        else:
            nbytes = size * page.bitspersample // 8
            following = _shaped_neighbour(chain, index + 1)
            if following is None or not chain.offset(index) + nbytes < following:
                return None  # tifffile lists the series' pages
            truncated = False
    elif npages > 1:
        # More planes than IFDs left (tifffile's truncated files): tifffile reads them
        # back to back from the keyframe's data; taken here only when they lie before
        # the next IFD and inside the file (else tifffile says what it reads).
        end = page.dataoffsets[0] + size * page.bitspersample // 8
        if end > chain.size or (index + 1 < lenpages and end > chain.offset(index + 1)):
            return None
    one = _append(keyframe, axes, reshape_t, name, truncated)
    if one is None:
        return None
    return one, index + npages


def _shaped_neighbour(chain: IfdChain, index: int) -> int | None:
    """The offset of IFD ``index`` when tifffile would parse it without a word (else ``None``)."""
    if not _PLAIN_TAGS.issuperset(tag for tag, _ in chain.entries(index)) or chain.page(index) is None:
        return None
    return chain.offset(index)


def _append(
    keyframe: ShapedKeyframe,
    axes: str | None,
    reshape: tuple[int, ...],
    name: str,
    truncated: Any,
) -> ShapedSeries | None:
    """``_series_shaped``'s ``append`` for a series of one listed page, or ``None`` where not sure."""
    found = series_axes(keyframe.shape, keyframe.axes, reshape, axes)
    if found is None:
        return None
    if axes is None and len(reshape) > len(keyframe.shape) and truncated is None:
        # tifffile calls a series that needs more planes than its listed page truncated
        # unless the description says otherwise (or the pages were counted).
        truncated = True
    return ShapedSeries(keyframe, reshape, found, name, int(keyframe.dataoffsets[0]), bool(truncated))


def series_axes(
    page_shape: tuple[int, ...], page_axes: str, shape: tuple[int, ...], axes: str | None
) -> str | None:
    """Tifffile's axes of a shaped series of ``shape`` stored as pages of ``page_shape``, or ``None``.

    Only the layout ``imwrite`` gives an array is decided here: ``shape`` ends with the
    page's own shape, each leading axis a loop over pages. The series' axes are then the
    written ``axes``, or, without them, ``Q`` for every loop before the page's axes
    (tifffile's axes for dimensions it cannot name). Anything else -- a page whose rows
    are split over series axes, a size-0 axis, a loop or page axis of size 1 without
    written axes (tifffile folds those its own way) -- is ``None``: the caller leaves the
    file to tifffile. A test compares this with tifffile's ``check_shape`` and
    ``reshape_axes`` over random shapes.
    """
    lead = len(shape) - len(page_shape)
    if lead < 0 or shape[lead:] != page_shape or 0 in shape:
        return None
    if axes is not None:
        return axes if len(axes) == len(shape) else None
    if 1 in shape:
        return None
    return "Q" * lead + page_axes


def _resolution_tags(chain: IfdChain) -> dict[int, Any] | None:
    """XResolution, YResolution (``(numerator, denominator)``) and ResolutionUnit of page 0, as tifffile's values."""
    out: dict[int, Any] = {}
    for tag, (typ, count, value) in chain.entries(0):
        if tag in (282, 283):
            if typ != 5 or count != 1 or tag in out:
                return None
            raw = chain.raw((typ, count, value), 8)
            out[tag] = struct.unpack(chain.byteorder + "II", raw)
        elif tag == 296:
            if typ != 3 or count != 1 or tag in out:
                return None
            out[tag] = chain.values((typ, count, value), 1)[0]
    return out
