"""How a file says its channels should be displayed: colour, contrast, visibility.

Viewers (the napari plugin) read it; backends whose format stores display settings
(NDTiff ``display_settings.txt``, OME channel ``Color``, OME-Zarr ``omero``) provide
it by defining ``channel_display(self) -> list[ChannelDisplay] | None`` on their
Reader, for the current scene, one entry per channel. Everything is optional: a
field left ``None`` means the file does not say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ChannelDisplay", "argb_int_to_rgb", "channel_display", "hex_to_rgb", "rgba_int_to_rgb"]


@dataclass(frozen=True)
class ChannelDisplay:
    """Display settings of one channel.

    Parameters
    ----------
    color
        ``(r, g, b)`` in 0..1 of the channel's colour (the top of its colormap).
    contrast_limits
        ``(low, high)`` in pixel values.
    visible
        Whether the channel is shown (``Active`` in Micro-Manager, ``active`` in omero).
    wavelength_nm
        Emission (or excitation) wavelength in nm, a colour hint when ``color`` is unknown.
    """

    color: tuple[float, float, float] | None = None
    contrast_limits: tuple[float, float] | None = None
    visible: bool | None = None
    wavelength_nm: float | None = None


def channel_display(reader: Any) -> list[ChannelDisplay] | None:
    """The reader's display settings for its current scene, or ``None`` if it has none.

    A backend error while reading optional display metadata never stops a viewer from
    showing the pixels, so ``OSError`` / ``ValueError`` / ``KeyError`` give ``None``.
    """
    hook = getattr(reader, "channel_display", None)
    if hook is None:
        return None
    try:
        settings: Sequence[ChannelDisplay] | None = hook()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if settings is None or len(settings) != reader.dims.C:
        return None
    return list(settings)


def argb_int_to_rgb(value: int) -> tuple[float, float, float]:
    """A Java ``Color`` int (``0xAARRGGBB``, maybe negative) as ``(r, g, b)`` in 0..1."""
    value = int(value) & 0xFFFFFFFF
    return ((value >> 16) & 0xFF) / 255, ((value >> 8) & 0xFF) / 255, (value & 0xFF) / 255


def rgba_int_to_rgb(value: int) -> tuple[float, float, float]:
    """An OME ``Color`` int (``0xRRGGBBAA``, maybe negative) as ``(r, g, b)`` in 0..1."""
    value = int(value) & 0xFFFFFFFF
    return ((value >> 24) & 0xFF) / 255, ((value >> 16) & 0xFF) / 255, ((value >> 8) & 0xFF) / 255


def hex_to_rgb(value: str) -> tuple[float, float, float]:
    """``"FF0000"`` or ``"#ff0000"`` as ``(r, g, b)`` in 0..1.

    Raises
    ------
    ValueError
        If ``value`` is not six hexadecimal digits.
    """
    text = value.strip().lstrip("#")
    if len(text) != 6:
        raise ValueError(f"not an RRGGBB colour: {value!r}")
    number = int(text, 16)
    return ((number >> 16) & 0xFF) / 255, ((number >> 8) & 0xFF) / 255, (number & 0xFF) / 255
