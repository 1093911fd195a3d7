"""NGFF metadata for the OME-Zarr writer, from the coordinates of a canonical DataArray.

* Axes ``t c z y x`` with NGFF types and UDUNITS-2 unit names (``"µm"`` ->
  ``"micrometer"``).
* Per level a ``scale`` (the coordinate's step, times the level's reduction along
  ``Y`` and ``X``) and a ``translation`` (the first coordinate value, shifted by half
  a full-resolution pixel per halving for block means, whose pixel centres move).
* ``omero`` channels: labels from the ``C`` coordinate, colours, display windows.
* Everything the coordinates hold that NGFF cannot say (irregular steps, units NGFF
  does not know, non-index coordinates, the DataArray's attributes) goes into a
  ``"scitiff_readers"`` attribute, from which :func:`restore_extras` gives it back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import normalize_unit

from .ngff import EXTRAS_KEY

if TYPE_CHECKING:  # the reader imports this module to restore extras: no xarray at open
    import xarray as xr

__all__ = [
    "EXTRAS_KEY",
    "NGFF_UNITS",
    "AxisTransforms",
    "axis_transforms",
    "channel_colors",
    "extras",
    "level_transforms",
    "ngff_unit",
    "omero",
    "restore_extras",
]

#: Version of the block kept under EXTRAS_KEY.
_EXTRAS_VERSION = 1

#: NGFF (UDUNITS-2) names of the canonical units of :func:`scitiff_readers.backend.normalize_unit`.
NGFF_UNITS: Mapping[str, str] = {
    "pm": "picometer",
    "Å": "angstrom",
    "nm": "nanometer",
    "µm": "micrometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "ns": "nanosecond",
    "µs": "microsecond",
    "ms": "millisecond",
    "s": "second",
    "min": "minute",
    "h": "hour",
}
_SPACE = frozenset(("picometer", "angstrom", "nanometer", "micrometer", "millimeter", "centimeter", "meter"))
_TIME = frozenset(("nanosecond", "microsecond", "millisecond", "second", "minute", "hour"))
_STEP_RTOL = 1e-6
#: Coordinates with more values are not copied into the attributes.
MAX_EXTRA_VALUES = 1_000_000

_PALETTE = ("00FF00", "FF00FF", "00FFFF", "FF0000", "0000FF", "FFFF00", "FF8000", "FFFFFF")


def ngff_unit(unit: Any, kind: str) -> str | None:
    """The NGFF unit name of ``unit`` for a ``"space"`` or ``"time"`` axis, or ``None``."""
    name = NGFF_UNITS.get(normalize_unit(unit) or "")
    allowed = _SPACE if kind == "space" else _TIME
    return name if name in allowed else None


class AxisTransforms:
    """Full-resolution ``scale`` and ``translation`` per axis ``t c z y x``, and the axes list."""

    def __init__(
        self, axes: list[dict[str, Any]], scale: list[float], translation: list[float], exact: set[str]
    ) -> None:
        self.axes, self.scale, self.translation = axes, scale, translation
        #: Coordinates the transforms reproduce exactly (not copied into the extras).
        self.exact = exact


def _uniform(values: np.ndarray) -> tuple[float, float] | None:
    """``(origin, step)`` if ``values`` are ``origin + i * step`` (step > 0 for 2+ values)."""
    if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "iuf":
        return None
    v = values.astype(np.float64)
    if not np.all(np.isfinite(v)):
        return None
    if v.size == 1:
        return float(v[0]), 1.0
    step = (v[-1] - v[0]) / (v.size - 1)
    if step <= 0:
        return None
    expected = v[0] + np.arange(v.size) * step
    if not np.allclose(v, expected, rtol=_STEP_RTOL, atol=abs(step) * _STEP_RTOL):
        return None
    return float(v[0]), float(step)


def axis_transforms(data: xr.DataArray) -> AxisTransforms:
    """NGFF axes and full-resolution transforms of a canonical ``TCZYX`` DataArray."""
    axes: list[dict[str, Any]] = []
    scale = [1.0] * 5
    translation = [0.0] * 5
    exact: set[str] = set()
    for i, letter in enumerate("TCZYX"):
        name = letter.lower()
        kind = {"T": "time", "C": "channel"}.get(letter, "space")
        axis: dict[str, Any] = {"name": name, "type": kind}
        coord = data.coords.get(letter)
        if letter != "C" and coord is not None and coord.dims == (letter,):
            fit = _uniform(np.asarray(coord.values))
            unit_text = coord.attrs.get("units")
            unit = ngff_unit(unit_text, kind)
            if fit is not None:
                translation[i], step = fit
                scale[i] = step
                # Our reader gives float64 coordinates: others (int) are kept in the extras.
                if (unit_text is None or unit is not None) and coord.dtype == np.float64:
                    exact.add(letter)
            if unit is not None:
                axis["unit"] = unit
        elif letter != "C" and coord is None:
            exact.add(letter)
        axes.append(axis)
    return AxisTransforms(axes, scale, translation, exact)


def level_transforms(base: AxisTransforms, reduction: int, method: str) -> list[dict[str, Any]]:
    """``coordinateTransformations`` of a level reduced ``reduction`` times along ``Y`` and ``X``.

    A block mean's pixel sits at the centre of the block it averages, half a
    full-resolution pixel times ``reduction - 1`` from the block's first pixel;
    nearest sampling keeps the first pixel's position.
    """
    scale = list(base.scale)
    translation = list(base.translation)
    for i in (3, 4):
        if method == "mean":
            translation[i] += (reduction - 1) / 2 * scale[i]
        scale[i] *= reduction
    out: list[dict[str, Any]] = [{"type": "scale", "scale": scale}]
    if any(v != 0.0 for v in translation):
        out.append({"type": "translation", "translation": translation})
    return out


def channel_colors(count: int, rgb: bool = False) -> list[str]:
    """Default display colours: red, green, blue for RGB; white for one channel; a palette otherwise."""
    if rgb and count in (3, 4):
        return ["FF0000", "00FF00", "0000FF", "FFFFFF"][:count]
    if count == 1:
        return ["FFFFFF"]
    return [_PALETTE[i % len(_PALETTE)] for i in range(count)]


def omero(
    names: Sequence[str],
    colors: Sequence[str],
    windows: Sequence[tuple[float, float]],
    dtype: np.dtype[Any],
    name: str,
    version: str | None,
) -> dict[str, Any]:
    """The ``omero`` block: one channel per name with colour and display window."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        full = (float(info.min), float(info.max))
    elif dtype.kind == "b":
        full = (0.0, 1.0)
    else:
        full = None
    channels = []
    for label, color, (lo, hi) in zip(names, colors, windows, strict=True):
        limits = full if full is not None else (lo, hi)
        channels.append(
            {
                "label": str(label),
                "color": str(color),
                "active": True,
                "coefficient": 1.0,
                "family": "linear",
                "inverted": False,
                "window": {"min": limits[0], "max": limits[1], "start": lo, "end": hi},
            }
        )
    block: dict[str, Any] = {"name": name, "channels": channels, "rdefs": {"model": "color"}}
    if version is not None:
        block["version"] = version
    return block


# ------------------------------------------------------------------ extras
def _json_value(value: Any) -> Any:
    """A JSON-safe copy of an attribute value (numbers, strings, lists, dicts; others as text)."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else str(f)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.ndarray) and value.size <= MAX_EXTRA_VALUES:
        return _json_value(value.tolist())
    return str(value)


def _coord_record(var: xr.DataArray | xr.Variable) -> dict[str, Any] | None:
    values = np.asarray(var.values)
    if values.size > MAX_EXTRA_VALUES:
        return None
    kind = values.dtype.kind
    if kind == "M":
        stored: Any = np.datetime_as_string(values).tolist()
    elif kind == "m":
        stored = values.astype("timedelta64[ns]").astype(np.int64).tolist()
    elif kind in "iub":
        stored = values.tolist()
    elif kind == "f":
        stored = _json_value(values.tolist())  # non-finite values as text ("nan"), read back by float()
    elif kind == "c":
        stored = [[float(v.real), float(v.imag)] for v in values.ravel().tolist()]
    else:
        stored = np.vectorize(str, otypes=[object])(values).tolist() if values.size else []
    dtype = "timedelta64[ns]" if kind == "m" else values.dtype.str if kind != "O" else "str"
    return {
        "dims": [str(d) for d in var.dims],
        "dtype": dtype,
        "shape": list(values.shape),
        "values": stored,
        "attrs": _json_value(dict(var.attrs)),
    }


def extras(data: xr.DataArray, exact: set[str]) -> dict[str, Any] | None:
    """What NGFF cannot hold: coordinates not reproduced by the transforms, and the attributes.

    ``C`` is kept unless it is the channel names as strings (which ``omero`` holds).
    """
    coords: dict[str, Any] = {}
    for name, var in data.coords.items():
        key = str(name)
        if key in exact:
            continue
        if key == "C" and var.dims == ("C",) and np.asarray(var.values).dtype.kind in "UO" and not var.attrs:
            continue
        record = _coord_record(var)
        if record is not None:
            coords[key] = record
    attrs = _json_value(dict(data.attrs))
    if not coords and not attrs:
        return None
    out: dict[str, Any] = {"version": _EXTRAS_VERSION}
    if coords:
        out["coords"] = coords
    if attrs:
        out["attrs"] = attrs
    return out


def _restore_values(record: Mapping[str, Any]) -> np.ndarray:
    dtype = str(record.get("dtype", ""))
    values = record.get("values")
    shape = tuple(int(n) for n in record.get("shape", ()))
    if dtype.startswith(("<M", ">M", "datetime64")):
        return np.asarray(values, dtype="datetime64[ns]").reshape(shape)
    if dtype.startswith("timedelta64"):
        return np.asarray(values, dtype=np.int64).astype("timedelta64[ns]").reshape(shape)
    if dtype == "str":
        return np.asarray(values, dtype=object).reshape(shape)
    np_dtype = np.dtype(dtype)
    if np_dtype.kind == "c":
        flat = np.asarray(values, dtype=np.float64).reshape(-1, 2)
        return (flat[:, 0] + 1j * flat[:, 1]).astype(np_dtype).reshape(shape)
    if np_dtype.kind == "f":
        return np.asarray(
            [float(v) for v in np.asarray(values, dtype=object).ravel()], dtype=np_dtype
        ).reshape(shape)
    return np.asarray(values, dtype=np_dtype).reshape(shape)


def restore_extras(
    attrs: Mapping[str, Any], sizes: Mapping[str, int]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Coordinates ``(dims, values, attrs)`` and attributes kept by :func:`extras` in a group's attributes.

    Coordinates whose dims do not match ``sizes`` (another resolution level) are skipped.
    """
    block = attrs.get(EXTRAS_KEY)
    if not isinstance(block, Mapping):
        return {}, {}
    coords: dict[str, Any] = {}
    raw = block.get("coords")
    for name, record in raw.items() if isinstance(raw, Mapping) else ():
        try:
            values = _restore_values(record)
            dims = tuple(str(d) for d in record["dims"])
        except (KeyError, TypeError, ValueError):
            continue  # a damaged record costs that coordinate only
        if len(dims) != values.ndim or any(
            sizes.get(d) != n for d, n in zip(dims, values.shape, strict=True)
        ):
            continue
        coords[str(name)] = (dims, values, dict(record.get("attrs") or {}))
    kept = block.get("attrs")
    return coords, dict(kept) if isinstance(kept, Mapping) else {}
