"""Pyramids stored as separate OME ``Image`` elements: which images are levels of which.

Before SubIFDs became the OME-TIFF pyramid convention (Bio-Formats 6, 2018), some
writers stored the reduced resolutions of an image as further OME ``Image`` elements
of decreasing size, one after the other (Bio-Formats' "flattened resolutions", and
any writer that writes one series per level). The OME model has no way to say so;
readers infer it from the sizes, as tifffile does for generic TIFF series.

The inference here is deliberately conservative. An image is the next level of the
chain started by ``base`` only if it

* directly follows the previous level of the chain,
* has the same ``T``, ``C``, ``Z`` (and samples) sizes, the same dtype and the same
  channel names (when both name their channels),
* is smaller in ``Y`` and ``X`` by the same integer factor (2, 3 or 4, fixed for the
  whole chain, floor or ceiling rounding) than the previous level,
* declares, if anything, the base's physical pixel size or the base's size times
  its downsampling factor,
* has no SubIFD levels of its own (nor has the base), and
* has a name compatible with the base's: none, the same, one starting with the
  base's name, or one that differs only by numbers and words such as "level" or
  "resolution" (tifffile's default ``Image0``, ``Image1``, ...). Names such as
  "label", "macro" or "thumbnail" never make a level.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .common import level_factor, unit_factor

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from .omexml import OmeImageInfo

__all__ = ["LevelCandidate", "series_level_groups"]

#: Downsampling factors tried between consecutive levels (tifffile tries the same).
FACTORS = (2, 3, 4)
#: Relative tolerance when comparing declared pixel sizes.
_SIZE_RTOL = 1e-3

_NOT_A_LEVEL = re.compile(r"(?i)\b(label|macro|thumbnail|overview|preview|mask)s?\b")
_LEVEL_WORDS = re.compile(r"(?i)(level|resolution|subresolution|res|pyramid|scale|series|image)")
_NON_ALPHA = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class LevelCandidate:
    """What the grouping needs to know about one OME image's pixels."""

    shape: tuple[int, ...]
    dtype: np.dtype
    #: The image already has resolution levels of its own (SubIFDs).
    has_levels: bool = False


def series_level_groups(
    infos: Sequence[OmeImageInfo | None], pixels: Sequence[LevelCandidate | None]
) -> list[list[int]]:
    """Group image indices into scenes: ``[[base, level1, level2, ...], [next scene], ...]``.

    ``pixels[i]`` is ``None`` for an image whose pixels cannot be read (missing file,
    no data); such an image is always a scene of its own.
    """
    groups: list[list[int]] = []
    i, n = 0, len(infos)
    while i < n:
        group = [i]
        factor: int | None = None
        j = i + 1
        while j < n:
            step = _next_level_factor(infos, pixels, group, j, factor)
            if step is None:
                break
            factor = step
            group.append(j)
            j += 1
        groups.append(group)
        i = j
    return groups


def _next_level_factor(
    infos: Sequence[OmeImageInfo | None],
    pixels: Sequence[LevelCandidate | None],
    group: list[int],
    j: int,
    factor: int | None,
) -> int | None:
    """The factor by which image ``j`` reduces the last level of ``group``, or ``None``."""
    base_i, prev_i = group[0], group[-1]
    base, prev, cand = pixels[base_i], pixels[prev_i], pixels[j]
    base_info, cand_info = infos[base_i], infos[j]
    if base is None or prev is None or cand is None or base_info is None or cand_info is None:
        return None
    if base.has_levels or cand.has_levels or cand.dtype != base.dtype:
        return None
    if cand.shape[:3] != base.shape[:3] or cand.shape[5:] != base.shape[5:]:
        return None
    if (cand_info.pixel_type or "") != (base_info.pixel_type or ""):
        return None
    named = base_info.channel_names and any(cand_info.channel_names)
    if named and cand_info.channel_names != base_info.channel_names:
        return None
    step = _reduction(prev.shape[3:5], cand.shape[3:5], (factor,) if factor else FACTORS)
    if step is None:
        return None
    if not _sizes_compatible(base_info, cand_info, base.shape[3:5], cand.shape[3:5]):
        return None
    if not _names_compatible(base_info.name, cand_info.name):
        return None
    return step


def _reduction(prev: Sequence[int], cand: Sequence[int], factors: Sequence[int]) -> int | None:
    """The factor ``f`` with ``cand == prev / f`` (floor or ceiling) along both Y and X."""
    for f in factors:
        if all(c in (p // f, math.ceil(p / f)) and c < p for p, c in zip(prev, cand, strict=True)):
            return f
    return None


def _sizes_compatible(
    base: OmeImageInfo, cand: OmeImageInfo, base_yx: Sequence[int], cand_yx: Sequence[int]
) -> bool:
    """A declared pixel size must be the base's, or the base's times the level's factor.

    Writers that flatten resolutions either copy the base's calibration or scale it;
    any other value means the image is something else (another acquisition).
    """
    for d, b_n, c_n in zip("YX", base_yx, cand_yx, strict=True):
        if d not in cand.physical_size or d not in base.physical_size:
            continue
        b_size, b_unit = base.physical_size[d]
        c_size, c_unit = cand.physical_size[d]
        convert = unit_factor(c_unit, b_unit)
        if convert is None:
            return False
        c_size *= convert
        scaled = b_size * level_factor(b_n, c_n)
        if not (
            math.isclose(c_size, b_size, rel_tol=_SIZE_RTOL)
            or math.isclose(c_size, scaled, rel_tol=_SIZE_RTOL)
        ):
            return False
    return True


def _stem(name: str) -> str:
    return _NON_ALPHA.sub("", _LEVEL_WORDS.sub("", name.lower()))


def _names_compatible(base: str | None, cand: str | None) -> bool:
    if cand and _NOT_A_LEVEL.search(cand):
        return False
    if not cand or cand == base:
        return True
    if base and cand.startswith(base):
        return True
    return _stem(base or "") == _stem(cand)
