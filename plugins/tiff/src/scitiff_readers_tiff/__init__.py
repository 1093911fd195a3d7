"""TIFF backends of scitiff_readers: OME-TIFF, ImageJ hyperstacks, plain TIFF, OME-TIFF writer.

Importing this package is cheap: tifffile and ome-types are imported only when a
file needs them (a single-file OME-TIFF of plain pages opens and reads uncompressed planes
without either). Every TIFF-based backend of the project (SciTiff included) reads through one
pipeline, a module per step:

1. :mod:`.layout` -- how a page stores its pixels, as tifffile parsed it (or
   :class:`scitiff_readers.backend.IfdChain`, the IFDs of plain pages read by hand, for an open
   without tifffile), and
   the one decision of the raw fast path;
2. series mapping -- :mod:`.series` (tifffile series of any flavour: ImageJ, shaped,
   plain, OME via tifffile) and :mod:`.omeplan` (single-file OME-TIFF from its
   ``TiffData``), with :mod:`.calibration` (ImageJ and resolution tags) and
   :mod:`.omexml` (OME facts) and :mod:`.omecoords` for coordinates;
3. :mod:`.source` -- the pixel source that reads and decodes strips and tiles
   (:mod:`.lazypages`: its OME variant whose page offsets are looked up on first read).

The readers (:mod:`.ome`, :mod:`.plain`) only choose and combine these.
"""

__all__: list[str] = []
