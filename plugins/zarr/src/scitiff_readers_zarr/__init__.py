"""scitiff_readers backends for zarr data: VISoR light-sheet samples and OME-Zarr images (read and write).

Importing this package is cheap: zarr is imported only when a file is opened.
"""

from __future__ import annotations

__all__ = ["OmeZarrReader", "OmeZarrWriter", "VisorReader"]


def __getattr__(name: str) -> object:
    if name == "OmeZarrReader":
        from .omezarr import OmeZarrReader

        return OmeZarrReader
    if name == "OmeZarrWriter":
        from .writer import OmeZarrWriter

        return OmeZarrWriter
    if name == "VisorReader":
        from .visor import VisorReader

        return VisorReader
    raise AttributeError(name)
