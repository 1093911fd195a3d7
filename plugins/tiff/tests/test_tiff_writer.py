"""The OME-TIFF writer: round trips through our reader, tifffile and ome-types; streaming."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dask
import dask.array as da
import numpy as np
import ome_types
import pytest
import tifffile
import xarray as xr

import scitiff_readers
from scitiff_readers import Reader
from scitiff_readers.errors import OutputExistsError

if TYPE_CHECKING:
    from pathlib import Path


def _coords(shape: tuple[int, ...]) -> dict[str, xr.Variable]:
    t, c, z, y, x = shape[:5]
    return {
        "T": xr.Variable("T", np.arange(t) * 0.25, {"units": "s"}),
        "C": xr.Variable("C", [f"ch{i}" for i in range(c)]),
        "Z": xr.Variable("Z", 10.0 + np.arange(z) * 2.0, {"units": "µm"}),
        "Y": xr.Variable("Y", np.arange(y) * 0.5, {"units": "µm"}),
        "X": xr.Variable("X", np.arange(x) * 0.5, {"units": "µm"}),
    }


def _array(shape: tuple[int, ...], chunks: tuple[int, ...]) -> xr.DataArray:
    data = da.from_array(
        (np.arange(int(np.prod(shape))) % 65521).astype(np.uint16).reshape(shape), chunks=chunks
    )
    return xr.DataArray(data, dims=("T", "C", "Z", "Y", "X"), coords=_coords(shape), name="sample")


def test_write_round_trip_through_reader_tifffile_and_ome_types(tmp_path: Path) -> None:
    arr = _array((3, 2, 4, 24, 20), (1, 1, 2, 24, 20))
    out = scitiff_readers.write(arr, tmp_path / "out.ome.tiff")
    assert out == tmp_path / "out.ome.tiff"
    # tifffile reads the same pixels back, in the same order.
    np.testing.assert_array_equal(tifffile.imread(out), arr.values)
    # ome-types parses it and finds the calibration.
    ome = ome_types.from_tiff(out)
    px = ome.images[0].pixels
    assert (px.size_t, px.size_c, px.size_z, px.size_y, px.size_x) == (3, 2, 4, 24, 20)
    assert px.physical_size_x == pytest.approx(0.5)
    assert px.physical_size_z == pytest.approx(2.0)
    assert px.time_increment == pytest.approx(0.25)
    assert [ch.name for ch in px.channels] == ["ch0", "ch1"]
    # Our reader gives back pixels, coordinates with units and channel names.
    with Reader(out) as reader:
        assert reader.reader_name == "ome-tiff"
        back = reader.xarray_dask_data
        np.testing.assert_array_equal(back.values, arr.values)
        for dim in "TZYX":
            np.testing.assert_allclose(back.coords[dim].values, arr.coords[dim].values)
            assert back.coords[dim].attrs["units"] == arr.coords[dim].attrs["units"]
        assert reader.channel_names == ["ch0", "ch1"]
        assert reader.scenes == ("sample",)


def test_reader_save_round_trip_and_overwrite_rules(tmp_path: Path) -> None:
    src = tmp_path / "src.ome.tif"
    scitiff_readers.write(_array((2, 1, 3, 16, 12), (1, 1, 3, 16, 12)), src)
    with Reader(src) as reader:
        target = tmp_path / "copy.ome.tif"
        reader.save(target)
        with pytest.raises(OutputExistsError, match=r"copy\.ome\.tif"):
            reader.save(target)
        before = target.stat().st_mtime_ns
        reader.save(target, overwrite=True)
        assert target.stat().st_mtime_ns >= before
        with Reader(target) as again:
            np.testing.assert_array_equal(again.data, reader.data)
            np.testing.assert_allclose(again.coords["Z"].values, reader.coords["Z"].values)
    # Nothing temporary is left beside the target.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.ome.tif", "src.ome.tif"]


def test_non_uniform_time_becomes_delta_t(tmp_path: Path) -> None:
    arr = _array((3, 1, 1, 8, 8), (1, 1, 1, 8, 8))
    arr = arr.assign_coords(T=xr.Variable("T", [0.0, 1.0, 5.0], {"units": "ms"}))
    out = scitiff_readers.write(arr, tmp_path / "dt.ome.tif")
    planes = ome_types.from_tiff(out).images[0].pixels.planes
    assert [p.delta_t for p in planes] == [0.0, 1.0, 5.0]
    with Reader(out) as reader:
        np.testing.assert_allclose(reader.coords["T"].values, [0.0, 1.0, 5.0])
        assert reader.coords["T"].attrs["units"] == "ms"


def test_rgb_tiled_compressed_and_format_option(tmp_path: Path) -> None:
    rgb = (np.arange(2 * 40 * 50 * 3) % 251).astype(np.uint8).reshape(2, 40, 50, 3)
    arr = xr.DataArray(rgb, dims=("Z", "Y", "X", "S"))
    out = scitiff_readers.write(
        arr, tmp_path / "rgb.tif", format="ome-tiff", tile=(16, 32), compression="zlib"
    )
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        assert page.is_tiled
        assert page.compression == 8
        assert page.photometric == 2
        np.testing.assert_array_equal(tif.asarray(), rgb)
    with Reader(out) as reader:
        assert reader.dims.order == "TCZYXS"
        np.testing.assert_array_equal(reader.data[0, 0], rgb)
        assert reader.image().source.storage_chunks == (1, 1, 1, 16, 32, 3)
    with Reader(out, chunk_bytes=2000) as small:
        # Sub-plane chunks follow the tiles.
        assert small.dask_data.chunks[3] == (16, 16, 8)
        assert small.dask_data.chunks[4] == (32, 18)
        np.testing.assert_array_equal(small.dask_data.compute()[0, 0], rgb)


def test_writer_streams_one_block_row_at_a_time() -> None:
    from scitiff_readers_tiff.writer import _planes

    computed: list[tuple[int, ...]] = []

    def record(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        computed.append(tuple(block_info[0]["chunk-location"]))  # type: ignore[index]
        return block

    base = da.zeros((4, 2, 3, 8, 8), dtype=np.uint8, chunks=(1, 1, 3, 8, 8))
    lazy = base.map_blocks(record, dtype=np.uint8)
    # Threads in this process, so the recording is visible here (other tests leave a
    # distributed client registered as the default scheduler).
    with dask.config.set(scheduler="threads"):
        planes = _planes(lazy, lazy.shape)
        first = next(planes)
        assert first.shape == (8, 8)
        assert computed == [(0, 0, 0, 0, 0)], "the writer computed more than the first block-row"
        rest = list(planes)
    assert len(rest) == 4 * 2 * 3 - 1
    assert len(computed) == 8


def test_unknown_writer_option_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"compression"):
        scitiff_readers.write(_array((1, 1, 1, 4, 4), (1, 1, 1, 4, 4)), tmp_path / "x.ome.tif", colour="red")


def test_unsupported_dtype_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    from scitiff_readers.errors import MetadataError

    arr = xr.DataArray(np.zeros((4, 4), np.int64), dims=("Y", "X"))
    with pytest.raises(MetadataError, match=r"wide\.ome\.tif: .*int64"):
        scitiff_readers.write(arr, tmp_path / "wide.ome.tif")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ pyramids
def _reference_mean(data: np.ndarray, factor: int) -> np.ndarray:
    """Block means over Y and X (axes 3, 4) by padding with NaN: independent of the writer's code."""
    ny, nx = data.shape[3:5]
    py, px = -(-ny // factor) * factor, -(-nx // factor) * factor
    padded = np.full((*data.shape[:3], py, px, *data.shape[5:]), np.nan)
    padded[:, :, :, :ny, :nx] = data
    blocks = padded.reshape(*data.shape[:3], py // factor, factor, px // factor, factor, *data.shape[5:])
    mean = np.nanmean(blocks, axis=(4, 6))
    return (
        np.rint(mean).astype(data.dtype) if np.issubdtype(data.dtype, np.integer) else mean.astype(data.dtype)
    )


def test_pyramid_round_trip_levels_pixels_and_coordinates(tmp_path: Path) -> None:
    arr = _array((2, 2, 3, 70, 90), (1, 1, 3, 35, 45))  # odd halvings: 70 -> 35 -> 18, 90 -> 45 -> 23
    out = scitiff_readers.write(arr, tmp_path / "pyr.ome.tif", subresolutions=2)
    full = arr.values
    expected = [full, _reference_mean(full, 2), _reference_mean(full, 4)]
    with tifffile.TiffFile(out) as tif:
        series = tif.series[0]
        assert len(series.levels) == 3
        assert [lvl.shape[-2:] for lvl in series.levels] == [(70, 90), (35, 45), (18, 23)]
        assert all(p.is_tiled for p in (tif.pages.first, series.levels[1].keyframe))
        for k, level in enumerate(series.levels):
            np.testing.assert_array_equal(level.asarray(), expected[k].reshape(level.shape))
    ome = ome_types.from_tiff(out)
    assert len(ome.images) == 1  # levels are SubIFDs, not OME images
    assert (ome.images[0].pixels.size_x, ome.images[0].pixels.size_y) == (90, 70)
    with Reader(out) as reader:
        assert reader.resolution_levels == (0, 1, 2)
        for k in range(3):
            reader.set_resolution_level(k)
            np.testing.assert_array_equal(reader.data, expected[k])
            step = 0.5 * 2**k
            assert reader.physical_pixel_sizes.X == pytest.approx(step)
            assert reader.physical_pixel_sizes.Y == pytest.approx(step)
            np.testing.assert_allclose(reader.coords["X"].values, np.arange(expected[k].shape[4]) * step)
            np.testing.assert_allclose(reader.coords["Z"].values, 10.0 + np.arange(3) * 2.0)
            assert reader.coords["Y"].attrs["units"] == "µm"
            assert reader.channel_names == ["ch0", "ch1"]


def test_pyramid_nearest_rgb_with_factor_three(tmp_path: Path) -> None:
    rgb = (np.arange(40 * 50 * 3) % 251).astype(np.uint8).reshape(40, 50, 3)
    arr = xr.DataArray(rgb, dims=("Y", "X", "S"))
    out = scitiff_readers.write(
        arr,
        tmp_path / "rgb.ome.tif",
        subresolutions=2,
        downsample=3,
        downsample_method="nearest",
        compression="zlib",
    )
    with tifffile.TiffFile(out) as tif:
        levels = tif.series[0].levels
        assert tif.pages.first.photometric == 2
        np.testing.assert_array_equal(levels[1].asarray(), rgb[::3, ::3])
        np.testing.assert_array_equal(levels[2].asarray(), rgb[::9, ::9])
    with Reader(out) as reader:
        reader.set_resolution_level(2)
        np.testing.assert_array_equal(reader.data[0, 0, 0], rgb[::9, ::9])


def test_pyramid_mean_of_floats(tmp_path: Path) -> None:
    data = np.random.default_rng(1).random((1, 1, 2, 33, 47)).astype(np.float32)
    arr = xr.DataArray(da.from_array(data, chunks=(1, 1, 1, 17, 20)), dims=("T", "C", "Z", "Y", "X"))
    out = scitiff_readers.write(arr, tmp_path / "f.ome.tif", subresolutions=1, tile=(16, 32))
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].levels[1].keyframe.tilewidth == 32
        np.testing.assert_allclose(
            tif.series[0].levels[1].asarray(), _reference_mean(data, 2)[0, 0], rtol=1e-6
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"subresolutions": -1}, "subresolutions"),
        ({"subresolutions": 2, "downsample": 1}, "downsample"),
        ({"subresolutions": 1, "downsample_method": "cubic"}, "downsample_method"),
        ({"subresolutions": 6}, "below one pixel"),
    ],
)
def test_bad_pyramid_options_are_clear_errors_and_leave_nothing(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=rf"bad\.ome\.tif.*{message}"):
        scitiff_readers.write(
            _array((1, 1, 1, 40, 40), (1, 1, 1, 40, 40)), tmp_path / "bad.ome.tif", **options
        )
    assert list(tmp_path.iterdir()) == []


def test_pyramid_reads_the_input_once_for_all_levels(tmp_path: Path) -> None:
    import tifffile

    computed: list[tuple[int, ...]] = []

    def record(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        computed.append(tuple(block_info[0]["chunk-location"]))  # type: ignore[index]
        return block

    rng = np.random.default_rng(3)
    values = rng.integers(0, 60000, (4, 2, 3, 40, 36), dtype=np.uint16)
    lazy = da.from_array(values, chunks=(1, 1, 3, 16, 16)).map_blocks(record, dtype=np.uint16)
    arr = xr.DataArray(lazy, dims=list("TCZYX"))
    with dask.config.set(scheduler="threads"):
        scitiff_readers.write(arr, tmp_path / "p.ome.tif", subresolutions=3)
    assert sorted(computed) == sorted(set(computed)), "an input block was computed twice"
    assert len(computed) == 4 * 2 * 3 * 3, "every input block exactly once, for all four levels"
    with tifffile.TiffFile(tmp_path / "p.ome.tif") as tif:
        levels = [level.asarray() for level in tif.series[0].levels]
    for k in range(1, 4):
        np.testing.assert_array_equal(levels[k], _reference_mean(values, 2**k))
    assert [f.name for f in tmp_path.iterdir()] == ["p.ome.tif"], "temporary level files are removed"


def test_several_scenes_become_ome_images_with_their_own_pyramids(tmp_path: Path) -> None:
    import xarray as xr

    from scitiff_readers import Reader, write

    a = xr.DataArray(
        np.arange(2 * 40 * 30, dtype=np.uint16).reshape(2, 40, 30),
        dims=("C", "Y", "X"),
        coords={"C": ["dapi", "gfp"]},
    )
    b = xr.DataArray(np.arange(3 * 20 * 24, dtype=np.uint8).reshape(3, 20, 24), dims=("Z", "Y", "X"))
    seen: list[int] = []
    out = write(
        {"first": a, "second": b}, tmp_path / "two.ome.tif", levels=1, progress=lambda d, t: seen.append(d)
    )
    assert seen[-1] == a.nbytes + b.nbytes
    with tifffile.TiffFile(out) as tf:
        assert len(tf.series) == 2
        np.testing.assert_array_equal(tf.series[0].asarray().reshape(a.shape), a.values)
        np.testing.assert_array_equal(tf.series[1].asarray().reshape(b.shape), b.values)
        assert [len(s.levels) for s in tf.series] == [2, 2]
        assert [s.name for s in tf.series] == ["first", "second"]
        assert tf.series[1].levels[1].shape[-2:] == (10, 12)
    with Reader(out) as r:
        assert len(r.scenes) == 2
        assert r.channel_names == ["dapi", "gfp"]
        r.set_scene(1)
        np.testing.assert_array_equal(r.get_image_data("ZYX"), b.values)


def test_ctrl_c_while_converting_leaves_the_old_output_and_nothing_else(tmp_path: Path) -> None:
    """A real SIGINT to ``scitiff-readers convert`` writing OME-TIFF: exit 130, no traceback, no partial file."""
    import sys

    from scitiff_readers.testing.interrupt import interrupt_while_writing

    src = tmp_path / "big.ome.tif"
    tifffile.imwrite(
        src,
        np.random.default_rng(3).integers(0, 60000, (64, 512, 512), dtype=np.uint16),
        ome=True,
        metadata={"axes": "ZYX"},
    )
    old = tmp_path / "out.ome.tif"
    tifffile.imwrite(old, np.ones((4, 4), np.uint16), ome=True)
    before = old.read_bytes()
    code, err = interrupt_while_writing(
        [
            sys.executable,
            "-m",
            "scitiff_readers.cli",
            "convert",
            str(src),
            str(old),
            "--overwrite",
            "--levels",
            "1",
            "--compression",
            "zlib",
            "--no-progress",
        ],
        tmp_path,
    )
    assert code == 130, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.ome.tif", "out.ome.tif"]
    assert old.read_bytes() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"tile": (10, 10)},
            r"option tile=\(10, 10\) is not valid; tile takes None or \(tile_length, tile_width\)",
        ),
        ({"tile": 16}, "option tile=16 is not valid"),
        ({"bigtiff": "yes"}, "option bigtiff='yes' is not valid; bigtiff takes None, True or False"),
        ({"levels": 1, "subresolutions": 1}, "pass levels or subresolutions"),
        ({"levels": 1.5}, "levels takes an integer >= 0"),
    ],
)
def test_bad_option_values_are_option_errors_before_anything_is_written(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    from scitiff_readers.errors import OptionError

    target = tmp_path / "bad.ome.tif"
    with pytest.raises(OptionError, match=rf"bad\.ome\.tif: writer 'ome-tiff': .*{message}"):
        scitiff_readers.write(_array((1, 1, 1, 32, 32), (1, 1, 1, 32, 32)), target, **options)
    assert not list(tmp_path.iterdir())


def test_typed_options_reach_tifffile(tmp_path: Path) -> None:
    from scitiff_readers_tiff.writer import OmeTiffOptions, OmeTiffWriter

    assert OmeTiffWriter.Options is OmeTiffOptions
    assert dict(OmeTiffWriter.options) == {
        "levels": 0,
        "downsample": 2,
        "downsample_method": "mean",
        "compression": None,
        "tile": None,
        "bigtiff": None,
        "subresolutions": None,
    }
    arr = _array((1, 1, 2, 32, 48), (1, 1, 1, 32, 48))
    out = scitiff_readers.write(arr, tmp_path / "t.ome.tif", bigtiff=True, tile=[16, 32], compression="zlib")
    with tifffile.TiffFile(out) as tif:
        assert tif.is_bigtiff
        page = tif.pages.first
        assert (page.tilelength, page.tilewidth) == (16, 32)
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        np.testing.assert_array_equal(tif.asarray(), arr.values.reshape(2, 32, 48))
