"""Building coordinate variables and physical pixel sizes.

Backends describe coordinates with these helpers so every format spells them the
same way: values in their natural dtype, ``attrs["units"]`` only when known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from ._guards import check_allocation
from ._units import normalize_unit

if TYPE_CHECKING:  # xarray is imported when a variable is first built, not with the package
    from collections.abc import Sequence

    import xarray as xr

__all__ = [
    "LAZY_AXIS",
    "PhysicalPixelSizes",
    "UniformValues",
    "coordinate",
    "coordinate_spec",
    "default_channel_names",
    "uniform_coordinate",
    "uniform_coordinate_spec",
]


def coordinate(
    dim: str | tuple[str, ...],
    values: Any,
    units: str | None = None,
    **attrs: Any,
) -> xr.Variable:
    """Return a coordinate variable along ``dim`` with optional ``units``."""
    import xarray as xr

    return xr.Variable(*coordinate_spec(dim, values, units, **attrs))


def coordinate_spec(
    dim: str | tuple[str, ...],
    values: Any,
    units: str | None = None,
    **attrs: Any,
) -> tuple[tuple[str, ...], np.ndarray, dict[str, Any]]:
    """Like :func:`coordinate`, as a ``(dims, values, attrs)`` tuple.

    :class:`~scitiff_readers.backend.Image` accepts such tuples and makes the variables
    only when coordinates are asked for, so opening a file and reading pixels never
    pays for building xarray objects.
    """
    dims = (dim,) if isinstance(dim, str) else tuple(dim)
    all_attrs = dict(attrs)
    unit = normalize_unit(units)
    if unit is not None:
        all_attrs["units"] = unit
    return dims, np.asarray(values), all_attrs


def uniform_coordinate(
    dim: str,
    size: int,
    step: float,
    origin: float = 0.0,
    units: str | None = None,
) -> xr.Variable:
    """Return ``origin + index * step`` for ``size`` indices, as float64."""
    import xarray as xr

    dims, values, attrs = uniform_coordinate_spec(dim, size, step, origin, units)
    return xr.Variable(dims, np.asarray(values), attrs)


#: Axes longer than this get :class:`UniformValues` (computed on demand) instead of an array.
LAZY_AXIS = 2**20


@dataclass(frozen=True)
class UniformValues:
    """``origin + index * step`` for ``size`` indices, not materialised.

    A legal sparse array (an OME-Zarr declaring 2**40 time points, most chunks
    missing) has an axis whose values no memory could hold; zarr opens it, so the
    reader does too, and the core turns these values into a range-like xarray index
    (values computed when indexed). ``numpy.asarray`` materialises them, refused
    with :class:`~scitiff_readers.errors.ImageTooLargeError` beyond memory.
    """

    size: int
    step: float
    origin: float = 0.0

    @property
    def shape(self) -> tuple[int]:
        """One dim of ``size``."""
        return (self.size,)

    @property
    def dtype(self) -> np.dtype[Any]:
        """Always float64."""
        return np.dtype(np.float64)

    def __len__(self) -> int:
        return self.size

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        check_allocation(
            self.size * 8,
            None,
            f"a coordinate of {self.size} values",
            advice="index the coordinate (values are computed on demand) instead of reading it whole",
        )
        values = self.origin + np.arange(self.size, dtype=np.float64) * self.step
        return values if dtype is None else values.astype(dtype)


def uniform_coordinate_spec(
    dim: str,
    size: int,
    step: float,
    origin: float = 0.0,
    units: str | None = None,
) -> tuple[tuple[str, ...], np.ndarray | UniformValues, dict[str, Any]]:
    """Like :func:`uniform_coordinate`, as a ``(dims, values, attrs)`` tuple (see :func:`coordinate_spec`).

    Axes longer than :data:`LAZY_AXIS` get :class:`UniformValues`: the size comes
    from the file, and nothing is allocated for it until values are indexed.
    """
    size = int(size)
    if size > LAZY_AXIS:
        dims, _, attrs = coordinate_spec(dim, (), units)
        return dims, UniformValues(size, float(step), float(origin)), attrs
    values = origin + np.arange(size, dtype=np.float64) * float(step)
    return coordinate_spec(dim, values, units)


def default_channel_names(count: int) -> tuple[str, ...]:
    """Fallback channel names ``C0, C1, ...`` for files that name none."""
    check_allocation(
        int(count) * 64,
        None,
        f"names for {count} channels",
        advice="the channel count in the file is likely corrupt",
    )
    return tuple(f"C{i}" for i in range(count))


class PixelUnits(tuple[str | None, str | None, str | None]):
    """Units of the Z, Y and X pixel sizes."""

    __slots__ = ()

    def __new__(cls, Z: str | None, Y: str | None, X: str | None) -> Self:  # noqa: N803
        return super().__new__(cls, (normalize_unit(Z), normalize_unit(Y), normalize_unit(X)))

    @property
    def Z(self) -> str | None:  # noqa: N802
        """Unit of the Z size."""
        return self[0]

    @property
    def Y(self) -> str | None:  # noqa: N802
        """Unit of the Y size."""
        return self[1]

    @property
    def X(self) -> str | None:  # noqa: N802
        """Unit of the X size."""
        return self[2]


# A tuple subclass cannot have non-empty __slots__, and `units` needs a per-instance slot: __dict__.
class PhysicalPixelSizes(tuple[float | None, float | None, float | None]):  # noqa: SLOT001
    """Pixel sizes ``(Z, Y, X)`` with their units.

    It unpacks like aicsimageio's named tuple (``z, y, x = r.physical_pixel_sizes``)
    and adds :attr:`units`, which aicsimageio and bioio lack. ``None`` means the file
    does not say.
    """

    units: PixelUnits

    def __new__(
        cls,
        Z: float | None,  # noqa: N803
        Y: float | None,  # noqa: N803
        X: float | None,  # noqa: N803
        units: Sequence[str | None] | str | None = None,
    ) -> Self:
        """Sizes ``Z, Y, X``; ``units`` is one unit for all three or one per dim."""
        obj = super().__new__(cls, (_opt_float(Z), _opt_float(Y), _opt_float(X)))
        if units is None or isinstance(units, str):
            obj.units = PixelUnits(units, units, units)
        else:
            z, y, x = units
            obj.units = PixelUnits(z, y, x)
        return obj

    @property
    def Z(self) -> float | None:  # noqa: N802
        """Size of a voxel along Z."""
        return self[0]

    @property
    def Y(self) -> float | None:  # noqa: N802
        """Size of a pixel along Y."""
        return self[1]

    @property
    def X(self) -> float | None:  # noqa: N802
        """Size of a pixel along X."""
        return self[2]

    def __reduce__(self) -> tuple[Any, ...]:
        return (PhysicalPixelSizes, (self[0], self[1], self[2], tuple(self.units)))

    def __repr__(self) -> str:
        parts = [
            f"{d}={v!r}" + (f" {u}" if u and v is not None else "")
            for d, v, u in zip("ZYX", self, self.units, strict=True)
        ]
        return f"PhysicalPixelSizes({', '.join(parts)})"


def _opt_float(value: float | None) -> float | None:
    return None if value is None else float(value)
