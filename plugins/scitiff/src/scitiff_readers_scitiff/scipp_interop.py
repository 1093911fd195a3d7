"""``SciTiffReader.to_scipp()``: the image as the scipp objects ``scitiff.load_scitiff`` returns.

Needs the ``scipp`` extra (``pip install scitiff-readers-scitiff[scipp]``). The
pixels come through the reader's own (parallel) read; coordinates and masks are
rebuilt from the validated metadata with the same dims, dtypes and units as the
reference loader, then squeezed and channel-resolved the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.errors import MissingDependencyError

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
_SCIPP_DTYPES = {"int8": "int32", "int16": "int32", "uint8": "int32", "uint16": "int32",
                 "uint32": "int64", "float16": "float32"}


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


def to_scipp(reader: SciTiffReader, *, squeeze: bool = True, only_image: bool = True) -> Any:
    """See :meth:`SciTiffReader.to_scipp`."""
    sc = _scipp()
    raw = reader._raw_image.source
    pixels = np.empty(raw.shape, dtype=raw.dtype)
    from scitiff_readers.lazy import read_regions

    read_regions(raw, [(tuple(slice(0, n) for n in raw.shape), pixels)], reader.chunk_bytes)
    tzcyx = pixels.transpose(0, 2, 1, 3, 4)
    dtype = _SCIPP_DTYPES.get(tzcyx.dtype.name, tzcyx.dtype.name)
    values = np.ascontiguousarray(tzcyx, dtype=dtype)
    model = reader.scitiff_metadata
    if model is None:
        # As scitiff's fallback loader: no metadata, arbitrary dim names.
        squeezed = values.squeeze() if squeeze else values
        da = sc.DataArray(sc.array(dims=[f"dim_{i}" for i in range(squeezed.ndim)], values=squeezed))
    else:
        image = model.image
        data = sc.array(dims=list(image.data.dims), values=values, unit=image.data.unit)
        da = sc.DataArray(
            data,
            coords={name: to_scipp_variable(var) for name, var in image.coords.items()},
            masks={name: to_scipp_variable(var) for name, var in image.masks.items()},
            name=image.name or "",
        )
        if squeeze:
            da = da.squeeze()
    if reader.reader_options["resolve_channels"]:
        da = _resolve_channels(sc, da)
    if only_image:
        return da
    group = sc.DataGroup(image=da)
    if model is not None:
        extra = model.extra
        if extra is not None:
            extra = {key: _extra_value(value) for key, value in extra.items()}
        group["daq"] = model.daq
        group["process"] = model.process
        group["extra"] = extra
        group["schema_version"] = model.schema_version
    return group


def _extra_value(value: Any) -> Any:
    from .schema import ScippVariable0D

    if isinstance(value, dict):
        return to_scipp_variable(ScippVariable0D.model_validate(value))
    return value
