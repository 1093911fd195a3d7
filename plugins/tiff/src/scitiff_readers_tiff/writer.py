"""The ``ome-tiff`` writer: a TCZYX(S) DataArray to OME-TIFF with tifffile, streamed.

Coordinates become OME metadata: uniform ``X``/``Y``/``Z`` steps -> ``PhysicalSize``
(with the coordinate's ``units``), a non-zero first value -> every plane's
``Position``; a uniform ``T`` -> ``TimeIncrement``, other ``T`` values -> per-plane
``DeltaT``; ``C`` values -> channel names. Pixels are handed to tifffile as an
iterator of planes (or tiles) computed one dask block-row at a time, so the array is
never loaded whole. Pyramid levels are reduced from those same block-rows as they pass
(the input is read once) and held in temporary memory maps until TIFF's layout lets
them be written, after the full-resolution pages.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from scitiff_readers.errors import MetadataError
from scitiff_readers.units import normalize_unit
from scitiff_readers.writers import Writer

__all__ = ["OmeTiffWriter", "ome_metadata_from_coords"]

_BIGTIFF_BYTES = 2**32 - 2**25  # leave room for the IFDs and the OME-XML
_OME_TYPES = frozenset({"i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8", "c8", "c16", "b1"})


class OmeTiffWriter(Writer):
    """Write OME-TIFF with tifffile.

    Options
    -------
    compression
        tifffile compression, e.g. ``"zlib"``, ``"zstd"``, ``("zlib", 6)``; default none.
    tile
        ``(tile_length, tile_width)`` (multiples of 16) for tiled pages; default strips.
    bigtiff
        Force BigTIFF on (``True``) or off (``False``); default: BigTIFF when the
        pixels exceed ~4 GB.
    subresolutions
        Number of reduced-resolution pyramid levels written as SubIFDs of every
        plane (default 0: no pyramid). Level ``k`` is ``ceil(Y / f**k) x ceil(X / f**k)``
        pixels; pyramids are always tiled (default tile 256 x 256, smaller for
        small images).
    downsample
        The factor ``f`` between consecutive levels (integer >= 2, default 2).
    downsample_method
        ``"mean"`` (default): each pixel of level ``k`` is the mean of the
        ``f**k x f**k`` block of full-resolution pixels it covers (fewer at the
        right and bottom edges), rounded to the nearest integer (halves to even)
        for integer types; ``"nearest"``: every ``f**k``-th pixel
        (``data[..., ::f**k, ::f**k]``), for labels and masks.
    """

    name: ClassVar[str] = "ome-tiff"
    suffixes: ClassVar[tuple[str, ...]] = (".ome.tif", ".ome.tiff")

    @staticmethod
    def save(data: Any, uri: Any, **kwargs: Any) -> Path:
        """The ``OmeTiffWriter.save(data, uri, dim_order=..., ...)`` of aicsimageio and bioio-ome-tiff.

        See :func:`scitiff_readers_tiff.savecompat.save`.
        """
        from .savecompat import save

        return save(data, uri, **kwargs)

    priority: ClassVar[int] = 50
    options: ClassVar[Any] = MappingProxyType({
        "compression": None, "tile": None, "bigtiff": None,
        "subresolutions": 0, "downsample": 2, "downsample_method": "mean",
    })

    @classmethod
    def _write(cls, data: xr.DataArray, path: Path, *, target: Path | None = None, **options: Any) -> None:
        import tifffile

        where = target if target is not None else path

        axes = "".join(str(d) for d in data.dims)
        shape = tuple(int(n) for n in data.shape)
        dtype = np.dtype(data.dtype)
        if dtype.str[1:] not in _OME_TYPES:
            raise MetadataError(
                f"{where}: OME-TIFF cannot store {dtype} pixels (OME pixel types: int8/16/32, uint8/16/32, "
                "float32/64, complex64/128, bool); convert first, e.g. data.astype('float32')"
            )
        has_s = axes.endswith("S")
        samples = shape[5] if has_s else 1
        metadata = ome_metadata_from_coords(data)
        metadata["axes"] = axes
        bigtiff = options.get("bigtiff")
        if bigtiff is None:
            bigtiff = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > _BIGTIFF_BYTES
        levels, factor, method = _pyramid_options(options, shape, where)
        tile = options.get("tile")
        tile = tuple(int(v) for v in tile) if tile is not None else None
        if levels and tile is None:
            tile = _default_tile(shape)
        photometric = "rgb" if has_s and samples in (3, 4) and dtype in (np.uint8, np.uint16) else "minisblack"
        common: dict[str, Any] = {
            "dtype": dtype, "photometric": photometric, "planarconfig": "contig" if has_s else None,
            "tile": tile, "compression": options.get("compression"),
        }
        with tifffile.TiffWriter(path, bigtiff=bool(bigtiff), ome=True) as tw, \
                _LevelSpool(shape, dtype, levels, factor, method, path.parent) as spool:
            tw.write(_pages(data.data, shape, tile, spool.add), shape=shape, subifds=levels or None,
                     metadata=metadata, **common)
            for level in spool.levels:
                tw.write(_pages(level, level.shape, tile), shape=level.shape, subfiletype=1, **common)


_METHODS = ("mean", "nearest")
_MAX_TILE = 256


def _pyramid_options(options: dict[str, Any], shape: tuple[int, ...], where: Path) -> tuple[int, int, str]:
    """Validated ``(subresolutions, downsample, downsample_method)``."""
    levels, factor, method = options.get("subresolutions", 0), options.get("downsample", 2), options.get(
        "downsample_method", "mean")
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 0:
        raise ValueError(f"{where}: subresolutions must be an integer >= 0, got {levels!r}")
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 2:
        raise ValueError(f"{where}: downsample must be an integer >= 2, got {factor!r}")
    if method not in _METHODS:
        raise ValueError(f"{where}: downsample_method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    ny, nx = shape[3], shape[4]
    if levels and int(factor) ** int(levels) > max(ny, nx):
        raise ValueError(
            f"{where}: {levels} subresolutions with downsample={factor} would shrink the {ny} x {nx} "
            f"image below one pixel (largest possible: {_max_levels(max(ny, nx), int(factor))})"
        )
    return int(levels), int(factor), str(method)


def _max_levels(n: int, factor: int) -> int:
    k = 0
    while factor ** (k + 1) <= n:
        k += 1
    return k


def _default_tile(shape: tuple[int, ...]) -> tuple[int, int]:
    """256 x 256, or the image's size rounded up to 16 when it is smaller (tiles are multiples of 16)."""
    return tuple(min(_MAX_TILE, -(-n // 16) * 16) for n in shape[3:5])  # type: ignore[return-value]


def _pages(
    array: Any, shape: tuple[int, ...], tile: tuple[int, ...] | None,
    on_block_row: Callable[[int, int, np.ndarray], None] | None = None,
) -> Iterator[np.ndarray]:
    planes = _planes(array, shape, on_block_row)
    return _tiles(planes, tile) if tile is not None else planes


def _level_shape(shape: tuple[int, ...], factor: int) -> tuple[int, ...]:
    return (*shape[:3], -(-shape[3] // factor), -(-shape[4] // factor), *shape[5:])


class _LevelSpool:
    """Pyramid levels ``1..N``, reduced from each full-resolution block-row as it is written.

    TIFF wants every full-resolution page before the first reduced one, so the levels
    are kept in temporary ``.npy`` memory maps beside the output (at most a third of
    the input's size for factor 2) and written afterwards; the input itself is read
    once. Means are built from running block sums (``f x f`` sums of the level above),
    which equal the ``f**k x f**k`` block sums of full resolution exactly.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any], count: int, factor: int, method: str,
                 folder: Path) -> None:
        self.factor, self.method, self.dtype = factor, method, dtype
        self.levels: list[np.ndarray] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if count:
            self._tmp = tempfile.TemporaryDirectory(dir=folder, prefix=".pyramid-")
            for k in range(1, count + 1):
                self.levels.append(np.lib.format.open_memmap(
                    Path(self._tmp.name) / f"level{k}.npy", mode="w+", dtype=dtype,
                    shape=_level_shape(shape, factor**k)))

    def __enter__(self) -> _LevelSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.levels.clear()  # drop the maps before their files are removed
        if self._tmp is not None:
            self._tmp.cleanup()

    def add(self, t0: int, c0: int, block_row: np.ndarray) -> None:
        """Reduce one ``(t, c, Z, Y, X[, S])`` block-row of full resolution into every level."""
        if not self.levels:
            return
        where = (slice(t0, t0 + block_row.shape[0]), slice(c0, c0 + block_row.shape[1]))
        if self.method == "nearest":
            for k, level in enumerate(self.levels, start=1):
                step = self.factor**k
                level[where] = block_row[:, :, :, ::step, ::step]
            return
        sums = block_row.astype(np.complex128 if np.iscomplexobj(block_row) else np.float64)
        counts = [np.ones(n) for n in block_row.shape[3:5]]
        for level in self.levels:
            starts = [np.arange(0, n, self.factor) for n in sums.shape[3:5]]
            sums = np.add.reduceat(np.add.reduceat(sums, starts[0], axis=3), starts[1], axis=4)
            counts = [np.add.reduceat(c, st) for c, st in zip(counts, starts, strict=True)]
            area = np.multiply.outer(*counts).reshape(sums.shape[3:5] + (1,) * (sums.ndim - 5))
            level[where] = _cast_mean(sums / area, self.dtype)


def _cast_mean(mean: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """Means back to the pixel type: integers rounded to nearest (halves to even), bool by majority."""
    if dtype == np.bool_:
        return mean >= 0.5
    if np.issubdtype(dtype, np.integer):
        return np.rint(mean).astype(dtype)
    return mean.astype(dtype)


def _planes(
    array: Any, shape: tuple[int, ...],
    on_block_row: Callable[[int, int, np.ndarray], None] | None = None,
) -> Iterator[np.ndarray]:
    """Planes in ``T, C, Z`` order, computing one block-row of a dask array at a time.

    ``on_block_row(t0, c0, block_row)`` sees each block-row before its planes are handed
    out (for a numpy input, each ``(t, c)`` pair is a block-row).
    """
    chunks = getattr(array, "chunks", None)
    if chunks is None:
        arr = np.asarray(array)
        for t in range(shape[0]):
            for c in range(shape[1]):
                if on_block_row is not None:
                    on_block_row(t, c, arr[t:t + 1, c:c + 1])
                for z in range(shape[2]):
                    yield np.ascontiguousarray(arr[t, c, z])
        return
    import dask

    t_edges = np.cumsum((0, *chunks[0]))
    c_edges = np.cumsum((0, *chunks[1]))
    for t0, t1 in itertools.pairwise(t_edges):
        for c0, c1 in itertools.pairwise(c_edges):
            # One block-row: the dask chunks covering these T and C ranges, all Z,
            # computed together (parallel reads), then handed out plane by plane.
            (slab,) = dask.compute(array[t0:t1, c0:c1])
            if on_block_row is not None:
                on_block_row(int(t0), int(c0), slab)
            for t in range(t1 - t0):
                for c in range(c1 - c0):
                    for z in range(shape[2]):
                        yield np.ascontiguousarray(slab[t, c, z])
            del slab


def _tiles(planes: Iterator[np.ndarray], tile: tuple[int, ...]) -> Iterator[np.ndarray]:
    """Split each plane into row-major tiles, padding edge tiles with zeros (TIFF tiles are full size)."""
    ty, tx = tile
    for plane in planes:
        ny, nx = plane.shape[:2]
        for y in range(0, ny, ty):
            for x in range(0, nx, tx):
                block = plane[y:y + ty, x:x + tx]
                if block.shape[:2] != (ty, tx):
                    padded = np.zeros((ty, tx, *plane.shape[2:]), dtype=plane.dtype)
                    padded[: block.shape[0], : block.shape[1]] = block
                    block = padded
                yield np.ascontiguousarray(block)


def _uniform_step(values: np.ndarray) -> float | None:
    if values.ndim != 1 or values.size < 2 or not np.issubdtype(values.dtype, np.number):
        return None
    diffs = np.diff(values.astype(np.float64))
    if np.allclose(diffs, diffs[0], rtol=1e-6, atol=0) and diffs[0] > 0:
        return float(diffs[0])
    return None


def ome_metadata_from_coords(data: xr.DataArray) -> dict[str, Any]:
    """Tifffile ``metadata=`` for OME from the coordinates of a canonical DataArray."""
    meta: dict[str, Any] = {}
    shape = dict(zip(data.dims, data.shape, strict=True))
    n_planes = shape["T"] * shape["C"] * shape["Z"]
    plane: dict[str, list[Any]] = {}

    def per_plane(dim_index: Any) -> list[Any]:
        out = []
        for t in range(shape["T"]):
            for c in range(shape["C"]):
                for z in range(shape["Z"]):
                    out.append(dim_index(t, c, z))
        return out

    for dim in "XYZ":
        if dim not in data.coords:
            continue
        coord = data.coords[dim]
        values = np.asarray(coord.values)
        unit = normalize_unit(coord.attrs.get("units"))
        step = _uniform_step(values)
        if step is not None:
            meta[f"PhysicalSize{dim}"] = step
            if unit:
                meta[f"PhysicalSize{dim}Unit"] = unit
        if values.size and np.issubdtype(values.dtype, np.number):
            if dim == "Z" and step is None and values.size > 1:
                plane[f"Position{dim}"] = per_plane(lambda t, c, z, v=values: float(v[z]))
            elif float(values[0]) != 0.0:
                plane[f"Position{dim}"] = [float(values[0])] * n_planes
            else:
                continue
            if unit:
                plane[f"Position{dim}Unit"] = [unit] * n_planes
    if "T" in data.coords:
        coord = data.coords["T"]
        values = np.asarray(coord.values)
        unit = normalize_unit(coord.attrs.get("units"))
        if np.issubdtype(values.dtype, np.number) and values.size:
            step = _uniform_step(values)
            if step is not None and float(values[0]) == 0.0:
                meta["TimeIncrement"] = step
                if unit:
                    meta["TimeIncrementUnit"] = unit
            else:
                plane["DeltaT"] = per_plane(lambda t, c, z, v=values: float(v[t]))
                if unit:
                    plane["DeltaTUnit"] = [unit] * n_planes
    if "C" in data.coords:
        names = [str(v) for v in np.asarray(data.coords["C"].values).tolist()]
        meta["Channel"] = {"Name": names}
    if plane:
        meta["Plane"] = plane
    if data.name is not None:
        meta["Name"] = str(data.name)
    return meta
