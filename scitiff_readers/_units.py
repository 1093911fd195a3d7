"""Unit strings: one spelling per unit across every backend."""

from __future__ import annotations

__all__ = ["normalize_unit", "to_micrometre_factor", "to_seconds_factor"]

_ALIASES: dict[str, str] = {
    "um": "µm",
    "µm": "µm",
    "μm": "µm",  # Greek mu, U+03BC
    "micron": "µm",
    "microns": "µm",
    "micrometer": "µm",
    "micrometre": "µm",
    "\\u00b5m": "µm",
    "nm": "nm",
    "nanometer": "nm",
    "nanometre": "nm",
    "mm": "mm",
    "millimeter": "mm",
    "millimetre": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "m": "m",
    "meter": "m",
    "metre": "m",
    "pm": "pm",
    "inch": "inch",
    "inches": "inch",
    "å": "Å",
    "angstrom": "Å",
    "s": "s",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "us": "µs",
    "µs": "µs",
    "μs": "µs",
    "microsecond": "µs",
    "microseconds": "µs",
    "ns": "ns",
    "nanosecond": "ns",
    "min": "min",
    "minute": "min",
    "h": "h",
    "hour": "h",
}

_TO_UM: dict[str, float] = {
    "pm": 1e-6,
    "Å": 1e-4,
    "nm": 1e-3,
    "µm": 1.0,
    "mm": 1e3,
    "cm": 1e4,
    "m": 1e6,
    "inch": 25400.0,  # TIFF ResolutionUnit 2 and ImageJ's "inch"
}


def normalize_unit(unit: str | None) -> str | None:
    """Return the canonical spelling of a unit (``"micron"`` -> ``"µm"``).

    Unknown units are returned stripped but otherwise unchanged, so nothing a file
    says is lost; ``None`` and empty strings give ``None``.
    """
    if unit is None:
        return None
    text = str(unit).strip()
    if not text:
        return None
    return _ALIASES.get(text.lower(), _ALIASES.get(text, text))


def to_micrometre_factor(unit: str | None) -> float | None:
    """Factor that converts a length in ``unit`` to micrometres, or ``None``."""
    canonical = normalize_unit(unit)
    return None if canonical is None else _TO_UM.get(canonical)


_TO_S: dict[str, float] = {
    "ps": 1e-12,
    "ns": 1e-9,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "min": 60.0,
    "h": 3600.0,
}


def to_seconds_factor(unit: str | None) -> float | None:
    """Factor that converts a time in ``unit`` to seconds, or ``None`` if ``unit`` is not a time."""
    canonical = normalize_unit(unit)
    return None if canonical is None else _TO_S.get(canonical)
