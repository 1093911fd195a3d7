"""Conformance of the ``tiff`` reader: ImageJ hyperstacks and plain TIFF written by tifffile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from scitiff_readers.testing import Expected, ReaderConformance, SampleCase

DATA = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data").resolve()
REAL_IJ = DATA / "ometiff" / "s_1_t_1_c_1_z_1.tiff"


def ramp(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(0, min(np.iinfo(dtype).max, 60000), size=shape, endpoint=True, dtype=dtype)


def write_imagej(path: Path, compression: str | None = None) -> np.ndarray:
    """ImageJ hyperstack TZCYX (3, 4, 2, 32, 40), calibrated: 0.65 um pixels, 2 um slices, 0.5 s frames."""
    data = ramp((3, 4, 2, 32, 40), "uint16")
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(20 / 13, 20 / 13),
        compression=compression,
        metadata={
            "axes": "TZCYX",
            "spacing": 2.0,
            "unit": "um",
            "finterval": 0.5,
            "Labels": [f"{name}" for _ in range(12) for name in ("DAPI", "GFP")],
        },
    )
    return data


CASES = ["real-imagej", "imagej", "imagej-zlib", "imagej-rgb", "plain-stack", "plain-dim-order", "plain-cm"]


def make_case(name: str, folder: Path) -> SampleCase:
    if name == "real-imagej":
        if not REAL_IJ.exists():
            pytest.skip(f"shared sample data not found at {DATA}")
        # ImageJ stores 1/XResolution in the 'unit' ('micron'): tifffile's rational tag.
        with tifffile.TiffFile(REAL_IJ) as tif:
            num, den = tif.pages.first.tags["XResolution"].value
        step = den / num
        return SampleCase(
            REAL_IJ,
            Expected(
                shape=(1, 1, 1, 325, 475),
                dtype="uint16",
                physical_pixel_sizes=(None, step, step),
                pixel_size_units=(None, "µm", "µm"),
                coords={"X": (np.arange(475) * step, "µm")},
                reference=lambda: tifffile.imread(REAL_IJ).reshape(1, 1, 1, 325, 475),
            ),
        )
    if name.startswith("imagej") and name != "imagej-rgb":
        path = folder / f"{name}.tif"
        write_imagej(path, "zlib" if name.endswith("zlib") else None)
        return SampleCase(
            path,
            Expected(
                shape=(3, 2, 4, 32, 40),
                dtype="uint16",
                channel_names=["DAPI", "GFP"],
                physical_pixel_sizes=(2.0, 0.65, 0.65),
                pixel_size_units=("µm", "µm", "µm"),
                coords={
                    "X": (np.arange(40) * 0.65, "µm"),
                    "Y": (np.arange(32) * 0.65, "µm"),
                    "Z": (np.arange(4) * 2.0, "µm"),
                    "T": (np.arange(3) * 0.5, "s"),
                },
                reference=lambda: tifffile.imread(path).transpose(0, 2, 1, 3, 4),
            ),
        )
    if name == "imagej-rgb":
        path = folder / "rgb.tif"
        data = ramp((2, 20, 24, 3), "uint8", 1)
        tifffile.imwrite(path, data, imagej=True, photometric="rgb", metadata={"axes": "TYXS"})
        return SampleCase(
            path,
            Expected(
                shape=(2, 1, 1, 20, 24, 3),
                dims="TCZYXS",
                dtype="uint8",
                reference=lambda: tifffile.imread(path)[:, None, None],
            ),
        )
    if name == "plain-stack":
        path = folder / "stack.tif"
        data = ramp((5, 20, 30), "float32", 2)
        tifffile.imwrite(path, data, metadata=None)  # no description: tifffile shapes it 'IYX'
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 5, 20, 30),
                dtype="float32",
                channel_names=["C0"],
                physical_pixel_sizes=(None, None, None),
                reference=lambda: tifffile.imread(path)[None, None],
            ),
        )
    if name == "plain-dim-order":
        path = folder / "series.tif"
        data = ramp((6, 20, 30), "uint8", 3)
        tifffile.imwrite(path, data, metadata=None)
        return SampleCase(
            path,
            Expected(
                shape=(1, 6, 1, 20, 30),
                dtype="uint8",
                channel_names=[f"ch{i}" for i in range(6)],
                reference=lambda: tifffile.imread(path)[None, :, None],
            ),
            options={"dim_order": "CYX", "channel_names": [f"ch{i}" for i in range(6)]},
        )
    if name == "plain-cm":
        path = folder / "calibrated.tif"
        data = ramp((20, 30), "uint16", 4)
        # 4000 pixels per cm = 2.5 um pixels.
        tifffile.imwrite(path, data, resolution=(4000, 4000), resolutionunit="CENTIMETER", metadata=None)
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 1, 20, 30),
                dtype="uint16",
                physical_pixel_sizes=(None, 2.5, 2.5),
                coords={"X": (np.arange(30) * 2.5, "µm")},
                reference=lambda: tifffile.imread(path).reshape(1, 1, 1, 20, 30),
            ),
        )
    raise AssertionError(name)


class TestTiffConformance(ReaderConformance):
    reader_name = "tiff"

    @pytest.fixture(params=CASES)
    def case(self, request: pytest.FixtureRequest, sample_cache: Any) -> SampleCase:
        return sample_cache(request.param, lambda folder: make_case(request.param, folder))

    @pytest.fixture
    def extra_foreign_paths(self, tmp_path: Path) -> list[Path]:
        """A .npy array, a PNG named .tif and a missing path are not TIFF."""
        npy = tmp_path / "array.npy"
        np.save(npy, np.zeros((2, 2)))
        png_like = tmp_path / "image.tif"
        png_like.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
        truncated = tmp_path / "truncated.tif"
        truncated.write_bytes(b"II*\x00\x08\x00\x00\x00\x05\x00")
        return [npy, png_like, truncated, tmp_path / "missing.tif"]
