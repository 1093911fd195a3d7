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

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from scitiff_readers.backend import (
    Progress,
    Pyramid,
    PyramidOptions,
    SceneData,
    Slab,
    Writer,
    iter_slabs,
    normalize_unit,
    plan_slabs,
)
from scitiff_readers.errors import MetadataError, OptionError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import xarray as xr

__all__ = ["OmeTiffOptions", "OmeTiffWriter", "ome_metadata_from_coords"]

_BIGTIFF_BYTES = 2**32 - 2**25  # leave room for the IFDs and the OME-XML
_OME_TYPES = frozenset({"i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8", "c8", "c16", "b1"})


@dataclass(frozen=True)
class OmeTiffOptions(PyramidOptions):
    """The options of :class:`OmeTiffWriter` (see there); checked before anything is written."""

    compression: Any = None
    tile: tuple[int, int] | None = None
    bigtiff: bool | None = None
    subresolutions: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect_flag("bigtiff", optional=True)
        self.expect_count("subresolutions", 0, optional=True)
        tile = self.tile
        self.expect(
            "tile",
            tile is None
            or (isinstance(tile, (tuple, list)) and len(tile) == 2 and all(map(_is_tile_edge, tile))),
            "None or (tile_length, tile_width), positive multiples of 16",
        )
        if self.subresolutions is not None and self.levels:
            raise OptionError("pass levels or subresolutions (the same option), not both")

    @property
    def pyramid_levels(self) -> tuple[int, str]:
        """The number of levels asked for, and the name of the option that asked."""
        if self.subresolutions is not None:
            return self.subresolutions, "subresolutions"
        return self.levels, "levels"


def _is_tile_edge(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return False
    return int(value) > 0 and int(value) % 16 == 0


class OmeTiffWriter(Writer):
    """Write OME-TIFF with tifffile.

    Several scenes become several OME ``Image`` elements (series) of one file.

    Options
    -------
    compression
        tifffile compression, e.g. ``"zlib"``, ``"zstd"``, ``("zlib", 6)``; default none.
    tile
        ``(tile_length, tile_width)`` (multiples of 16) for tiled pages; default strips.
    bigtiff
        Force BigTIFF on (``True``) or off (``False``); default: BigTIFF when the
        pixels exceed ~4 GB.
    levels
        Number of reduced-resolution pyramid levels written as SubIFDs of every
        plane (default 0: no pyramid). Level ``k`` is ``ceil(Y / f**k) x ceil(X / f**k)``
        pixels; pyramids are always tiled (default tile 256 x 256, smaller for
        small images). ``subresolutions`` is the same option under its tifffile name.
    downsample
        The factor ``f`` between consecutive levels (integer >= 2, default 2).
    downsample_method
        ``"mean"`` (default): each pixel of level ``k`` is the mean of the
        ``f**k x f**k`` block of full-resolution pixels it covers (fewer at the
        right and bottom edges), rounded to the nearest integer (halves to even)
        for integer types; ``"nearest"``: every ``f**k``-th pixel
        (``data[..., ::f**k, ::f**k]``), for labels and masks. See
        :mod:`scitiff_readers.backend`.
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
    max_scenes: ClassVar[int | None] = None
    Options = OmeTiffOptions

    @classmethod
    def _write(
        cls,
        data: xr.DataArray,
        path: Path,
        *,
        opts: OmeTiffOptions | None = None,
        target: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        where = target if target is not None else path
        cls._write_scenes(
            [SceneData(str(data.name or "image"), data)],
            path,
            target=where,
            progress=progress or Progress(int(data.nbytes)),
            opts=opts or OmeTiffOptions(),
        )

    @classmethod
    def _write_scenes(
        cls,
        scenes: Sequence[SceneData],
        path: Path,
        *,
        target: Path,
        progress: Progress,
        opts: OmeTiffOptions,
    ) -> None:
        import tifffile

        total = sum(
            int(np.prod(s.data.shape, dtype=np.int64)) * np.dtype(s.data.dtype).itemsize for s in scenes
        )
        bigtiff = opts.bigtiff if opts.bigtiff is not None else total > _BIGTIFF_BYTES
        plans = [_ScenePlan.make(scene, opts, target) for scene in scenes]
        with tifffile.TiffWriter(path, bigtiff=bool(bigtiff), ome=True) as tw:
            for plan in plans:
                plan.write(tw, path.parent, progress)


class _ScenePlan:
    """One scene's pixels, metadata and page layout, validated before anything is written."""

    def __init__(
        self, data: xr.DataArray, metadata: dict[str, Any], pyramid: Pyramid, common: dict[str, Any]
    ) -> None:
        self.data, self.metadata, self.pyramid, self.common = data, metadata, pyramid, common

    @classmethod
    def make(cls, scene: SceneData, opts: OmeTiffOptions, where: Path) -> _ScenePlan:
        data = scene.data
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
        if "Name" not in metadata:
            metadata["Name"] = scene.name
        levels, name = opts.pyramid_levels
        pyramid = Pyramid.checked(shape, levels, opts.downsample, opts.downsample_method, where, name)
        tile = tuple(int(v) for v in opts.tile) if opts.tile is not None else None
        if pyramid.levels and tile is None:
            tile = _default_tile(shape)
        photometric = (
            "rgb" if has_s and samples in (3, 4) and dtype in (np.uint8, np.uint16) else "minisblack"
        )
        common: dict[str, Any] = {
            "dtype": dtype,
            "photometric": photometric,
            "planarconfig": "contig" if has_s else None,
            "tile": tile,
            "compression": opts.compression,
        }
        return cls(data, metadata, pyramid, common)

    def write(self, tw: Any, folder: Path, progress: Progress) -> None:
        shape = tuple(int(n) for n in self.data.shape)
        tile = self.common["tile"]
        levels = self.pyramid.levels
        with _LevelSpool(self.pyramid, np.dtype(self.data.dtype), folder) as spool:
            tw.write(
                _pages(self.data.data, shape, tile, spool.add, progress),
                shape=shape,
                subifds=levels or None,
                metadata=self.metadata,
                **self.common,
            )
            for level in spool.levels:
                tw.write(_pages(level, level.shape, tile), shape=level.shape, subfiletype=1, **self.common)


_MAX_TILE = 256


def _default_tile(shape: tuple[int, ...]) -> tuple[int, int]:
    """256 x 256, or the image's size rounded up to 16 when it is smaller (tiles are multiples of 16)."""
    y, x = (min(_MAX_TILE, -(-n // 16) * 16) for n in shape[3:5])
    return y, x


def _pages(
    array: Any,
    shape: tuple[int, ...],
    tile: tuple[int, ...] | None,
    on_slab: Callable[[Slab, np.ndarray], None] | None = None,
    progress: Progress | None = None,
) -> Iterator[np.ndarray]:
    planes = _planes(array, shape, on_slab, progress)
    return _tiles(planes, tile) if tile is not None else planes


class _LevelSpool:
    """Pyramid levels ``1..N``, reduced from each full-resolution slab as it is written.

    TIFF wants every full-resolution page before the first reduced one, so the levels
    are kept in temporary ``.npy`` memory maps beside the output (at most a third of
    the input's size for factor 2) and written afterwards; the input itself is read
    once.
    """

    def __init__(self, pyramid: Pyramid, dtype: np.dtype[Any], folder: Path) -> None:
        self.pyramid = pyramid
        self.levels: list[np.ndarray] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if pyramid.levels:
            self._tmp = tempfile.TemporaryDirectory(dir=folder, prefix=".pyramid-")
            for k in range(1, pyramid.levels + 1):
                self.levels.append(
                    np.lib.format.open_memmap(
                        Path(self._tmp.name) / f"level{k}.npy",
                        mode="w+",
                        dtype=dtype,
                        shape=pyramid.level_shape(k),
                    )
                )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.levels.clear()  # drop the maps before their files are removed
        if self._tmp is not None:
            self._tmp.cleanup()

    def add(self, where: Slab, slab: np.ndarray) -> None:
        """Reduce one full-resolution slab into every level."""
        if not self.levels:
            return
        for level, reduced in zip(self.levels, self.pyramid.reduce(slab), strict=True):
            level[where] = reduced


def _planes(
    array: Any,
    shape: tuple[int, ...],
    on_slab: Callable[[Slab, np.ndarray], None] | None = None,
    progress: Progress | None = None,
) -> Iterator[np.ndarray]:
    """Planes in ``T, C, Z`` order, computing one slab of a dask array at a time.

    ``on_slab(where, slab)`` sees each slab before its planes are handed out.
    """
    slabs = plan_slabs(shape, np.dtype(array.dtype).itemsize, getattr(array, "chunks", None))
    for where, slab in iter_slabs(array, slabs):
        if on_slab is not None:
            on_slab(where, slab)
        for index in np.ndindex(*slab.shape[:3]):
            plane = np.ascontiguousarray(slab[index])
            # Counted as handed over: tifffile stops asking after the last plane.
            if progress is not None:
                progress.advance(plane.nbytes)
            yield plane


def _tiles(planes: Iterator[np.ndarray], tile: tuple[int, ...]) -> Iterator[np.ndarray]:
    """Split each plane into row-major tiles, padding edge tiles with zeros (TIFF tiles are full size)."""
    ty, tx = tile
    for plane in planes:
        ny, nx = plane.shape[:2]
        for y in range(0, ny, ty):
            for x in range(0, nx, tx):
                block = plane[y : y + ty, x : x + tx]
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
