"""Conformance of the ``ome-tiff`` reader on real files and on files written by tifffile."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from scitiff_readers.testing import Expected, ReaderConformance, SampleCase

DATA = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data").resolve()
REAL_OME = DATA / "ometiff" / "s_1_t_1_c_1_z_1.ome.tiff"


def ramp(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    """Deterministic, non-trivial pixels that fill the dtype's range a bit."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, min(info.max, 60000), size=shape, endpoint=True, dtype=dtype)


def write_5d(path: Path, **kwargs: Any) -> np.ndarray:
    data = ramp((3, 2, 4, 40, 30), "uint16")
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": "TCZYX",
            "PhysicalSizeX": 0.65,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": 0.5,
            "PhysicalSizeYUnit": "µm",
            "PhysicalSizeZ": 2.5,
            "PhysicalSizeZUnit": "nm",
            "TimeIncrement": 1.5,
            "TimeIncrementUnit": "ms",
            "Channel": {"Name": ["DAPI", "GFP"]},
        },
        **kwargs,
    )
    return data


def write_multiscene(path: Path) -> tuple[np.ndarray, np.ndarray]:
    a = ramp((2, 3, 20, 24), "uint8", 1)  # CZYX
    b = ramp((4, 16, 18), "float32", 2)  # TYX
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(a, metadata={"axes": "CZYX", "Name": "first", "PhysicalSizeX": 0.25})
        tw.write(b, metadata={"axes": "TYX", "Name": "second", "TimeIncrement": 2.0})
    return a, b


def write_pyramid(path: Path) -> np.ndarray:
    data = ramp((2, 64, 96), "uint16", 3)  # CYX
    with tifffile.TiffWriter(path, ome=True) as tw:
        meta = {"axes": "CYX", "PhysicalSizeX": 0.4, "PhysicalSizeY": 0.4, "Channel": {"Name": ["a", "b"]}}
        tw.write(data, subifds=2, metadata=meta, tile=(32, 32))
        tw.write(data[:, ::2, ::2], subfiletype=1, tile=(32, 32))
        tw.write(data[:, ::4, ::4], subfiletype=1, tile=(16, 16))
    return data


def write_rgb(path: Path) -> np.ndarray:
    data = ramp((3, 30, 50, 3), "uint8", 4)  # ZYXS
    tifffile.imwrite(path, data, ome=True, photometric="rgb", metadata={"axes": "ZYXS", "PhysicalSizeZ": 3.0})
    return data


def write_tiled(path: Path) -> np.ndarray:
    data = ramp((2, 3, 70, 90), "uint16", 5)  # TZYX
    tifffile.imwrite(
        path,
        data,
        ome=True,
        tile=(32, 48),
        compression="zlib",
        predictor=True,
        bigtiff=True,
        metadata={"axes": "TZYX"},
    )
    return data


def write_pages_2000(path: Path) -> np.ndarray:
    data = ramp((2000, 8, 12), "uint16", 6)
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "ZYX", "PhysicalSizeZ": 0.1})
    return data


def write_xyczt(path: Path) -> np.ndarray:
    """A file whose DimensionOrder is XYCZT (pages loop Z slower than C), DeltaT per plane."""
    data = ramp((2, 3, 2, 10, 12), "int16", 7)  # T Z C Y X in page order
    delta = [float(t * 10 + z) for t in range(2) for z in range(3) for c in range(2)]
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": "TZCYX",
            "Plane": {
                "DeltaT": delta,
                "DeltaTUnit": ["s"] * 12,
                "PositionZ": [5.0] * 12,
                "PositionZUnit": ["µm"] * 12,
            },
            "PhysicalSizeZ": 1.5,
            "PhysicalSizeZUnit": "µm",
        },
    )
    return data


def write_multifile(folder: Path) -> tuple[Path, np.ndarray]:
    """A two-file OME-TIFF: T=0 in the master, T=1 in a second file (TiffData UUID FileName)."""
    data = ramp((2, 2, 16, 20), "uint16", 8)  # T C Y X
    master, other = folder / "multi_t0.ome.tif", folder / "multi_t1.ome.tif"
    u0, u1 = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        f'UUID="{u0}"><Image ID="Image:0" Name="multi"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" '
        'Type="uint16" SizeX="20" SizeY="16" SizeZ="1" SizeC="2" SizeT="2" PhysicalSizeX="1.5">'
        '<Channel ID="Channel:0:0" Name="ch0" SamplesPerPixel="1"/>'
        '<Channel ID="Channel:0:1" Name="ch1" SamplesPerPixel="1"/>'
        f'<TiffData FirstT="0" IFD="0" PlaneCount="2"><UUID FileName="{master.name}">{u0}</UUID></TiffData>'
        f'<TiffData FirstT="1" IFD="0" PlaneCount="2"><UUID FileName="{other.name}">{u1}</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    tifffile.imwrite(master, data[0], description=xml, metadata=None)
    tifffile.imwrite(other, data[1], metadata=None)
    return master, data


CASES = [
    "real",
    "5d",
    "multiscene-0",
    "multiscene-1",
    "pyramid-1",
    "rgb",
    "rgb-separate-strips",
    "rgb-jpeg-tiles",
    "tiled-zlib-bigtiff",
    "pages-2000",
    "xyczt-deltat",
    "multifile",
]


def _channel_ids(path: Path, image: int) -> list[str]:
    """The ``Channel@ID`` values ome-types reads (unnamed channels are named by ID, as in bioio)."""
    import ome_types

    return [c.id for c in ome_types.from_tiff(path).images[image].pixels.channels]


def make_case(name: str, folder: Path) -> SampleCase:
    if name == "real":
        if not REAL_OME.exists():
            pytest.skip(f"shared sample data not found at {DATA}")
        ref = tifffile.imread(REAL_OME).reshape(1, 1, 1, 325, 475)
        return SampleCase(
            REAL_OME,
            Expected(
                shape=(1, 1, 1, 325, 475),
                dtype="uint16",
                scenes=["s_1_t_1_c_1_z_1.czi #1"],
                resolution_levels=[0],
                channel_names=["Bright"],
                physical_pixel_sizes=(None, 1.0833333333333333, 1.0833333333333333),
                pixel_size_units=(None, "µm", "µm"),
                # PositionX/Y are in "reference frame" units: not a length, so no origin.
                coords={
                    "X": (np.arange(475) * 1.0833333333333333, "µm"),
                    "T": ([0.4960000514984131], "s"),
                    "Z": ([9801.29], None),
                },
                reference=ref,
            ),
        )
    if name == "5d":
        path = folder / "five.ome.tif"
        data = write_5d(path)
        return SampleCase(
            path,
            Expected(
                shape=data.shape,
                dtype="uint16",
                scenes=["Image0"],
                resolution_levels=[0],
                channel_names=["DAPI", "GFP"],
                physical_pixel_sizes=(2.5, 0.5, 0.65),
                pixel_size_units=("nm", "µm", "µm"),
                coords={
                    "X": (np.arange(30) * 0.65, "µm"),
                    "Y": (np.arange(40) * 0.5, "µm"),
                    "Z": (np.arange(4) * 2.5, "nm"),
                    "T": (np.arange(3) * 1.5, "ms"),
                    "C": (["DAPI", "GFP"], None),
                },
                reference=lambda: tifffile.imread(path),
            ),
        )
    if name.startswith("multiscene"):
        path = folder / "scenes.ome.tif"
        write_multiscene(path)
        if name.endswith("0"):
            return SampleCase(
                path,
                Expected(
                    shape=(1, 2, 3, 20, 24),
                    dtype="uint8",
                    scenes=["first", "second"],
                    channel_names=_channel_ids(path, 0),
                    coords={"X": (np.arange(24) * 0.25, "µm")},
                    reference=lambda: tifffile.imread(path, series=0)[None],
                ),
                scene=0,
            )
        return SampleCase(
            path,
            Expected(
                shape=(4, 1, 1, 16, 18),
                dtype="float32",
                scenes=["first", "second"],
                physical_pixel_sizes=(None, None, None),
                coords={"T": (np.arange(4) * 2.0, "s")},
                reference=lambda: tifffile.imread(path, series=1)[:, None, None],
            ),
            scene="second",
        )
    if name == "pyramid-1":
        path = folder / "pyramid.ome.tif"
        write_pyramid(path)
        return SampleCase(
            path,
            Expected(
                shape=(1, 2, 1, 32, 48),
                dtype="uint16",
                resolution_levels=[0, 1, 2],
                channel_names=["a", "b"],
                physical_pixel_sizes=(None, 0.8, 0.8),
                pixel_size_units=(None, "µm", "µm"),
                coords={"X": (np.arange(48) * 0.8, "µm"), "Y": (np.arange(32) * 0.8, "µm")},
                reference=lambda: tifffile.imread(path, level=1)[None, :, None],
            ),
            level=1,
        )
    if name == "rgb":
        path = folder / "rgb.ome.tif"
        write_rgb(path)
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 3, 30, 50, 3),
                dims="TCZYXS",
                dtype="uint8",
                physical_pixel_sizes=(3.0, None, None),
                coords={"Z": (np.arange(3) * 3.0, "µm")},
                reference=lambda: tifffile.imread(path)[None, None],
            ),
        )
    if name == "rgb-separate-strips":
        path = folder / "rgbsep.ome.tif"
        data = ramp((2, 3, 30, 50), "uint16", 9)  # Z S Y X, stored planar-separate in 7-row strips
        tifffile.imwrite(
            path,
            data,
            ome=True,
            photometric="rgb",
            planarconfig="separate",
            rowsperstrip=7,
            metadata={"axes": "ZSYX"},
        )
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 2, 30, 50, 3),
                dims="TCZYXS",
                dtype="uint16",
                reference=lambda: tifffile.imread(path).transpose(0, 2, 3, 1)[None, None],
            ),
        )
    if name == "rgb-jpeg-tiles":
        path = folder / "rgbjpeg.ome.tif"
        data = ramp((2, 48, 64, 3), "uint8", 10)
        tifffile.imwrite(
            path,
            data,
            ome=True,
            photometric="rgb",
            tile=(16, 32),
            compression="jpeg",
            metadata={"axes": "TYXS"},
        )
        return SampleCase(
            path,
            Expected(
                shape=(2, 1, 1, 48, 64, 3),
                dims="TCZYXS",
                dtype="uint8",
                reference=lambda: tifffile.imread(path)[:, None, None],
            ),
            options={"chunk_bytes": 2048},
        )
    if name == "tiled-zlib-bigtiff":
        path = folder / "tiled.ome.tif"
        write_tiled(path)
        return SampleCase(
            path,
            Expected(
                shape=(2, 1, 3, 70, 90), dtype="uint16", reference=lambda: tifffile.imread(path)[:, None]
            ),
            options={"chunk_bytes": 4096},
        )
    if name == "pages-2000":
        path = folder / "pages.ome.tif"
        write_pages_2000(path)
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 2000, 8, 12),
                dtype="uint16",
                coords={"Z": (np.arange(2000) * 0.1, "µm")},
                reference=lambda: tifffile.imread(path)[None, None],
            ),
        )
    if name == "xyczt-deltat":
        path = folder / "xyczt.ome.tif"
        write_xyczt(path)
        return SampleCase(
            path,
            Expected(
                shape=(2, 2, 3, 10, 12),
                dtype="int16",
                coords={"T": ([0.0, 10.0], "s"), "Z": (5.0 + np.arange(3) * 1.5, "µm")},
                reference=lambda: tifffile.imread(path).transpose(0, 2, 1, 3, 4),
            ),
        )
    if name == "multifile":
        path, data = write_multifile(folder)
        return SampleCase(
            path,
            Expected(
                shape=(2, 2, 1, 16, 20),
                dtype="uint16",
                channel_names=["ch0", "ch1"],
                coords={"X": (np.arange(20) * 1.5, "µm")},
                reference=lambda: tifffile.imread(path)[:, :, None],
            ),
        )
    raise AssertionError(name)


class TestOmeTiffConformance(ReaderConformance):
    reader_name = "ome-tiff"

    @pytest.fixture(params=CASES)
    def case(self, request: pytest.FixtureRequest, sample_cache: Any) -> SampleCase:
        return sample_cache(request.param, lambda folder: make_case(request.param, folder))

    @pytest.fixture
    def extra_foreign_paths(self, tmp_path: Path) -> list[Path]:
        """Plain and ImageJ TIFFs are not OME-TIFF; nor are truncated or missing files."""
        plain = tmp_path / "plain.tif"
        tifffile.imwrite(plain, np.zeros((2, 8, 8), np.uint8), photometric="minisblack")
        imagej = tmp_path / "imagej.tif"
        tifffile.imwrite(imagej, np.zeros((2, 8, 8), np.uint8), imagej=True)
        truncated = tmp_path / "truncated.tif"
        truncated.write_bytes(b"II*\x00\x08\x00\x00\x00\x05\x00")
        return [plain, imagej, truncated, tmp_path / "missing.tif"]
