"""What a backend says about one scene at one resolution level.

An :class:`Image` is built from metadata only: the pixel source (an index of the
file, no pixels), coordinates, channel names and physical sizes. The core turns it
into the user API (dims, shape, dask and xarray views) without reading pixels.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from .coords import PhysicalPixelSizes, coordinate, default_channel_names
from .dimensions import Dimensions
from .sources import PixelSource

__all__ = ["Image"]

CoordLike = xr.Variable | xr.DataArray | tuple[Any, ...] | np.ndarray | Sequence[Any]


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
        :class:`xarray.Variable` (see :func:`scitiff_readers.coords.coordinate`),
        ``(dims, values[, attrs])`` tuples or, for a dim, a 1-D sequence.
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
        return dict(self._coords)

    @functools.cached_property
    def _coords(self) -> dict[str, xr.Variable]:
        # Derived once: the Image is immutable and the core caches it per scene / level.
        order = self.source.dims
        out: dict[str, xr.Variable] = {}
        for name, value in self.coords.items():
            if isinstance(value, xr.DataArray):
                out[name] = value.variable
            elif isinstance(value, xr.Variable):
                out[name] = value
            elif isinstance(value, tuple):
                out[name] = xr.Variable(*value)
            elif name in order:
                out[name] = coordinate(name, value)
            else:
                raise TypeError(f"coordinate {name!r} needs dims: give a Variable or a tuple")
        out["C"] = xr.Variable(("C",), np.asarray(self.resolved_channel_names(), dtype=object)
                               , attrs=dict(out["C"].attrs) if "C" in out else {})
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
            values = c.values if isinstance(c, (xr.Variable, xr.DataArray)) else (
                c[1] if isinstance(c, tuple) else c)
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
        coords = self._coords if self.coords else {}
        for dim in "ZYX":
            var = coords.get(dim)
            step = None
            if var is not None and var.ndim == 1 and var.shape[0] >= 2 and np.issubdtype(var.dtype, np.number):
                diffs = np.diff(var.values.astype(np.float64))
                if np.allclose(diffs, diffs[0], rtol=1e-6, atol=0):
                    step = float(diffs[0])
            sizes.append(step)
            units.append(var.attrs.get("units") if (var is not None and step is not None) else None)
        return PhysicalPixelSizes(sizes[0], sizes[1], sizes[2], units)
