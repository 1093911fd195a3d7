"""Tile layout of stitched planes (``stitch=True``) and of plain single images.

Full resolution: tile ``(row, column)`` is cropped by half the overlap on each side
(``floor(overlap / 2)`` before, ``ceil(overlap / 2)`` after, as ndstorage does) and
placed at ``((row - min_row) * cell_h, (column - min_column) * cell_w)`` with
``cell = tile - overlap``.

Downsampled level k (folder ``Downsampled_x{2**k}``): tiles have no overlap and keep the
tile size, and the row / column indices are those of the level. The level shows the
field of view of the full-resolution mosaic: its pixel extent divided by ``2**k``
(truncated, as ndstorage does), cut out of the level's own tile grid.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Grid", "Mosaic", "single_image", "spans", "stitched"]


# NamedTuples, not dataclasses: a frozen dataclass costs about half a millisecond
# to create at import, which every cold open of a dataset pays.
class Mosaic(NamedTuple):
    """How the tiles of one plane are laid out.

    Output pixel ``y`` lies in tile row ``(offset_y + y) // cell_h`` at image row
    ``crop_y + (offset_y + y) % cell_h`` (likewise for x). A single whole image is
    ``cell = image size``, ``crop = offset = 0``.
    """

    cell_h: int
    cell_w: int
    crop_y: int = 0
    crop_x: int = 0
    offset_y: int = 0
    offset_x: int = 0
    height: int = 0
    width: int = 0


def spans(
    start: int, stop: int, offset: int, cell: int, crop: int, count: int
) -> list[tuple[int, int, int, int]]:
    """``(tile, image_start, out_start, length)`` for output range ``start:stop``."""
    out = []
    g = offset + start
    end = offset + stop
    while g < end:
        tile = g // cell
        within = g - tile * cell
        length = min(end, (tile + 1) * cell) - g
        if 0 <= tile < count:
            out.append((tile, crop + within, g - offset - start, length))
        else:
            out.append((-1, 0, g - offset - start, length))
        g += length
    return out


class Grid(NamedTuple):
    """A mosaic and which tiles it uses.

    ``origin`` is the position of output pixel 0, in full-resolution pixels from the
    full-resolution mosaic's first pixel (0 at full resolution; a few pixels at
    downsampled levels, whose extent is truncated).
    """

    mosaic: Mosaic
    first_row: int = 0
    first_column: int = 0
    rows: int = 1
    columns: int = 1
    origin_y: float = 0.0
    origin_x: float = 0.0


def single_image(height: int, width: int) -> Grid:
    """One whole image per plane."""
    return Grid(Mosaic(height, width, height=height, width=width))


def stitched(
    level: int,
    rows: tuple[int, int],
    columns: tuple[int, int],
    tile0: tuple[int, int],
    overlap: tuple[int, int],
    tile: tuple[int, int],
) -> Grid:
    """The mosaic of resolution ``level``.

    Parameters
    ----------
    level
        Resolution level (0 = full resolution).
    rows, columns
        ``(min, max)`` full-resolution tile indices.
    tile0
        ``(height, width)`` of full-resolution tiles.
    overlap
        ``(y, x)`` tile overlap in full-resolution pixels.
    tile
        ``(height, width)`` of this level's tiles.
    """
    (r0, r1), (c0, c1) = rows, columns
    cell_h0, cell_w0 = tile0[0] - overlap[0], tile0[1] - overlap[1]
    if level == 0:
        mosaic = Mosaic(
            cell_h0,
            cell_w0,
            overlap[0] // 2,
            overlap[1] // 2,
            0,
            0,
            (r1 - r0 + 1) * cell_h0,
            (c1 - c0 + 1) * cell_w0,
        )
        return Grid(mosaic, r0, c0, r1 - r0 + 1, c1 - c0 + 1)
    f = 2**level
    out = []
    for lo, hi, cell0, cell in ((r0, r1, cell_h0, tile[0]), (c0, c1, cell_w0, tile[1])):
        start = math.trunc(lo * cell0 / f)
        stop = max(math.trunc((hi + 1) * cell0 / f), start + 1)
        first, last = start // cell, (stop - 1) // cell
        out.append((first, last - first + 1, start - first * cell, stop - start, start * f - lo * cell0))
    (fy, ny, oy, hy, gy), (fx, nx, ox, hx, gx) = out
    return Grid(Mosaic(tile[0], tile[1], 0, 0, oy, ox, hy, hx), fy, fx, ny, nx, gy, gx)
