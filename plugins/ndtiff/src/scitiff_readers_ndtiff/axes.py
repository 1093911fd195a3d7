"""NDTiff axes (arbitrary names, int or string values) to ``T, C, Z`` and scenes.

* ``time`` -> T, ``channel`` -> C, ``z`` -> Z. Integer values are sorted (negative
  ones included, no shift); string values keep acquisition order (first
  appearance in the index).
* Every other axis (``position``, ``row``, ``column``, ``view``, ``l`` ...) selects
  a scene: one scene per combination of values that has images. With stitching,
  ``row`` / ``column`` are laid out as a mosaic instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "DIM_AXES",
    "TILE_AXES",
    "distinct_values",
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


def ordered_values(seen: Iterable[Any], missing: bool = False) -> list[Any]:
    """Distinct values of one axis: ``None`` if some images lack the axis, sorted ints, strings in given order.

    Values are ints or strings (the index parser turns anything else into a string),
    so they can key dicts directly: ``1`` and ``"1"`` stay distinct.
    """
    values = list(seen)
    out: list[Any] = [None] if missing or None in values else []
    out += sorted(v for v in values if type(v) is int)
    out += [v for v in values if type(v) is str]
    return out


def value_order(values: Sequence[Any]) -> dict[Any, int]:
    """Position of each value in ``values``."""
    return {v: i for i, v in enumerate(values)}


def distinct_values(all_axes: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Every axis name (first-seen order) and its ordered values, in one pass."""
    seen: dict[str, dict[Any, None]] = {}
    counts: dict[str, int] = {}
    for axes in all_axes:
        for a, v in axes.items():
            d = seen.get(a)
            if d is None:
                d = seen[a] = {}
                counts[a] = 0
            d[v] = None
            counts[a] += 1
    n = len(all_axes)
    return {a: ordered_values(d, counts[a] < n) for a, d in seen.items()}


def scene_axes(names: Iterable[str], stitch: bool) -> list[str]:
    """The axes that select scenes, in display order."""
    rest = [n for n in names if n not in DIM_AXES and not (stitch and n in TILE_AXES)]
    first = [n for n in _SCENE_ORDER if n in rest]
    return first + sorted(n for n in rest if n not in _SCENE_ORDER)
