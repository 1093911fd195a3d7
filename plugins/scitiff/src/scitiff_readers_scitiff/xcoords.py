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
  gives no ``units`` attribute, and neither do ``datetime64`` coordinates: their
  dtype carries the unit, and xarray's netCDF / zarr encoders write their own
  ``units`` attribute (they refuse a variable that already has one).
* Bin edges (N + 1 values along a dim of size N): the coordinate holds the bin
  centres and ``attrs["bounds"]`` names the CF bounds variable ``<name>_bounds``.
  A DataArray cannot hold that ``(N, 2)`` variable (its second dim is not a dim of
  the image), so the view carries its two columns as numeric coordinates along the
  same dims: ``<name>_bounds_start`` (edge ``i``) and ``<name>_bounds_end`` (edge
  ``i + 1``), in data order, with the coordinate's units. They are exact, survive
  ``sel`` / ``isel`` / ``coarsen`` / netCDF and zarr, and
  :func:`bounds_pair_edges` turns adjacent bins back into the N + 1 edges.
* Masks become boolean coordinates named after the mask (``<name>_mask`` if a
  coordinate already has that name) with ``attrs["scitiff_role"] = "mask"``.
  Renamed coordinates and masks keep their SciTiff name in ``attrs["scitiff_name"]``.

Writing (:func:`scitiff_variables`) is the inverse, used by the writer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import LazyCoords

if TYPE_CHECKING:
    from collections.abc import Mapping

    import xarray as xr

    from .quickschema import QuickImage
    from .schema import ImageMetadata

__all__ = [
    "BOUNDS_END",
    "BOUNDS_START",
    "BOUNDS_SUFFIX",
    "DIM_NAMES",
    "MASK_ROLE",
    "MetadataCoords",
    "bin_edges",
    "bounds_pair_edges",
    "bounds_pair_names",
    "cf_bounds_dataset",
    "channel_subset",
    "coordinate_specs",
    "datetime_unit",
    "metadata_channel_names",
    "metadata_coords",
    "variable_values",
]

#: SciTiff dim -> view dim.
DIM_NAMES: Mapping[str, str] = {"t": "T", "z": "Z", "c": "C", "y": "Y", "x": "X"}
#: Suffix of the coordinate holding the bins of a bin-edge coordinate.
BOUNDS_SUFFIX = "_bounds"
#: Suffixes (after the bounds name) of the coordinates holding the two CF bound columns.
BOUNDS_START = "_start"
BOUNDS_END = "_end"
#: ``attrs["scitiff_role"]`` of coordinates that are SciTiff masks.
MASK_ROLE = "mask"

# scipp time units -> numpy datetime64 units.
_DATETIME_UNITS = {
    "s": "s",
    "ms": "ms",
    "µs": "us",
    "us": "us",
    "μs": "us",
    "ns": "ns",
    "min": "m",
    "h": "h",
    "D": "D",
    "d": "D",
    "Y": "Y",
    "M": "M",
}


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
    mid: np.ndarray
    if edges.dtype.kind == "M":
        mid = lo + (hi - lo) // 2
        return mid
    if edges.dtype.kind not in "iuf":
        raise TypeError(f"bin edges of dtype {edges.dtype} have no centres")
    mid = lo + (hi.astype(np.float64) - lo) / 2.0
    return mid


def bounds_pair_names(bounds_name: str) -> tuple[str, str]:
    """The view's coordinates holding the start and end edges of the bins of ``bounds_name``."""
    return f"{bounds_name}{BOUNDS_START}", f"{bounds_name}{BOUNDS_END}"


def _bounds_pair(edges: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    n = edges.shape[axis] - 1
    return np.take(edges, np.arange(n), axis=axis), np.take(edges, np.arange(1, n + 1), axis=axis)


def bounds_pair_edges(
    start: xr.Variable | xr.DataArray, end: xr.Variable | xr.DataArray, dim: str
) -> np.ndarray:
    """The N + 1 edges of bins given by their start and end edges along ``dim``.

    Raises
    ------
    ValueError
        If the bins are not adjacent (e.g. after selecting every other bin or coarsening).
    """
    axis = list(start.dims).index(dim)
    lo = np.moveaxis(np.asarray(start.values), axis, -1)
    hi = np.moveaxis(np.asarray(end.transpose(*start.dims).values), axis, -1)
    if lo.shape[-1] > 1 and not np.array_equal(hi[..., :-1], lo[..., 1:]):
        raise ValueError(f"the bins along {dim} are not adjacent; they have no common edges")
    return np.moveaxis(np.concatenate([lo, hi[..., -1:]], axis=-1), -1, axis)


def bin_edges(bounds: xr.Variable | xr.DataArray, dim: str) -> np.ndarray:
    """The N + 1 edges of a coordinate of :class:`pandas.Interval` bins along ``dim``.

    Such coordinates come from xarray's ``groupby_bins`` (and from this reader before
    the bounds became numeric); the writer still accepts them.

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


def cf_bounds_dataset(view: xr.DataArray, name: str) -> xr.Dataset:
    """``view`` as a Dataset whose bounds pairs are CF ``(..., "bnds")`` bounds coordinates."""
    import xarray as xr

    pairs = {}
    for coord in view.coords.values():
        bounds_name = coord.attrs.get("bounds")
        if bounds_name is not None:
            start_name, end_name = bounds_pair_names(str(bounds_name))
            if start_name in view.coords and end_name in view.coords:
                pairs[str(bounds_name)] = (start_name, end_name)
    ds = view.drop_vars([n for pair in pairs.values() for n in pair]).to_dataset(name=name)
    for bounds_name, (start_name, end_name) in pairs.items():
        start, end = view.coords[start_name].variable, view.coords[end_name].variable
        stacked = np.stack([start.values, end.transpose(*start.dims).values], axis=-1)
        ds = ds.assign_coords(
            {bounds_name: xr.Variable((*start.dims, "bnds"), stacked, attrs=dict(start.attrs))}
        )
    return ds


CoordSpec = tuple[tuple[str, ...], np.ndarray, dict[str, Any]]


def take_channels(spec: CoordSpec, keep: list[int]) -> CoordSpec:
    """``spec`` with only the channels ``keep`` along ``C`` (unchanged without a ``C`` dim)."""
    dims, values, attrs = spec
    if "C" not in dims:
        return spec
    return dims, np.take(values, keep, axis=dims.index("C")), attrs


@dataclass
class MetadataCoords:
    """Coordinates built from SciTiff metadata, ready for :class:`scitiff_readers.Image`."""

    #: ``name -> (dims, values, attrs)``: the Image makes xarray variables of them only when
    #: coordinates are asked for, so opening a file and reading planes never imports xarray.
    #: A :class:`LazyCoords` from :func:`metadata_coords`: built on first look.
    coords: Mapping[str, CoordSpec] = field(default_factory=dict)
    channel_names: list[str] | None = None


def _attrs(unit: str | None, dtype: np.dtype[Any] | None = None, **extra: Any) -> dict[str, Any]:
    # datetime64 / timedelta64 values carry their unit; xarray's encoders add ``units`` themselves.
    keep = unit is not None and (dtype is None or dtype.kind not in "mM")
    attrs: dict[str, Any] = {"units": unit} if keep else {}
    attrs.update(extra)
    return attrs


def _edge_axis(var: Any, sizes: Mapping[str, int]) -> int | None:
    """The axis along which ``var`` holds bin edges (one more value than the image size), if any."""
    return next((i for i, d in enumerate(var.dims) if var.shape[i] == sizes[d] + 1), None)


def metadata_coords(image: ImageMetadata | QuickImage, sizes: Mapping[str, int]) -> MetadataCoords:
    """The view's coordinates from validated (and consistency-checked) metadata.

    ``sizes`` are the sizes of the view's scitiff dims (``c`` may differ from the
    file when channels are resolved; coordinates along ``c`` are then sliced by
    the caller). The channel names are made now; the coordinates when first looked at
    (:class:`LazyCoords`).
    """
    return MetadataCoords(
        coords=LazyCoords(functools.partial(coordinate_specs, image, sizes)),
        channel_names=metadata_channel_names(image, sizes),
    )


def metadata_channel_names(image: ImageMetadata | QuickImage, sizes: Mapping[str, int]) -> list[str] | None:
    """Channel names the metadata gives besides a string ``c`` coordinate, or ``None``.

    A numeric ``c`` index coordinate (not bin edges) gives its values as strings; a
    scalar string ``c`` coordinate names the single channel.
    """
    var = image.coords.get("c")
    if var is None:
        return None
    if tuple(var.dims) == ("c",) and var.dtype != "string" and _edge_axis(var, sizes) is None:
        return [str(v) for v in variable_values(var).tolist()]
    if len(var.dims) == 0 and sizes["c"] == 1 and var.dtype == "string":
        return [str(var.values)]
    return None


def coordinate_specs(image: ImageMetadata | QuickImage, sizes: Mapping[str, int]) -> dict[str, CoordSpec]:
    """Every coordinate and mask of the metadata as ``name -> (dims, values, attrs)`` (see the module doc)."""
    out: dict[str, CoordSpec] = {}
    taken = set(DIM_NAMES.values())
    for name, var in image.coords.items():
        values = variable_values(var)
        dims = tuple(DIM_NAMES[d] for d in var.dims)
        edge_axis = _edge_axis(var, sizes)
        is_index = len(var.dims) == 1 and name == var.dims[0]
        target = DIM_NAMES[name] if is_index else name
        renamed: dict[str, Any] = {}
        if target in taken and not is_index:
            target = f"scitiff_{name}"
            renamed = {"scitiff_name": name}
        if edge_axis is not None:
            bounds_name = f"{target}{BOUNDS_SUFFIX}"
            start_name, end_name = bounds_pair_names(bounds_name)
            lo, hi = _bounds_pair(values, edge_axis)
            out[target] = (
                dims,
                _midpoints(values, edge_axis),
                _attrs(var.unit, values.dtype, bounds=bounds_name, **renamed),
            )
            out[start_name] = (dims, lo, _attrs(var.unit, values.dtype))
            out[end_name] = (dims, hi, _attrs(var.unit, values.dtype))
            taken.update((start_name, end_name))
        elif is_index and name == "c" and var.dtype != "string":
            # Channel labels are strings in the view (metadata_channel_names); keep the typed values beside them.
            target = "c"
            out[target] = (dims, values, _attrs(var.unit, values.dtype))
        else:
            out[target] = (dims, values, _attrs(var.unit, values.dtype, **renamed))
        taken.add(target)
    for name, var in image.masks.items():
        target, renamed = (name, {}) if name not in taken else (f"{name}_mask", {"scitiff_name": name})
        values = variable_values(var).astype(bool)
        dims = tuple(DIM_NAMES[d] for d in var.dims)
        out[target] = (dims, values, _attrs(var.unit, values.dtype, scitiff_role=MASK_ROLE, **renamed))
        taken.add(target)
    return out


def channel_subset(coords: Mapping[str, CoordSpec], keep: list[int]) -> dict[str, CoordSpec]:
    """Every spec of ``coords`` with only the channels ``keep`` along ``C`` (see :func:`take_channels`)."""
    return {name: take_channels(spec, keep) for name, spec in coords.items()}
