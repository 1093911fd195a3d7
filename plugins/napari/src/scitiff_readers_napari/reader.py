"""The npe2 reader contribution: pick a backend through the registry, return layer data."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from scitiff_readers import select_reader
from scitiff_readers.errors import ScitiffReadersError

from .layers import LayerDataTuple, layer_data

__all__ = ["napari_get_reader", "read_paths"]

PathLike = str | os.PathLike[str]


def _opens(path: PathLike) -> bool:
    try:
        return select_reader(path) is not None
    except (ScitiffReadersError, OSError, ValueError):
        return False


def napari_get_reader(path: PathLike | Sequence[PathLike]) -> Callable[..., list[LayerDataTuple]] | None:
    """Return :func:`read_paths` if an installed reader recognises every path, else ``None``.

    The choice is the registry's (content sniffing in priority order), so a ``.tif``
    goes to the SciTiff, OME-TIFF or TIFF backend by what it contains and a folder
    to the NDTiff, VISoR or OME-Zarr backend.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths or not all(_opens(p) for p in paths):
        return None
    return read_paths


def read_paths(path: PathLike | Sequence[PathLike]) -> list[LayerDataTuple]:
    """The layers of every path (see :func:`~scitiff_readers_napari.layers.layer_data`)."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    out: list[LayerDataTuple] = []
    for p in paths:
        out.extend(layer_data(p))
    return out
