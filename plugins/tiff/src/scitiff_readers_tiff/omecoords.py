"""OME coordinates: what the OME-XML facts (:mod:`.omexml`) say about ``T``, ``Z``, ``Y`` and ``X``.

Coordinates are returned as specs (``(dims, values, attrs)``, see
:func:`scitiff_readers.backend.coordinate_spec`) so that an open that never asks for
them builds no arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import coordinate_spec, normalize_unit, uniform_coordinate_spec

from .common import time_factor, unit_factor

if TYPE_CHECKING:
    from .omexml import OmeImageInfo

__all__ = ["pixel_size", "space_coordinate", "time_coordinate"]


def space_coordinate(
    info: OmeImageInfo, dim: str, size: int, factor: float
) -> tuple[Any, float | None, str | None]:
    """``(coordinate, step, unit)`` along Z, Y or X of an image ``factor`` times coarser than full resolution.

    The coordinate is ``origin + index * PhysicalSize`` (origin: the first plane's
    ``Position`` when its unit converts to the size's); without ``PhysicalSizeZ``, the
    ``PositionZ`` of every slice when all are given; else ``None``.
    """
    first = _planes_at(info, t=0, c=0, z=0)
    step, unit = pixel_size(info, dim, factor)
    if step is not None:
        origin = 0.0
        if first is not None and dim in first.position:
            value, pos_unit = first.position[dim]
            f = unit_factor(pos_unit, unit)
            if f is not None:
                origin = value * f
        return uniform_coordinate_spec(dim, size, step, origin, unit), step, unit
    if dim == "Z" and factor == 1.0:
        # No PhysicalSizeZ: per-plane PositionZ of every slice, when all are given.
        values: list[float] = []
        pos_units: set[str | None] = set()
        for z in range(size):
            plane = _planes_at(info, t=0, c=0, z=z)
            if plane is None or "Z" not in plane.position:
                return None, None, None
            values.append(plane.position["Z"][0])
            pos_units.add(plane.position["Z"][1])
        z_unit = normalize_unit(pos_units.pop()) if len(pos_units) == 1 else None
        if z_unit == "reference frame":
            z_unit = None
        return coordinate_spec("Z", np.asarray(values, dtype=np.float64), z_unit), None, None
    return None, None, None


def pixel_size(info: OmeImageInfo, dim: str, factor: float) -> tuple[float | None, str | None]:
    """``(PhysicalSize, unit)`` along Z, Y or X at ``factor`` times full resolution; ``(None, None)`` without one."""
    physical = info.physical_size.get(dim)
    if physical is None:
        return None, None
    step, raw_unit = physical
    return step * factor, normalize_unit(raw_unit)


def time_coordinate(info: OmeImageInfo, size: int) -> Any:
    """``T``: every time point's ``DeltaT`` when all are given (in one unit), else ``index * TimeIncrement``."""
    values: list[float] = []
    plane_units: list[str] = []
    for t in range(size):
        plane = _planes_at(info, t=t, c=0, z=0)
        if plane is None or plane.delta_t is None:
            values = []
            break
        values.append(plane.delta_t)
        plane_units.append(normalize_unit(plane.delta_t_unit) or "s")
    if values:
        unit = plane_units[0]
        converted: list[float] = []
        for v, u in zip(values, plane_units, strict=True):
            f = time_factor(u, unit)
            if f is None:
                converted = []
                break
            converted.append(v * f)
        if converted:
            return coordinate_spec("T", np.asarray(converted, dtype=np.float64), unit)
    if info.time_increment is not None:
        step, unit = info.time_increment
        return uniform_coordinate_spec("T", size, step, 0.0, normalize_unit(unit))
    return None


def _planes_at(info: OmeImageInfo, t: int, c: int, z: int) -> Any:
    index = info.__dict__.get("_plane_index")
    if index is None:
        index = {}
        for p in info.planes:
            index.setdefault((p.t, p.c, p.z), p)
        info.__dict__["_plane_index"] = index
    return index.get((t, c, z))
