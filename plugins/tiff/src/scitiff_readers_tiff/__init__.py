"""TIFF backends of scitiff_readers: OME-TIFF, ImageJ hyperstacks, plain TIFF, OME-TIFF writer.

Importing this package is cheap: tifffile and ome-types are imported only when a
file is opened. :mod:`scitiff_readers_tiff.pages` holds the one TIFF pixel path
that every TIFF-based backend of the project (SciTiff included) reads through.
"""

__all__: list[str] = []
