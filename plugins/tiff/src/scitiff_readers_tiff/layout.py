"""Step 1 of the TIFF pipeline: how one page stores its pixels, as tifffile parsed it.

A :class:`PageLayout` is the structure shared by pages of one keyframe: the page's
normalised shape (separate samples, depth, rows, columns, contiguous samples), the
stored dtype with its byte order, strips or (volumetric) tiles, compression and
predictor. Strip and tile *offsets* are per page and live in the pixel source.

This module also holds the one decision of the raw fast path
(:func:`row_major_starts`): pixels may be read (or memory-mapped) without decoding
only when they are stored uncompressed as plain numbers **and** the page's segments
hold its rows back to back in row-major order. Tiles narrower than the image are
contiguous in the file but not row-major; they always go through the decoder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scitiff_readers.errors import CorruptFileError, UnsupportedFormatError

__all__ = ["PageLayout", "merge_layouts", "page_layout", "row_major_start", "row_major_starts"]

#: Compressions whose pages may carry their own JPEG tables (never merged).
_JPEG_LIKE = frozenset({6, 7, 33007, 34892})


@dataclass(frozen=True)
class PageLayout:
    """Structure shared by a group of pages (one keyframe of one file).

    Attributes
    ----------
    file
        Index into the pixel source's files.
    ifd_offset
        File offset of a page with this structure, to rebuild tifffile's decoder in
        a new process without re-parsing the file.
    shaped
        tifffile's normalised page shape ``(separate samples, depth, length, width,
        contiguous samples)``.
    dtype
        Stored dtype string including byte order, e.g. ``">u2"``.
    segment
        ``(depth, length, width)`` of one strip or tile (a strip is ``rowsperstrip``
        full-width rows of depth 1).
    tiled
        Whether the page is stored in tiles (else strips).
    raw
        Pixels are stored uncompressed as plain numbers (no predictor, no bit
        packing or fill order): they can be read without decoding.
    compression
        The TIFF compression code.
    """

    file: int
    ifd_offset: int
    shaped: tuple[int, int, int, int, int]
    dtype: str
    segment: tuple[int, int, int]
    tiled: bool
    raw: bool
    compression: int = 1

    @property
    def samples(self) -> int:
        """Samples per pixel."""
        return self.shaped[0] * self.shaped[4]

    @property
    def depth(self) -> int:
        """Image depth (``ImageDepth``): planes in one page; 1 except for volumetric pages."""
        return self.shaped[1]

    @property
    def plane_bytes(self) -> int:
        """Bytes of one uncompressed page."""
        return math.prod(self.shaped) * np.dtype(self.dtype).itemsize

    @property
    def segment_grid(self) -> tuple[int, int, int, int]:
        """Segments per ``(separate sample, depth, row, column)``; tifffile numbers them in this order."""
        sep, depth, length, width, _ = self.shaped
        sd, sl, sw = self.segment
        return (sep, math.ceil(depth / sd), math.ceil(length / sl), math.ceil(width / sw))

    @property
    def segments(self) -> int:
        """Strips or tiles in one page."""
        return math.prod(self.segment_grid)

    def plane_strides(self) -> tuple[int, int, int]:
        """Byte strides of ``(Y, X, S)`` of a row-major uncompressed page."""
        item = np.dtype(self.dtype).itemsize
        sep, _, length, width, contig = self.shaped
        if sep > 1:  # planar configuration "separate": S, Y, X
            return (width * item, item, length * width * item)
        return (width * contig * item, contig * item, item)

    @property
    def may_be_row_major(self) -> bool:
        """Whether this structure can store its pixels as one row-major run (offsets decide)."""
        sw = self.segment[2]
        return self.raw and self.depth == 1 and (not self.tiled or sw == self.shaped[3])

    def merge_key(self) -> tuple[Any, ...]:
        """Layouts with equal keys decode alike (tifffile loads ImageJ pages as separate keyframes)."""
        key: tuple[Any, ...] = (
            self.file,
            self.shaped,
            self.dtype,
            self.segment,
            self.tiled,
            self.raw,
            self.compression,
        )
        if self.compression in _JPEG_LIKE:
            key += (self.ifd_offset,)  # each page may carry its own JPEGTables
        return key


def page_layout(page: Any, file_index: int) -> PageLayout:
    """Describe the structure of a tifffile page or frame (its keyframe's).

    Raises
    ------
    UnsupportedFormatError
        For strips of a volumetric page (``ImageDepth`` > 1 without tiles), which
        no known writer produces and tifffile cannot address by plane either.
    CorruptFileError
        When the page's size tags need more strips or tiles than the file lists.
    """
    key = page.keyframe if page.keyframe is not None else page
    # tifffile's shaped: (separate samples, depth, length, width, contiguous samples)
    s0, s1, s2, s3, s4 = (int(v) for v in key.shaped)
    shaped = (s0, s1, s2, s3, s4)
    dtype = np.dtype(key.parent.byteorder + np.dtype(key.dtype).char)
    raw = (
        key.compression == 1
        and key.predictor == 1
        and key.fillorder == 1
        and key.bitspersample in (8, 16, 32, 64, 128)
        and dtype.itemsize * 8 == key.bitspersample
        and key.sampleformat != 5  # complex integers: tifffile converts them
    )
    tiled = bool(key.is_tiled)
    if tiled:
        segment = (max(1, int(key.tiledepth)), int(key.tilelength), int(key.tilewidth))
    else:
        if shaped[1] != 1:
            raise UnsupportedFormatError(
                f"{page.parent.filehandle.path}: a volumetric page (ImageDepth {shaped[1]}) stored in strips "
                "is not supported (tifffile reads volumetric pages only in tiles)"
            )
        segment = (1, max(1, min(int(key.rowsperstrip), shaped[2])), shaped[3])
    layout = PageLayout(
        file=file_index,
        ifd_offset=int(key.offset),
        shaped=shaped,
        dtype=dtype.str,
        segment=segment,
        tiled=tiled,
        raw=bool(raw),
        compression=int(key.compression),
    )
    listed = len(key.dataoffsets)
    if listed < layout.segments:
        # A size tag that the strips / tiles cannot hold (a damaged or hostile ImageDepth,
        # ImageLength ...): refuse it before anything proportional to it is allocated.
        raise CorruptFileError(
            f"{page.parent.filehandle.path}: a page of shape {shaped} in {'tiles' if tiled else 'strips'} of "
            f"{segment} needs {layout.segments} of them, but the file lists {listed}; its size tags are corrupt"
        )
    return layout


def merge_layouts(layouts: list[PageLayout], plane_layout: list[int]) -> list[PageLayout]:
    """Collapse layouts of equal structure; ``plane_layout`` is renumbered in place."""
    if len(layouts) <= 1:
        return layouts
    unique: dict[tuple[Any, ...], int] = {}
    merged: list[PageLayout] = []
    remap = []
    for lay in layouts:
        key = lay.merge_key()
        if key not in unique:
            unique[key] = len(merged)
            merged.append(lay)
        remap.append(unique[key])
    plane_layout[:] = [remap[i] for i in plane_layout]
    return merged


def row_major_starts(
    layout: PageLayout, offsets: np.ndarray, counts: np.ndarray, first: np.ndarray, count: np.ndarray
) -> np.ndarray:
    """File offset of each page whose pixels are one row-major run, ``-1`` for the others.

    The one test of the raw fast path, vectorised over pages: page ``i`` owns
    segments ``first[i] : first[i] + count[i]`` of ``offsets`` / ``counts``. A page
    qualifies when its layout :attr:`~PageLayout.may_be_row_major` and its segments
    follow each other in the file holding exactly :attr:`~PageLayout.plane_bytes`
    (or one segment holding at least that many: a padded last strip or tile row).
    """
    first = np.asarray(first, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)
    if len(first) == 1:  # one page (the first read of a plane): the same rule, without arrays
        return np.array(
            [row_major_start(layout, offsets, counts, int(first[0]), int(count[0]))], dtype=np.int64
        )
    starts = np.full(len(first), -1, dtype=np.int64)
    if not layout.may_be_row_major or len(first) == 0 or len(offsets) == 0:
        return starts
    if (count == 1).all():  # one strip per page (most files): nothing to chain
        ok = counts[first] >= layout.plane_bytes
        starts[ok] = offsets[first[ok]]
        return starts
    # All of the page's segments, or one segment said to hold the whole page (tifffile's dataoffset).
    present = (count == layout.segments) | (count == 1)
    if not present.any():
        return starts
    safe_first = np.where(present, first, 0)
    plane_bytes = layout.plane_bytes
    # Every segment follows the previous one (within a page); the last of a page may not.
    follows = np.ones(len(offsets), dtype=bool)
    follows[1:] = offsets[:-1] + counts[:-1] == offsets[1:]
    broken = np.cumsum(~follows)
    last = safe_first + np.maximum(count, 1) - 1
    unbroken = broken[last] - broken[safe_first] == 0
    csum = np.concatenate(([0], np.cumsum(counts)))
    total = csum[last + 1] - csum[safe_first]
    single = count == 1
    enough = np.where(single, total >= plane_bytes, total == plane_bytes)
    ok = present & unbroken & enough
    starts[ok] = offsets[safe_first[ok]]
    return starts


def row_major_start(
    layout: PageLayout, offsets: np.ndarray, counts: np.ndarray, first: int, count: int
) -> int:
    """:func:`row_major_starts` of the one page owning segments ``first : first + count``."""
    if not layout.may_be_row_major or len(offsets) == 0:
        return -1
    if count == 1:  # one segment said to hold the whole page
        return int(offsets[first]) if int(counts[first]) >= layout.plane_bytes else -1
    if count != layout.segments:
        return -1
    seg_offsets = offsets[first : first + count]
    seg_counts = counts[first : first + count]
    if not np.array_equal(seg_offsets[:-1] + seg_counts[:-1], seg_offsets[1:]):
        return -1  # not one run: a segment does not follow the one before
    return int(seg_offsets[0]) if int(seg_counts.sum()) == layout.plane_bytes else -1
