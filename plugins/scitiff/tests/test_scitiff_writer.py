"""The scitiff writer: what it writes, scitiff.load_scitiff reads back identically."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from scitiff_readers import (
    DimensionSelectionError,
    OutputExistsError,
    Reader,
    UnsupportedWriteError,
    list_writers,
    write,
)

sc = pytest.importorskip("scipp")
scitiff = pytest.importorskip("scitiff")

from scitiff_readers_scitiff import writer as writer_module  # noqa: E402
from scitiff_readers_scitiff.samples import write_stdevs_mask_sample, write_tof_sample  # noqa: E402
from scitiff_readers_scitiff.writer import SciTiffInt16Warning, SciTiffWriter, save_scitiff  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "scitiff"


def _load(path: Path, **kw: Any) -> Any:
    return scitiff.load_scitiff(path, only_image=True, squeeze=False, resolve_channels=False, **kw)


def _data(dims: str, dtype: str = "float32") -> xr.DataArray:
    sizes = {"t": 3, "z": 2, "c": 2, "y": 4, "x": 5}
    shape = tuple(sizes[d.lower()] for d in dims)
    values = np.random.default_rng(1).random(shape).astype(dtype)
    coords: dict[str, Any] = {}
    for d in dims:
        low = d.lower()
        if low == "t":
            coords[d] = (d, [10.0, 12.5, 20.0], {"units": "µs"})  # non-uniform
        elif low == "z":
            coords[d] = (d, np.array([3, 6]), {"units": "mm"})
        elif low == "c":
            coords[d] = (d, ["R", "G"])
        elif low == "x":
            coords[d] = (d, np.arange(5) * 0.25, {"units": "mm"})
    return xr.DataArray(values, dims=tuple(dims), coords=coords, attrs={"units": "counts"}, name="img")


@pytest.mark.parametrize("dims", ["yx", "YX", "tyx", "zyx", "cyx", "tzcyx", "TCZYX", "xyt", "ZcYxT"])
def test_any_subset_of_dims_any_case(dims: str, tmp_path: Path) -> None:
    data = _data(dims)
    path = save_scitiff(data, tmp_path / "out.tiff")
    ref = _load(path)
    assert ref.dims == ("t", "z", "c", "y", "x")
    expected = data.rename({d: d.lower() for d in data.dims})
    for d in "tzcyx":
        if d not in expected.dims:
            expected = expected.expand_dims(d)
    expected = expected.transpose("t", "z", "c", "y", "x")
    np.testing.assert_array_equal(ref.values, expected.values)
    assert ref.unit == sc.Unit("counts")
    assert ref.name == "img"
    for d in data.dims:
        low = d.lower()
        if d not in data.coords:
            assert low not in ref.coords
            continue
        got = ref.coords[low]
        np.testing.assert_array_equal(got.values, np.asarray(data.coords[d].values))
        units = data.coords[d].attrs.get("units")
        assert got.unit == (None if units is None else sc.Unit(units))
    assert ref.coords["t"].dtype == sc.DType.float64 if "t" in ref.coords else True
    assert ref.coords["z"].dtype == sc.DType.int64 if "z" in ref.coords else True
    # and our reader gives back the same view
    with Reader(path) as r:
        assert r.reader_name == "scitiff"
        view = r.xarray_dask_data
        np.testing.assert_array_equal(view.values, expected.values.transpose(0, 2, 1, 3, 4))
        assert view.name == "img"
        assert view.attrs == {"units": "counts"}


def test_coordinates_masks_datetimes_strings_2d(tmp_path: Path) -> None:
    data = _data("tyx")
    data = data.assign_coords(
        start=np.datetime64("2025-01-02T03:04:05", "s"),
        stamps=(
            "t",
            np.array(
                ["2025-01-02T03:04:05.001", "2025-01-02T03:04:06", "2025-01-02T03:04:07.5"],
                dtype="datetime64[ms]",
            ),
        ),
        label="run 7",
        ids=(("y", "x"), np.arange(20).reshape(4, 5)),
        gain=(("x", "y"), np.linspace(0, 1, 20).reshape(5, 4), {"units": "dimensionless"}),
        bad_t=("t", np.array([False, True, False])),
        roi=(("y", "x"), np.eye(4, 5, dtype=bool)),
        temperature=xr.Variable((), 293.5, {"units": "K"}),
    )
    path = save_scitiff(data, tmp_path / "rich.tiff")
    ref = _load(path)
    assert ref.coords["start"].value == np.datetime64("2025-01-02T03:04:05")
    assert ref.coords["start"].unit == "s"
    np.testing.assert_array_equal(ref.coords["stamps"].values, data.coords["stamps"].values)
    assert ref.coords["stamps"].unit == "ms"
    assert ref.coords["label"].value == "run 7"
    np.testing.assert_array_equal(ref.coords["ids"].values, np.arange(20).reshape(4, 5))
    assert ref.coords["ids"].dtype == sc.DType.int64
    assert ref.coords["ids"].dims == ("y", "x")
    # 2-D coordinates keep their own dim order, as scitiff.save_scitiff writes them.
    assert ref.coords["gain"].dims == ("x", "y")
    np.testing.assert_allclose(ref.coords["gain"].values, data.coords["gain"].values)
    assert ref.coords["temperature"].value == 293.5
    assert ref.coords["temperature"].unit == "K"
    np.testing.assert_array_equal(ref.masks["bad_t"].values, [False, True, False])
    np.testing.assert_array_equal(ref.masks["roi"].values, np.eye(4, 5, dtype=bool))
    assert "bad_t" not in ref.coords
    assert "roi" not in ref.coords


def test_bin_edges_round_trip_through_our_view(tmp_path: Path) -> None:
    original = write_tof_sample(tmp_path / "tof.tiff")
    copy = tmp_path / "copy.tiff"
    with Reader(original) as r:
        r.save(copy)
    a, b = _load(original), _load(copy)
    assert b.coords.is_edges("t")
    assert sc.identical(a.data, b.data)
    assert set(a.coords) == set(b.coords)
    assert set(a.masks) == set(b.masks)
    for name in a.coords:
        assert sc.identical(a.coords[name], b.coords[name].transpose(list(a.coords[name].dims))), name
    for name in a.masks:
        assert sc.identical(a.masks[name], b.masks[name].transpose(list(a.masks[name].dims))), name


def test_reader_save_keeps_stdevs_mask_and_metadata(tmp_path: Path) -> None:
    original = write_stdevs_mask_sample(tmp_path / "sm.tiff")
    copy = tmp_path / "copy.tiff"
    with Reader(original) as r:
        assert r.channel_roles is not None
        r.save(copy)
    assert sc.identical(
        scitiff.load_scitiff(copy, only_image=True), scitiff.load_scitiff(original, only_image=True)
    )
    if (SHARED / "scitiff-26.1.0.tiff").is_file():
        local = tmp_path / "v26.tiff"
        shutil.copyfile(SHARED / "scitiff-26.1.0.tiff", local)
        with Reader(local) as r:
            r.save(tmp_path / "v26-copy.tiff")
        a, b = scitiff.load_scitiff(local), scitiff.load_scitiff(tmp_path / "v26-copy.tiff")
        assert sc.identical(a["image"], b["image"])
        assert a["daq"].facility == b["daq"].facility == "scitiff-dev"
        assert sc.identical(a["extra"]["scipp-scalar-datetime"], b["extra"]["scipp-scalar-datetime"])
        assert b["schema_version"] == writer_module.SCHEMA_VERSION_WRITTEN


def test_daq_process_extra_options(tmp_path: Path) -> None:
    path = save_scitiff(
        _data("yx"),
        tmp_path / "m.tiff",
        daq={"facility": ["ESS"], "instrument": ["ODIN"], "simulated": True},
        process=scitiff.ImageProcessMetadata(result_type="NORMALIZED"),
        extra={"note": "hello", "exposure": xr.Variable((), 2.5, {"units": "s"})},
    )
    group = scitiff.load_scitiff(path)
    assert group["daq"].facility == ["ESS"]
    assert group["daq"].simulated is True
    assert group["process"].result_type == "NORMALIZED"
    assert group["extra"]["note"] == "hello"
    assert sc.identical(group["extra"]["exposure"], sc.scalar(2.5, unit="s"))


def test_streams_dask_data_block_by_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(2).random((6, 8, 9)).astype(np.float32)
    computed: list[int] = []

    def frame(t: int) -> np.ndarray:
        computed.append(t)
        return values[t]

    frames = [da.from_delayed(dask.delayed(frame)(t), shape=(8, 9), dtype=np.float32) for t in range(6)]
    lazy = xr.DataArray(da.stack(frames), dims=("t", "y", "x"))
    in_flight: list[int] = []
    original = writer_module._pages

    def pages(data: Any, dtype: Any, *rest: Any) -> Any:
        for page in original(data, dtype, *rest):
            in_flight.append(len(computed))
            yield page

    monkeypatch.setattr(writer_module, "_pages", pages)
    monkeypatch.setattr(writer_module, "_BLOCK_BYTES", 2 * 8 * 9 * 4)  # two frames per block
    with dask.config.set(scheduler="threads"):  # in this process, even if a distributed client exists
        path = write(lazy, tmp_path / "stream.tiff", format="scitiff")
    # pages are written while later frames are not yet computed: at most one block ahead
    assert in_flight == [2, 2, 4, 4, 6, 6]
    assert sorted(computed) == list(range(6))
    np.testing.assert_array_equal(_load(path).values[:, 0, 0], values)


def test_refuses_overwrite_and_leaves_no_partial_file(tmp_path: Path) -> None:
    path = save_scitiff(_data("yx"), tmp_path / "x.tiff")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        save_scitiff(_data("tyx"), path)
    assert path.read_bytes() == before
    save_scitiff(_data("tyx"), path, overwrite=True)
    assert _load(path).sizes["t"] == 3
    with pytest.raises(TypeError, match=r"float32 or int16.*dtype='float32'"):
        save_scitiff(_data("yx", "float64"), tmp_path / "f64.tiff")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tiff"]
    path64 = save_scitiff(_data("yx", "float64"), tmp_path / "f64.tiff", dtype="float32")
    np.testing.assert_allclose(_load(path64).values[0, 0, 0], _data("yx", "float64").values, rtol=1e-6)
    with pytest.raises(ValueError, match="sample"):
        save_scitiff(
            xr.DataArray(np.zeros((4, 5, 3), np.float32), dims=("y", "x", "s")), tmp_path / "rgb.tiff"
        )
    with pytest.raises(DimensionSelectionError):
        save_scitiff(xr.DataArray(np.zeros((2, 4, 5), np.float32), dims=("q", "y", "x")), tmp_path / "q.tiff")


def test_int16_is_written_and_read_back_by_us(tmp_path: Path) -> None:
    data = _data("tyx").astype(np.int16)
    data.attrs["units"] = "counts"
    with pytest.warns(SciTiffInt16Warning):
        path = save_scitiff(data, tmp_path / "i16.tiff")
    with Reader(path) as r:
        assert r.dtype == np.int16
        np.testing.assert_array_equal(r.data[:, 0, 0], data.values)
        assert r.coords["T"].values.tolist() == [10.0, 12.5, 20.0]


def test_writer_registration_and_priority() -> None:
    info = list_writers()["scitiff"]
    assert info.cls is SciTiffWriter
    assert info.origin == "entry point"
    assert SciTiffWriter.priority < 0  # .tif/.tiff default to the other TIFF writers; use format="scitiff"


def test_selected_bins_keep_edges_or_fall_back_to_centres(tmp_path: Path) -> None:
    from scitiff_readers import ScitiffReadersWarning

    original = write_tof_sample(tmp_path / "tof.tiff")
    edges = _load(original).coords["t"].values
    with Reader(original) as r:
        view = r.xarray_dask_data
        save_scitiff(view.isel(T=slice(1, 4)), tmp_path / "adjacent.tiff")
        np.testing.assert_array_equal(_load(tmp_path / "adjacent.tiff").coords["t"].values, edges[1:5])
        with pytest.warns(ScitiffReadersWarning, match="not adjacent"):
            save_scitiff(view.isel(T=[0, 2]), tmp_path / "gaps.tiff")
        t = _load(tmp_path / "gaps.tiff").coords["t"]
        np.testing.assert_allclose(t.values, view["T"].values[[0, 2]])
        assert t.unit == "µs"


def test_datetime_bin_edges_keep_their_resolution(tmp_path: Path) -> None:
    stamps = np.array(["2025-01-01T00:00:00", "2025-01-01T00:00:10", "2025-01-01T00:00:30"], "datetime64[s]")
    image = sc.DataArray(
        sc.ones(dims=["t", "y", "x"], shape=[2, 2, 3], dtype="float32"),
        coords={"t": sc.datetimes(dims=["t"], values=stamps, unit="s")},
    )
    path = tmp_path / "dt-edges.tiff"
    scitiff.save_scitiff(image, path)
    with Reader(path) as r:
        t = r.coords["T"]
        assert t.dtype == np.dtype("datetime64[s]")
        np.testing.assert_array_equal(
            t.values, np.array(["2025-01-01T00:00:05", "2025-01-01T00:00:20"], "datetime64[s]")
        )
        np.testing.assert_array_equal(r.bin_edges("T").values.astype("datetime64[s]"), stamps)
        r.save(tmp_path / "copy.tiff")
    assert sc.identical(_load(tmp_path / "copy.tiff").coords["t"], _load(path).coords["t"])


def test_units_scipp_cannot_parse_are_flagged(tmp_path: Path) -> None:
    from scitiff_readers import ScitiffReadersWarning

    data = _data("yx")
    data = data.assign_coords(x=data["x"].assign_attrs(units="pixel"))
    with pytest.warns(ScitiffReadersWarning, match="'pixel' of coordinate 'x' is not a scipp unit"):
        path = save_scitiff(data, tmp_path / "px.tiff")
    with Reader(path) as r:
        assert r.coords["X"].attrs == {"units": "pixel"}
    good = _data("yx")
    good = good.assign_coords(x=good["x"].assign_attrs(units="um"))
    save_scitiff(good, tmp_path / "um.tiff")  # no warning: scipp knows "um"
    assert _load(tmp_path / "um.tiff").coords["x"].unit == sc.Unit("µm")


@pytest.mark.parametrize("lazy", [False, True])
def test_stdevs_and_full_size_mask_as_scitiff_writes_them(tmp_path: Path, lazy: bool) -> None:
    rng = np.random.default_rng(5)
    values = rng.random((3, 4, 5)).astype(np.float32)
    variances = rng.random((3, 4, 5)).astype(np.float32)
    hot = values > 0.7
    t = sc.array(dims=["t"], values=[1.0, 2.0, 3.0], unit="s")
    ref_da = sc.DataArray(
        sc.array(dims=["t", "y", "x"], values=values, variances=variances, unit="counts"),
        coords={"t": t},
        masks={"hot": sc.array(dims=["t", "y", "x"], values=hot)},
    )
    scitiff.save_scitiff(ref_da, tmp_path / "ref.tiff")
    stdevs = np.sqrt(variances)
    data = xr.DataArray(
        da.from_array(values, chunks=(1, 4, 5)) if lazy else values,
        dims=("t", "y", "x"),
        coords={"t": ("t", [1.0, 2.0, 3.0], {"units": "s"}), "hot": (("t", "y", "x"), hot)},
        attrs={"units": "counts"},
    )
    save_scitiff(
        data,
        tmp_path / "ours.tiff",
        stdevs=xr.DataArray(
            da.from_array(stdevs, chunks=(1, 4, 5)) if lazy else stdevs, dims=("t", "y", "x")
        ),
    )
    ref = scitiff.load_scitiff(tmp_path / "ref.tiff", only_image=True)
    ours = scitiff.load_scitiff(tmp_path / "ours.tiff", only_image=True)
    assert sc.identical(ours, ref)
    with Reader(tmp_path / "ours.tiff") as r:
        assert r.channel_roles == {"intensities": 0, "stdevs": 1, "mask": 2}
        np.testing.assert_array_equal(r.mask.values[:, 0, 0], hot)


def test_full_size_mask_rules(tmp_path: Path) -> None:
    data = _data("tzcyx")
    with pytest.raises(ValueError, match="single-channel"):
        save_scitiff(data, tmp_path / "a.tiff", stdevs=np.ones(data.shape, np.float32))
    one = _data("tyx").assign_coords(
        m1=(("t", "y", "x"), np.zeros((3, 4, 5), bool)), m2=(("t", "y", "x"), np.ones((3, 4, 5), bool))
    )
    with pytest.raises(ValueError, match="one full-size mask"):
        save_scitiff(one, tmp_path / "b.tiff")
    with pytest.raises(ValueError, match="do not match"):
        save_scitiff(_data("tyx"), tmp_path / "c.tiff", stdevs=np.ones((2, 2), np.float32))
    assert not list(tmp_path.iterdir())


def test_errors_name_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "named.tiff"
    with pytest.raises(TypeError) as info:
        save_scitiff(_data("yx", "float64"), target)
    assert str(info.value).startswith(f"{target}:")


def test_scenes_levels_progress_where_the_format_allows(tmp_path: Path) -> None:
    """One image per file: several scenes need split_scenes (or scenes=), pyramids are refused; progress counts."""
    first = _data("tzcyx")
    second = (first * 2).rename("second")
    scenes = {"first": first, "second": second}
    with pytest.raises(UnsupportedWriteError, match=r"holds 1 image per file and 2 scenes.*split_scenes"):
        write(scenes, tmp_path / "two.tiff", format="scitiff")
    with pytest.raises(UnsupportedWriteError, match=r"stores no resolution levels \(levels=1\)"):
        write(first, tmp_path / "levels.tiff", format="scitiff", levels=1)
    seen: list[tuple[int, int]] = []
    folder = write(
        scenes,
        tmp_path / "split",
        format="scitiff",
        split_scenes=True,
        progress=lambda done, total: seen.append((done, total)),
    )
    total = first.nbytes + second.nbytes
    assert seen[0] == (0, total)
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert sorted(p.name for p in folder.iterdir()) == ["first.tif", "second.tif"]
    for name, data in scenes.items():
        np.testing.assert_array_equal(
            _load(folder / f"{name}.tif").values, data.transpose("t", "z", "c", "y", "x").values
        )
    one = write(scenes, tmp_path / "one.tiff", format="scitiff", scenes="second")
    np.testing.assert_array_equal(_load(one).values, second.transpose("t", "z", "c", "y", "x").values)
    with pytest.raises(OutputExistsError):
        write(scenes, one, format="scitiff", scenes=0)
    write(scenes, one, format="scitiff", scenes=0, overwrite=True)
    np.testing.assert_array_equal(_load(one).values, first.transpose("t", "z", "c", "y", "x").values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.tiff", "split"]


def test_option_values_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    from scitiff_readers_scitiff.writer import SciTiffOptions

    from scitiff_readers.errors import OptionError

    assert SciTiffWriter.Options is SciTiffOptions
    target = tmp_path / "bad.tiff"
    for options, message in [
        ({"dtype": "uint8"}, "option dtype='uint8' is not valid; dtype takes None .*'float32' or 'int16'"),
        ({"dtype": "not a dtype"}, "dtype takes None"),
        ({"extra": ["a"]}, r"option extra=\['a'\] is not valid; extra takes None or a dict"),
    ]:
        with pytest.raises(OptionError, match=rf"bad\.tiff: writer 'scitiff': .*{message}"):
            save_scitiff(_data("yx"), target, **options)
    assert not list(tmp_path.iterdir())
    out = save_scitiff(_data("yx", "float64"), target, dtype=np.float32)  # a numpy dtype works too
    np.testing.assert_allclose(_load(out).values[0, 0, 0], _data("yx", "float64").values, rtol=1e-6)
