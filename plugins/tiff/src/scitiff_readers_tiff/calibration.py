"""TIFF calibration: ImageJ metadata and the resolution tags, as steps with units.

One rule for the resolution tags (``XResolution`` / ``YResolution`` in pixels per
``ResolutionUnit``): an inch or centimetre unit is a physical calibration, converted
to micrometres (300 dpi is 84.67 µm, 72 dpi 352.78 µm); the unit "none" (1) is no
calibration. ImageJ's own ``unit`` (and ``spacing``, ``finterval``) overrides the
tags' unit, as ImageJ itself reads them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import normalize_unit, to_micrometre_factor

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["calibration", "imagej_channel_names", "imagej_info", "imagej_unit", "resolution", "to_float"]

#: Micrometres per TIFF ResolutionUnit (2: inch, 3: centimetre; 1, "none", has no length),
#: from the core's one table of length factors.
_UM_PER_RESOLUTION_UNIT = {code: to_micrometre_factor(unit) for code, unit in ((2, "inch"), (3, "cm"))}


def to_float(value: Any) -> float | None:
    """``value`` as a finite float, or ``None``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def imagej_unit(unit: Any) -> str | None:
    """An ImageJ unit string normalised (``None`` for pixels; ``"inch"`` kept for conversion)."""
    if unit is None:
        return None
    text = str(unit).strip()
    if text.lower() in ("", "pixel", "pixels", "none"):
        return None
    return normalize_unit(text.replace("\\u00B5", "µ").replace("\\u00b5", "µ"))


def resolution(page: Any) -> tuple[float | None, float | None, float | None]:
    """``(x pixels per unit, y pixels per unit, micrometres per unit or None)``."""

    def ratio(code: int) -> float | None:
        tag = page.tags.get(code)
        if tag is None:
            return None
        value = tag.value
        try:
            num, den = value if isinstance(value, tuple) else (value, 1)
            return float(Fraction(int(num), int(den))) if den else None
        except (TypeError, ValueError, ZeroDivisionError):
            return to_float(value)

    unit_tag = page.tags.get(296)
    try:
        # TIFF 6.0: ResolutionUnit defaults to inch when the tag is absent.
        res_unit = int(unit_tag.value) if unit_tag is not None else 2
    except (TypeError, ValueError):
        res_unit = 1
    return ratio(282), ratio(283), _UM_PER_RESOLUTION_UNIT.get(res_unit)


def imagej_channel_names(ij: dict[str, Any], count: int) -> list[str] | None:
    """Channel names from ImageJ slice labels (the first ``C`` pages are the channels)."""
    labels = ij.get("Labels")
    if not isinstance(labels, (list, tuple)) or len(labels) < count:
        return None
    names = [str(labels[c]).strip() if labels[c] else "" for c in range(count)]
    if not any(names):
        return None
    return [n or f"C{i}" for i, n in enumerate(names)]


def calibration(
    imagej: dict[str, Any] | None, res: tuple[float | None, float | None, float | None]
) -> dict[str, tuple[float, str | None, float]]:
    """``dim -> (step, unit, origin in pixels)`` from ImageJ metadata and resolution tags.

    ``res`` is :func:`resolution` of the first page.
    """
    out: dict[str, tuple[float, str | None, float]] = {}
    res_x, res_y, um_per_unit = res
    if imagej is not None:
        unit, scale = imagej_unit(imagej.get("unit")), 1.0
        if "unit" not in imagej and um_per_unit is not None:
            # No unit in the description: ImageJ takes the ResolutionUnit (inch, cm).
            unit, scale = "µm", um_per_unit
        for dim, r in (("X", res_x), ("Y", res_y)):
            own = imagej_unit(imagej.get(f"{dim.lower()}unit"))
            unit_d, scale_d = (own, 1.0) if own is not None else (unit, scale)
            if r is not None and r > 0 and unit_d is not None:
                step, unit_d = _inch_in_um(scale_d / r, unit_d)
                out[dim] = (step, unit_d, to_float(imagej.get(f"{dim.lower()}origin")) or 0.0)
        spacing = to_float(imagej.get("spacing"))
        if spacing is not None and spacing > 0:
            own = imagej_unit(imagej.get("zunit"))
            zunit, zscale = (own, 1.0) if own is not None else (unit, scale)
            if zunit is not None:
                spacing, zunit = _inch_in_um(spacing * zscale, zunit)
            out["Z"] = (spacing, zunit, to_float(imagej.get("zorigin")) or 0.0)
        finterval = to_float(imagej.get("finterval"))
        if finterval is not None and finterval > 0:
            out["T"] = (finterval, normalize_unit(imagej.get("tunit")) or "s", 0.0)
    elif um_per_unit is not None:
        for dim, r in (("X", res_x), ("Y", res_y)):
            if r is not None and r > 0:
                out[dim] = (um_per_unit / r, "µm", 0.0)
    return out


def _inch_in_um(value: float, unit: str) -> tuple[float, str]:
    """A length in inches as micrometres (one rule with the resolution tags); others unchanged."""
    factor = to_micrometre_factor(unit) if unit == "inch" else None
    return (value * factor, "µm") if factor is not None else (value, unit)


def imagej_info(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The ImageJ metadata dict and the raw ImageDescription of the first page.

    Cheap: only the first IFD (and the IJMetadata tags) are read. Returns
    ``(None, None)`` if the file is not an ImageJ TIFF.
    """
    from scitiff_readers.backend import open_tifffile

    with open_tifffile(path) as tif:
        page = tif.pages.first
        desc = page.description if isinstance(page.description, str) else None
        if not tif.is_imagej:
            return None, None
        return tif.imagej_metadata, desc
