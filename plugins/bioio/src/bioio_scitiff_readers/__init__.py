"""bioio plugin: every format an installed scitiff_readers backend opens, for ``BioImage(...)``.

``bioio`` finds this module through the ``bioio.readers`` entry point and uses its
:class:`ReaderMetadata`; ``BioImage(path, reader=bioio_scitiff_readers.Reader)`` picks it
explicitly.
"""

from __future__ import annotations

from .reader import Reader
from .reader_metadata import ReaderMetadata

__all__ = ["Reader", "ReaderMetadata"]
