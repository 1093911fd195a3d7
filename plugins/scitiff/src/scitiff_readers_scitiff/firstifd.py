"""The first IFD of a TIFF file: just enough to sniff and check a SciTiff cheaply.

The parser lives in the core (:mod:`scitiff_readers.tiffhead`), shared by every
TIFF backend's sniff; this module keeps the names the SciTiff reader has always
imported.
"""

from __future__ import annotations

from scitiff_readers.tiffhead import FirstIfd, read_first_ifd, tiff_head

__all__ = ["FirstIfd", "read_first_ifd", "tiff_head"]
