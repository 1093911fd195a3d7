"""NDTiff axes (arbitrary names, int or string values) to ``T, C, Z`` and scenes.

* ``time`` -> T, ``channel`` -> C, ``z`` -> Z. Integer values are sorted (negative
  ones included, no shift); string values keep acquisition order (first
  appearance in the index).
* Every other axis (``position``, ``row``, ``column``, ``view``, ``l`` ...) selects
  a scene: one scene per combination of values that has images. With stitching,
  ``row`` / ``column`` are laid out as a mosaic instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "DIM_AXES",
    "TILE_AXES",
    "ordered_values",
    "scene_axes",
    "value_order",
]

#: NDTiff axis name -> our dimension.
DIM_AXES: Mapping[str, str] = {"time": "T", "channel": "C", "z": "Z"}
#: Axes of tiled (Magellan / explore) acquisitions.
TILE_AXES = ("row", "column")
# Scene axes first in this order, then any other axis by name.
_SCENE_ORDER = ("position", "row", "column")


def ordered_values(values: Iterable[Any]) -> list[Any]:
    """Distinct values of one axis: ``None`` (axis absent), sorted ints, strings in given order."""
    seen: dict[Any, None] = {}
    for v in values:
        seen.setdefault((type(v).__name__, v), None)
    keys = list(seen)
    out: list[Any] = [None] if ("NoneType", None) in seen else []
    out += sorted(v for t, v in keys if t == "int")
    out += [v for t, v in keys if t == "str"]
    return out


def value_order(values: Sequence[Any]) -> dict[tuple[str, Any], int]:
    """Position of each value in ``values``, keyed by ``(type name, value)``."""
    return {(type(v).__name__, v): i for i, v in enumerate(values)}


def scene_axes(names: Iterable[str], stitch: bool) -> list[str]:
    """The axes that select scenes, in display order."""
    rest = [n for n in names if n not in DIM_AXES and not (stitch and n in TILE_AXES)]
    first = [n for n in _SCENE_ORDER if n in rest]
    return first + sorted(n for n in rest if n not in _SCENE_ORDER)
