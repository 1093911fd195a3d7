"""SciTiff coordinates and masks as xarray coordinates, and back.

Reading (:func:`metadata_coords`):

* ``t, z, c, y, x`` become ``T, Z, C, Y, X``. A 1-D coordinate named after its own
  dim is the index coordinate of that dim; every other coordinate keeps its name
  and becomes a non-index coordinate on the renamed dims (``pixel-id`` over
  ``X, Y``), or a scalar coordinate when it is 0-D.
* Values get their dtype back: ``int64`` stored as JSON floats are integers again,
  ``datetime64`` ISO strings become ``datetime64[<unit>]`` at the unit's
  resolution, strings stay strings, masks are booleans.
* ``attrs["units"]`` is the scitiff unit string (``"µs"``, ``"mm"``); a null unit
  gives no ``units`` attribute.
* Bin edges (N + 1 values along a dim of size N): the coordinate holds the bin
  centres and ``attrs["bounds"]`` names a companion coordinate ``<name>_bounds``
  whose values are :class:`pandas.Interval` objects (closed on the left, as scipp
  bins are), following the CF ``bounds`` attribute and xarray's own representation
  of bins (``groupby_bins``). The original edges are exact in the intervals.
* Masks become boolean coordinates named after the mask (``<name>_mask`` if a
  coordinate already has that name) with ``attrs["scitiff_role"] = "mask"``.
  Renamed coordinates and masks keep their SciTiff name in ``attrs["scitiff_name"]``.

Writing (:func:`scitiff_variables`) is the inverse, used by the writer.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from scitiff_readers.errors import ScitiffReadersWarning

if TYPE_CHECKING:
    from .schema import ImageMetadata

__all__ = [
    "BOUNDS_SUFFIX",
    "DIM_NAMES",
    "MASK_ROLE",
    "MetadataCoords",
    "bin_edges",
    "datetime_unit",
    "metadata_coords",
    "variable_values",
]

#: SciTiff dim -> view dim.
DIM_NAMES: Mapping[str, str] = {"t": "T", "z": "Z", "c": "C", "y": "Y", "x": "X"}
#: Suffix of the coordinate holding the bins of a bin-edge coordinate.
BOUNDS_SUFFIX = "_bounds"
#: ``attrs["scitiff_role"]`` of coordinates that are SciTiff masks.
MASK_ROLE = "mask"

# scipp time units -> numpy datetime64 units.
_DATETIME_UNITS = {"s": "s", "ms": "ms", "µs": "us", "us": "us", "μs": "us", "ns": "ns", "min": "m",
                   "h": "h", "D": "D", "d": "D", "Y": "Y", "M": "M"}


def datetime_unit(unit: str | None) -> str | None:
    """The numpy datetime64 unit for a scitiff time unit (``"µs"`` -> ``"us"``)."""
    if unit is None:
        return None
    return _DATETIME_UNITS.get(unit.strip())


def variable_values(var: Any) -> np.ndarray:
    """The values of a schema variable as a numpy array of its dtype and shape."""
    values = var.values
    dtype = var.dtype
    if dtype == "string":
        out = np.asarray(values, dtype=str)
    elif dtype == "datetime64":
        unit = datetime_unit(var.unit)
        out = np.asarray(values, dtype=f"datetime64[{unit}]" if unit else "datetime64")
    elif dtype == "bool":
        out = np.asarray(values, dtype=np.float64) != 0
    else:
        target = np.dtype(dtype)
        raw = np.asarray(values)
        if target.kind in "iu" and raw.dtype.kind == "f":
            # int64 coordinates are written as JSON floats by scitiff.
            raw = np.rint(raw)
        out = raw.astype(target)
    return out.reshape(tuple(var.shape))


def _midpoints(edges: np.ndarray, axis: int) -> np.ndarray:
    lo = np.take(edges, np.arange(edges.shape[axis] - 1), axis=axis)
    hi = np.take(edges, np.arange(1, edges.shape[axis]), axis=axis)
    if edges.dtype.kind == "M":
        return lo + (hi - lo) // 2
    if edges.dtype.kind not in "iuf":
        raise TypeError(f"bin edges of dtype {edges.dtype} have no centres")
    return lo + (hi.astype(np.float64) - lo) / 2.0


def _intervals(edges: np.ndarray, axis: int) -> np.ndarray:
    """Bins as intervals: ``[e0, e1)`` for increasing edges, ``(e1, e0]`` for decreasing ones.

    Raises
    ------
    ValueError
        If the edges are neither increasing nor decreasing.
    """
    import pandas as pd

    moved = np.moveaxis(edges, axis, -1)
    out = np.empty((*moved.shape[:-1], moved.shape[-1] - 1), dtype=object)
    for index in np.ndindex(*moved.shape[:-1]):
        row: Any = moved[index]
        steps = np.diff(row)
        if row.dtype.kind == "M":
            row = pd.to_datetime(row)
        if np.all(steps >= steps.dtype.type(0)):
            out[index] = list(pd.IntervalIndex.from_breaks(row, closed="left"))
        elif np.all(steps <= steps.dtype.type(0)):
            out[index] = list(pd.IntervalIndex.from_arrays(row[1:], row[:-1], closed="right"))
        else:
            raise ValueError("bin edges that are neither increasing nor decreasing have no intervals")
    return np.moveaxis(out, -1, axis)


def bin_edges(bounds: xr.Variable | xr.DataArray, dim: str) -> np.ndarray:
    """The N + 1 edges of a ``<name>_bounds`` coordinate (intervals) along ``dim``.

    Raises
    ------
    ValueError
        If the bins are not adjacent (e.g. after selecting every other bin).
    """
    values = np.asarray(bounds.values)
    axis = list(bounds.dims).index(dim)
    moved = np.moveaxis(values, axis, -1)
    sample = moved.reshape(-1)[0]
    # In data order a bin goes from its start to its end edge; decreasing bins are (end, start].
    left = np.vectorize(lambda iv: iv.left if iv.closed == "left" else iv.right, otypes=[object])(moved)
    right = np.vectorize(lambda iv: iv.right if iv.closed == "left" else iv.left, otypes=[object])(moved)
    if moved.shape[-1] > 1 and not np.all(right[..., :-1] == left[..., 1:]):
        raise ValueError(f"the bins along {dim} are not adjacent; they have no common edges")
    edges = np.concatenate([left, right[..., -1:]], axis=-1)
    if hasattr(sample.left, "to_datetime64"):
        edges = np.vectorize(lambda v: v.to_datetime64(), otypes=["datetime64[ns]"])(edges)
    else:
        edges = np.asarray(edges.tolist())
    return np.moveaxis(edges, -1, axis)


@dataclass
class MetadataCoords:
    """Coordinates built from SciTiff metadata, ready for :class:`scitiff_readers.Image`."""

    coords: dict[str, xr.Variable] = field(default_factory=dict)
    channel_names: list[str] | None = None


def _attrs(unit: str | None, **extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {} if unit is None else {"units": unit}
    attrs.update(extra)
    return attrs


def metadata_coords(image: ImageMetadata, sizes: Mapping[str, int]) -> MetadataCoords:
    """Build the view's coordinates from validated (and consistency-checked) metadata.

    ``sizes`` are the sizes of the view's scitiff dims (``c`` may differ from the
    file when channels are resolved; coordinates along ``c`` are then sliced by
    the caller).
    """
    out = MetadataCoords()
    taken = set(DIM_NAMES.values())
    for name, var in image.coords.items():
        values = variable_values(var)
        dims = tuple(DIM_NAMES[d] for d in var.dims)
        edge_axis = next((i for i, d in enumerate(var.dims) if var.shape[i] == sizes[d] + 1), None)
        is_index = len(var.dims) == 1 and name == var.dims[0]
        target = DIM_NAMES[name] if is_index else name
        renamed: dict[str, Any] = {}
        if target in taken and not is_index:
            target = f"scitiff_{name}"
            renamed = {"scitiff_name": name}
        if edge_axis is not None:
            bounds_name = f"{target}{BOUNDS_SUFFIX}"
            centres = _midpoints(values, edge_axis)
            try:
                bins = _intervals(values, edge_axis)
            except ValueError as exc:
                warnings.warn(f"coordinate {name!r}: {exc}; the view holds the bin centres only "
                              "(to_scipp() keeps the edges)", ScitiffReadersWarning, stacklevel=6)
                out.coords[target] = xr.Variable(dims, centres, attrs=_attrs(var.unit, **renamed))
            else:
                out.coords[target] = xr.Variable(dims, centres,
                                                 attrs=_attrs(var.unit, bounds=bounds_name, **renamed))
                out.coords[bounds_name] = xr.Variable(dims, bins, attrs=_attrs(var.unit))
                taken.add(bounds_name)
        elif is_index and name == "c" and var.dtype != "string":
            # Channel labels are strings in the view; keep the typed values beside them.
            out.channel_names = [str(v) for v in values.tolist()]
            target = "c"
            out.coords[target] = xr.Variable(dims, values, attrs=_attrs(var.unit))
        else:
            out.coords[target] = xr.Variable(dims, values, attrs=_attrs(var.unit, **renamed))
        taken.add(target)
    c_scalar = image.coords.get("c")
    if c_scalar is not None and len(c_scalar.dims) == 0 and sizes["c"] == 1 and c_scalar.dtype == "string":
        out.channel_names = [str(c_scalar.values)]
    for name, var in image.masks.items():
        target, renamed = (name, {}) if name not in taken else (f"{name}_mask", {"scitiff_name": name})
        values = variable_values(var).astype(bool)
        dims = tuple(DIM_NAMES[d] for d in var.dims)
        out.coords[target] = xr.Variable(dims, values, attrs=_attrs(var.unit, scitiff_role=MASK_ROLE, **renamed))
        taken.add(target)
    return out
