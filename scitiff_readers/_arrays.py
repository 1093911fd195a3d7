"""In-memory data as a Reader: ``Reader(array, dim_order=...)``, as aicsimageio's ``ArrayLikeReader``.

numpy arrays, dask arrays and xarray DataArrays (or a list of them, one scene each)
get the whole Reader API. Dims are given by ``dim_order`` (one string for all
scenes or one per scene), taken from a DataArray's own dims, or guessed as the
trailing dims of ``TCZYX`` (``TCZYXS`` for 6-D), as bioio guesses. Scenes are named
``Image:0``, ``Image:1`` ...; unnamed channels ``Channel:<scene>:<index>``, as bioio
names them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ._axes import parse_dim_order
from ._coords import PhysicalPixelSizes, uniform_coordinate_spec
from ._image import Image
from ._options import ReaderOptions
from ._reader import Reader
from ._sources import ArraySource
from .errors import MetadataError, SceneIndexError

__all__ = ["ArrayReader", "is_array_input"]

_LETTERS = "TCZYXS"


def _is_array(obj: Any) -> bool:
    return (
        not isinstance(obj, (str, bytes, os.PathLike))
        and hasattr(obj, "shape")
        and hasattr(obj, "dtype")
        and hasattr(obj, "ndim")
    )


def is_array_input(obj: Any) -> bool:
    """Whether ``obj`` is array data (numpy, dask, xarray ...) or a non-empty list of such."""
    if isinstance(obj, (list, tuple)):
        return bool(obj) and all(_is_array(o) for o in obj)
    return _is_array(obj)


def _per_scene(value: Any, count: int, what: str, is_single: Any) -> list[Any]:
    """One ``value`` per scene: a single value repeated, or a list of one per scene."""
    if value is None or is_single(value):
        return [value] * count
    values = list(value)
    if len(values) != count:
        raise ValueError(f"{what}: {len(values)} values given for {count} scene(s)")
    return values


def _pixel_sizes(value: Any) -> PhysicalPixelSizes | None:
    if value is None or isinstance(value, PhysicalPixelSizes):
        return value
    if isinstance(value, Mapping):
        return PhysicalPixelSizes(value.get("Z"), value.get("Y"), value.get("X"))
    z, y, x = value
    return PhysicalPixelSizes(z, y, x)


@dataclass(frozen=True)
class ArrayOptions(ReaderOptions):
    """Options of :class:`ArrayReader` (see its docstring); one value for all scenes or one per scene."""

    dim_order: str | Sequence[str | None] | None = None
    channel_names: Sequence[str] | Sequence[Sequence[str]] | None = None
    physical_pixel_sizes: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "dim_order",
            self.dim_order is None or isinstance(self.dim_order, (str, list, tuple)),
            "letters of TCZYXS, one per axis, or a list with one such string per scene",
        )
        self.expect(
            "channel_names",
            self.channel_names is None or isinstance(self.channel_names, (list, tuple)),
            "a list of strings, or a list with one such list per scene",
        )
        self.expect(
            "physical_pixel_sizes",
            self.physical_pixel_sizes is None
            or isinstance(self.physical_pixel_sizes, (PhysicalPixelSizes, Mapping, list, tuple)),
            "(Z, Y, X) sizes, a {'Z': .., 'Y': .., 'X': ..} dict or a PhysicalPixelSizes",
        )


class ArrayReader(Reader):
    """Array data (numpy, dask, xarray, or a list of them) with the Reader API.

    Options
    -------
    dim_order
        The dims of the data as letters of ``TCZYXS`` (``"ZYX"``), or a list with one
        string (or ``None``) per scene. Default: a DataArray's own dims when they are
        such letters (either case), else the trailing dims of ``TCZYX``.
    channel_names
        Names of the channels, or a list with one list per scene. Default: a
        DataArray's ``C`` coordinate, else ``Channel:<scene>:<index>``.
    physical_pixel_sizes
        ``(Z, Y, X)`` sizes (a sequence, a ``{"Z": .., "Y": .., "X": ..}`` dict or a
        :class:`~scitiff_readers.PhysicalPixelSizes` with units), for every scene.
    """

    name: ClassVar[str] = "array"
    description: ClassVar[str] = "in-memory numpy / dask / xarray data"
    Options = ArrayOptions
    _opts: ArrayOptions

    def __init__(self, image: Any, reader: Any = None, **options: Any) -> None:
        self._arrays = list(image) if isinstance(image, (list, tuple)) else [image]
        super().__init__(image, reader, **options)

    @classmethod
    def can_open(cls, path: Any) -> bool:
        """Never a file: this reader takes array data (``Reader(array)``)."""
        return False

    def _resolve_path(self, path: Any) -> Path:
        return Path("<in-memory array>")

    def _open(self) -> None:
        count = len(self._arrays)
        orders = _per_scene(self._opts.dim_order, count, "dim_order", lambda v: isinstance(v, str))
        names = _per_scene(
            self._opts.channel_names, count, "channel_names", lambda v: len(v) == 0 or isinstance(v[0], str)
        )
        pps = _pixel_sizes(self._opts.physical_pixel_sizes)
        self._images = [self._describe(i, a, orders[i], names[i], pps) for i, a in enumerate(self._arrays)]

    def _describe(
        self,
        scene: int,
        data: Any,
        order: str | None,
        names: Sequence[str] | None,
        pps: PhysicalPixelSizes | None,
    ) -> Image:
        coords: dict[str, Any] = {}
        attrs: dict[str, Any] = {}
        if hasattr(data, "dims") and hasattr(data, "coords"):  # an xarray DataArray
            own = [str(d) for d in data.dims]
            if order is None and all(len(d) == 1 and d.upper() in _LETTERS for d in own):
                order = "".join(own).upper()
            attrs = dict(data.attrs)
            renamed = dict(zip(own, parse_dim_order(order, data.shape, self._path), strict=False))
            for name, coord in data.coords.items():
                dims = tuple(renamed.get(str(d), str(d)) for d in coord.dims)
                if all(d in _LETTERS for d in dims):
                    coords[renamed.get(str(name), str(name))] = (dims, coord.values, dict(coord.attrs))
            data = data.data
        order = parse_dim_order(order, data.shape, self._path)
        chunks = getattr(data, "chunksize", None)  # dask arrays: one block is the storage unit
        source = ArraySource(data, order, storage_chunks=chunks)
        size_c = source.shape[1]
        if names is not None and len(names) != size_c:
            raise MetadataError(f"{len(names)} channel names given for {size_c} channel(s) in scene {scene}")
        if names is None and "C" not in coords:
            names = [f"Channel:{scene}:{c}" for c in range(size_c)]
        if pps is not None:
            for d, step, unit in zip("ZYX", pps, pps.units, strict=True):
                if step is not None and d not in coords:
                    coords[d] = uniform_coordinate_spec(d, source.shape["TCZYX".index(d)], step, 0.0, unit)
        return Image(
            source=source,
            coords=coords,
            channel_names=names,
            physical_pixel_sizes=pps,
            attrs=attrs,
            name=f"Image:{scene}",
        )

    def _scene_names(self) -> Sequence[str]:
        return [f"Image:{i}" for i in range(len(self._images))]

    def _scene_ids(self) -> Sequence[str]:
        return self._scene_names()

    def _image(self, scene: int, level: int) -> Image:
        if level != 0:
            raise SceneIndexError(f"{self._path}: array data has one resolution level")
        return self._images[scene]

    @property
    def metadata(self) -> dict[str, Any]:
        """The attributes of the current scene's DataArray (``{}`` for plain arrays)."""
        return dict(self.image().attrs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_arrays, (self._arrays, self._sr_given_options, self._sr_scene))


def _restore_arrays(arrays: list[Any], options: dict[str, Any], scene: int) -> ArrayReader:
    reader = ArrayReader(arrays, **options)
    reader.set_scene(scene)
    return reader
