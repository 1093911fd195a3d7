"""Channel colours: from the file's display settings, a wavelength, or a default cycle."""

from __future__ import annotations

import math

__all__ = ["DEFAULT_COLORS", "wavelength_to_rgb"]

#: Colormap names for channels the file gives no colour for (napari's own two-channel
#: default first, then the other primaries and secondaries).
DEFAULT_COLORS = ("magenta", "green", "cyan", "yellow", "red", "blue")


def wavelength_to_rgb(nm: float) -> tuple[float, float, float] | None:
    """The perceived colour of light of wavelength ``nm`` (380-780 nm), ``None`` outside it.

    Dan Bruton's piecewise-linear approximation of the visible spectrum, with the
    intensity falling off towards both ends of vision, as most viewers colour channels.
    """
    if not math.isfinite(nm) or nm < 380 or nm > 780:
        return None
    if nm < 440:
        rgb = ((440 - nm) / 60, 0.0, 1.0)
    elif nm < 490:
        rgb = (0.0, (nm - 440) / 50, 1.0)
    elif nm < 510:
        rgb = (0.0, 1.0, (510 - nm) / 20)
    elif nm < 580:
        rgb = ((nm - 510) / 70, 1.0, 0.0)
    elif nm < 645:
        rgb = (1.0, (645 - nm) / 65, 0.0)
    else:
        rgb = (1.0, 0.0, 0.0)
    if nm < 420:
        factor = 0.3 + 0.7 * (nm - 380) / 40
    elif nm > 700:
        factor = 0.3 + 0.7 * (780 - nm) / 80
    else:
        factor = 1.0
    return (rgb[0] * factor, rgb[1] * factor, rgb[2] * factor)
