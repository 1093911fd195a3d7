"""Coordinates, units, masks, channels and scipp interop against scitiff.load_scitiff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scitiff_readers import Reader

sc = pytest.importorskip("scipp")
scitiff = pytest.importorskip("scitiff")

from scitiff_readers_scitiff.reader import SciTiffReader  # noqa: E402
from scitiff_readers_scitiff.samples import (  # noqa: E402
    tof_edges_us,
    write_stdevs_mask_sample,
    write_tof_sample,
)

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "scitiff"
SHARED_FILES = sorted(SHARED.glob("*.tiff")) if SHARED.is_dir() else []
needs_shared = pytest.mark.skipif(not SHARED_FILES, reason=f"real SciTiff samples not found in {SHARED}")


@pytest.fixture(scope="module")
def tof(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tof_sample(tmp_path_factory.mktemp("tof") / "tof.tiff")


@pytest.fixture(scope="module")
def stdevs_mask(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_stdevs_mask_sample(tmp_path_factory.mktemp("sm") / "stdevs-mask.tiff")


def _ref(path: Path, **kw: Any) -> Any:
    return scitiff.load_scitiff(path, only_image=True, **kw)


def test_tof_axis_bin_edges_become_centres_and_bounds(tof: Path) -> None:
    ref = _ref(tof, squeeze=False)
    edges = ref.coords["t"].values
    assert ref.coords.is_edges("t")
    np.testing.assert_array_equal(edges, tof_edges_us(6))
    with Reader(tof) as r:
        assert isinstance(r, SciTiffReader)
        da = r.xarray_dask_data
        t = da.coords["T"]
        np.testing.assert_allclose(t.values, (edges[:-1] + edges[1:]) / 2)
        assert t.attrs == {"units": "µs", "bounds": "T_bounds"}
        assert "T_bounds" not in da.coords  # a (T, 2) variable cannot be a DataArray coordinate
        for pair_name, expected in (("T_bounds_start", edges[:-1]), ("T_bounds_end", edges[1:])):
            column = da.coords[pair_name]
            assert column.dims == ("T",)
            assert column.dtype == np.float64
            assert column.attrs == {"units": "µs"}
            np.testing.assert_array_equal(column.values, expected)  # exact, not recomputed
        exact = r.bin_edges("T")
        assert exact.dims == ("T_edges",)
        np.testing.assert_array_equal(exact.values, edges)
        assert exact.attrs["units"] == "µs"
        with pytest.raises(KeyError, match="not a bin-edge"):
            r.bin_edges("X")
        # non-uniform: selection by physical value
        picked = da.sel(T=1500.0, method="nearest")
        assert float(picked["T"]) == t.values[np.argmin(abs(t.values - 1500))]


def test_coordinate_dtypes_units_and_kinds(tof: Path) -> None:
    ref = _ref(tof, squeeze=False)
    with Reader(tof) as r:
        da = r.xarray_dask_data
        assert da.attrs == {"units": "counts"}
        assert da.name is None  # save_scitiff writes name null
        for name in ("Y", "X"):
            coord = da.coords[name]
            np.testing.assert_array_equal(coord.values, ref.coords[name.lower()].values)
            assert coord.attrs == {"units": "mm"}
            assert coord.dtype == np.float64
        wl = da.coords["wavelength"]
        assert wl.dims == ("T",)
        assert wl.attrs == {"units": "Å"}
        np.testing.assert_array_equal(wl.values, ref.coords["wavelength"].values)
        start = da.coords["start_time"]
        assert start.dims == ()
        assert start.dtype == np.dtype("datetime64[s]")
        assert start.values == ref.coords["start_time"].value == np.datetime64("2025-03-04T05:06:07")
        assert start.attrs == {}  # the dtype carries the unit; xarray's encoders write "units" themselves
        frames = da.coords["frame_time"]
        assert frames.dims == ("T",)
        assert frames.dtype == np.dtype("datetime64[s]")
        assert frames.attrs == {}
        np.testing.assert_array_equal(frames.values, ref.coords["frame_time"].values)
        pid = da.coords["pixel-id"]
        assert pid.dims == ("X", "Y")
        assert pid.dtype == np.int64
        np.testing.assert_array_equal(pid.values, ref.coords["pixel-id"].values)
        assert pid.attrs == {"units": "dimensionless"}
        det = da.coords["detector"]
        assert det.dims == ()
        assert det.values == "timepix3"
        assert "units" not in det.attrs
        # masks: booleans named after the mask, no units
        bad = da.coords["bad_frames"]
        assert bad.dims == ("T",)
        assert bad.dtype == bool
        np.testing.assert_array_equal(bad.values, ref.masks["bad_frames"].values)
        stop = da.coords["beam_stop"]
        assert stop.dims == ("Y", "X")
        assert stop.dtype == bool
        np.testing.assert_array_equal(stop.values, ref.masks["beam_stop"].values)
        assert stop.attrs == {"scitiff_role": "mask"}
        # c is the scitiff channel coordinate: one channel "intensities"
        assert r.channel_names == ["intensities"]
        assert r.physical_pixel_sizes.Y == pytest.approx(0.5)
        assert r.physical_pixel_sizes.units.Y == "mm"


def test_pixels_transposed_from_tzcyx(stdevs_mask: Path) -> None:
    raw = _ref(stdevs_mask, squeeze=False, resolve_channels=False)
    assert raw.dims == ("t", "z", "c", "y", "x")
    assert raw.sizes["c"] == 3
    with Reader(stdevs_mask, resolve_channels=False) as r:
        assert r.dims.order == "TCZYX"
        assert r.shape == (3, 3, 2, 8, 9)
        np.testing.assert_array_equal(r.data, raw.values.transpose(0, 2, 1, 3, 4))
        assert r.channel_names == ["intensities", "stdevs", "mask"]
        assert r.channel_roles is None


def test_channel_convention_resolved_like_scitiff(stdevs_mask: Path) -> None:
    ref = _ref(stdevs_mask, squeeze=False)
    with Reader(stdevs_mask) as r:
        assert r.channel_roles == {"intensities": 0, "stdevs": 1, "mask": 2}
        assert r.shape == (3, 1, 2, 8, 9)
        assert r.channel_names == ["intensities"]
        # scitiff selects c by label: dims t, z, y, x
        assert ref.dims == ("t", "z", "y", "x")
        np.testing.assert_array_equal(r.data[:, 0], ref.values)
        # nothing is lost: stdevs, variances and the mask stay available, lazily
        stdevs = r.stdevs
        assert stdevs is not None
        assert stdevs.attrs["units"] == "counts"
        np.testing.assert_allclose(stdevs.values[:, 0] ** 2, ref.variances, rtol=1e-6)
        np.testing.assert_allclose(r.variances.values[:, 0], ref.variances, rtol=1e-6)
        assert r.variances.attrs["units"] == "counts**2"
        mask = r.mask
        assert mask.name == "scitiff-mask"
        assert mask.dtype == bool
        np.testing.assert_array_equal(mask.values[:, 0], ref.masks["scitiff-mask"].values)
        assert r.raw_channels.sizes["C"] == 3


def test_coordinates_are_built_when_first_asked_for(tof: Path, stdevs_mask: Path) -> None:
    from scitiff_readers.backend import LazyCoords

    for path in (tof, stdevs_mask):
        ref = _ref(path, squeeze=False)
        with Reader(path) as r:
            coords = r.image().coords
            assert isinstance(coords, LazyCoords)
            r.get_image_data("YX", T=0, C=0, Z=0)
            assert not coords.built  # opening and reading a plane did not build them
            t = r.coords["T"]
            assert coords.built
            assert r.channel_names == ["intensities"]  # the label both files give their first channel
            values = ref.coords["t"].values
            if ref.coords.is_edges("t"):
                values = (values[:-1] + values[1:]) / 2
            np.testing.assert_allclose(t.values, values)
            assert t.attrs["units"] == str(ref.coords["t"].unit).replace("μ", "µ")


def test_plain_channel_names_are_not_resolved() -> None:
    if not SHARED_FILES:
        pytest.skip(f"real SciTiff samples not found in {SHARED}")
    with Reader(SHARED / "scitiff-25.3.0.tiff") as r:
        assert r.channel_names == ["R", "G", "B"]
        assert r.channel_roles is None
        assert r.stdevs is None
        assert r.mask is None


@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_real_files_every_schema_version(path: Path) -> None:
    ref = _ref(path, squeeze=False, resolve_channels=False)
    with Reader(path, resolve_channels=False) as r:
        # The JSON as stored, as tifffile reads it (the open left its numbers undecoded).
        import json

        import tifffile

        with tifffile.TiffFile(path) as tif:
            assert r.scitiff_json == json.loads(tif.imagej_metadata["scitiffmeta"])
        version = path.stem.split("-")[1]
        expect_placeholder = tuple(int(v) for v in version.split(".")) <= (25, 12, 0)
        assert r.schema_version == ("{VERSION_PLACEHOLDER}" if expect_placeholder else version)
        assert (r.metadata.version is None) == expect_placeholder
        np.testing.assert_array_equal(r.data, ref.values.transpose(0, 2, 1, 3, 4))
        da = r.xarray_dask_data
        t = da.coords["T"]
        assert t.dtype == np.int64
        assert t.values.tolist() == [0, 1, 2, 3]
        assert t.attrs == {"units": "s"}
        assert da.coords["Z"].values.tolist() == [10, 20]
        assert da.coords["Z"].attrs == {"units": "mm"}
        np.testing.assert_array_equal(da.coords["C"].values, ref.coords["c"].values)
        assert "units" not in da.coords["C"].attrs
        assert da.attrs == {"units": "counts"}
        # daq / extra by version
        meta = r.metadata
        if tuple(int(v) for v in version.split(".")) >= (25, 7, 0):
            assert "daq" in r.scitiff_json
        if version == "26.1.0":
            assert meta.daq.facility == "scitiff-dev"
            assert meta.daq.simulated is True
            assert meta.extra["string-value"] == "string-value"
            assert meta.extra["scipp-scalar-datetime"]["dtype"] == "datetime64"


@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("resolve", [True, False])
def test_to_scipp_equals_load_scitiff_real_files(path: Path, resolve: bool) -> None:
    with Reader(path, resolve_channels=resolve) as r:
        assert sc.identical(r.to_scipp(), _ref(path, resolve_channels=resolve))
        assert sc.identical(r.to_scipp(squeeze=False), _ref(path, squeeze=False, resolve_channels=resolve))


@pytest.mark.parametrize("resolve", [True, False])
def test_to_scipp_equals_load_scitiff_written_files(tof: Path, stdevs_mask: Path, resolve: bool) -> None:
    for path in (tof, stdevs_mask):
        with Reader(path, resolve_channels=resolve) as r:
            assert sc.identical(r.to_scipp(), _ref(path, resolve_channels=resolve))


def test_to_scipp_datagroup_carries_daq_extra_process() -> None:
    if not SHARED_FILES:
        pytest.skip(f"real SciTiff samples not found in {SHARED}")
    path = SHARED / "scitiff-26.1.0.tiff"
    ref = scitiff.load_scitiff(path)
    with Reader(path) as r:
        group = r.to_scipp(only_image=False)
    assert sc.identical(group["image"], ref["image"])
    assert group["schema_version"] == ref["schema_version"] == "26.1.0"
    assert sc.identical(group["extra"]["scipp-scalar-datetime"], ref["extra"]["scipp-scalar-datetime"])
    assert sc.identical(group["extra"]["scipp-scalar-number"], ref["extra"]["scipp-scalar-number"])
    assert group["extra"]["float-value"] == 1.2
    assert group["daq"].model_dump()["facility"] == ref["daq"].model_dump()["facility"]


def test_numeric_channel_coordinate_is_kept_beside_labels(tmp_path: Path) -> None:
    da = sc.DataArray(
        sc.ones(dims=["c", "y", "x"], shape=[3, 2, 2], dtype="float32", unit="counts"),
        coords={"c": sc.array(dims=["c"], values=[450.0, 550.0, 650.0], unit="nm")},
    )
    path = tmp_path / "numeric-c.tiff"
    scitiff.save_scitiff(da, path)
    with Reader(path) as r:
        assert r.channel_names == ["450.0", "550.0", "650.0"]
        c = r.coords["c"]
        assert c.dims == ("C",)
        assert c.values.tolist() == [450.0, 550.0, 650.0]
        assert c.attrs == {"units": "nm"}
        assert sc.identical(r.to_scipp(), scitiff.load_scitiff(path, only_image=True))


def test_truncated_file_raises_corrupt_on_read(tof: Path, tmp_path: Path) -> None:
    from scitiff_readers import CorruptFileError

    cut = tmp_path / "cut.tiff"
    cut.write_bytes(tof.read_bytes()[:-1200])  # the last 480-byte page is cut short
    with Reader(cut, reader="scitiff") as r:
        assert r.shape == (6, 1, 1, 12, 10)  # metadata is intact
        with pytest.raises(CorruptFileError, match="truncated"):
            r.get_image_data("YX", T=5)
        np.testing.assert_array_equal(r.get_image_data("YX", T=0), _ref(tof, squeeze=False).values[0, 0, 0])


def test_cf_dataset_round_trips_through_netcdf(tof: Path, tmp_path: Path) -> None:
    import xarray as xr

    ref = _ref(tof, squeeze=False)
    with Reader(tof) as r:
        ds = r.to_cf_dataset()
        assert list(ds.data_vars) == ["image"]
        bounds = ds.coords["T_bounds"]
        assert bounds.dims == ("T", "bnds")
        assert bounds.attrs == {"units": "µs"}
        edges = ref.coords["t"].values
        np.testing.assert_array_equal(bounds.values[:, 0], edges[:-1])
        np.testing.assert_array_equal(bounds.values[:, 1], edges[1:])
        assert ds["T"].attrs["bounds"] == "T_bounds"
        target = tmp_path / "tof.nc"
        # netCDF3 (scipy): no int64 / string arrays; scipy cannot write through a distributed client
        ds.drop_vars(["pixel-id", "C"]).load().to_netcdf(target, engine="scipy")
        back = xr.open_dataset(target, engine="scipy")
        np.testing.assert_allclose(back["image"].values, r.data)
        assert back["start_time"].values == np.datetime64("2025-03-04T05:06:07")
        np.testing.assert_array_equal(back["T_bounds"].values, bounds.values)
        back.close()


def test_two_d_bin_edges_and_mask_name_collision(tmp_path: Path) -> None:
    edges = np.add.outer(np.array([0.0, 10.0, 25.0, 45.0]), np.arange(4) * 0.5)  # (t + 1, x)
    image = sc.DataArray(
        sc.ones(dims=["t", "y", "x"], shape=[3, 2, 4], dtype="float32", unit="counts"),
        coords={
            "tof": sc.array(dims=["t", "x"], values=edges, unit="us"),
            "x": sc.arange("x", 4.0, unit="mm"),
        },
        masks={
            "x": sc.array(dims=["x"], values=[False, True, False, False]),
            "tof": sc.array(dims=["t"], values=[True, False, False]),
        },
    )
    path = tmp_path / "edges2d.tiff"
    scitiff.save_scitiff(image, path)
    with Reader(path) as r:
        tof = r.coords["tof"]
        assert tof.dims == ("T", "X")
        assert tof.attrs == {"units": "µs", "bounds": "tof_bounds"}
        np.testing.assert_allclose(tof.values, (edges[:-1] + edges[1:]) / 2)
        assert r.coords["tof_bounds_end"].dims == ("T", "X")
        assert r.coords["tof_bounds_end"].values[2, 3] == edges[3, 3]
        np.testing.assert_array_equal(r.bin_edges("tof").values, edges)
        # masks are named after the mask; one that clashes with a coordinate gets "_mask"
        assert r.coords["x"].dtype == bool
        assert r.coords["x"].values.tolist() == [False, True, False, False]
        tof_mask = r.coords["tof_mask"]
        assert tof_mask.dims == ("T",)
        assert tof_mask.values.tolist() == [True, False, False]
        assert tof_mask.attrs == {"scitiff_role": "mask", "scitiff_name": "tof"}
        assert sc.identical(r.to_scipp(), scitiff.load_scitiff(path, only_image=True))
        r.save(tmp_path / "copy.tiff")
    a = scitiff.load_scitiff(path, only_image=True)
    b = scitiff.load_scitiff(tmp_path / "copy.tiff", only_image=True)
    assert sc.identical(a.coords["tof"], b.coords["tof"])
    assert b.coords.is_edges("tof", "t")
    assert sc.identical(a.masks["x"], b.masks["x"])
    assert sc.identical(a.masks["tof"], b.masks["tof"])


def test_decreasing_and_unordered_bin_edges(tmp_path: Path) -> None:
    for name, edges in (("decreasing", [40.0, 30.0, 15.0, 0.0]), ("unordered", [0.0, 30.0, 15.0, 40.0])):
        image = sc.DataArray(
            sc.ones(dims=["t", "y", "x"], shape=[3, 2, 2], dtype="float32"),
            coords={"t": sc.array(dims=["t"], values=edges, unit="ms")},
        )
        path = tmp_path / f"{name}.tiff"
        scitiff.save_scitiff(image, path)
        if name == "decreasing":
            with Reader(path) as r:
                np.testing.assert_allclose(r.coords["T"].values, [35.0, 22.5, 7.5])
                # data order: bin 0 starts at 40 and ends at 30
                assert (r.coords["T_bounds_start"].values[0], r.coords["T_bounds_end"].values[0]) == (
                    40.0,
                    30.0,
                )
        else:
            with Reader(path) as r:
                np.testing.assert_allclose(r.coords["T"].values, [15.0, 22.5, 27.5])
                assert sc.identical(r.to_scipp(), _ref(path))
        with Reader(path) as r:
            np.testing.assert_array_equal(r.bin_edges("T").values, edges)
            r.save(tmp_path / f"{name}-copy.tiff")
        np.testing.assert_array_equal(_ref(tmp_path / f"{name}-copy.tiff").coords["t"].values, edges)


def test_bounds_survive_coarsen_and_netcdf(tof: Path, tmp_path: Path) -> None:
    import xarray as xr

    edges = _ref(tof, squeeze=False).coords["t"].values
    with Reader(tof) as r:
        view = r.xarray_dask_data
        merged = view.coarsen(T=2, coord_func={"T_bounds_start": "min", "T_bounds_end": "max"}).sum()
        np.testing.assert_array_equal(merged["T_bounds_start"].values, edges[:-1:2])
        np.testing.assert_array_equal(merged["T_bounds_end"].values, edges[2::2])
        np.testing.assert_allclose(
            merged.values,
            _ref(tof, squeeze=False).values.reshape(3, 2, 1, 1, 12, 10).sum(axis=1).transpose(0, 2, 1, 3, 4),
        )
        target = tmp_path / "view.nc"
        view.to_dataset(name="image").to_netcdf(target, engine="h5netcdf")
        with xr.open_dataset(target, engine="h5netcdf") as back:
            np.testing.assert_array_equal(back["T_bounds_start"].values, edges[:-1])
            assert back["T_bounds_end"].attrs["units"] == "µs"
            assert back["T"].attrs["bounds"] == "T_bounds"
            np.testing.assert_array_equal(back["frame_time"].values, view["frame_time"].values)


@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_to_scipp_datagroup_is_scitiffs_own_and_saves_with_scitiff(path: Path, tmp_path: Path) -> None:
    ref = scitiff.load_scitiff(path)
    with Reader(path) as r:
        group = r.to_scipp(only_image=False)
    assert sc.identical(group, ref)
    assert type(group["daq"]) is type(ref["daq"])
    assert type(group["process"]) is type(ref["process"])
    scitiff.io.save_scitiff(group, tmp_path / "ours.tiff")
    scitiff.io.save_scitiff(ref, tmp_path / "theirs.tiff")
    assert sc.identical(
        scitiff.load_scitiff(tmp_path / "ours.tiff"), scitiff.load_scitiff(tmp_path / "theirs.tiff")
    )


@pytest.mark.parametrize(
    "selection",
    [
        {"T": slice(1, 4)},
        {"T": 2},
        {"t": slice(-2, None)},
        {"Y": slice(2, 7), "X": 3},
        {"T": slice(0, 1)},
    ],
)
def test_to_scipp_selection_equals_slicing_load_scitiff(
    tof: Path, stdevs_mask: Path, selection: dict[str, Any]
) -> None:
    for path in (tof, stdevs_mask):
        full = _ref(path)
        expected = full
        for key, value in selection.items():
            dim = key.lower()
            if dim in expected.dims:
                expected = expected[dim, value]
        with Reader(path) as r:
            got = r.to_scipp(**selection)
        assert sc.identical(got, expected), (path.name, selection)


def test_to_scipp_selection_errors_are_typed(tof: Path) -> None:
    from scitiff_readers import DimensionSelectionError

    with Reader(tof) as r:
        with pytest.raises(DimensionSelectionError, match="T=9 is out of range"):
            r.to_scipp(T=9)
        with pytest.raises(DimensionSelectionError, match="step-1"):
            r.to_scipp(T=slice(0, 4, 2))
        with pytest.raises(DimensionSelectionError, match="not 'C'"):
            r.to_scipp(C=0)


def test_writing_back_keeps_a_2d_coordinates_dim_order(tmp_path: Path) -> None:
    data = sc.DataArray(
        sc.array(
            dims=["t", "y", "x"], values=np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4), unit="counts"
        ),
        coords={
            "pixel-id": sc.array(dims=["x", "y"], values=np.arange(12).reshape(4, 3)),
            "t": sc.array(dims=["t"], values=[0.0, 1.5], unit="s"),
        },
    )
    original = tmp_path / "pixel-id.tiff"
    scitiff.io.save_scitiff(data, original)
    with Reader(original) as r:
        assert r.coords["pixel-id"].dims == ("X", "Y")
        r.save(tmp_path / "copy.tiff")
    a, b = scitiff.load_scitiff(original), scitiff.load_scitiff(tmp_path / "copy.tiff")
    assert b["image"].coords["pixel-id"].dims == ("x", "y")
    assert sc.identical(a["image"], b["image"])
