"""NDTiff datasets (Micro-Manager, pycro-manager, Micro-Magellan) for scitiff_readers.

Importing this package is cheap: it imports numpy and the scitiff_readers core only.
"""

from __future__ import annotations

from .index import NDTiffIndexWarning
from .reader import NDTiffReader

__all__ = ["NDTiffIndexWarning", "NDTiffReader"]
