"""The reader conformance suite on NDTiff datasets written by ndstorage and on real ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scitiff_readers_ndtiff.reference import open_reference, reference_array
from scitiff_readers_ndtiff.samples import sample_image, write_images

from scitiff_readers.testing import Expected, ReaderConformance, SampleCase

pytest.importorskip("ndstorage")

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "ndtiff"


def _shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"shared NDTiff sample {relative} is absent ({SHARED}); it comes with the developer data")
    return path


def _tcz_strings(tmp: Path) -> SampleCase:
    """time 0-2 x string channels GFP, DAPI (acquired in that order) x z 0-3, uint16."""
    images = [
        ({"time": t, "channel": c, "z": z}, sample_image(t, ci, z, 24, 20), {"ElapsedTime-ms": 7.0 * t})
        for t in range(3)
        for ci, c in enumerate(("GFP", "DAPI"))
        for z in range(4)
    ]
    path = write_images(tmp, "tcz", images, {"PixelSize_um": 0.5, "z-step_um": 2.0, "Interval_ms": 100})
    ref = reference_array(
        path, times=[0, 1, 2], channels=["GFP", "DAPI"], zs=[0, 1, 2, 3], shape=(24, 20), dtype=np.uint16
    )
    return SampleCase(
        path,
        Expected(
            shape=(3, 2, 4, 24, 20),
            dtype="uint16",
            scenes=(path.name,),
            resolution_levels=(0,),
            channel_names=["GFP", "DAPI"],
            physical_pixel_sizes=(2.0, 0.5, 0.5),
            pixel_size_units=("µm",) * 3,
            coords={
                "T": ([0.0, 100.0, 200.0], "ms"),
                "Z": ([0.0, 2.0, 4.0, 6.0], "µm"),
                "Y": (np.arange(24) * 0.5, "µm"),
                "X": (np.arange(20) * 0.5, "µm"),
                "C": (["GFP", "DAPI"], None),
                "z_index": ([0, 1, 2, 3], None),
            },
            reference=ref,
        ),
    )


def _uint8_negative_z_missing(tmp: Path) -> SampleCase:
    """uint8, z -2..1, integer channels named by ChNames, two images never acquired."""
    images = []
    for t in range(2):
        for c in range(2):
            for z in (-2, -1, 0, 1):
                if (t, c, z) in {(1, 1, -2), (0, 0, 1)}:
                    continue
                md = {"ZPosition_um_Intended": 10 + 1.5 * z, "ElapsedTime-ms": 1000.0 * t + 3 * c}
                images.append(
                    ({"time": t, "channel": c, "z": z}, sample_image(t, c, z + 2, 16, 12, np.uint8), md)
                )
    path = write_images(tmp, "neg", images, {"ChNames": ["Cy5", "Brightfield"]})
    ref = reference_array(
        path, times=[0, 1], channels=[0, 1], zs=[-2, -1, 0, 1], shape=(16, 12), dtype=np.uint8
    )
    assert not ref[1, 1, 0].any()
    assert not ref[0, 0, 3].any()
    return SampleCase(
        path,
        Expected(
            shape=(2, 2, 4, 16, 12),
            dtype="uint8",
            channel_names=["Cy5", "Brightfield"],
            physical_pixel_sizes=(1.5, None, None),
            coords={
                "Z": ([7.0, 8.5, 10.0, 11.5], "µm"),
                "z_index": ([-2, -1, 0, 1], None),
                "T": ([0.0, 1000.0], "ms"),
            },
            reference=ref,
        ),
    )


def _positions(tmp: Path) -> SampleCase:
    """Three positions (labels from per-image PositionName) x time 0-1; scene 1 is checked."""
    images = [
        ({"position": p, "time": t}, sample_image(t, p, 0, 10, 14), {"PositionName": f"Well-{'ABC'[p]}1"})
        for t in range(2)
        for p in range(3)
    ]
    path = write_images(tmp, "pos", images, {"PixelSize_um": 0.25})
    ref = reference_array(
        path, times=[0, 1], channels=None, zs=None, scene={"position": 1}, shape=(10, 14), dtype=np.uint16
    )
    return SampleCase(
        path,
        Expected(
            shape=(2, 1, 1, 10, 14),
            dtype="uint16",
            scenes=("Well-A1", "Well-B1", "Well-C1"),
            coords={"position": (1, None), "X": (np.arange(14) * 0.25, "µm")},
            reference=ref,
        ),
        scene=1,
    )


def _custom_axes(tmp: Path) -> SampleCase:
    """Custom axes ``view`` and ``l`` next to channel; scenes per combination."""
    images = [
        ({"view": v, "l": lv, "channel": c}, sample_image(v, li, ci, 8, 8), {})
        for v in range(2)
        for li, lv in enumerate(("a", "b"))
        for ci, c in enumerate(("x", "y"))
    ]
    path = write_images(tmp, "custom", images)
    ref = reference_array(
        path,
        times=None,
        channels=["x", "y"],
        zs=None,
        scene={"view": 1, "l": "a"},
        shape=(8, 8),
        dtype=np.uint16,
    )
    return SampleCase(
        path,
        Expected(
            shape=(1, 2, 1, 8, 8),
            dtype="uint16",
            scenes=("l=a, view=0", "l=a, view=1", "l=b, view=0", "l=b, view=1"),
            coords={"view": (1, None), "l": ("a", None)},
            reference=ref,
        ),
        scene=1,
    )


def _real_v2(_: Path) -> SampleCase:
    path = _shared("v2/ndtiffv2.0_test")
    ref = reference_array(path, times=range(5), channels=[0, 1], zs=None, shape=(32, 32), dtype=np.uint16)
    return SampleCase(
        path,
        Expected(
            shape=(5, 2, 1, 32, 32),
            dtype="uint16",
            channel_names=["DAPI", "FITC"],
            physical_pixel_sizes=(None, 1.0, 1.0),
            coords={"T": ([0.0, 25.0, 49.0, 72.0, 95.0], "ms")},
            reference=ref,
        ),
    )


def _real_v3(_: Path) -> SampleCase:
    path = _shared("v3/ndtiffv3.0_test")
    ref = reference_array(path, times=range(5), channels=[0, 1], zs=None, shape=(32, 32), dtype=np.uint16)
    return SampleCase(
        path / "NDTiff.index",
        Expected(shape=(5, 2, 1, 32, 32), dtype="uint16", channel_names=["DAPI", "FITC"], reference=ref),
    )


def _real_12bit(_: Path) -> SampleCase:
    path = _shared("v3/12_bit_pycromanager_mda")
    ref = reference_array(
        path, times=range(4), channels=["DAPI", "FITC"], zs=None, shape=(64, 64), dtype=np.uint16
    )
    return SampleCase(
        path / "12_bit_pycromanager_mda_NDTiffStack.tif",
        Expected(shape=(4, 2, 1, 64, 64), dtype="uint16", channel_names=["DAPI", "FITC"], reference=ref),
    )


def _real_rgb_tile(_: Path) -> SampleCase:
    path = _shared("v3/ndtiff3.2_magellan_explore_rgb")
    ref = reference_array(
        path,
        times=None,
        channels=None,
        zs=[0],
        scene={"row": 12, "column": 12},
        shape=(32, 32, 3),
        dtype=np.uint8,
    )
    return SampleCase(
        path,
        Expected(
            shape=(1, 1, 1, 32, 32, 3),
            dtype="uint8",
            dims="TCZYXS",
            scenes=("row=11, column=11", "row=12, column=12", "row=13, column=13"),
            resolution_levels=(0,),
            coords={"row": (12, None), "column": (12, None), "Z": ([0.0], "µm")},
            reference=ref,
        ),
        scene=1,
    )


def _stitched_level(level: int) -> Any:
    def make(_: Path) -> SampleCase:
        path = _shared("v3/ndtiff3.2_magellan_explore_rgb")

        def ref() -> np.ndarray:
            ds = open_reference(path)
            lv = ds.res_levels[level]
            mosaic = lv.as_array(stitched=True).compute(scheduler="threads")[0]
            if level == 0:
                out = mosaic
            else:
                # ndstorage's own cropping of pyramid levels slices the wrong axes for RGB;
                # crop its stitched level to the full-resolution field of view here.
                e_min = int(np.trunc(11 * 31 / 2**level))
                e_max = int(np.trunc(14 * 31 / 2**level))
                off = e_min - min(lv.axes["row"]) * lv.image_height
                out = mosaic[off : off + e_max - e_min, off : off + e_max - e_min]
            for res in ds.res_levels.values():
                res.close()
            return out[None, None, None]

        size = 93 if level == 0 else int(np.trunc(14 * 31 / 2**level)) - int(np.trunc(11 * 31 / 2**level))
        step = 2.0**level
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 1, size, size, 3),
                dtype="uint8",
                dims="TCZYXS",
                resolution_levels=tuple(range(6)),
                physical_pixel_sizes=(25.0, step, step),
                reference=ref,
            ),
            options={"stitch": True},
            level=level,
        )

    return make


CASES = {
    "tcz-strings": _tcz_strings,
    "uint8-negz-missing": _uint8_negative_z_missing,
    "positions": _positions,
    "custom-axes": _custom_axes,
    "real-v2": _real_v2,
    "real-v3.0-index": _real_v3,
    "real-12bit-tif": _real_12bit,
    "real-rgb-tile": _real_rgb_tile,
    "real-rgb-stitched": _stitched_level(0),
    "real-rgb-stitched-level2": _stitched_level(2),
}


class TestNDTiffConformance(ReaderConformance):
    reader_name = "ndtiff"

    @pytest.fixture(params=list(CASES))
    def case(self, request: pytest.FixtureRequest, sample_cache: Any) -> SampleCase:
        return sample_cache(request.param, CASES[request.param])

    @pytest.fixture
    def extra_foreign_paths(self, tmp_path: Path) -> list[Path]:
        import tifffile

        plain = tmp_path / "plain.tif"
        tifffile.imwrite(plain, np.zeros((4, 5), np.uint16))
        # A plain TIFF next to an (empty) NDTiff.index is still not an NDTiff dataset.
        beside = tmp_path / "beside"
        beside.mkdir()
        tifffile.imwrite(beside / "x.tif", np.zeros((4, 5), np.uint8))
        (beside / "NDTiff.index").write_bytes(b"")
        npy = tmp_path / "a.npy"
        np.save(npy, np.zeros(3))
        bad_index = tmp_path / "NDTiff.index"
        bad_index.write_bytes(b"\x00" * 64)
        ometiff = SHARED.parent / "ometiff" / "s_1_t_1_c_1_z_1.ome.tiff"
        scitiff = sorted((SHARED.parent / "scitiff").glob("*.tiff"))[:1]
        extra = [p for p in (ometiff, *scitiff) if p.exists()]
        return [plain, beside / "x.tif", beside, npy, bad_index, *extra]
