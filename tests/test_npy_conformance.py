"""The conformance suite run against the core's reference reader (``.npy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from scitiff_readers import CorruptFileError, MetadataError
from scitiff_readers._npy import NpyReader
from scitiff_readers.cli import main
from scitiff_readers.testing import Expected, ReaderConformance, SampleCase

if TYPE_CHECKING:
    from pathlib import Path


def _ramp(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return (np.arange(int(np.prod(shape))) % 251).astype(dtype).reshape(shape)


class TestNpyConformance(ReaderConformance):
    reader_name = "npy"

    @pytest.fixture(params=["5d", "3d-calibrated", "rgb"])
    def case(self, request: pytest.FixtureRequest, sample_cache: Any) -> SampleCase:
        return sample_cache(request.param, lambda folder: _make_case(request.param, folder))


def _make_case(name: str, tmp_path: Path) -> SampleCase:
    if name == "5d":
        data = _ramp((3, 2, 4, 40, 30), "uint16")
        path = tmp_path / "five.npy"
        np.save(path, data)
        return SampleCase(
            path,
            Expected(
                shape=data.shape,
                dtype="uint16",
                scenes=("five",),
                resolution_levels=(0,),
                channel_names=["C0", "C1"],
                physical_pixel_sizes=(None, None, None),
                reference=data,
            ),
        )
    if name == "3d-calibrated":
        data = _ramp((5, 16, 12), "float32")
        path = tmp_path / "zyx.npy"
        np.save(path, data)
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 5, 16, 12),
                dtype="float32",
                channel_names=["DAPI"],
                physical_pixel_sizes=(2.0, 0.25, 0.5),
                pixel_size_units=("µm",) * 3,
                coords={
                    "Z": (np.arange(5) * 2.0, "µm"),
                    "Y": (np.arange(16) * 0.25, "µm"),
                    "X": (np.arange(12) * 0.5, "µm"),
                    "C": (["DAPI"], None),
                },
                reference=data.reshape(1, 1, 5, 16, 12),
            ),
            options={"channel_names": ["DAPI"], "physical_pixel_sizes": (2.0, 0.25, 0.5)},
        )
    data = _ramp((2, 1, 1, 8, 9, 3), "uint8")
    path = tmp_path / "rgb.npy"
    np.save(path, data)
    return SampleCase(path, Expected(shape=data.shape, dtype="uint8", dims="TCZYXS", reference=data))


class TestNpyBadInput:
    """Corrupt, truncated and hostile .npy files give typed errors naming the file."""

    def _save(self, tmp_path: Path, array: np.ndarray, name: str = "a.npy") -> Path:
        path = tmp_path / name
        np.save(path, array, allow_pickle=True)
        return path

    def test_truncated_payload(self, tmp_path: Path) -> None:
        path = self._save(tmp_path, np.zeros((2, 3, 16, 16), np.uint16))
        path.write_bytes(path.read_bytes()[:-100])
        with pytest.raises(
            CorruptFileError,
            match=r"a\.npy: header says 3072 bytes of pixels but the file has 2972; the file is truncated",
        ):
            NpyReader(path)

    def test_unreadable_header(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.npy"
        path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': <nope>}\n" + bytes(64))
        with pytest.raises(CorruptFileError, match=r"bad\.npy: unreadable \.npy header"):
            NpyReader(path)

    def test_unknown_format_version(self, tmp_path: Path) -> None:
        path = tmp_path / "v9.npy"
        path.write_bytes(b"\x93NUMPY\x09\x00" + bytes(64))
        with pytest.raises(CorruptFileError, match=r"unsupported \.npy format version 9"):
            NpyReader(path)

    def test_object_arrays_are_refused_without_unpickling(self, tmp_path: Path) -> None:
        path = self._save(tmp_path, np.array([[{"x": 1}, None]], dtype=object))
        with pytest.raises(CorruptFileError, match="object arrays cannot be read without unpickling"):
            NpyReader(path)

    def test_fortran_order_is_refused(self, tmp_path: Path) -> None:
        path = self._save(tmp_path, np.asfortranarray(np.zeros((4, 5), np.uint8)))
        with pytest.raises(MetadataError, match="Fortran-ordered"):
            NpyReader(path)

    def test_dim_order_must_fit(self, tmp_path: Path) -> None:
        path = self._save(tmp_path, np.zeros((4, 5), np.uint8))
        with pytest.raises(MetadataError, match="dim_order 'ZYX' does not fit shape"):
            NpyReader(path, dim_order="ZYX")
        with pytest.raises(MetadataError, match="needs dim_order"):
            NpyReader(self._save(tmp_path, np.zeros(4, np.uint8), "one_d.npy"))

    def test_cli_reports_a_corrupt_file_in_one_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = self._save(tmp_path, np.zeros((2, 8, 8), np.uint16))
        path.write_bytes(path.read_bytes()[:-10])
        assert main(["info", str(path)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert "truncated" in err
        assert str(path) in err
