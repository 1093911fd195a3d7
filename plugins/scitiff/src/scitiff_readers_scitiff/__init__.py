"""SciTiff backend of scitiff_readers: reader and writer ``scitiff``, schema models, scipp interop.

Importing this package is cheap (no tifffile, pydantic or scipp); the heavy
modules load on first use.

>>> from scitiff_readers import Reader
>>> r = Reader("tof.tiff")  # doctest: +SKIP
>>> r.xarray_dask_data.sel(T=1500.0, method="nearest")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["SciTiffReader", "SciTiffWriter", "save_scitiff"]


def __getattr__(name: str) -> Any:
    if name == "SciTiffReader":
        from .reader import SciTiffReader

        return SciTiffReader
    if name in ("SciTiffWriter", "save_scitiff"):
        from . import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
