"""``SciTiffReader.to_scipp()``: the image as the scipp objects ``scitiff.load_scitiff`` returns.

Needs the ``scipp`` extra (``pip install scitiff-readers-scitiff[scipp]``). The
pixels come through the reader's own (parallel) read; coordinates and masks are
rebuilt from the validated metadata with the same dims, dtypes and units as the
reference loader, then squeezed and channel-resolved the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.errors import DimensionSelectionError, MissingDependencyError

from .xcoords import variable_values

if TYPE_CHECKING:
    from .reader import SciTiffReader

__all__ = ["to_scipp", "to_scipp_variable"]


def _scipp() -> Any:
    try:
        import scipp
    except ImportError:
        raise MissingDependencyError(
            "to_scipp() needs scipp: pip install 'scitiff-readers-scitiff[scipp]'"
        ) from None
    return scipp


def to_scipp_variable(var: Any) -> Any:
    """A schema variable (coordinate, mask or ``extra`` scalar) as a ``scipp.Variable``."""
    sc = _scipp()
    values = variable_values(var)
    unit = var.unit
    if values.dtype.kind == "M":
        # scipp takes the resolution from the numpy dtype; the unit must agree.
        unit = np.datetime_data(values.dtype)[0]
        unit = {"us": "µs"}.get(unit, unit)
    if values.ndim == 0:
        return sc.scalar(values[()], unit=unit)
    return sc.array(dims=list(var.dims), values=values, unit=unit)


# scitiff's loader casts dtypes scipp lacks (in its fallback path).
_SCIPP_DTYPES = {
    "int8": "int32",
    "int16": "int32",
    "uint8": "int32",
    "uint16": "int32",
    "uint32": "int64",
    "float16": "float32",
}


def _resolve_channels(sc: Any, da: Any) -> Any:
    # The same decision and operations as scitiff.resolve_scitiff_channels.
    if da.sizes.get("c", 0) <= 1 or "c" not in da.coords or da.coords["c"].dims != ("c",):
        return da
    labels = list(da.coords["c"].values)
    if any(v not in ("intensities", "stdevs", "mask") for v in labels) or "intensities" not in labels:
        return da
    intensities = da["c", sc.scalar("intensities")].copy(deep=True)
    if "stdevs" in labels:
        stdevs = da["c", sc.scalar("stdevs")]
        intensities.variances = (stdevs.data**2).values
    if "mask" in labels:
        mask = da["c", sc.scalar("mask")]
        intensities.masks["scitiff-mask"] = mask.data.astype(bool)
        intensities.masks["scitiff-mask"].unit = None
    return intensities


def _selection(
    reader: SciTiffReader, selection: dict[str, Any]
) -> tuple[tuple[slice, ...], list[tuple[str, Any]]]:
    """The raw TCZYX region to read and the scipp indexing (``(dim, index)``) that selects it."""
    raw = reader._raw_image.source
    region = [slice(0, n) for n in raw.shape]
    scipp_index: list[tuple[str, Any]] = []
    for key, value in selection.items():
        dim = key.upper()
        if len(key) != 1 or dim not in "TZYX":
            raise DimensionSelectionError(
                f"{reader.path}: to_scipp selects along T, Z, Y and X (either case), not {key!r}"
            )
        axis = "TCZYX".index(dim)
        size = raw.shape[axis]
        if isinstance(value, slice):
            start, stop, step = value.indices(size)
            if step != 1:
                raise DimensionSelectionError(
                    f"{reader.path}: {key}={value!r}: only step-1 slices are supported"
                )
            stop = max(start, stop)
            region[axis] = slice(start, stop)
            scipp_index.append((dim.lower(), slice(start, stop)))
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            index = int(value) + (size if int(value) < 0 else 0)
            if not 0 <= index < size:
                raise DimensionSelectionError(
                    f"{reader.path}: {key}={value} is out of range; {dim} has {size}"
                )
            region[axis] = slice(index, index + 1)
            scipp_index.append((dim.lower(), index))
        else:
            raise DimensionSelectionError(f"{reader.path}: {key}={value!r}: give an int or a slice")
    return tuple(region), scipp_index


def to_scipp(
    reader: SciTiffReader, *, squeeze: bool = True, only_image: bool = True, **selection: Any
) -> Any:
    """See :meth:`SciTiffReader.to_scipp`."""
    sc = _scipp()
    raw = reader._raw_image.source
    region, scipp_index = _selection(reader, selection)
    pixels = np.empty(tuple(r.stop - r.start for r in region), dtype=raw.dtype)
    from scitiff_readers.backend import read_regions

    read_regions(raw, [(region, pixels)], reader.chunk_bytes)
    tzcyx = pixels.transpose(0, 2, 1, 3, 4)
    dtype = _SCIPP_DTYPES.get(tzcyx.dtype.name, tzcyx.dtype.name)
    values = np.ascontiguousarray(tzcyx, dtype=dtype)
    model = reader.scitiff_metadata
    if model is None:
        if selection:
            raise DimensionSelectionError(
                f"{reader.path}: selections need SciTiff metadata (this file has none)"
            )
        # As scitiff's fallback loader: no metadata, arbitrary dim names.
        squeezed = values.squeeze() if squeeze else values
        da = sc.DataArray(sc.array(dims=[f"dim_{i}" for i in range(squeezed.ndim)], values=squeezed))
    else:
        image = model.image
        dims = list(image.data.dims)
        full = dict(zip(dims, image.data.shape, strict=True))
        # Coordinates and masks are sliced by scipp itself (bin edges included) on a
        # stand-in of the full shape that holds no memory; the pixels read replace it.
        stand_in = sc.broadcast(sc.scalar(values.dtype.type(0), unit=image.data.unit), sizes=full)
        da = sc.DataArray(
            stand_in,
            coords={name: to_scipp_variable(var) for name, var in image.coords.items()},
            masks={name: to_scipp_variable(var) for name, var in image.masks.items()},
            name=image.name or "",
        )
        if squeeze:
            # Squeezed first, as load_scitiff does, so a selection indexes its result.
            da = da.squeeze()
        for dim, index in scipp_index:
            if dim in da.dims:  # a dim squeezed away had one index, which is selected
                da = da[dim, index]
        kept = [d for d in dims if d in da.dims]
        order = [dims.index(d) for d in kept]
        squeezed_values = values.reshape([values.shape[i] for i in order])
        da = sc.DataArray(
            sc.array(dims=kept, values=squeezed_values, unit=image.data.unit),
            coords={k: v.copy() for k, v in da.coords.items()},
            masks={k: v.copy() for k, v in da.masks.items()},
            name=da.name,
        )
    if reader.reader_options["resolve_channels"]:
        da = _resolve_channels(sc, da)
    if only_image:
        return da
    group = sc.DataGroup(image=da)
    if model is not None:
        extra = model.extra
        if extra is not None:
            extra = {key: _extra_value(value) for key, value in extra.items()}
        daq, process = _reference_models(model)
        group["daq"] = daq
        group["process"] = process
        group["extra"] = extra
        group["schema_version"] = model.schema_version
    return group


def _reference_models(model: Any) -> tuple[Any, Any]:
    """``daq`` and ``process`` as scitiff's own model objects when scitiff is installed.

    ``scitiff.io.save_scitiff`` accepts only its own classes, and ``load_scitiff``
    returns them; without scitiff, this plugin's equivalent models are returned.
    """
    try:
        import scitiff
    except ImportError:
        return model.daq, model.process
    daq = scitiff.DAQMetadata.model_validate(model.daq.model_dump(mode="json", by_alias=True))
    process = scitiff.ImageProcessMetadata.model_validate(
        model.process.model_dump(mode="json", by_alias=True)
    )
    return daq, process


def _extra_value(value: Any) -> Any:
    from .schema import ScippVariable0D

    if isinstance(value, dict):
        return to_scipp_variable(ScippVariable0D.model_validate(value))
    return value
