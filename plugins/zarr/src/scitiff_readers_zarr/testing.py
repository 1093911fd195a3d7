"""Helpers for this plugin's tests (reference reads with plain zarr-python)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["blosc_ngff", "zarr_foreign_paths", "zarr_reference"]


def zarr_reference(path: Path) -> np.ndarray:
    """The whole array at ``path`` read by zarr-python with its own codec pipeline."""
    import zarr

    with zarr.config.set({"codec_pipeline.path": "zarr.core.codec_pipeline.BatchedCodecPipeline"}):
        return np.asarray(zarr.open_array(str(path), mode="r")[...])


def zarr_foreign_paths(tmp_path: Path) -> list[Path]:
    """Zarr-like and VISoR-like folders and files that are not readable datasets."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    broken = tmp_path / "broken.zarr"
    broken.mkdir()
    (broken / "zarr.json").write_text("{not json")
    binary = tmp_path / "binary.zarr"
    binary.mkdir()
    (binary / ".zattrs").write_bytes(b"\xff\xfe\x00" * 100)
    empty_vsr = tmp_path / "empty.vsr"
    empty_vsr.mkdir()
    file_vsr = tmp_path / "file.vsr"
    file_vsr.write_bytes(b"\x00" * 10)
    return [broken, binary, empty_vsr, file_vsr, tmp_path / "missing.zarr"]


def blosc_ngff(path: Path, zarr_format: int, shards: tuple[int, int] | None = None) -> np.ndarray:
    """Write a 48 x 64 ``uint16`` OME-Zarr of Blosc chunks (16 x 32; sharded if ``shards``) with zarr-python.

    What the Blosc checks guard (:mod:`.chunkguard`, :mod:`.guardedstore`); returns the data written.
    """
    import zarr
    from numcodecs import Blosc
    from zarr.codecs import BloscCodec

    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)  # type: ignore[arg-type]  # 2 or 3
    ms: dict[str, Any] = {
        "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}],
    }
    if zarr_format == 3:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [ms]}
        compressors: object = BloscCodec(cname="zstd", clevel=5)
    else:
        group.attrs["multiscales"] = [{**ms, "version": "0.4"}]
        compressors = Blosc(cname="zstd", clevel=5)
    data = (np.arange(48 * 64, dtype=np.uint16) * 7919 % 4093).reshape(48, 64)
    arr = group.create_array(
        "0",
        shape=data.shape,
        dtype="uint16",
        chunks=(16, 32),
        shards=shards,
        compressors=compressors,  # type: ignore[arg-type]  # numcodecs' or zarr's Blosc
    )
    arr[...] = data
    return data
