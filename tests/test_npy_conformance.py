"""The conformance suite run against the core's reference reader (``.npy``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scitiff_readers.testing import Expected, ReaderConformance, SampleCase


def _ramp(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return (np.arange(int(np.prod(shape))) % 251).astype(dtype).reshape(shape)


class TestNpyConformance(ReaderConformance):
    reader_name = "npy"

    @pytest.fixture(params=["5d", "3d-calibrated", "rgb"])
    def case(self, request: pytest.FixtureRequest, tmp_path: Path) -> SampleCase:
        if request.param == "5d":
            data = _ramp((3, 2, 4, 40, 30), "uint16")
            path = tmp_path / "five.npy"
            np.save(path, data)
            return SampleCase(path, Expected(shape=data.shape, dtype="uint16", scenes=("five",),
                                             resolution_levels=(0,), channel_names=["C0", "C1"],
                                             physical_pixel_sizes=(None, None, None), reference=data))
        if request.param == "3d-calibrated":
            data = _ramp((5, 16, 12), "float32")
            path = tmp_path / "zyx.npy"
            np.save(path, data)
            return SampleCase(
                path,
                Expected(
                    shape=(1, 1, 5, 16, 12), dtype="float32", channel_names=["DAPI"],
                    physical_pixel_sizes=(2.0, 0.25, 0.5), pixel_size_units=("µm",) * 3,
                    coords={"Z": (np.arange(5) * 2.0, "µm"), "Y": (np.arange(16) * 0.25, "µm"),
                            "X": (np.arange(12) * 0.5, "µm"), "C": (["DAPI"], None)},
                    reference=data.reshape(1, 1, 5, 16, 12),
                ),
                options={"channel_names": ["DAPI"], "physical_pixel_sizes": (2.0, 0.25, 0.5)},
            )
        data = _ramp((2, 1, 1, 8, 9, 3), "uint8")
        path = tmp_path / "rgb.npy"
        np.save(path, data)
        return SampleCase(path, Expected(shape=data.shape, dtype="uint8", dims="TCZYXS", reference=data))
