"""Helpers for this plugin's tests (reference reads with plain zarr-python)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["base_foreign_paths", "zarr_reference"]


def zarr_reference(path: Path) -> np.ndarray:
    """The whole array at ``path`` read by zarr-python with its own codec pipeline."""
    import zarr

    with zarr.config.set({"codec_pipeline.path": "zarr.core.codec_pipeline.BatchedCodecPipeline"}):
        return np.asarray(zarr.open_array(str(path), mode="r")[...])


def base_foreign_paths(tmp_path: Path) -> list[Path]:
    """The conformance suite's default foreign files plus broken zarr-like folders."""
    text = tmp_path / "foreign.txt"
    text.write_text("not an image\n")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    zarr_like = tmp_path / "not_a_dataset.zarr"
    zarr_like.mkdir()
    folder = tmp_path / "plain_folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing here")
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
    return [text, empty, garbage, zarr_like, folder, broken, binary, empty_vsr, file_vsr,
            tmp_path / "missing.zarr"]
