"""OME-Zarr (NGFF 0.1 to 0.5) multiscales: parsing, axis mapping, coordinates.

Shared by the generic OME-Zarr reader and the VISoR reader (VISoR images are
OME-Zarr multiscales with VISoR-specific axes and attributes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from scitiff_readers.backend import (
    ChannelDisplay,
    PhysicalPixelSizes,
    hex_to_rgb,
    normalize_unit,
    uniform_coordinate_spec,
)
from scitiff_readers.errors import MetadataError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "Axis",
    "Dataset",
    "Multiscale",
    "axis_letters",
    "find_multiscales",
    "ome_attrs",
    "parse_multiscale",
    "spatial_coords",
]

_CANON = "TCZYX"
_BY_NAME = {"t": "T", "c": "C", "z": "Z", "y": "Y", "x": "X"}
#: Axis types (beyond the NGFF ones) that stand for tiles / stacks, mapped to T.
_STACK_TYPES = {"visor_stack", "stack", "tile", "position"}


# NamedTuples, not dataclasses: cheaper to import (see nodes.Node).
class Axis(NamedTuple):
    """One NGFF axis."""

    name: str
    type: str | None = None
    unit: str | None = None


class Dataset(NamedTuple):
    """One resolution level: its path and its own transforms."""

    path: str
    transforms: tuple[Mapping[str, Any], ...] = ()


class Multiscale(NamedTuple):
    """One ``multiscales`` entry."""

    name: str | None
    version: str | None
    axes: tuple[Axis, ...]
    datasets: tuple[Dataset, ...]
    transforms: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any]


def ome_attrs(attrs: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The OME part of a group's attributes and its version.

    NGFF 0.5 (Zarr v3) nests everything under ``"ome"`` with a top-level
    ``version``; 0.4 and earlier keep ``multiscales`` (with a ``version`` inside)
    at the top of ``.zattrs``.
    """
    ome = attrs.get("ome")
    if isinstance(ome, Mapping):
        return ome, str(ome.get("version")) if ome.get("version") is not None else None
    version = None
    ms = attrs.get("multiscales")
    if isinstance(ms, list) and ms and isinstance(ms[0], Mapping) and ms[0].get("version") is not None:
        version = str(ms[0]["version"])
    return attrs, version


def find_multiscales(attrs: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    """The raw ``multiscales`` list of a group (empty if none) and the NGFF version."""
    ome, version = ome_attrs(attrs)
    ms = ome.get("multiscales")
    return (list(ms) if isinstance(ms, list) else []), version


def _transforms(value: Any, where: str) -> tuple[Mapping[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, Mapping) for t in value):
        raise MetadataError(f"{where}: coordinateTransformations must be a list of objects")
    return tuple(value)


def parse_multiscale(ms: Any, version: str | None, where: Path | str) -> Multiscale:
    """Validate one ``multiscales`` entry (``where`` names the metadata file)."""
    if not isinstance(ms, Mapping):
        raise MetadataError(f"{where}: a multiscales entry is not a JSON object")
    version = str(ms.get("version")) if ms.get("version") is not None else version
    raw_axes = ms.get("axes")
    axes: list[Axis] = []
    if raw_axes is None:
        # NGFF 0.1 / 0.2 had no axes: always 5-D t, c, z, y, x.
        axes = [Axis(n) for n in "tczyx"]
    elif isinstance(raw_axes, list):
        for a in raw_axes:
            if isinstance(a, str):  # NGFF 0.3
                axes.append(Axis(a))
            elif isinstance(a, Mapping) and isinstance(a.get("name"), str):
                axes.append(Axis(a["name"], a.get("type"), a.get("unit")))
            else:
                raise MetadataError(f"{where}: unreadable axis {a!r} in multiscales")
    else:
        raise MetadataError(f"{where}: multiscales 'axes' must be a list")
    raw_datasets = ms.get("datasets")
    if not isinstance(raw_datasets, list) or not raw_datasets:
        raise MetadataError(f"{where}: multiscales has no 'datasets' (resolution levels)")
    datasets = []
    for d in raw_datasets:
        if not isinstance(d, Mapping) or not isinstance(d.get("path"), str):
            raise MetadataError(f"{where}: a multiscales dataset has no 'path': {d!r}")
        datasets.append(Dataset(d["path"], _transforms(d.get("coordinateTransformations"), str(where))))
    return Multiscale(
        name=str(ms["name"]) if ms.get("name") not in (None, "") else None,
        version=version,
        axes=tuple(axes),
        datasets=tuple(datasets),
        transforms=_transforms(ms.get("coordinateTransformations"), str(where)),
        raw=dict(ms),
    )


def axis_letters(axes: Sequence[Axis], shape: Sequence[int], where: Path | str) -> str:
    """Map the axes to letters of ``TCZYX`` (``"_"`` for a dropped size-1 axis).

    By name first (``t c z y x``), then by type (``time`` -> T, ``channel`` -> C,
    stack types such as VISoR's ``visor_stack`` -> T, ``space`` -> the free
    spatial letters from the right); remaining axes of size 1 are dropped, others
    take the first free letter of T, C, Z.
    """
    n = len(axes)
    if n != len(shape):
        raise MetadataError(
            f"{where}: multiscales declares {n} axes ({', '.join(a.name for a in axes)}) but the "
            f"array has {len(shape)} dims (shape {tuple(shape)})"
        )
    letters: list[str | None] = [None] * n
    used: set[str] = set()

    def take(i: int, letter: str) -> None:
        letters[i] = letter
        used.add(letter)

    for i, a in enumerate(axes):
        letter = _BY_NAME.get(a.name.lower())
        if letter and letter not in used:
            take(i, letter)
    for i, a in enumerate(axes):
        if letters[i] is not None:
            continue
        kind = (a.type or "").lower()
        if kind == "time" and "T" not in used:
            take(i, "T")
        elif kind == "channel" and "C" not in used:
            take(i, "C")
        elif kind in _STACK_TYPES and "T" not in used:
            take(i, "T")
    spatial = [i for i, a in enumerate(axes) if letters[i] is None and (a.type or "").lower() == "space"]
    free_space = [d for d in "ZYX" if d not in used]
    for i, letter in zip(reversed(spatial), reversed(free_space), strict=False):
        take(i, letter)
    for i in range(n):
        if letters[i] is not None:
            continue
        if int(shape[i]) == 1:
            letters[i] = "_"
            continue
        free = [d for d in "TCZ" if d not in used]
        if not free:
            raise MetadataError(
                f"{where}: cannot map axis {axes[i].name!r} (size {shape[i]}) to T, C, Z, Y or X; "
                "all are taken"
            )
        take(i, free[0])
    return "".join(str(x) for x in letters)


def compose(
    transform_lists: Sequence[Sequence[Mapping[str, Any]]], ndim: int, where: Path | str
) -> tuple[list[float], list[float]]:
    """Compose NGFF transforms (applied in order) into per-axis ``(scale, offset)``."""
    scale = [1.0] * ndim
    offset = [0.0] * ndim
    for transforms in transform_lists:
        for t in transforms:
            kind = t.get("type")
            if kind == "identity":
                continue
            if kind not in ("scale", "translation"):
                raise MetadataError(f"{where}: unsupported coordinate transformation type {kind!r}")
            values = t.get(kind)
            if values is None and "path" in t:
                raise MetadataError(
                    f"{where}: {kind} stored in a separate array ({t['path']!r}) is not supported"
                )
            if not isinstance(values, list) or len(values) != ndim:
                raise MetadataError(
                    f"{where}: {kind} {values!r} must be a list of {ndim} numbers (one per axis)"
                )
            try:
                numbers = [float(v) for v in values]
            except (TypeError, ValueError):
                raise MetadataError(f"{where}: {kind} {values!r} holds non-numbers") from None
            if kind == "scale":
                scale = [s * v for s, v in zip(scale, numbers, strict=True)]
                offset = [o * v for o, v in zip(offset, numbers, strict=True)]
            else:
                offset = [o + v for o, v in zip(offset, numbers, strict=True)]
    return scale, offset


def spatial_coords(
    ms: Multiscale,
    level: int,
    letters: str,
    array_shape: Sequence[int],
    where: Path | str,
    time_always: bool = False,
) -> tuple[dict[str, tuple[Any, ...]], PhysicalPixelSizes, dict[str, float]]:
    """Coordinates of Z, Y, X (and T if it is time) for one level.

    Returns the coordinates, the physical pixel sizes and the per-letter scale
    (the level's full voxel size, also for axes without a unit).
    """
    ndim = len(ms.axes)
    transforms = [ms.datasets[level].transforms, ms.transforms]
    scale, offset = compose(transforms, ndim, where)
    if not any(t.get("type") == "scale" for ts in transforms for t in ts):
        # NGFF 0.1 / 0.2 and old bioformats2raw output state no pixel size: report none
        # (as for a TIFF without sizes), not an invented 1.0, and leave the dims as indices.
        return {}, PhysicalPixelSizes(None, None, None), {letter: 1.0 for letter in letters if letter != "_"}
    coords: dict[str, tuple[Any, ...]] = {}
    steps: dict[str, float] = {}
    sizes: dict[str, float | None] = {"Z": None, "Y": None, "X": None}
    units: dict[str, str | None] = {"Z": None, "Y": None, "X": None}
    for i, letter in enumerate(letters):
        if letter == "_":
            continue
        axis = ms.axes[i]
        steps[letter] = scale[i]
        unit = normalize_unit(axis.unit)
        if letter in "ZYX":
            coords[letter] = uniform_coordinate_spec(letter, int(array_shape[i]), scale[i], offset[i], unit)
            sizes[letter] = scale[i]
            units[letter] = unit
        elif letter == "T" and ((axis.type or "").lower() == "time" or unit is not None or time_always):
            coords["T"] = uniform_coordinate_spec("T", int(array_shape[i]), scale[i], offset[i], unit)
    pps = PhysicalPixelSizes(sizes["Z"], sizes["Y"], sizes["X"], units=(units["Z"], units["Y"], units["X"]))
    return coords, pps, steps


def _omero_channels(attrs: Mapping[str, Any], count: int) -> list[Any] | None:
    ome, _ = ome_attrs(attrs)
    omero = ome.get("omero") if isinstance(ome, Mapping) else None
    if not isinstance(omero, Mapping):
        omero = attrs.get("omero")
    if not isinstance(omero, Mapping):
        return None
    channels = omero.get("channels")
    if not isinstance(channels, list) or len(channels) != count:
        return None
    return channels


def _finite(value: Any) -> float | None:
    return (
        float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else None
    )


def omero_channel_display(attrs: Mapping[str, Any], count: int) -> list[ChannelDisplay] | None:
    """Colour (``color``), contrast (``window`` ``start`` / ``end``) and ``active`` per omero channel."""
    channels = _omero_channels(attrs, count)
    if channels is None:
        return None
    out = []
    for ch in channels:
        ch = ch if isinstance(ch, Mapping) else {}
        color = ch.get("color")
        try:
            rgb = hex_to_rgb(color) if isinstance(color, str) else None
        except ValueError:
            rgb = None
        window = ch.get("window")
        window = window if isinstance(window, Mapping) else {}
        low, high = _finite(window.get("start")), _finite(window.get("end"))
        active = ch.get("active")
        out.append(
            ChannelDisplay(
                color=rgb,
                contrast_limits=(low, high) if low is not None and high is not None and high > low else None,
                visible=active if isinstance(active, bool) else None,
            )
        )
    return out


def omero_channel_names(attrs: Mapping[str, Any], count: int) -> list[str] | None:
    """Channel labels from the ``omero`` block, when it names every channel."""
    channels = _omero_channels(attrs, count)
    if channels is None:
        return None
    names = []
    for i, ch in enumerate(channels):
        label = ch.get("label") if isinstance(ch, Mapping) else None
        names.append(str(label) if label not in (None, "") else f"C{i}")
    return names
