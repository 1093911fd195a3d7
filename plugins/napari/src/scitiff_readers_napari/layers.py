"""napari layer data from a :class:`scitiff_readers.Reader`: calibrated, per channel, multiscale, lazy.

For each scene: one image layer per channel (``channel_axis``), named after the
channel (``"<scene> :: <channel>"`` when the file has several scenes); the data are
the reader's dask arrays of every resolution level (``multiscale``); ``scale`` and
``translate`` come from the coordinates, ``units`` from their ``units`` attribute,
``axis_labels`` are the dims; contrast limits and colours come from the file's display
settings (:mod:`scitiff_readers.backend`) or a channel wavelength, else contrast limits
are computed on one plane of the lowest level. RGB(A) samples make RGB layers.
Nothing here imports napari: the result is plain layer data tuples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers import ChannelDisplay, Reader, channel_display

from .colors import DEFAULT_COLORS, wavelength_to_rgb

if TYPE_CHECKING:
    import os

__all__ = ["LayerDataTuple", "layer_data", "scene_layer_data"]

LayerDataTuple = tuple[Any, dict[str, Any], str]

# Pixels looked at to compute contrast limits: one plane, subsampled to about this many per side.
_CONTRAST_SIDE = 512


def layer_data(path: str | os.PathLike[str], **reader_options: Any) -> list[LayerDataTuple]:
    """Layer data tuples for every scene of ``path`` (the reader is chosen by the registry)."""
    out: list[LayerDataTuple] = []
    with Reader(path, **reader_options) as reader:
        several = len(reader.scenes) > 1
        for scene in range(len(reader.scenes)):
            reader.set_scene(scene)
            out.append(scene_layer_data(reader, prefix=f"{reader.current_scene} :: " if several else ""))
    return out


def _levels(reader: Reader) -> list[Any]:
    arrays = []
    for level in reader.resolution_levels:
        reader.set_resolution_level(level)
        arrays.append(reader.dask_data)
    reader.set_resolution_level(0)
    return arrays


def _axis(coord: Any, size: int, fallback_step: float | None) -> tuple[float, float, str | None]:
    """``(scale, translate, units)`` of one axis from its 1-D coordinate."""
    if coord is None or coord.ndim != 1:
        return fallback_step or 1.0, 0.0, None
    values = np.asarray(coord.values)
    units = coord.attrs.get("units")
    if values.dtype.kind in "mM":
        values = (values - values[0]) / np.timedelta64(1, "s")
        units = "s"
    elif values.dtype.kind not in "iuf":
        return 1.0, 0.0, None  # labels (e.g. VISoR stack names): index space
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        return fallback_step or 1.0, 0.0, units
    if size > 1:
        # The mean step (exact for uniform axes); napari needs a positive scale, so a
        # descending axis keeps its extent and starts at its smallest value.
        step = abs(values[-1] - values[0]) / (size - 1)
        return step or 1.0, float(min(values[0], values[-1])), units
    return fallback_step or 1.0, float(values[0]), units


def _contrast_limits(lowest: Any, channel_axis: int, rgb: bool) -> list[tuple[float, float]]:
    """Per channel min / max of one subsampled plane (middle T and Z) of the lowest level."""
    index: list[Any] = []
    for d, size in enumerate(lowest.shape):
        if d == channel_axis or (rgb and d == lowest.ndim - 1):
            index.append(slice(None))
        elif d >= lowest.ndim - (3 if rgb else 2):
            index.append(slice(None, None, max(1, size // _CONTRAST_SIDE)))
        else:
            index.append(size // 2)
    plane = np.asarray(lowest[tuple(index)])
    limits = []
    for c in range(plane.shape[0]):
        values = plane[c]
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        limits.append((low, high if high > low else low + 1.0))
    return limits


def _colormap(name: str, rgb: tuple[float, float, float]) -> Any:
    from napari.utils.colormaps import Colormap

    return Colormap([[0.0, 0.0, 0.0, 1.0], [*rgb, 1.0]], name=name)


def _wavelengths(reader: Reader) -> list[float | None]:
    coord = reader.coords.get("wavelength")
    if coord is None or coord.dims != ("C",) or coord.attrs.get("units") != "nm":
        return [None] * reader.dims.C
    return [float(v) for v in np.asarray(coord.values, dtype=np.float64)]


def _colormaps(
    names: list[str], display: list[ChannelDisplay] | None, waves: list[float | None]
) -> list[Any]:
    out: list[Any] = []
    for c, name in enumerate(names):
        setting = display[c] if display else None
        rgb = setting.color if setting and setting.color else None
        if rgb is None:
            wave = setting.wavelength_nm if setting and setting.wavelength_nm else waves[c]
            rgb = wavelength_to_rgb(wave) if wave is not None else None
        if rgb is not None:
            out.append(_colormap(name, rgb))
        else:
            out.append("gray" if len(names) == 1 else DEFAULT_COLORS[c % len(DEFAULT_COLORS)])
    return out


def scene_layer_data(reader: Reader, prefix: str = "") -> LayerDataTuple:
    """One layer data tuple (split per channel by napari) for the reader's current scene."""
    levels = _levels(reader)
    dims = reader.dims.order
    rgb = dims.endswith("S") and reader.shape[-1] in (3, 4)
    if dims.endswith("S") and not rgb:
        # Samples that are not colours (e.g. 2 or 7 per pixel): a slider after the channels.
        levels = [
            np.moveaxis(a, -1, 2) if isinstance(a, np.ndarray) else a.transpose(0, 1, 5, 2, 3, 4)
            for a in levels
        ]
        dims = "TCSZYX"
    coords = reader.coords
    sizes = reader.physical_pixel_sizes
    steps = {"Z": sizes.Z, "Y": sizes.Y, "X": sizes.X}
    axes = [d for d in dims if d != "C" and not (rgb and d == "S")]
    shape = dict(zip(dims, levels[0].shape, strict=True))
    scale, translate, units = [], [], []
    for d in axes:
        s, t, u = _axis(coords.get(d) if d in coords else None, shape[d], steps.get(d))
        scale.append(s)
        translate.append(t)
        units.append(u or "pixel")
    names = [f"{prefix}{name}" for name in reader.channel_names]
    display = channel_display(reader)
    kwargs: dict[str, Any] = {
        "channel_axis": 1,
        "name": names,
        "scale": scale,
        "translate": translate,
        "units": units,
        "axis_labels": axes,
        "rgb": rgb,
        "multiscale": len(levels) > 1,
        "metadata": {
            "scitiff_readers": {
                "path": str(reader.path),
                "reader": reader.reader_name,
                "scene": reader.current_scene,
                "levels": [a.shape for a in levels],
            },
            "xarray": reader.xarray_dask_data,
        },
    }
    if not rgb:
        kwargs["colormap"] = _colormaps(names, display, _wavelengths(reader))
        computed: list[tuple[float, float]] | None = None
        limits = []
        for c in range(len(names)):
            given = display[c].contrast_limits if display else None
            if given is None:
                if computed is None:
                    computed = _contrast_limits(levels[-1], 1, rgb)
                given = computed[c]
            limits.append(given)
        kwargs["contrast_limits"] = limits
        kwargs["blending"] = "additive" if len(names) > 1 else "translucent"
    if display and any(s.visible is not None for s in display):
        kwargs["visible"] = [s.visible is not False for s in display]
    return (levels if len(levels) > 1 else levels[0], kwargs, "image")
