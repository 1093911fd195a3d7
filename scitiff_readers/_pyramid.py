"""Pyramid levels reduced from full-resolution slabs: exact block means or nearest sampling.

Every writer that makes pyramids uses this one reduction, so an OME-TIFF and an
OME-Zarr written from the same data hold the same reduced pixels.

Level ``k`` of an image of ``Y x X`` pixels is ``ceil(Y / f**k) x ceil(X / f**k)``
pixels, ``f`` being the factor between consecutive levels; only ``Y`` and ``X`` are
reduced. With ``"mean"`` each pixel of level ``k`` is the mean of the
``f**k x f**k`` block of full-resolution pixels it covers (fewer at the right and
bottom edges), rounded to the nearest integer (halves to even) for integer types and
by majority for bool. The means come from running block sums (the ``f x f`` sums of
the level above), which equal the ``f**k x f**k`` block sums of full resolution
exactly (integer sums wide enough for integer pixels, float64 for floats). With ``"nearest"`` level ``k`` is ``data[..., ::f**k, ::f**k]`` (for labels
and masks).

Slabs are canonical ``(T, C, Z, Y, X[, S])`` blocks covering whole ``Y x X`` planes;
they are reduced one plane at a time, so the sums never take more than about four times one plane.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["METHODS", "Pyramid", "level_shape", "max_levels"]

#: Reduction methods.
METHODS = ("mean", "nearest")


def level_shape(shape: tuple[int, ...], scale: int) -> tuple[int, ...]:
    """The canonical shape ``(T, C, Z, Y, X[, S])`` reduced by ``scale`` along ``Y`` and ``X``."""
    return (*shape[:3], -(-shape[3] // scale), -(-shape[4] // scale), *shape[5:])


def max_levels(n: int, factor: int) -> int:
    """The most levels whose total reduction ``factor**k`` does not exceed ``n`` pixels."""
    k = 0
    while factor ** (k + 1) <= n:
        k += 1
    return k


@dataclass(frozen=True)
class Pyramid:
    """``levels`` reduced levels of an image of canonical ``shape``, each ``factor`` times smaller.

    Build it with :meth:`checked` to validate user options.
    """

    shape: tuple[int, ...]
    levels: int
    factor: int = 2
    method: str = "mean"
    _areas: list[np.ndarray] = field(default_factory=list, init=False, repr=False, compare=False)

    @classmethod
    def checked(
        cls,
        shape: tuple[int, ...],
        levels: Any,
        factor: Any = 2,
        method: Any = "mean",
        where: Any = "",
        level_name: str = "levels",
    ) -> Pyramid:
        """Validate ``levels`` (int >= 0), ``factor`` (int >= 2) and ``method``; raise ``ValueError``.

        ``where`` (the target file) and ``level_name`` (the option's name) go into messages.
        """
        prefix = f"{where}: " if str(where) else ""
        if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 0:
            raise ValueError(f"{prefix}{level_name} must be an integer >= 0, got {levels!r}")
        if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 2:
            raise ValueError(f"{prefix}downsample must be an integer >= 2, got {factor!r}")
        if method not in METHODS:
            raise ValueError(
                f"{prefix}downsample_method must be one of {', '.join(map(repr, METHODS))}, got {method!r}"
            )
        ny, nx = shape[3], shape[4]
        if levels and int(factor) ** int(levels) > max(ny, nx):
            raise ValueError(
                f"{prefix}{levels} {level_name} with downsample={factor} would shrink the {ny} x {nx} "
                f"image below one pixel (largest possible: {max_levels(max(ny, nx), int(factor))})"
            )
        return cls(tuple(int(n) for n in shape), int(levels), int(factor), str(method))

    def level_shape(self, k: int) -> tuple[int, ...]:
        """Canonical shape of level ``k`` (0 = full resolution)."""
        return level_shape(self.shape, self.factor**k)

    def scale(self, k: int) -> int:
        """Reduction of level ``k`` along ``Y`` and ``X`` relative to full resolution."""
        return int(self.factor**k)

    def reduce(self, slab: np.ndarray) -> list[np.ndarray]:
        """Levels ``1..levels`` of a ``(t, c, z, Y, X[, S])`` slab of whole planes."""
        if not self.levels:
            return []
        lead = slab.shape[:3]
        outs = [
            np.empty((*lead, *self.level_shape(k)[3:]), dtype=slab.dtype) for k in range(1, self.levels + 1)
        ]
        for index in np.ndindex(*lead):
            self.reduce_plane(slab[index], [out[index] for out in outs])
        return outs

    def reduce_plane(self, plane: np.ndarray, outs: list[np.ndarray]) -> None:
        """Reduce one ``(Y, X[, S])`` plane into ``outs`` (one array per level, written in place)."""
        if self.method == "nearest":
            for k, out in enumerate(outs, start=1):
                step = self.factor**k
                out[...] = plane[::step, ::step]
            return
        block = self.factor ** (2 * len(outs))
        sum_dtype = _sum_dtype(plane.dtype, block)
        sums: np.ndarray = plane
        # float32 quotients round like exact ones when the sums have at most 23 bits: an
        # integer sum's quotient is never closer than 1 / (2 * area) to a half, and
        # float32's error stays below that.
        narrow = sums.dtype.kind in "iu" and _sum_bits(plane.dtype, block) <= 23
        areas = self._level_areas(plane.ndim)
        for out, area in zip(outs, areas, strict=False):
            sums = _block_sums(sums, self.factor, sum_dtype)
            if narrow:
                mean = sums.astype(np.float32)
                mean /= area
            else:
                mean = sums / area
            _store_mean(mean, out)

    def _level_areas(self, ndim: int) -> list[np.ndarray]:
        """Pixels of full resolution that each pixel of every level covers (edge blocks are smaller)."""
        if not self._areas:
            area = np.ones(self.shape[3:5], dtype=np.int64)
            for _ in range(self.levels):
                area = _block_sums(area, self.factor, np.int64)
                # float32 when exact (at most 2**24 pixels a block): float32 sums divide by it.
                self._areas.append(area.astype(np.float32 if area.max() <= 2**24 else np.float64))
        return [a.reshape(a.shape + (1,) * (ndim - 2)) for a in self._areas]


def _sum_bits(dtype: np.dtype[Any], block: int) -> int:
    """Bits of the sum of ``block`` integer (or bool) pixels."""
    return (1 if dtype.kind == "b" else dtype.itemsize * 8) + max(1, block - 1).bit_length()


def _sum_dtype(dtype: np.dtype[Any], block: int) -> type:
    """The type of exact sums of ``block`` pixels.

    The narrowest integer type that holds them for integer and bool pixels (the order
    of integer additions never changes a sum), float64 / complex128 otherwise.
    """
    if dtype.kind == "c":
        return np.complex128
    if dtype.kind not in "uib":
        return np.float64
    bits = _sum_bits(dtype, block)
    if dtype.kind == "i":
        return np.int32 if bits <= 31 else np.int64
    return np.uint32 if bits <= 32 else np.uint64


def _block_sums(a: np.ndarray, f: int, dtype: Any) -> np.ndarray:
    """Sums (in ``dtype``) of the ``f x f`` blocks of the first two axes (the last blocks may be partial).

    Strided additions, not ``np.add.reduceat`` (ten times slower for blocks of two);
    the first addition casts on the fly, so the plane is never copied whole.
    """
    pad_y, pad_x = -a.shape[0] % f, -a.shape[1] % f
    if pad_y or pad_x:
        a = np.pad(a, ((0, pad_y), (0, pad_x)) + ((0, 0),) * (a.ndim - 2))
    rows = np.add(a[0::f], a[1::f], dtype=dtype)
    for i in range(2, f):
        rows += a[i::f]
    out: np.ndarray = np.add(rows[:, 0::f], rows[:, 1::f])
    for i in range(2, f):
        out += rows[:, i::f]
    return out


def _store_mean(mean: np.ndarray, out: np.ndarray) -> None:
    """Means into ``out``'s pixel type: integers rounded to nearest (halves to even), bool by majority."""
    if out.dtype == np.bool_:
        np.greater_equal(mean, 0.5, out=out)
        return
    if out.dtype.kind in "iu":
        np.rint(mean, out=mean)
    out[...] = mean
