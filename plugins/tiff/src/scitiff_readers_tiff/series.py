"""Step 2 of the TIFF pipeline: tifffile series (and hyperstacks) mapped to ``TCZYX(S)``.

tifffile shapes every TIFF flavour -- OME, ImageJ, its own ``shaped`` JSON, Micro-
Manager, generic page stacks -- as series with axis letters. Here a series becomes
a :class:`~.source.TiffPageSource`: for every canonical ``(t, c, z)`` plane, which
page holds it and, when a page holds several planes, which depth slice (volumetric
tiles) or which sample (files that use the samples as a dimension, e.g. ``YXZ`` or
planar ``CYX``).

The roles of a page's own axes come from the page (tifffile's ``keyframe.axes``:
``YX``, ``YXS``, ``SYX``, ``ZYX`` ...); their *names* come from the series. Samples
named ``S`` (RGB and the like) are the trailing ``S`` dim; samples named ``T``, ``C``
or ``Z`` are that dim. Page-loop axes named ``T``, ``C`` or ``Z`` keep their place;
tifffile's generic letters (``I``, ``Q``, ...) go to the first of ``Z``, ``T``, ``C``
not otherwise used, and several letters on one dim are merged, slowest first.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import as_location, open_tifffile
from scitiff_readers.errors import CorruptFileError, CorruptFileWarning, MetadataError

from .layout import page_layout
from .source import TiffPageSource, tiff_token

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["hyperstack_source", "reads_back_to_back", "series_source"]

_CANONICAL = "TCZ"


def series_source(
    series: Any,
    path: Path,
    token: str,
    axes_map: dict[str, str] | None = None,
) -> tuple[TiffPageSource, dict[str, str]]:
    """A source over a tifffile series (or pyramid level), mapped to ``TCZYX(S)``.

    Parameters
    ----------
    series
        An open tifffile ``TiffPageSeries``; its pages are read now.
    path
        The main file (for messages).
    token
        Stable graph name.
    axes_map
        tifffile axis letter -> one of ``T``, ``C``, ``Z``, overriding the default
        placement of non-``YX`` axes (see the module docstring).

    Returns
    -------
    source, mapping
        The source and the letter mapping actually used.

    Raises
    ------
    MetadataError
        If the series' shape does not fit its pages, or an axis has no place.
    CorruptFileError
        If the file has fewer pages than the series describes.
    """
    keyframe = series.keyframe
    lay0 = page_layout(keyframe, 0)
    axes = _AxesPlan.of(series, keyframe, axes_map, path)
    page_grid, depth_grid, sample_grid = axes.grids()
    if lay0.depth > 1 and depth_grid is None:
        depth_grid = np.zeros(axes.canon, dtype=np.int64)
    samples = (lay0.samples,) if axes.samples_to_s and lay0.samples > 1 else ()
    full_shape: tuple[int, ...] = (*axes.canon, lay0.shaped[2], lay0.shaped[3], *samples)
    nplanes = math.prod(axes.loop_shape)
    dataoffset = series.dataoffset
    if dataoffset is not None and not axes.sub_dims and lay0.may_be_row_major:
        # Pages stored back to back (tifffile knows where without reading every IFD).
        source = TiffPageSource.back_to_back(
            as_location(keyframe.parent.filehandle.path),
            lay0,
            page_grid,
            int(dataoffset),
            nplanes,
            full_shape,
            token,
        )
    else:
        try:
            pages = list(series.pages)
        except (IndexError, ValueError, OSError) as exc:
            raise CorruptFileError(f"{path}: tifffile cannot list the pages of a series ({exc})") from exc
        if len(pages) != nplanes:
            raise CorruptFileError(
                f"{path}: the series describes {nplanes} pages but {len(pages)} were found (the file is "
                "truncated, or its metadata describes more images than it holds)"
            )
        flat_pages = np.empty(nplanes, dtype=object)
        flat_pages[:] = pages
        source = TiffPageSource.from_pages(
            flat_pages[page_grid], full_shape, token, depth=depth_grid, sample=sample_grid
        )
    _warn_if_truncated(source, path)
    return source, axes.mapping


def reads_back_to_back(series: Any, path: Path, axes_map: dict[str, str] | None = None) -> bool:
    """Whether :func:`series_source` reads ``series`` from its ``dataoffset`` (without its page list).

    Raises
    ------
    MetadataError
        As :func:`series_source`.
    """
    plan = _AxesPlan.of(series, series.keyframe, axes_map, path)
    return (
        series.dataoffset is not None
        and not plan.sub_dims
        and page_layout(series.keyframe, 0).may_be_row_major
    )


@dataclass(frozen=True)
class _AxesPlan:
    """Where a series' axes go: page loops and page sub-axes grouped into ``T``, ``C``, ``Z``.

    ``grid`` axes are the page loops (slowest first) followed by ``sub_dims``, the
    page's own axes that are dims of their own (depth, samples not named ``S``).
    ``groups`` lists, per canonical dim, the grid axes merged into it (slowest first).
    """

    loop_shape: tuple[int, ...]
    sub_dims: tuple[tuple[str, str, int], ...]  # (role "Z" or "S", the series' letter, size)
    grid_shape: tuple[int, ...]
    groups: dict[str, list[int]]
    canon: tuple[int, int, int]
    samples_to_s: bool
    mapping: dict[str, str]

    @classmethod
    def of(cls, series: Any, keyframe: Any, axes_map: dict[str, str] | None, path: Path) -> _AxesPlan:
        """Plan the axes of ``series`` whose pages look like ``keyframe``."""
        axes, shape = str(series.axes), tuple(int(n) for n in series.shape)
        if any(n == 1 and a not in "YX" for a, n in zip(axes, shape, strict=True)):
            # Size-1 axes say nothing about placement and may sit between the page's own
            # axes (a shaped 'YXQ' of (20, 30, 1)): leave them out.
            kept = [(a, n) for a, n in zip(axes, shape, strict=True) if n != 1 or a in "YX"]
            axes, shape = "".join(a for a, _ in kept), tuple(n for _, n in kept)
        page_axes, page_shape = str(keyframe.axes), tuple(int(n) for n in keyframe.shape)
        split = len(shape) - len(page_axes)
        if split < 0 or shape[split:] != page_shape:
            raise MetadataError(
                f"{path}: tifffile shapes the series as {axes} {shape}, which does not end with its pages' "
                f"shape {page_axes} {page_shape}"
            )
        # The page's own axes: their role from the page, their name from the series.
        sub_dims: list[tuple[str, str, int]] = []
        samples_to_s = False
        for role, letter, size in zip(page_axes, axes[split:], page_shape, strict=True):
            if role == "S":
                if letter == "S" or (letter not in _CANONICAL and (axes_map or {}).get(letter) is None):
                    samples_to_s = True
                else:
                    sub_dims.append((role, letter, size))
            elif role == "Z":
                sub_dims.append((role, letter if letter in _CANONICAL else "Z", size))
        grid_letters = axes[:split] + "".join(letter for _, letter, _ in sub_dims)
        grid_shape = shape[:split] + tuple(size for _, _, size in sub_dims)
        mapping = _default_axes_map(grid_letters, grid_shape) if axes_map is None else dict(axes_map)
        for _, letter, _ in sub_dims:
            mapping.setdefault(letter, letter if letter in _CANONICAL else "Z")
        groups: dict[str, list[int]] = {d: [] for d in _CANONICAL}
        for i, (a, n) in enumerate(zip(grid_letters, grid_shape, strict=True)):
            target = mapping.get(a)
            if target is None:
                if n == 1:
                    continue
                raise MetadataError(
                    f"{path}: series axis {a!r} (size {n}) has no place in TCZYX; map it with dim_order="
                )
            groups[target].append(i)
        t, c, z = (math.prod(grid_shape[i] for i in groups[d]) for d in _CANONICAL)
        return cls(shape[:split], tuple(sub_dims), grid_shape, groups, (t, c, z), samples_to_s, mapping)

    def canonical(self, values: np.ndarray) -> np.ndarray:
        """``values`` over the grid axes, transposed into the canonical groups and merged."""
        order = [i for d in _CANONICAL for i in self.groups[d]]
        dropped = [i for i in range(len(self.grid_shape)) if i not in order]
        moved = values.reshape(self.grid_shape).transpose(order + dropped)
        return moved.reshape((*self.canon, -1))[..., 0].reshape(self.canon)

    def grids(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Per canonical ``(t, c, z)``: the page number, and the depth slice and sample when pages hold several."""
        loops = self.loop_shape
        numbers = np.arange(math.prod(loops), dtype=np.int64).reshape(loops + (1,) * len(self.sub_dims))
        page_grid = self.canonical(np.ascontiguousarray(np.broadcast_to(numbers, self.grid_shape)))
        depth_grid = sample_grid = None
        for j, (role, _, _) in enumerate(self.sub_dims):
            index = self.canonical(np.indices(self.grid_shape, dtype=np.int64)[len(loops) + j])
            if role == "Z":
                depth_grid = index
            else:
                sample_grid = index
        return page_grid, depth_grid, sample_grid


def _warn_if_truncated(source: TiffPageSource, path: Path) -> None:
    beyond, pages = source.pages_beyond_end()
    if beyond:
        warnings.warn(
            f"{path}: the file is truncated: the pixels of {beyond} of {pages} pages lie "
            "beyond its end; reading them raises CorruptFileError",
            CorruptFileWarning,
            stacklevel=5,
        )


def _default_axes_map(axes: str, shape: Sequence[int]) -> dict[str, str]:
    """``T``, ``C``, ``Z`` keep their place; other letters take the first free of ``Z``, ``T``, ``C``."""
    mapping: dict[str, str] = {a: a for a in axes if a in _CANONICAL}
    used = set(mapping)
    for a, n in zip(axes, shape, strict=True):
        if a in mapping or n == 1:
            continue
        free = [d for d in "ZTC" if d not in used]
        # More non-singleton axes than T, C, Z: merge into Z (slowest first).
        mapping[a] = free[0] if free else "Z"
        used.add(mapping[a])
    return mapping


def loop_grid(loop_axes: str, loop_shape: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """``(T, C, Z)`` grid of page numbers for pages looping over ``loop_axes`` (slowest first)."""
    sizes = dict(zip(loop_axes, loop_shape, strict=True))
    for d, n in zip(_CANONICAL, shape[:3], strict=True):
        if sizes.get(d, 1) != n:
            raise MetadataError(
                f"page loops {loop_axes}={tuple(loop_shape)} do not match shape {tuple(shape)}"
            )
    numbers = np.arange(math.prod(loop_shape), dtype=np.int64).reshape(tuple(loop_shape))
    perm = [loop_axes.index(d) for d in _CANONICAL if d in loop_axes]
    grid = numbers.transpose(perm) if perm else numbers
    return grid.reshape(tuple(shape[:3]))


def hyperstack_source(
    path: Path,
    shape: tuple[int, ...],
    page_order: str = "TZC",
    series: int = 0,
    level: int = 0,
) -> TiffPageSource:
    """Pixels of a TIFF whose pages loop over T, Z and C in ``page_order``, as ``TCZYX(S)``.

    Parameters
    ----------
    path
        The TIFF file.
    shape
        Canonical ``(T, C, Z, Y, X)`` or ``(T, C, Z, Y, X, S)`` shape of the result.
    page_order
        The page loops from slowest to fastest; ImageJ hyperstacks are ``"TZC"``
        (page = ``(t * Z + z) * C + c``).
    series, level
        tifffile series index and pyramid level.

    Returns
    -------
    TiffPageSource
        Thread-safe and picklable; uncompressed row-major files are read zero-copy,
        ImageJ files over 4 GB (a single IFD) included. ImageJ virtual stacks (what
        ``imwrite(..., imagej=True)`` writes uncompressed) open without tifffile
        (:mod:`.virtualstack`).

    Raises
    ------
    MetadataError
        If the file's pages do not fit ``shape``.
    """
    path = as_location(path)
    shape = tuple(int(v) for v in shape)
    if sorted(page_order) != sorted("TZC"):
        raise ValueError(f"page_order must be a permutation of 'TZC', got {page_order!r}")
    loop_shape = tuple(shape["TCZ".index(d)] for d in page_order)
    nplanes = math.prod(loop_shape)
    token = tiff_token(path, series, level, page_order, shape)
    if series == 0 and level == 0:
        fast = _virtual_source(path, shape, page_order, loop_shape, token)
        if fast is not None:
            return fast
    tif = open_tifffile(path)  # tifffile's errors become CorruptFileError naming the file
    with tif:
        try:
            ser = tif.series[series]
        except IndexError as exc:
            raise MetadataError(f"{path}: the file has no TIFF series {series}") from exc
        if level:
            ser = ser.levels[level]
        key = ser.keyframe
        lay = page_layout(key, 0)
        plane = (lay.shaped[2], lay.shaped[3]) + ((lay.samples,) if lay.samples > 1 else ())
        if tuple(shape[3:]) != plane or lay.depth != 1:
            raise MetadataError(f"{path}: pages are {key.shape} but the image shape is {shape}")
        grid_numbers = loop_grid(page_order, loop_shape, shape)
        if ser.dataoffset is not None and lay.may_be_row_major:
            return TiffPageSource.back_to_back(
                path, lay, grid_numbers, int(ser.dataoffset), nplanes, shape, token
            )
        pages = list(ser.pages)
        if len(pages) < nplanes:
            # tifffile's series may be shorter than the file (e.g. it trusted a
            # description); fall back to the file's own page list.
            pages = list(tif.pages) if len(tif.pages) >= nplanes else pages
        if len(pages) < nplanes:
            raise MetadataError(f"{path}: the image needs {nplanes} pages but the file has {len(pages)}")
        flat = np.empty(nplanes, dtype=object)
        flat[:] = pages[:nplanes]
        return TiffPageSource.from_pages(flat[grid_numbers], shape, token)


def _virtual_source(
    path: Path, shape: tuple[int, ...], page_order: str, loop_shape: tuple[int, ...], token: str
) -> TiffPageSource | None:
    """The source tifffile's virtual ImageJ series gives, found without tifffile (or ``None``)."""
    from .virtualstack import virtual_stack

    stack = virtual_stack(path)
    if stack is None:
        return None
    lay = page_layout(stack.page, 0)
    nplanes = math.prod(loop_shape)
    if (
        tuple(shape[3:]) != (lay.shaped[2], lay.shaped[3])
        or not lay.may_be_row_major
        or nplanes > stack.images
    ):
        return None  # tifffile's path says what does not fit
    grid_numbers = loop_grid(page_order, loop_shape, shape)
    return TiffPageSource.back_to_back(path, lay, grid_numbers, stack.dataoffset, nplanes, shape, token)
