"""Sample datasets written by the reference writer (``ndstorage``), for demos and benchmarks."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.errors import MissingDependencyError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["sample_image", "write_images", "write_sample"]


def sample_image(t: int, c: int, z: int, height: int, width: int, dtype: Any = np.uint16) -> np.ndarray:
    """A deterministic image that differs for every ``(t, c, z)``."""
    base = np.arange(height * width, dtype=np.uint32).reshape(height, width) * 7 + 1000 * t + 100 * c + 10 * z
    limit = 251 if np.dtype(dtype) == np.uint8 else 65521
    return (base % limit).astype(dtype)


def write_sample(
    folder: Path,
    name: str,
    *,
    times: int = 1,
    channels: Sequence[Any] = (0,),
    zs: int = 1,
    height: int = 32,
    width: int = 32,
    dtype: Any = np.uint16,
    summary: dict[str, Any] | None = None,
) -> Path:
    """Write a ``time x channel x z`` dataset with ``ndstorage`` and return its folder."""
    meta = {"PixelSize_um": 0.5, "z-step_um": 2.0, "Interval_ms": 100.0}
    meta.update(summary or {})
    images = [
        (
            {"time": t, "channel": c, "z": z},
            sample_image(t, ci, z, height, width, dtype),
            {"ElapsedTime-ms": 100.0 * t + ci, "Channel": str(c)},
        )
        for t in range(times)
        for ci, c in enumerate(channels)
        for z in range(zs)
    ]
    return write_images(folder, name, images, meta)


def write_images(
    folder: Path,
    name: str,
    images: Sequence[tuple[dict[str, Any], np.ndarray, dict[str, Any]]],
    summary: dict[str, Any] | None = None,
) -> Path:
    """Write ``(axes, pixels, metadata)`` images with ``ndstorage`` in order; return the folder."""
    try:
        from ndstorage import NDTiffDataset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "writing NDTiff samples needs the reference writer: pip install ndstorage"
        ) from exc
    with contextlib.redirect_stdout(io.StringIO()):
        ds = NDTiffDataset(str(folder), summary_metadata=dict(summary or {}), name=name, writable=True)
        # ndstorage's file writer opens a reader of its own file that it never closes (a
        # ResourceWarning when the writer is dropped): collect them and close them here.
        writer_readers: dict[int, Any] = {}
        for axes, pixels, metadata in images:
            ds.put_image(dict(axes), pixels, dict(metadata))
            reader = getattr(ds.current_writer, "reader", None)
            if reader is not None:
                writer_readers[id(reader)] = reader
        for reader in writer_readers.values():
            reader.close()
        ds.finish()
        path = Path(ds.path)
        ds.close()
    return path
