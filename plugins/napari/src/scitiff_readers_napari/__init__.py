"""napari reader plugin for scitiff_readers (npe2 manifest ``napari.yaml``).

napari calls :func:`~scitiff_readers_napari.reader.napari_get_reader`; the layers are
built by :func:`~scitiff_readers_napari.layers.layer_data`, which needs no napari and
can be used to add a file's layers to a viewer by hand.
"""

from __future__ import annotations

from .layers import layer_data
from .reader import napari_get_reader

__all__ = ["layer_data", "napari_get_reader"]
