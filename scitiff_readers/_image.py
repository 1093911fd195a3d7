"""What a backend says about one scene at one resolution level.

An :class:`Image` is built from metadata only: the pixel source (an index of the
file, no pixels), coordinates, channel names and physical sizes. The core turns it
into the user API (dims, shape, dask and xarray views) without reading pixels.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ._coords import PhysicalPixelSizes, UniformValues, coordinate, default_channel_names
from ._dimensions import Dimensions

if TYPE_CHECKING:  # xarray is imported when coordinates are first asked for
    from collections.abc import Callable, Iterator

    import xarray as xr

    from ._sources import PixelSource


__all__ = ["Image", "LazyCoords"]

CoordLike = Union["xr.Variable", "xr.DataArray", tuple[Any, ...], np.ndarray, Sequence[Any]]


def _xarray_object(value: Any) -> Any:
    """``value``'s :class:`xarray.Variable` if it is an xarray object, else ``None``.

    An xarray object can only exist once xarray is imported, so this never imports it.
    """
    xr_module = sys.modules.get("xarray")
    if xr_module is None:
        return None
    if isinstance(value, xr_module.DataArray):
        return value.variable
    if isinstance(value, xr_module.Variable):
        return value
    return None


class LazyCoords(Mapping[str, Any]):
    """Coordinate specs computed on first use: give :class:`Image` ``coords=LazyCoords(build)``.

    ``build()`` returns the mapping :class:`Image` would otherwise take (see its
    ``coords``). Reading a plane needs no coordinates, so a backend whose coordinates
    cost something to derive (OME per-plane positions, units) builds them only when
    they are first asked for (``dims`` and pixel reads never ask).
    """

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[], Mapping[str, Any]]) -> None:
        self._build: Callable[[], Mapping[str, Any]] | None = build
        self._built: Mapping[str, Any] | None = None

    def _mapping(self) -> Mapping[str, Any]:
        built = self._built
        if built is None:
            build = self._build
            # Two threads may both build it: the same values, the last one kept.
            built = self._built = dict(build()) if build is not None else {}
            self._build = None
        return built

    @property
    def built(self) -> bool:
        """Whether the coordinates have been derived yet (looking at this does not derive them)."""
        return self._built is not None

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        return f"LazyCoords({dict(self._mapping())!r})"


@dataclass(frozen=True, eq=False)
class Image:
    """One scene at one resolution level, described from metadata.

    Parameters
    ----------
    source
        The pixels, in ``TCZYX`` or ``TCZYXS`` order.
    coords
        Coordinates by name: index coordinates on ``T``, ``C``, ``Z``, ``Y``, ``X``
        and any non-index coordinates (a name not among the dims). Values are
        :class:`xarray.Variable` (see :func:`scitiff_readers.backend.coordinate`),
        ``(dims, values[, attrs])`` tuples or, for a dim, a 1-D sequence. A
        :class:`LazyCoords` derives them when first asked for.
    channel_names
        Names of the channels; default: the ``C`` coordinate, else ``C0, C1, ...``.
    physical_pixel_sizes
        Z, Y and X sizes with units; default: the step of uniform ``Z``/``Y``/``X``
        coordinates with their ``units``.
    attrs
        Attributes of the DataArray (for example ``units`` of the pixel values).
    name
        Name of the DataArray.
    """

    source: PixelSource
    coords: Mapping[str, CoordLike] = field(default_factory=dict)
    channel_names: Sequence[str] | None = None
    physical_pixel_sizes: PhysicalPixelSizes | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None

    @property
    def dims(self) -> Dimensions:
        """Dimension names and sizes."""
        return Dimensions(self.source.dims, self.source.shape)

    def resolved_coords(self) -> dict[str, xr.Variable]:
        """Coordinates as variables, with ``C`` always holding the channel names."""
        if not self._ranges:
            return dict(self._coords)
        return {**self._coords, **{k: v.variable for k, v in self._coordinates.items() if k in self._ranges}}

    def resolved_coordinates(self) -> xr.Coordinates:
        """The coordinates with their indexes, ready for a DataArray.

        Uniform axes too long to hold (``UniformValues``)
        get a range index whose values are computed when indexed.
        """
        return self._coordinates

    @functools.cached_property
    def _coordinates(self) -> xr.Coordinates:
        # Derived once: the Image is immutable and the core caches it per scene / level.
        import xarray as xr

        coords = xr.Coordinates(self._coords)
        if not self._ranges:
            return coords
        dataset = coords.to_dataset()
        for name, (dims, values, *attrs) in self._ranges.items():
            dataset = dataset.assign_coords(_range_coordinates(name, dims, values, attrs[0] if attrs else {}))
        return dataset.coords

    @functools.cached_property
    def _ranges(self) -> dict[str, tuple[Any, ...]]:
        """Coordinate specs of uniform axes too long to hold (see :func:`_range_coordinates`)."""
        return {
            name: v
            for name, v in self.coords.items()
            if isinstance(v, tuple) and len(v) > 1 and isinstance(v[1], UniformValues)
        }

    @functools.cached_property
    def _coords(self) -> dict[str, xr.Variable]:
        order = self.source.dims
        out: dict[str, xr.Variable] = {}
        import xarray as xr

        for name, value in self.coords.items():
            variable = _xarray_object(value)
            if variable is not None:
                out[name] = variable
            elif isinstance(value, tuple) and len(value) > 1 and isinstance(value[1], UniformValues):
                continue  # a range index, made by _coordinates
            elif isinstance(value, tuple):
                out[name] = xr.Variable(*value)
            elif name in order:
                out[name] = coordinate(name, value)
            else:
                raise TypeError(f"coordinate {name!r} needs dims: give a Variable or a tuple")
        out["C"] = xr.Variable(
            ("C",),
            np.asarray(self.resolved_channel_names(), dtype=object),
            attrs=dict(out["C"].attrs) if "C" in out else {},
            fastpath=True,  # plain str values: skips xarray's object-dtype scan (pandas), ~60 us
        )
        return out

    def resolved_channel_names(self) -> tuple[str, ...]:
        """The channel names, falling back to the ``C`` coordinate, then ``C0, C1 ...``."""
        return self._channel_names

    @functools.cached_property
    def _channel_names(self) -> tuple[str, ...]:
        count = self.source.shape[1]
        if self.channel_names is not None:
            names = tuple(str(n) for n in self.channel_names)
        elif "C" in self.coords:
            c = self.coords["C"]
            variable = _xarray_object(c)
            values = variable.values if variable is not None else (c[1] if isinstance(c, tuple) else c)
            names = tuple(str(v) for v in np.asarray(values).tolist())
        else:
            names = default_channel_names(count)
        if len(names) != count:
            names = default_channel_names(count)
        return names

    def resolved_physical_pixel_sizes(self) -> PhysicalPixelSizes:
        """Explicit sizes if given, else the steps of uniform Z/Y/X coordinates."""
        return self._physical_pixel_sizes

    @functools.cached_property
    def _physical_pixel_sizes(self) -> PhysicalPixelSizes:
        if self.physical_pixel_sizes is not None:
            return self.physical_pixel_sizes
        sizes: list[float | None] = []
        units: list[str | None] = []
        for dim in "ZYX":
            # From the raw specs, not self._coords: asking for sizes must not import xarray.
            values, attrs = self._values_and_attrs(dim)
            step = None
            if (
                values is not None
                and values.ndim == 1
                and values.shape[0] >= 2
                and np.issubdtype(values.dtype, np.number)
            ):
                diffs = np.diff(values.astype(np.float64))
                if np.allclose(diffs, diffs[0], rtol=1e-6, atol=0):
                    step = float(diffs[0])
            sizes.append(step)
            units.append(attrs.get("units") if step is not None else None)
        return PhysicalPixelSizes(sizes[0], sizes[1], sizes[2], units)

    def _values_and_attrs(self, dim: str) -> tuple[np.ndarray | None, Mapping[str, Any]]:
        """Values and attributes of the coordinate on ``dim`` as given, without xarray."""
        value = self.coords.get(dim)
        if value is None:
            return None, {}
        variable = _xarray_object(value)
        if variable is not None:
            return np.asarray(variable.values), variable.attrs
        if isinstance(value, tuple):
            dims = (value[0],) if isinstance(value[0], str) else tuple(value[0])
            if dims != (dim,):
                return None, {}
            values = value[1]
            if isinstance(values, UniformValues):  # the step is known: never materialise a huge axis
                values = np.array([values.origin, values.origin + values.step])
            return np.asarray(values), (value[2] if len(value) > 2 and value[2] is not None else {})
        return np.asarray(value), {}


def _range_coordinates(
    name: str, dims: Any, values: UniformValues, attrs: Mapping[str, Any]
) -> xr.Coordinates:
    """A coordinate of ``values`` backed by xarray's ``RangeIndex`` (computed on demand).

    Without it (xarray before 2025.06) the values are materialised, which
    ``UniformValues`` refuses beyond memory.
    """
    import xarray as xr

    dim = dims if isinstance(dims, str) else next(iter(dims))
    range_index = getattr(xr.indexes, "RangeIndex", None)
    if range_index is None:  # pragma: no cover - old xarray
        return xr.Coordinates({name: xr.Variable(dim, np.asarray(values), dict(attrs))})
    index = range_index.linspace(
        values.origin,
        values.origin + (values.size - 1) * values.step,
        values.size,
        endpoint=True,
        coord_name=name,
        dim=dim,
    )
    coords = xr.Coordinates.from_xindex(index)
    coords[name].attrs.update(attrs)
    return coords
