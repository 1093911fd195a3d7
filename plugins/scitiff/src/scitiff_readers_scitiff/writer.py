"""The ``scitiff`` writer: an xarray DataArray to a SciTiff file that ``scitiff.load_scitiff`` reads.

Use ``scitiff_readers.write(data, "x.tiff", format="scitiff")`` or
:func:`save_scitiff`. ``.tif`` / ``.tiff`` are shared with the other TIFF writers
and this writer has a low priority, so it is chosen by ``format="scitiff"`` (or
:func:`save_scitiff`), never by the suffix alone.

The DataArray may have any subset of the dims ``t, z, c, y, x`` in either case;
missing dims become size 1 and the pixels are stored in SciTiff's ``t, z, c, y, x``
page order. Coordinates go to the ``scitiffmeta`` JSON exactly as the reader maps
them (see :mod:`.xcoords`): index coordinates of ``T, Z, C, Y, X`` become ``t, z,
c, y, x``; a coordinate with ``attrs["bounds"]`` whose bins are given (by the
``<bounds>_start`` / ``<bounds>_end`` coordinates of the view, or by a coordinate of
:class:`pandas.Interval` named ``<bounds>``) is written as bin edges; boolean coordinates become masks; 0-D coordinates scalars;
``attrs["units"]`` the unit; the DataArray's ``attrs["units"]`` and ``name`` the
data unit and name. Dask-backed data is computed block by block while the pages
are written; the file appears under its name only when complete.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import xarray as xr

from scitiff_readers.backend import Progress, Writer, WriterOptions, write
from scitiff_readers.errors import ScitiffReadersWarning

from .xcoords import DIM_NAMES, MASK_ROLE, bin_edges, bounds_pair_edges, bounds_pair_names

if TYPE_CHECKING:
    import os
    from pathlib import Path


__all__ = [
    "SCHEMA_VERSION_WRITTEN",
    "SciTiffInt16Warning",
    "SciTiffOptions",
    "SciTiffWriter",
    "save_scitiff",
    "scitiff_metadata_dict",
]

#: The schema version this writer produces.
SCHEMA_VERSION_WRITTEN = "26.7.0"
#: Pixel dtypes that ImageJ TIFFs and ``scitiff.load_scitiff`` both handle.
WRITABLE_DTYPES = ("float32", "int16")
_LOWER = {v: k for k, v in DIM_NAMES.items()}
_BLOCK_BYTES = 64 * 2**20


class SciTiffInt16Warning(ScitiffReadersWarning):
    """An int16 SciTiff was written: valid, but scitiff.load_scitiff drops its metadata."""


def _dtype_name(value: Any) -> str | None:
    try:
        return str(np.dtype(value).name)
    except TypeError:
        return None


@dataclass(frozen=True)
class SciTiffOptions(WriterOptions):
    """The options of :class:`SciTiffWriter` (see there); checked before anything is written."""

    dtype: Any = None
    daq: Any = None
    process: Any = None
    extra: Mapping[str, Any] | None = None
    stdevs: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "dtype",
            self.dtype is None or _dtype_name(self.dtype) in WRITABLE_DTYPES,
            "None (keep the data's dtype), " + " or ".join(map(repr, WRITABLE_DTYPES)),
        )
        self.expect("extra", self.extra is None or isinstance(self.extra, Mapping), "None or a dict")


class SciTiffWriter(Writer):
    """Write SciTiff files (``format="scitiff"``).

    Options
    -------
    dtype
        Cast the pixels to this dtype first (``"float32"`` or ``"int16"``); by
        default other dtypes raise ``TypeError``, since SciTiff readers cannot
        hold them.
    daq, process, extra
        The ``daq`` / ``process`` blocks (dicts or models of
        :mod:`scitiff_readers_scitiff.schema` or of ``scitiff``) and the ``extra``
        dict (str, numbers or 0-D scipp-style variable dicts).
    stdevs
        Standard deviations of the pixels (a DataArray with the data's dims, or an
        array of its shape), stored as the ``stdevs`` channel as ``scitiff``
        does for variances. A boolean coordinate of more than two dims (a
        full-size mask) is likewise stored as the ``mask`` channel. Both need a
        single-channel image.
    """

    name: ClassVar[str] = "scitiff"
    suffixes: ClassVar[tuple[str, ...]] = (".tif", ".tiff")
    #: Below the other TIFF writers: SciTiff is chosen with format="scitiff".
    priority: ClassVar[int] = -10
    Options = SciTiffOptions

    @classmethod
    def _write(
        cls,
        data: xr.DataArray,
        path: Path,
        *,
        opts: SciTiffOptions | None = None,
        progress: Progress | None = None,
    ) -> None:
        import tifffile

        target = _target_name(path)
        if "S" in data.dims:
            raise ValueError(f"{target}: SciTiff images have no sample (RGB) dim; got dims {data.dims}")
        opts = opts or SciTiffOptions()
        dtype = np.dtype(opts.dtype) if opts.dtype is not None else np.dtype(data.dtype)
        if dtype.name not in WRITABLE_DTYPES:
            raise TypeError(
                f"{target}: SciTiff pixels must be float32 or int16 (what ImageJ TIFFs and "
                f"scitiff.load_scitiff support), not {dtype.name}; pass dtype='float32' to convert"
            )
        if dtype.name == "int16":
            warnings.warn(
                f"{target}: int16 is a valid SciTiff pixel type, but scitiff.load_scitiff cannot restore "
                "the metadata of int16 images (scipp has no int16) and falls back to bare pixels; "
                "scitiff_readers reads them completely. Use dtype='float32' for scitiff/scipp users.",
                SciTiffInt16Warning,
                stacklevel=4,
            )
        input_bytes = int(data.nbytes)
        data = _with_channels(data, opts.stdevs, dtype, target)
        meta = scitiff_metadata_dict(data, dtype, daq=opts.daq, process=opts.process, extra=opts.extra)
        _warn_on_foreign_units(meta, target)
        t, c, z, y, x = (int(n) for n in data.shape)
        tifffile.imwrite(
            path,
            _pages(data, dtype, progress, input_bytes),
            shape=(t, z, c, y, x),
            dtype=dtype,
            imagej=True,
            metadata={"axes": "TZCYX", "scitiffmeta": json.dumps(meta)},
        )


def save_scitiff(
    data: xr.DataArray, path: str | os.PathLike[str], *, overwrite: bool = False, **options: Any
) -> Path:
    """Write ``data`` as SciTiff (``write(data, path, format="scitiff", ...)``).

    Parameters
    ----------
    data
        A DataArray with any subset of the dims ``t, z, c, y, x`` (either case).
    path
        Target file; written under a temporary name and renamed when complete.
    overwrite
        Replace an existing file (otherwise :class:`~scitiff_readers.OutputExistsError`).
    **options
        ``dtype``, ``daq``, ``process``, ``extra`` (see :class:`SciTiffWriter`).
    """
    return write(data, path, format="scitiff", overwrite=overwrite, **options)


def _target_name(path: Path) -> Path:
    """The file the user asked for: the core hands writers a temporary ``.<name>.<pid>.<tid>.partial``."""
    parts = path.name.split(".")
    if path.name.startswith(".") and parts[-1] == "partial" and len(parts) >= 5:
        return path.with_name(".".join(parts[1:-3]))
    return path


# ---------------------------------------------------------------------- pixels
def _with_channels(data: xr.DataArray, stdevs: Any, dtype: np.dtype[Any], path: Path) -> xr.DataArray:
    """Append ``stdevs`` and a full-size mask as channels (scitiff's convention), lazily."""
    from scitiff_readers.backend import to_canonical

    full_masks = [
        str(n)
        for n, c in data.coords.items()
        if (c.dtype == bool or c.attrs.get("scitiff_role") == MASK_ROLE) and c.ndim > 2
    ]
    if stdevs is None and not full_masks:
        return data
    if len(full_masks) > 1:
        raise ValueError(f"{path}: SciTiff stores one full-size mask (as a channel); got {full_masks}")
    if data.sizes["C"] != 1:
        raise ValueError(
            f"{path}: stdevs and full-size masks need a single-channel image; C has "
            f"{data.sizes['C']} channels"
        )
    c_coord = data.coords["C"] if "C" in data.coords else None  # noqa: SIM401 - .get() invents an index
    if (
        c_coord is not None
        and not _is_placeholder_channels(c_coord.variable)
        and [str(v) for v in c_coord.values] != ["intensities"]
    ):
        raise ValueError(
            f"{path}: the channel is labelled {list(c_coord.values)}; with stdevs or a "
            "full-size mask it must be 'intensities' (or unlabelled)"
        )
    sizes = dict(zip(data.dims, data.shape, strict=True))
    labels = ["intensities"]
    arrays = [data.data]
    if stdevs is not None:
        if isinstance(stdevs, xr.DataArray):
            stdevs = to_canonical(stdevs).variable.set_dims(sizes).transpose(*data.dims).data
        if tuple(np.shape(stdevs)) != tuple(data.shape):
            raise ValueError(
                f"{path}: stdevs of shape {np.shape(stdevs)} do not match the image {data.shape}"
            )
        arrays.append(stdevs)
        labels.append("stdevs")
    if full_masks:
        arrays.append(data.coords[full_masks[0]].variable.set_dims(sizes).transpose(*data.dims).data)
        labels.append("mask")
    arrays = [a.astype(dtype) for a in arrays]
    if any(hasattr(a, "dask") for a in arrays):
        import dask.array as da

        stacked: Any = da.concatenate([da.asarray(a) for a in arrays], axis=1)
    else:
        stacked = np.concatenate(arrays, axis=1)
    coords = {k: v.variable for k, v in data.coords.items() if "C" not in v.dims and k not in full_masks}
    out = xr.DataArray(stacked, dims=data.dims, coords=coords, attrs=dict(data.attrs), name=data.name)
    return out.assign_coords(C=("C", labels))


def _pages(
    data: xr.DataArray, dtype: np.dtype[Any], progress: Progress | None = None, input_bytes: int = 0
) -> Iterator[np.ndarray]:
    """The pages in t, z, c order, computing at most ~64 MiB of a dask array at a time.

    ``progress`` advances by each block's share of ``input_bytes`` as its pages are handed out.
    """
    array = data.data
    t, c, z, y, x = array.shape
    frame = c * z * y * x * dtype.itemsize
    step = max(1, _BLOCK_BYTES // max(frame, 1))
    for t0 in range(0, t, step):
        block = np.asarray(array[t0 : t0 + step])  # computes a dask block
        block = block.astype(dtype, copy=False).transpose(0, 2, 1, 3, 4)
        # Counted when handed over: tifffile need not ask again after the last page.
        if progress is not None:
            progress.advance(-(-input_bytes * block.shape[0] // t))
        for frame_block in block:
            for zc in frame_block:
                yield from (np.ascontiguousarray(page) for page in zc)


# -------------------------------------------------------------------- metadata
def _warn_on_foreign_units(meta: dict[str, Any], path: Path) -> None:
    """Warn about units scipp cannot parse: scitiff.load_scitiff would drop all metadata."""
    try:
        import scipp as sc
    except ImportError:  # without scipp nobody here can tell; scipp users will find out
        return
    image = meta["image"]
    units = {"the data": image["data"]["unit"]}
    units.update({f"coordinate {k!r}": v["unit"] for k, v in image["coords"].items()})
    units.update({f"mask {k!r}": v["unit"] for k, v in image["masks"].items()})
    for what, unit in units.items():
        if unit is None:
            continue
        try:
            sc.Unit(unit)
        except Exception:  # noqa: BLE001 - scipp raises several types for bad units
            warnings.warn(
                f"{path}: unit {unit!r} of {what} is not a scipp unit; scitiff.load_scitiff will "
                "ignore all SciTiff metadata of this file (scitiff_readers still reads it). Use a "
                "scipp unit string (e.g. 'µm', 'counts', 'dimensionless') or drop the units attribute.",
                ScitiffReadersWarning,
                stacklevel=5,
            )


def _scitiff_unit(unit: str) -> str:
    return {"us": "µs"}.get(unit, unit)


def _variable(var: xr.Variable, where: str, force_dtype: str | None = None) -> dict[str, Any]:
    values = np.asarray(var.values)
    dims = [_LOWER.get(str(d), str(d)) for d in var.dims]
    unit = var.attrs.get("units")
    unit = None if unit is None else str(unit)
    if values.ndim > 2:
        raise ValueError(f"coordinate {where!r} has {values.ndim} dims; SciTiff metadata holds at most 2")
    kind = values.dtype.kind
    if force_dtype == "bool" or kind == "b":
        dtype, out = "bool", values.astype(np.float64).tolist()
    elif kind == "M":
        resolution = np.datetime_data(values.dtype)[0]
        dtype, unit = "datetime64", _scitiff_unit(resolution)
        out = np.datetime_as_string(values, unit=resolution).tolist()  # type: ignore[call-overload]  # numpy wants a Literal unit; resolution is the unit of this datetime64 dtype
    elif kind in "US" or (kind == "O" and all(isinstance(v, str) for v in values.ravel().tolist())):
        if values.ndim == 2:
            raise ValueError(f"coordinate {where!r}: 2-D string coordinates are not allowed in SciTiff")
        dtype, out = "string", values.astype(str).tolist()
    elif kind in "iu":
        dtype = "int32" if values.dtype == np.int32 else "int64"
        out = values.astype(np.int64).tolist()
    elif kind == "f":
        dtype = "float32" if values.dtype == np.float32 else "float64"
        out = values.astype(np.float64).tolist()
    else:
        raise TypeError(f"coordinate {where!r} of dtype {values.dtype} cannot be stored in SciTiff metadata")
    return {"unit": unit, "dtype": dtype, "dims": dims, "shape": list(values.shape), "values": out}


def _is_placeholder_channels(var: xr.Variable) -> bool:
    # The view labels unnamed channels C0, C1, ...: not worth writing back.
    values = [str(v) for v in np.asarray(var.values).tolist()]
    return not var.attrs and values == [f"C{i}" for i in range(len(values))]


def _model_dump(value: Any, model_name: str) -> Any:
    from . import schema

    if value is None:
        return None
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    model = getattr(schema, model_name)
    return model.model_validate(value).model_dump(mode="json")


def scitiff_metadata_dict(
    data: xr.DataArray, dtype: Any, *, daq: Any = None, process: Any = None, extra: Any = None
) -> dict[str, Any]:
    """The ``scitiffmeta`` JSON (as a dict) for canonical TCZYX ``data``."""
    sizes = dict(zip(data.dims, data.shape, strict=True))
    coords: dict[str, Any] = {}
    masks: dict[str, Any] = {}
    consumed = {
        n
        for v in data.coords.values()
        if "bounds" in v.attrs
        for n in (str(v.attrs["bounds"]), *bounds_pair_names(str(v.attrs["bounds"])))
    }
    has_lower_c = "c" in data.coords
    for raw_name, coord in data.coords.items():
        name = str(raw_name)
        var = coord.variable
        if name in consumed:
            continue
        if var.dtype == bool or var.attrs.get("scitiff_role") == MASK_ROLE:
            values = np.asarray(var.values) != 0
            masks[str(var.attrs.get("scitiff_name", name))] = _variable(
                var.copy(data=values), name, force_dtype="bool"
            )
            continue
        bounds = var.attrs.get("bounds")
        if name in DIM_NAMES.values():
            if name == "C" and (has_lower_c or _is_placeholder_channels(var)):
                continue
            out_name = _LOWER[name]
        else:
            out_name = str(var.attrs.get("scitiff_name", name))
        pair = bounds_pair_names(str(bounds))
        if bounds is not None and (bounds in data.coords or all(n in data.coords for n in pair)):
            bvar = data.coords[bounds if bounds in data.coords else pair[0]].variable
            edge_dim = next((d for d in bvar.dims if d in sizes), None)
            if edge_dim is None:
                raise ValueError(f"bounds coordinate {bounds!r} has no image dim")
            attrs = {k: v for k, v in var.attrs.items() if k != "bounds"}
            try:
                if bounds in data.coords:  # pandas.Interval bins (e.g. from groupby_bins)
                    edges = bin_edges(bvar, edge_dim)
                else:
                    edges = bounds_pair_edges(bvar, data.coords[pair[1]].variable, edge_dim)
            except ValueError as exc:
                warnings.warn(
                    f"coordinate {name!r}: {exc}; writing the bin centres instead of edges",
                    ScitiffReadersWarning,
                    stacklevel=5,
                )
                var = xr.Variable(var.dims, var.values, attrs=attrs)
            else:
                if var.dtype.kind == "M":
                    edges = edges.astype(var.dtype)  # keep the resolution (Timestamps are ns)
                var = xr.Variable(bvar.dims, edges, attrs=attrs)
        coords[out_name] = _variable(var, name)
    for name, entry in list(coords.items()) + list(masks.items()):
        foreign = [d for d in entry["dims"] if d not in DIM_NAMES]
        if foreign:
            raise ValueError(f"coordinate {name!r} uses dims {foreign}; SciTiff knows only t, z, c, y, x")
    unit = data.attrs.get("units")
    t, c, z, y, x = (int(n) for n in data.shape)
    meta: dict[str, Any] = {
        "image": {
            "data": {
                "unit": None if unit is None else str(unit),
                "dtype": np.dtype(dtype).name,
                "dims": ["t", "z", "c", "y", "x"],
                "shape": [t, z, c, y, x],
            },
            "masks": masks,
            "coords": coords,
            "name": None if data.name is None else str(data.name),
        },
        "daq": _model_dump(daq, "DAQMetadata") or _model_dump({}, "DAQMetadata"),
        "process": _model_dump(process, "ImageProcessMetadata") or _model_dump({}, "ImageProcessMetadata"),
        "extra": None if extra is None else {str(k): _extra_value(v) for k, v in dict(extra).items()},
        "schema_version": SCHEMA_VERSION_WRITTEN,
    }
    # Validate what we write with the same models the reader uses.
    from .schema import SciTiffMetadata

    SciTiffMetadata.model_validate(meta)
    if math.prod(data.shape) == 0:
        raise ValueError("cannot write an empty image")
    return meta


def _extra_value(value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (xr.Variable, xr.DataArray)) and value.ndim == 0:
        return _variable(value.variable if isinstance(value, xr.DataArray) else value, "extra")
    raise TypeError(f"extra metadata value {value!r} must be str, int, float or a 0-D variable")
