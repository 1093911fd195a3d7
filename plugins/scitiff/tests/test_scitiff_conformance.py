"""The reader conformance suite on real SciTiff files and on files written by scitiff.save_scitiff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
import xarray as xr

from scitiff_readers.testing import Expected, ReaderConformance, SampleCase

sc = pytest.importorskip("scipp")
scitiff = pytest.importorskip("scitiff")

from scitiff_readers_scitiff.reader import SciTiffReader  # noqa: E402
from scitiff_readers_scitiff.samples import write_stdevs_mask_sample, write_tof_sample  # noqa: E402
from scitiff_readers_scitiff.writer import SciTiffInt16Warning, save_scitiff  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
SHARED_SCITIFF = sorted((SHARED / "scitiff").glob("*.tiff")) if (SHARED / "scitiff").is_dir() else []


def _load_raw(path: Path) -> Any:
    return scitiff.load_scitiff(path, squeeze=False, resolve_channels=False, only_image=True)


def reference_expected(path: Path, resolve: bool = True) -> Expected:
    """Everything the view must show, computed from scitiff.load_scitiff's result."""
    da = _load_raw(path)
    pixels = np.asarray(da.values).transpose(0, 2, 1, 3, 4)
    labels = list(da.coords["c"].values) if "c" in da.coords and da.coords["c"].dims == ("c",) else None
    keep = None
    if (
        resolve
        and labels
        and len(labels) > 1
        and set(labels) <= {"intensities", "stdevs", "mask"}
        and "intensities" in labels
    ):
        keep = labels.index("intensities")
        pixels = pixels[:, keep : keep + 1]
    coords: dict[str, tuple[Any, str | None]] = {}
    for name, coord in da.coords.items():
        unit = None if coord.unit is None else str(coord.unit)
        values = np.asarray(coord.values)
        if values.dtype.kind == "M":
            unit = None  # the view's datetime64 dtype carries scipp's unit, not a "units" attribute
        if coord.ndim == 1 and name == coord.dims[0]:
            target = name.upper()
            if da.coords.is_edges(name):
                values = values[:-1] + (values[1:] - values[:-1]) / 2
            if name == "c" and keep is not None:
                values = values[keep : keep + 1]
            coords[target] = (values, unit)
        else:
            coords[name] = (values, unit)
    for name, mask in da.masks.items():
        coords[name] = (np.asarray(mask.values), None)
    channel_names = (
        [str(v) for v in coords["C"][0]] if "C" in coords else [f"C{i}" for i in range(pixels.shape[1])]
    )
    return Expected(
        shape=pixels.shape,
        dtype=pixels.dtype,
        scenes=("Image:0",),
        resolution_levels=(0,),
        channel_names=channel_names,
        coords=coords,
        reference=pixels,
    )


def _broken_json_file(folder: Path) -> Path:
    path = folder / "broken-json.tiff"
    data = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 1, 4, 5)
    tifffile.imwrite(
        path, data, imagej=True, metadata={"axes": "TZCYX", "scitiffmeta": '{"image": {"data": '}
    )
    return path


# The fallback sample warns on every open, by design.
pytestmark = pytest.mark.filterwarnings("ignore::scitiff_readers_scitiff.reader.SciTiffFallbackWarning")

CASES = [
    "tof",
    "tof-no-edges",
    "stdevs-mask",
    "stdevs-mask-raw",
    "fallback",
    "int16",
    *[f"shared:{p.name}" for p in SHARED_SCITIFF],
]


def _make_case(name: str, tmp_path: Path) -> SampleCase:
    if name.startswith("shared:"):
        path = SHARED / "scitiff" / name.split(":", 1)[1]
        return SampleCase(path, reference_expected(path), id=name)
    if name == "tof":
        path = write_tof_sample(tmp_path / "tof.tiff")
        return SampleCase(path, reference_expected(path), id=name)
    if name == "tof-no-edges":
        path = write_tof_sample(tmp_path / "tof-centres.tiff", bin_edges=False)
        return SampleCase(path, reference_expected(path), id=name)
    if name.startswith("stdevs-mask"):
        path = write_stdevs_mask_sample(tmp_path / "stdevs.tiff")
        raw = name.endswith("raw")
        return SampleCase(
            path,
            reference_expected(path, resolve=not raw),
            options={"resolve_channels": False} if raw else {},
            id=name,
        )
    if name == "int16":
        # scipp has no int16, so scitiff.save_scitiff cannot write one: our writer does,
        # and tifffile is the pixel reference.
        data = xr.DataArray(
            (np.arange(3 * 2 * 6 * 7) % 300 - 150).astype(np.int16).reshape(3, 2, 6, 7),
            dims=("t", "z", "y", "x"),
            coords={"z": ("z", [0.5, 1.0], {"units": "mm"})},
            attrs={"units": "counts"},
        )
        with pytest.warns(SciTiffInt16Warning):
            path = save_scitiff(data, tmp_path / "int16.tiff")
        ref = tifffile.imread(path, squeeze=False).reshape(3, 2, 1, 6, 7).transpose(0, 2, 1, 3, 4)
        return SampleCase(
            path,
            Expected(
                shape=ref.shape,
                dtype="int16",
                reference=ref,
                channel_names=["C0"],
                coords={"Z": ([0.5, 1.0], "mm")},
            ),
            id=name,
        )
    path = _broken_json_file(tmp_path)
    ref = tifffile.imread(path, squeeze=False).reshape(2, 3, 1, 4, 5).transpose(0, 2, 1, 3, 4)
    return SampleCase(
        path,
        Expected(shape=ref.shape, dtype=ref.dtype, reference=ref, coords={}),
        options={"metadata_errors": "fallback"},
        id=name,
    )


class TestSciTiffConformance(ReaderConformance):
    reader_name = "scitiff"

    @pytest.fixture(params=CASES)
    def case(self, request: pytest.FixtureRequest, sample_cache: Any) -> SampleCase:
        return sample_cache(request.param, lambda folder: _make_case(request.param, folder))

    @pytest.fixture
    def extra_foreign_paths(self, tmp_path: Path) -> list[Path]:
        # On top of the suite's common foreign files: TIFFs of every other kind.
        truncated = tmp_path / "truncated.tif"
        truncated.write_bytes(b"II*\x00\x08\x00\x00\x00\x05\x00")
        paths = [truncated, tmp_path / "missing.tif"]
        imagej = tmp_path / "imagej.tif"
        tifffile.imwrite(imagej, np.zeros((3, 4, 5), np.uint16), imagej=True, metadata={"axes": "ZYX"})
        plain = tmp_path / "plain.tif"
        tifffile.imwrite(plain, np.zeros((4, 5), np.uint8))
        ome = tmp_path / "x.ome.tif"
        tifffile.imwrite(ome, np.zeros((2, 4, 5), np.uint16), ome=True)
        # "scitiffmeta" mentioned, but not as an ImageJ key: not a SciTiff.
        mention = tmp_path / "mention.tif"
        tifffile.imwrite(mention, np.zeros((4, 5), np.uint8), description=json.dumps({"scitiffmeta": 1}))
        big = tmp_path / "big.tif"
        tifffile.imwrite(big, np.zeros((4, 5), np.uint8), bigtiff=True)
        paths += [imagej, plain, ome, mention, big]
        for folder in ("ometiff", "ndtiff"):
            if (SHARED / folder).is_dir():
                paths += sorted(p for p in (SHARED / folder).rglob("*.tif*") if p.is_file())[:4]
        return paths

    def test_relative_path_computes_on_distributed_workers(
        self, tmp_path: Path, dask_client: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write_tof_sample(tmp_path / "relative.tiff")
        monkeypatch.chdir(tmp_path)
        with SciTiffReader("relative.tiff") as reader:
            expected = reader.data
            np.testing.assert_array_equal(dask_client.compute(reader.dask_data).result(), expected)
        assert path.is_file()
