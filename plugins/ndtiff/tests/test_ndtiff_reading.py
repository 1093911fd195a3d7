"""NDTiff behaviour: axes mapping, coordinates, metadata, stitching, multi-file, index quirks."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scitiff_readers_ndtiff import NDTiffIndexWarning, NDTiffReader
from scitiff_readers_ndtiff.reference import close_reference, open_reference, reference_image
from scitiff_readers_ndtiff.samples import sample_image, write_images, write_sample

from scitiff_readers import Reader
from scitiff_readers.errors import DimensionSelectionError, UnsupportedFormatError

pytest.importorskip("ndstorage")

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "ndtiff"
REAL = [
    "v2/ndtiffv2.0_test",
    "v3/ndtiffv3.0_test",
    "v3/12_bit_pycromanager_mda",
    "v3/ndtiff3.2_magellan_explore_rgb",
]


# ------------------------------------------------------------------ index helpers
def read_index(path: Path) -> list[tuple[dict[str, Any], str, list[int]]]:
    """Entries of an NDTiff.index (test helper, independent of the reader's parser)."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (k,) = struct.unpack_from("<I", data, pos)
        axes = json.loads(data[pos + 4 : pos + 4 + k])
        pos += 4 + k
        (n,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4 : pos + 4 + n].decode()
        pos += 4 + n
        out.append((axes, name, list(struct.unpack_from("<8I", data, pos))))
        pos += 32
    return out


def write_index(path: Path, entries: list[tuple[dict[str, Any], str, list[int]]], tail: bytes = b"") -> None:
    buf = bytearray()
    for axes, name, values in entries:
        a = json.dumps(axes).encode()
        n = name.encode()
        buf += struct.pack("<I", len(a)) + a + struct.pack("<I", len(n)) + n + struct.pack("<8I", *values)
    path.write_bytes(bytes(buf) + tail)


def _shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"shared NDTiff sample {relative} is absent ({SHARED})")
    return path


def _index_keys(ds: Any) -> list[dict[str, Any]]:
    index = ds.index if hasattr(ds, "index") else ds.res_levels[0].index
    return [dict(key) for key in index]


def _plane_of(reader: NDTiffReader, axes: dict[str, Any]) -> dict[str, int]:
    """Our scene and T/C/Z indices of the NDTiff image ``axes``."""
    values = reader.axes
    scene_axes = [
        a
        for a in values
        if a not in ("time", "channel", "z")
        and not (reader.reader_options["stitch"] and a in ("row", "column"))
    ]
    for s in range(len(reader.scenes)):
        reader.set_scene(s)
        coords = reader.coords
        if all(coords[a].values.item() == axes.get(a) for a in scene_axes):
            break
    else:
        raise AssertionError(f"no scene for {axes}")
    return {
        d: values[a].index(axes[a]) if a in axes else 0
        for d, a in (("T", "time"), ("C", "channel"), ("Z", "z"))
    }


def assert_every_image_equals_ndstorage(path: Path) -> int:
    ds = open_reference(path)
    try:
        with NDTiffReader(path) as reader:
            count = 0
            for axes in _index_keys(ds):
                sel = _plane_of(reader, axes)
                order = "YXS" if "S" in reader.dims.order else "YX"
                ours = reader.get_image_data(order, **sel)
                ref = reference_image(ds, axes)
                assert ref is not None
                np.testing.assert_array_equal(ours, ref, err_msg=f"{path} {axes}")
                count += 1
        return count
    finally:
        close_reference(ds)


# ------------------------------------------------------------------------ pixels
@pytest.mark.parametrize("relative", REAL)
def test_every_real_image_equals_ndstorage_read_image(relative: str) -> None:
    assert assert_every_image_equals_ndstorage(_shared(relative)) > 0


def test_every_written_image_equals_ndstorage(tmp_path: Path) -> None:
    images = []
    for p in range(2):
        for t in range(2):
            for c in ("FITC", "DAPI"):
                for z in (-1, 0, 2):
                    images.append(
                        (
                            {"position": p, "time": t, "channel": c, "z": z, "view": "left"},
                            sample_image(t + p, len(c), z + 1, 12, 9),
                            {},
                        )
                    )
    path = write_images(tmp_path, "all", images)
    assert assert_every_image_equals_ndstorage(path) == len(images)


def test_uint8_and_uint16_dtypes(tmp_path: Path) -> None:
    p8 = write_sample(tmp_path, "u8", times=2, channels=(0,), zs=2, dtype=np.uint8)
    p16 = write_sample(tmp_path, "u16", times=2, channels=(0,), zs=2, dtype=np.uint16)
    with NDTiffReader(p8) as r8, NDTiffReader(p16) as r16:
        assert r8.dtype == np.uint8
        assert r16.dtype == np.uint16
        np.testing.assert_array_equal(
            r8.get_image_data("YX", T=1, Z=1), sample_image(1, 0, 1, 32, 32, np.uint8)
        )
        np.testing.assert_array_equal(r16.get_image_data("YX", T=1, Z=1), sample_image(1, 0, 1, 32, 32))
        assert r8.xarray_dask_data.attrs["bits_per_sample"] == 8
        assert r16.xarray_dask_data.attrs["bits_per_sample"] == 16


def test_mixed_bit_depths_read_as_uint16(tmp_path: Path) -> None:
    a8 = sample_image(0, 0, 0, 6, 7, np.uint8)
    a16 = sample_image(0, 1, 0, 6, 7)
    path = write_images(tmp_path, "mix", [({"channel": 0}, a8, {}), ({"channel": 1}, a16, {})])
    with NDTiffReader(path) as r:
        assert r.dtype == np.uint16
        np.testing.assert_array_equal(r.data[0, :, 0], np.stack([a8.astype(np.uint16), a16]))


def test_real_12_and_11_bit_pixel_types_read_as_uint16() -> None:
    with NDTiffReader(_shared("v3/12_bit_pycromanager_mda")) as r:
        assert r.dtype == np.uint16
        assert r.xarray_dask_data.attrs["bits_per_sample"] == 12
        assert r.ndtiff_version == "3.3"
        assert r.data.max() < 4096


def test_missing_images_are_zero_and_reads_never_fail(tmp_path: Path) -> None:
    images = [
        ({"time": t, "z": z}, sample_image(t, 0, z, 5, 6), {})
        for t in range(3)
        for z in range(3)
        if (t + z) % 2 == 0
    ]
    path = write_images(tmp_path, "holes", images)
    with NDTiffReader(path) as r:
        data = r.data
        lazy = r.dask_data.compute()
        for t in range(3):
            for z in range(3):
                expected = sample_image(t, 0, z, 5, 6) if (t + z) % 2 == 0 else np.zeros((5, 6), np.uint16)
                np.testing.assert_array_equal(data[t, 0, z], expected)
                np.testing.assert_array_equal(lazy[t, 0, z], expected)
        assert r.image_metadata(T=1, Z=0) is None


def test_chunks_group_several_images(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "chunks", times=2, channels=("a", "b"), zs=5, height=16, width=16)
    plane = 16 * 16 * 2
    with NDTiffReader(path, chunk_bytes=plane * 2) as r:
        assert r.dask_data.chunks[2] == (2, 2, 1)
        np.testing.assert_array_equal(r.dask_data.compute(), r.data)
    with NDTiffReader(path) as r:
        assert r.dask_data.numblocks == (1, 1, 1, 1, 1)
        source = r.image().source
        assert len(pickle.dumps(source)) < 4000


# ------------------------------------------------------------------------- axes
def test_string_channels_keep_acquisition_order(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "order", channels=("GFP", "DAPI", "Cy5"))
    with NDTiffReader(path) as r:
        assert r.channel_names == ["GFP", "DAPI", "Cy5"]
        assert list(r.xarray_dask_data.coords["C"].values) == ["GFP", "DAPI", "Cy5"]
        np.testing.assert_array_equal(r.get_image_data("YX", C=1), sample_image(0, 1, 0, 32, 32))


def test_integer_channels_named_from_summary_chnames(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "chn", channels=(0, 1), summary={"ChNames": ["Cy5", "Brightfield"]})
    with NDTiffReader(path) as r:
        assert r.channel_names == ["Cy5", "Brightfield"]


def test_integer_channels_named_from_image_metadata(tmp_path: Path) -> None:
    images = [
        ({"channel": c}, sample_image(0, c, 0, 4, 4), {"Channel": name}) for c, name in enumerate(("A", "B"))
    ]
    with NDTiffReader(write_images(tmp_path, "md", images)) as r:
        assert r.channel_names == ["A", "B"]


def test_negative_z_with_z_step(tmp_path: Path) -> None:
    images = [({"z": z}, sample_image(0, 0, z + 3, 4, 4), {}) for z in (1, -2, 0, -1)]
    path = write_images(tmp_path, "negz", images, {"z-step_um": 0.5, "PixelSize_um": 0.1})
    with NDTiffReader(path) as r:
        z = r.xarray_dask_data.coords["Z"]
        np.testing.assert_allclose(z.values, [-1.0, -0.5, 0.0, 0.5])
        assert z.attrs["units"] == "µm"
        assert list(r.xarray_dask_data.coords["z_index"].values) == [-2, -1, 0, 1]
        assert r.physical_pixel_sizes == (0.5, 0.1, 0.1)
        np.testing.assert_array_equal(r.get_image_data("YX", Z=0), sample_image(0, 0, 1, 4, 4))


def test_time_from_elapsed_time_and_z_from_positions(tmp_path: Path) -> None:
    images = [
        (
            {"time": t, "z": z},
            sample_image(t, 0, z, 4, 4),
            {"ElapsedTime-ms": 12.5 * t * t, "ZPosition_um_Intended": 100 + 3.0 * z},
        )
        for t in range(3)
        for z in range(2)
    ]
    with NDTiffReader(write_images(tmp_path, "md", images)) as r:
        coords = r.xarray_dask_data.coords
        np.testing.assert_allclose(coords["T"].values, [0.0, 12.5, 50.0])
        assert coords["T"].attrs["units"] == "ms"
        np.testing.assert_allclose(coords["Z"].values, [100.0, 103.0])
        assert r.physical_pixel_sizes.Z == 3.0


def test_coordinates_without_calibration_have_no_units(tmp_path: Path) -> None:
    images = [({"time": t}, sample_image(t, 0, 0, 4, 4), {}) for t in range(2)]
    with NDTiffReader(write_images(tmp_path, "raw", images)) as r:
        coords = r.xarray_dask_data.coords
        assert list(coords["T"].values) == [0, 1]
        assert "units" not in coords["T"].attrs
        assert "Y" not in coords
        assert r.physical_pixel_sizes == (None, None, None)


def test_pixel_size_from_image_metadata(tmp_path: Path) -> None:
    images = [({"time": 0}, sample_image(0, 0, 0, 4, 4), {"PixelSizeUm": 0.65})]
    with NDTiffReader(write_images(tmp_path, "ps", images)) as r:
        assert r.physical_pixel_sizes.Y == pytest.approx(0.65)
        np.testing.assert_allclose(r.coords["X"].values, np.arange(4) * 0.65)


def test_positions_named_from_summary_stage_positions(tmp_path: Path) -> None:
    images = [({"position": p}, sample_image(0, p, 0, 4, 4), {}) for p in (1, 0)]
    summary = {"StagePositions": [{"Label": "Pos-Left"}, {"Label": "Pos-Right"}]}
    with NDTiffReader(write_images(tmp_path, "pos", images, summary)) as r:
        assert r.scenes == ("Pos-Left", "Pos-Right")
        r.set_scene("Pos-Right")
        np.testing.assert_array_equal(r.get_image_data("YX"), sample_image(0, 1, 0, 4, 4))


def test_positions_without_labels(tmp_path: Path) -> None:
    images = [({"position": p, "time": 0}, sample_image(0, p, 0, 4, 4), {}) for p in range(2)]
    with NDTiffReader(write_images(tmp_path, "pos", images)) as r:
        assert r.scenes == ("position=0", "position=1")
        assert r.coords["position"].values.item() == 0


def test_custom_axis_named_like_a_dim_gets_a_distinct_coordinate(tmp_path: Path) -> None:
    images = [({"Z": z, "z": 0}, sample_image(0, 0, z, 4, 4), {}) for z in range(2)]
    with NDTiffReader(write_images(tmp_path, "explore", images)) as r:
        assert r.scenes == ("Z=0", "Z=1")
        r.set_scene(1)
        assert r.coords["Z_axis"].values.item() == 1
        np.testing.assert_array_equal(r.get_image_data("YX"), sample_image(0, 0, 1, 4, 4))


def test_image_metadata_by_position(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "md", times=2, channels=("a", "b"), zs=3)
    ds = open_reference(path)
    try:
        with NDTiffReader(path) as r:
            md = r.image_metadata(T=1, C=1, Z=2)
            assert md == ds.read_metadata(time=1, channel="b", z=2)
            assert md["ElapsedTime-ms"] == 101.0
            assert r.metadata["z-step_um"] == 2.0
            with pytest.raises(DimensionSelectionError, match="Z=3"):
                r.image_metadata(Z=3)
    finally:
        ds.close()


def test_opens_from_folder_index_or_any_tif() -> None:
    root = _shared("v2/ndtiffv2.0_test")
    full = root / "Full resolution"
    paths = [root, full, full / "NDTiff.index", full / "ndtiffv2.0_test_NDTiffStack.tif"]
    shapes = set()
    for p in paths:
        assert NDTiffReader.can_open(p)
        with Reader(p) as r:
            assert r.reader_name == "ndtiff"
            assert r.dataset_path == Path(os.path.abspath(root))
            shapes.add(r.shape)
    assert shapes == {(5, 2, 1, 32, 32)}


# -------------------------------------------------------------- tiles, pyramids
def _tiles(tmp_path: Path, overlap: int) -> tuple[Path, dict[tuple[int, int], np.ndarray]]:
    tiles = {
        (r, c): sample_image(r, c + 1, 0, 10, 12) for r in (0, 1) for c in (-1, 0, 1) if (r, c) != (1, 1)
    }
    images = [
        ({"row": r, "column": c, "channel": ch}, tiles[r, c] + i, {})
        for (r, c) in tiles
        for i, ch in enumerate(("A", "B"))
    ]
    summary = {"GridPixelOverlapX": overlap, "GridPixelOverlapY": overlap, "PixelSize_um": 2.0}
    return write_images(tmp_path, "tiles", images, summary), tiles


def _ndstorage_stitched(path: Path, channel: str) -> np.ndarray:
    """ndstorage's ``as_array(stitched=True)`` of one channel."""
    ds = open_reference(path)
    ds._full_resolution = True  # ndstorage only knows this for pyramid datasets
    try:
        return np.asarray(ds.as_array(stitched=True, channel=channel).compute(scheduler="threads"))
    finally:
        ds.close()


def test_tiles_are_scenes_by_default(tmp_path: Path) -> None:
    path, tiles = _tiles(tmp_path, 4)
    with NDTiffReader(path) as r:
        assert len(r.scenes) == 5
        assert r.scenes[0] == "row=0, column=-1"
        assert r.resolution_levels == (0,)
        r.set_scene("row=1, column=0")
        np.testing.assert_array_equal(r.get_image_data("YX", C=1), tiles[1, 0] + 1)


@pytest.mark.parametrize("overlap", [0, 4, 3])
def test_stitching_matches_ndstorage(tmp_path: Path, overlap: int) -> None:
    path, _ = _tiles(tmp_path, overlap)
    ref = _ndstorage_stitched(path, "B")
    with NDTiffReader(path, stitch=True) as r:
        assert len(r.scenes) == 1
        ours = r.get_image_data("YX", C=1)
        lazy = r.get_image_dask_data("YX", C=1).compute()
        # like ndstorage: floor(overlap / 2) cropped before each tile, ceil(overlap / 2) after
        np.testing.assert_array_equal(ours, ref)
        assert ours.shape == (2 * (10 - overlap), 3 * (12 - overlap))
        np.testing.assert_array_equal(lazy, ours)
        # the missing tile (row 1, column 1) is zeros
        assert not ours[10 - overlap :, 2 * (12 - overlap) :].any()
        np.testing.assert_allclose(r.coords["X"].values[:2], [0.0, 2.0])
        # a sub-region crossing tile borders
        part = r.get_image_data("YX", C=1, Y=slice(3, 15), X=slice(5, 25))
        np.testing.assert_array_equal(part, ours[3:15, 5:25])
        md = r.image_metadata(C=1, row=1, column=-1)
        assert md is not None


def test_real_pyramid_levels_and_coordinates() -> None:
    path = _shared("v3/ndtiff3.2_magellan_explore_rgb")
    with NDTiffReader(path, stitch=True) as r:
        assert r.resolution_levels == tuple(range(6))
        r.set_resolution_level(1)
        assert r.shape == (1, 1, 1, 47, 47, 3)
        assert r.physical_pixel_sizes == (25.0, 2.0, 2.0)
        # level-1 pixels are centred on the 2 x 2 full-resolution pixels they average:
        # the level starts at full-resolution pixel 340 = trunc(341 / 2) * 2, 1 before the mosaic.
        np.testing.assert_allclose(r.coords["Y"].values[:2], [-0.5, 1.5])


def test_real_rgb_tiles_match_ndstorage_as_array() -> None:
    path = _shared("v3/ndtiff3.2_magellan_explore_rgb")
    ds = open_reference(path)
    try:
        ref = ds.as_array(res_level=0).compute(scheduler="threads")  # (row, column, z, y, x, 3)
    finally:
        close_reference(ds)
    with NDTiffReader(path) as r:
        for s, name in enumerate(r.scenes):
            r.set_scene(s)
            row, col = r.coords["row"].values.item(), r.coords["column"].values.item()
            np.testing.assert_array_equal(r.data[0, 0], ref[row - 11, col - 11], err_msg=name)


# ----------------------------------------------------------- index quirks, files
def test_duplicate_entries_last_wins(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "dup", times=2)
    entries = read_index(path / "NDTiff.index")
    t1 = next(e for e in entries if e[0]["time"] == 1)
    # re-acquired ("overwritten") time 0 now points at time 1's pixels; keys in another order
    write_index(path / "NDTiff.index", [*entries, ({"z": 0, "channel": 0, "time": 0}, t1[1], t1[2])])
    ds = open_reference(path)
    try:
        ref = ds.read_image(time=0, channel=0, z=0)
    finally:
        ds.close()
    with NDTiffReader(path) as r:
        assert r.shape[0] == 2
        np.testing.assert_array_equal(r.get_image_data("YX", T=0), sample_image(1, 0, 0, 32, 32))
        np.testing.assert_array_equal(r.get_image_data("YX", T=0), ref)


def test_zero_padded_index_of_running_acquisition_warns_and_reads(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "running", times=3)
    index = path / "NDTiff.index"
    index.write_bytes(index.read_bytes() + b"\x00" * 100_000)
    with pytest.warns(NDTiffIndexWarning, match="3 complete image entries"):
        r = NDTiffReader(path)
    with r:
        assert r.shape[0] == 3
        np.testing.assert_array_equal(r.get_image_data("YX", T=2), sample_image(2, 0, 0, 32, 32))


def test_index_cut_mid_entry_reads_up_to_last_complete_entry(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "crashed", times=4)
    index = path / "NDTiff.index"
    data = index.read_bytes()
    index.write_bytes(data[: len(data) - 10])
    with pytest.warns(NDTiffIndexWarning, match="partial entry"):
        r = NDTiffReader(path)
    with r:
        assert r.shape[0] == 3
        np.testing.assert_array_equal(
            r.data[:, 0, 0], np.stack([sample_image(t, 0, 0, 32, 32) for t in range(3)])
        )


def test_multi_file_dataset(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "multi", times=4, zs=2)
    tif = next(path.glob("*.tif"))
    second = tif.with_name(tif.stem + "_1.tif")
    shutil.copyfile(tif, second)
    entries = read_index(path / "NDTiff.index")
    entries = [(a, second.name if a["time"] >= 2 else n, v) for a, n, v in entries]
    write_index(path / "NDTiff.index", entries)
    with NDTiffReader(path) as r:
        source = r.image().source
        assert {f.path.name for f in source.files} == {tif.name, second.name}
        np.testing.assert_array_equal(r.get_image_data("YX", T=3, Z=1), sample_image(3, 0, 1, 32, 32))
    assert assert_every_image_equals_ndstorage(path) == 8


def test_v1_dataset_is_refused_clearly(tmp_path: Path) -> None:
    full = tmp_path / "magellan" / "Full resolution"
    full.mkdir(parents=True)
    (full / "magellan_MagellanStack.tif").write_bytes(
        b"II*\x00" + struct.pack("<III", 8, 54773648, 0) + b"\x00" * 64
    )
    assert NDTiffReader.can_open(tmp_path / "magellan")
    with pytest.raises(UnsupportedFormatError, match="NDTiff v1"):
        Reader(tmp_path / "magellan")


def test_empty_index_is_not_a_dataset(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "empty")
    (path / "NDTiff.index").write_bytes(b"")
    assert not NDTiffReader.can_open(path)


def test_demo_sample_and_benchmark_case(tmp_path: Path) -> None:
    path = NDTiffReader.demo_sample(tmp_path)
    with Reader(path) as r:
        assert r.reader_name == "ndtiff"
        assert r.dims.order == "TCZYX"
        assert r.shape == (2, 2, 3, 48, 64)
        assert r.channel_names == ["DAPI", "GFP"]
    from scitiff_readers.backend import benchmark_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = {c.name: c for c in benchmark_cases()}
    case = names["ndtiff-tcz-uint16"]
    assert case.reader == "ndtiff"
    assert case.nbytes == 10 * 3 * 20 * 512 * 512 * 2
    assert [p.name for p in case.peers] == ["ndstorage"]


def test_pyramid_without_tiles_gives_levels(tmp_path: Path) -> None:
    root = tmp_path / "pyr"
    full = write_sample(tmp_path / "a", "p", times=2, height=16, width=16)
    half = write_sample(tmp_path / "b", "p", times=2, height=8, width=8)
    root.mkdir()
    full.rename(root / "Full resolution")
    half.rename(root / "Downsampled_x2")
    with NDTiffReader(root) as r:
        assert r.resolution_levels == (0, 1)
        r.set_resolution_level(1)
        assert r.shape == (2, 1, 1, 8, 8)
        np.testing.assert_array_equal(r.get_image_data("YX", T=1), sample_image(1, 0, 0, 8, 8))
        # pixel size 0.5 µm at full resolution; level 1 pixels are 1 µm, centred at 0.25 µm
        np.testing.assert_allclose(r.coords["X"].values[:2], [0.25, 1.25])


def test_big_endian_dataset(tmp_path: Path) -> None:
    """A dataset written on a big-endian machine: index, header and pixels in '>' order."""
    path = write_sample(tmp_path, "be", times=2, zs=2, height=6, width=5)
    with NDTiffReader(path) as r:
        expected = r.data
    entries = read_index(path / "NDTiff.index")
    tif = path / entries[0][1]
    data = bytearray(tif.read_bytes())
    head = struct.unpack_from("<6I", data, 4)
    data[0:4] = b"MM\x00*"
    struct.pack_into(">6I", data, 4, *head)
    for _, _, values in entries:
        off, w, h = values[:3]
        pixels = np.frombuffer(bytes(data[off : off + w * h * 2]), "<u2")
        data[off : off + w * h * 2] = pixels.astype(">u2").tobytes()
    tif.write_bytes(bytes(data))
    buf = bytearray()
    for axes, name, values in entries:
        a, n = json.dumps(axes).encode(), name.encode()
        buf += struct.pack(">I", len(a)) + a + struct.pack(">I", len(n)) + n + struct.pack(">8I", *values)
    (path / "NDTiff.index").write_bytes(bytes(buf))
    with NDTiffReader(path) as r:
        assert r.dtype == np.uint16
        np.testing.assert_array_equal(r.data, expected)
        np.testing.assert_array_equal(r.dask_data.compute(), expected)


def test_unusual_axis_values_and_partially_missing_axes_never_fail(tmp_path: Path) -> None:
    path = write_sample(tmp_path, "odd", times=3)
    entries = read_index(path / "NDTiff.index")
    odd = [
        ({"time": 0, "channel": 0, "z": 0, "angle": 1.5}, entries[0][1], entries[0][2]),
        ({"time": 1, "channel": 0, "z": 0, "angle": True}, entries[1][1], entries[1][2]),
        ({"time": 2, "z": 0}, entries[2][1], entries[2][2]),  # no channel, no angle
    ]
    write_index(path / "NDTiff.index", odd)
    with NDTiffReader(path) as r:
        assert r.scenes == ("angle=None", "angle=1.5", "angle=true")
        assert r.channel_names == ["(none)", "0"]  # per-image "Channel" of write_sample
        r.set_scene("angle=None")
        np.testing.assert_array_equal(r.get_image_data("YX", T=2, C=0), sample_image(2, 0, 0, 32, 32))
        assert not r.get_image_data("YX", T=2, C=1).any()
        r.set_scene("angle=true")
        np.testing.assert_array_equal(r.get_image_data("YX", T=1, C=1), sample_image(1, 0, 0, 32, 32))


@pytest.mark.parametrize("rows", [(-3, 2), (11, 13), (-7, -5)])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_stitched_level_layout_covers_the_full_resolution_field_of_view(
    rows: tuple[int, int], level: int
) -> None:
    from scitiff_readers_ndtiff.mosaic import stitched

    tile0, overlap, tile = (32, 40), (2, 4), (30, 36)
    grid = stitched(level, rows, rows, tile0, overlap, tile)
    f = 2**level
    for lo, hi, cell0, cell, first, count, offset, size, origin in (
        (
            *rows,
            tile0[0] - overlap[0],
            tile[0],
            grid.first_row,
            grid.rows,
            grid.mosaic.offset_y,
            grid.mosaic.height,
            grid.origin_y,
        ),
        (
            *rows,
            tile0[1] - overlap[1],
            tile[1],
            grid.first_column,
            grid.columns,
            grid.mosaic.offset_x,
            grid.mosaic.width,
            grid.origin_x,
        ),
    ):
        start, stop = int(np.trunc(lo * cell0 / f)), int(np.trunc((hi + 1) * cell0 / f))
        assert size == stop - start
        assert 0 <= offset < cell
        assert first * cell + offset == start  # output pixel 0 is level pixel `start`
        assert (first + count) * cell >= stop > (first + count - 1) * cell
        assert origin == start * f - lo * cell0
        assert abs(origin) < f


# ---------------------------------------------------------- aicsimageio mosaic API
@pytest.mark.parametrize("overlap", [0, 4, 3])
def test_mosaic_api_of_tiles_matches_ndstorage(tmp_path: Path, overlap: int) -> None:
    path, _ = _tiles(tmp_path, overlap)
    stitched = _ndstorage_stitched(path, "B")
    with NDTiffReader(path) as r:
        assert r.mosaic_tile_dims is not None
        assert r.mosaic_tile_dims["Y", "X"] == (10, 12)
        positions = r.get_mosaic_tile_positions(C=1)
        assert len(positions) == len(r.scenes) == 5
        crop_y, crop_x = overlap // 2, overlap // 2
        cell_y, cell_x = 10 - overlap, 12 - overlap
        for s, (top, left) in enumerate(positions):
            r.set_scene(s)
            tile = r.get_image_data("YX", C=1)
            # The cropped part of each tile is where the position says in ndstorage's mosaic.
            kept = stitched[top + crop_y : top + crop_y + cell_y, left + crop_x : left + crop_x + cell_x]
            np.testing.assert_array_equal(kept, tile[crop_y : crop_y + cell_y, crop_x : crop_x + cell_x])
            assert r.get_mosaic_tile_position(s) == (top, left)
        mosaic = r.mosaic_data
        assert mosaic.shape == (1, 2, 1, *stitched.shape)
        np.testing.assert_array_equal(mosaic[0, 1, 0], stitched)
        np.testing.assert_array_equal(r.mosaic_dask_data[0, 1, 0].compute(), stitched)
        assert r.mosaic_xarray_dask_data.dims == ("T", "C", "Z", "Y", "X")
        with pytest.raises(DimensionSelectionError, match="out of range"):
            r.get_mosaic_tile_position(5)
    with NDTiffReader(path, reconstruct_mosaic=True) as r:
        assert len(r.scenes) == 1
        assert r.mosaic_tile_dims is None
        np.testing.assert_array_equal(r.get_image_data("YX", C=1), stitched)
        with pytest.raises(DimensionSelectionError, match="not a tile of a mosaic"):
            r.get_mosaic_tile_positions()


def test_bioio_mosaic_check_passes(tmp_path: Path) -> None:
    test_utilities = pytest.importorskip("bioio_base.test_utilities")
    path, _ = _tiles(tmp_path, 4)
    with NDTiffReader(path) as tiles, NDTiffReader(path, stitch=True) as stitched:
        test_utilities.run_reader_mosaic_checks(tiles, stitched, tiles.scenes[2], stitched.scenes[0])
