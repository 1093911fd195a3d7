"""Pixel reads that keep no file open afterwards (the reader option ``keep_handles=False``).

By default a reader keeps its files open between reads: reading plane after plane
then costs no open and no re-parse. bioio instead guarantees that no file handle
stays open after any API call. :class:`TransientSource` gives that behaviour: each
read works on a fresh copy of the source (sources pickle as a path and a parsed
index, never a handle) and closes it before returning, so concurrent reads never
share, or close, each other's handles.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING

from ._sources import PixelSource, Region

if TYPE_CHECKING:
    import numpy as np

__all__ = ["TransientSource"]


class TransientSource(PixelSource):
    """Wrap ``source`` so that every read opens, reads and closes its own handles."""

    def __init__(self, source: PixelSource) -> None:
        self.inner = source
        self.shape = source.shape
        self.dtype = source.dtype
        self.storage_chunks = source.storage_chunks
        self.__dict__["_token"] = f"transient-{source.token}"
        self._state = pickle.dumps(source)

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Read ``region`` through a fresh copy of the source, then close the copy."""
        fresh = pickle.loads(self._state)
        try:
            fresh.read_into(out, region)
        finally:
            fresh.close()

    def __getstate__(self) -> dict[str, object]:
        return {
            "inner": self.inner,
            "shape": self.shape,
            "dtype": self.dtype,
            "storage_chunks": self.storage_chunks,
            "_token": self.token,
            "_state": self._state,
        }
