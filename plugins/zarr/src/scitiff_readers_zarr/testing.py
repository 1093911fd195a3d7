"""Helpers for this plugin's tests (reference reads with plain zarr-python)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["zarr_foreign_paths", "zarr_reference"]


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
