"""The ome-zarr writer, checked with zarr, ome-zarr-py, bioio-ome-zarr, tifffile and our reader."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

import dask.array as da
import numpy as np
import pytest
import tifffile
import xarray as xr
import zarr

import scitiff_readers
from scitiff_readers import OutputExistsError, Reader, UnsupportedWriteError, write
from scitiff_readers.backend import uniform_coordinate

if TYPE_CHECKING:
    from pathlib import Path


def _image(shape: tuple[int, ...] = (2, 3, 5, 64, 48), dtype: str = "uint16", seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 4000, shape).astype(dtype)
    t, _, z, y, x = shape
    return xr.DataArray(
        pixels,
        dims=list("TCZYX"),
        name="cells",
        coords={
            "T": uniform_coordinate("T", t, 1.5, 0.0, "s"),
            "C": [f"ch{i}" for i in range(shape[1])],
            "Z": uniform_coordinate("Z", z, 2.0, 1.0, "µm"),
            "Y": uniform_coordinate("Y", y, 0.5, 0.0, "µm"),
            "X": uniform_coordinate("X", x, 0.25, 3.0, "µm"),
        },
    )


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    """Reference block means over Y, X (sizes divisible by f), rounded half to even."""
    t, c, z, y, x = a.shape
    return np.rint(a.reshape(t, c, z, y // f, f, x // f, f).mean(axis=(4, 6))).astype(a.dtype)


def _attrs(path: Path) -> dict[str, Any]:
    group = zarr.open_group(str(path), mode="r")
    attrs = dict(group.attrs)
    return dict(attrs["ome"]) if "ome" in attrs else attrs


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_round_trip_with_zarr_and_our_reader(tmp_path: Path, version: str) -> None:
    data = _image()
    out = write(data.chunk({"Z": 2}), tmp_path / "a.ome.zarr", version=version, levels=2)
    group = zarr.open_group(str(out), mode="r")
    assert group.metadata.zarr_format == (2 if version == "0.4" else 3)
    np.testing.assert_array_equal(group["0"][...], data.values)
    np.testing.assert_array_equal(group["1"][...], _block_mean(data.values, 2))
    np.testing.assert_array_equal(group["2"][...], _block_mean(data.values, 4))
    meta = _attrs(out)
    ms = meta["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == list("tczyx")
    assert [a.get("unit") for a in ms["axes"]] == ["second", None, "micrometer", "micrometer", "micrometer"]
    scales = [d["coordinateTransformations"][0]["scale"] for d in ms["datasets"]]
    assert scales == [[1.5, 1.0, 2.0, 0.5, 0.25], [1.5, 1.0, 2.0, 1.0, 0.5], [1.5, 1.0, 2.0, 2.0, 1.0]]
    # A block mean's pixel centre: half a block minus half a pixel from the block's first pixel.
    assert ms["datasets"][1]["coordinateTransformations"][1]["translation"] == [0.0, 0.0, 1.0, 0.25, 3.125]
    assert [ch["label"] for ch in meta["omero"]["channels"]] == ["ch0", "ch1", "ch2"]
    window = meta["omero"]["channels"][1]["window"]
    assert (window["start"], window["end"]) == (
        float(data.values[:, 1].min()),
        float(data.values[:, 1].max()),
    )
    if version == "0.4":
        assert json.loads((out / "0" / ".zarray").read_text())["dimension_separator"] == "/"
    else:
        assert json.loads((out / "0" / "zarr.json").read_text())["dimension_names"] == list("tczyx")
    with Reader(out) as r:
        assert r.reader_name == "ome-zarr"
        assert r.resolution_levels == (0, 1, 2)
        np.testing.assert_array_equal(r.data, data.values)
        assert r.channel_names == ["ch0", "ch1", "ch2"]
        for d in "TZYX":
            np.testing.assert_allclose(r.coords[d].values, data.coords[d].values)
            assert r.coords[d].attrs["units"] == data.coords[d].attrs["units"]
        r.set_resolution_level(1)
        np.testing.assert_allclose(r.coords["X"].values[:2], [3.125, 3.625])


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_read_back_by_ome_zarr_py(tmp_path: Path, version: str) -> None:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader as OmeZarrPyReader

    data = _image()
    out = write(data, tmp_path / "a.ome.zarr", version=version, levels=1)
    node = next(iter(OmeZarrPyReader(parse_url(str(out)))()))
    np.testing.assert_array_equal(np.asarray(node.data[0]), data.values)
    np.testing.assert_array_equal(np.asarray(node.data[1]), _block_mean(data.values, 2))
    assert node.metadata["channel_names"] == ["ch0", "ch1", "ch2"]
    assert [a.get("unit") for a in node.metadata["axes"]] == [
        "second",
        None,
        "micrometer",
        "micrometer",
        "micrometer",
    ]
    assert node.metadata["coordinateTransformations"][0][0]["scale"] == [1.5, 1.0, 2.0, 0.5, 0.25]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_read_back_by_bioio_ome_zarr(tmp_path: Path, version: str) -> None:
    import bioio_ome_zarr
    from bioio import BioImage

    data = _image()
    out = write(data, tmp_path / "a.ome.zarr", version=version, levels=1)
    image = BioImage(out, reader=bioio_ome_zarr.Reader)
    assert image.dims.order == "TCZYX"
    assert image.shape == data.shape
    np.testing.assert_array_equal(image.data, data.values)
    assert list(image.channel_names) == ["ch0", "ch1", "ch2"]
    assert tuple(image.physical_pixel_sizes) == (2.0, 0.5, 0.25)
    props = image.dimension_properties
    assert str(props.X.unit) == "micrometer"
    assert str(props.Z.unit) == "micrometer"
    assert image.resolution_levels == (0, 1)


def test_sharded_and_compression_choices(tmp_path: Path) -> None:
    data = _image((1, 2, 9, 70, 50))
    out = write(
        data, tmp_path / "s.ome.zarr", shards="auto", chunks=(4, 32, 32), compression="zstd:2", levels=1
    )
    meta = json.loads((out / "0" / "zarr.json").read_text())
    sharding = meta["codecs"][0]
    assert sharding["name"] == "sharding_indexed"
    assert sharding["configuration"]["chunk_shape"] == [1, 1, 4, 32, 32]
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [1, 1, 12, 96, 64]
    assert any(
        c["name"] == "zstd" and c["configuration"]["level"] == 2 for c in sharding["configuration"]["codecs"]
    )
    np.testing.assert_array_equal(zarr.open_array(str(out / "0"), mode="r")[...], data.values)
    plain = write(data, tmp_path / "n.ome.zarr", compression="none", version="0.4", chunks=(-1, 16, 16))
    zarray = json.loads((plain / "0" / ".zarray").read_text())
    assert zarray["compressor"] is None
    assert zarray["chunks"] == [1, 1, 9, 16, 16]
    np.testing.assert_array_equal(zarr.open_array(str(plain / "0"), mode="r")[...], data.values)
    with pytest.raises(ValueError, match="compression must be one of"):
        write(data, tmp_path / "x.ome.zarr", compression="lzw")
    with pytest.raises(ValueError, match="shards need Zarr v3"):
        write(data, tmp_path / "x.ome.zarr", version="0.4", shards="auto")
    assert not (tmp_path / "x.ome.zarr").exists()


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_default_compression_is_blosc_zstd_with_256_kib_blocks(tmp_path: Path, version: str) -> None:
    data = _image((1, 1, 8, 256, 256))  # one 1 MiB chunk
    out = write(data, tmp_path / "b.ome.zarr", version=version)
    if version == "0.4":
        config = json.loads((out / "0" / ".zarray").read_text())["compressor"]
        chunk = out / "0" / "0" / "0" / "0" / "0" / "0"
    else:
        (codec,) = [
            c for c in json.loads((out / "0" / "zarr.json").read_text())["codecs"] if c["name"] == "blosc"
        ]
        config = codec["configuration"]
        chunk = out / "0" / "c" / "0" / "0" / "0" / "0" / "0"
    assert (config["cname"], config["clevel"], config["blocksize"]) == ("zstd", 1, 256 * 1024)
    assert config["shuffle"] in ("shuffle", 1)
    # Blosc's header (bytes 4-16: uncompressed size, block size, compressed size) as the chunk file has it.
    nbytes, blocksize, cbytes = np.frombuffer(chunk.read_bytes()[4:16], "<u4")
    assert (nbytes, blocksize, cbytes) == (2**20, 256 * 1024, chunk.stat().st_size)
    np.testing.assert_array_equal(zarr.open_array(str(out / "0"), mode="r")[...], data.values)


def test_pyramid_equals_the_ome_tiff_writers(tmp_path: Path) -> None:
    """One reduction for every writer: odd sizes, partial edge blocks, both methods."""
    data = _image((1, 2, 3, 45, 37), seed=3)
    for method in ("mean", "nearest"):
        tif = write(data, tmp_path / f"{method}.ome.tif", levels=2, downsample_method=method)
        zar = write(data, tmp_path / f"{method}.ome.zarr", levels=2, downsample_method=method)
        with tifffile.TiffFile(tif) as tf:
            levels = [lvl.asarray() for lvl in tf.series[0].levels]
        group = zarr.open_group(str(zar), mode="r")
        for k in (1, 2):
            np.testing.assert_array_equal(group[str(k)][...], levels[k].reshape(group[str(k)].shape))
    np.testing.assert_array_equal(group["2"][...], data.values[..., ::4, ::4])


def test_all_scenes_in_the_bioformats2raw_layout(tmp_path: Path) -> None:
    src = tmp_path / "two.ome.tif"
    a = np.arange(2 * 3 * 16 * 20, dtype="uint8").reshape(2, 3, 16, 20)
    b = np.arange(4 * 10 * 12, dtype="uint8").reshape(4, 10, 12)[::-1].copy()
    with tifffile.TiffWriter(src, ome=True) as tw:
        tw.write(a, metadata={"axes": "ZCYX", "Name": "first", "Channel": {"Name": ["x", "y", "z"]}})
        tw.write(
            b, metadata={"axes": "ZYX", "Name": "second", "PhysicalSizeX": 0.5, "PhysicalSizeXUnit": "µm"}
        )
    with Reader(src) as r:
        names = list(r.scenes)
        out = r.save(tmp_path / "two.ome.zarr", version="0.4")
        assert r.current_scene_index == 0
    root = zarr.open_group(str(out), mode="r")
    assert root.attrs["bioformats2raw.layout"] == 3
    assert dict(root["OME"].attrs)["series"] == ["0", "1"]
    np.testing.assert_array_equal(root["0/0"][...], a.transpose(1, 0, 2, 3)[None])
    np.testing.assert_array_equal(root["1/0"][...], b[None, None])
    with Reader(out) as back:
        assert list(back.scenes) == names
        back.set_scene(names[1])
        np.testing.assert_array_equal(back.get_image_data("ZYX"), b)
        assert back.physical_pixel_sizes.X == 0.5
        assert back.physical_pixel_sizes.units.X == "µm"
        back.set_scene(0)
        assert back.channel_names == ["x", "y", "z"]
    # ome-zarr-py and bioio-ome-zarr read images, not the layout: each series is one.
    import bioio_ome_zarr
    from bioio import BioImage
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader as OmeZarrPyReader

    node = next(iter(OmeZarrPyReader(parse_url(str(out / "1")))()))
    np.testing.assert_array_equal(np.asarray(node.data[0])[0, 0], b)
    assert node.metadata["name"] == names[1]
    image = BioImage(out / "0", reader=bioio_ome_zarr.Reader)
    assert list(image.channel_names) == ["x", "y", "z"]
    np.testing.assert_array_equal(image.get_image_data("ZCYX"), a)
    # One scene by name; every scene to its own image.
    with Reader(src) as r:
        one = r.save(tmp_path / "one.ome.zarr", scenes=names[1])
        split = r.save(tmp_path / "split", split_scenes=True, format="ome-zarr")
    assert "multiscales" in _attrs(one)
    assert sorted(p.name for p in split.iterdir()) == sorted(f"{n.replace(':', '_')}.ome.zarr" for n in names)


def test_extras_keep_what_ngff_cannot_say(tmp_path: Path) -> None:
    data = _image((3, 1, 4, 8, 8))
    data = data.assign_coords(
        Z=("Z", np.array([0.0, 1.0, 3.0, 7.0]), {"units": "µm"}),
        T=(
            "T",
            np.array(["2024-01-01T00:00", "2024-01-01T00:05", "2024-01-01T00:30"], dtype="datetime64[ns]"),
        ),
        exposure=("C", np.array([12.5]), {"units": "ms"}),
        stage=((), 4.0),
    )
    data.attrs.update({"units": "counts", "detector": {"gain": 2}})
    out = write(data, tmp_path / "e.ome.zarr")
    with Reader(out) as r:
        coords = r.coords
        np.testing.assert_array_equal(coords["Z"].values, [0.0, 1.0, 3.0, 7.0])
        assert coords["Z"].attrs["units"] == "µm"
        np.testing.assert_array_equal(coords["T"].values, data.coords["T"].values)
        np.testing.assert_array_equal(coords["exposure"].values, [12.5])
        assert float(coords["stage"].values) == 4.0
        attrs = r.xarray_dask_data.attrs
        assert attrs["units"] == "counts"
        assert attrs["detector"] == {"gain": 2}


def test_rgb_samples_become_channels(tmp_path: Path) -> None:
    rgb = xr.DataArray(
        np.random.default_rng(1).integers(0, 255, (20, 30, 3)).astype("uint8"), dims=("Y", "X", "S")
    )
    out = write(rgb, tmp_path / "rgb.ome.zarr")
    meta = _attrs(out)
    assert [c["color"] for c in meta["omero"]["channels"]] == ["FF0000", "00FF00", "0000FF"]
    np.testing.assert_array_equal(
        zarr.open_array(str(out / "0"), mode="r")[0, :, 0], rgb.values.transpose(2, 0, 1)
    )


def test_streams_in_bounded_slabs_and_reports_progress(tmp_path: Path) -> None:
    computed: list[int] = []

    def record(block: np.ndarray) -> np.ndarray:
        computed.append(block.nbytes)
        return block

    data = _image((2, 2, 8, 128, 128)).chunk({"T": 1, "C": 1, "Z": 2})
    lazy = data.copy(data=da.map_blocks(record, data.data, dtype=data.dtype))
    seen: list[tuple[int, int]] = []
    write(lazy, tmp_path / "p.ome.zarr", chunks=(2, 64, 64), progress=lambda d, t: seen.append((d, t)))
    assert sum(computed) == data.nbytes  # every block computed exactly once
    assert seen[0] == (0, data.nbytes)
    assert seen[-1] == (data.nbytes, data.nbytes)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))


class _Boom(RuntimeError):
    pass


def test_failure_or_interrupt_leaves_nothing(tmp_path: Path) -> None:
    data = _image((2, 1, 4, 32, 32)).chunk({"T": 1})

    def fail(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info[0]["chunk-location"][0] == 1:
            raise _Boom("read error")
        return block

    broken = data.copy(data=da.map_blocks(fail, data.data, dtype=data.dtype))
    with pytest.raises(_Boom):
        write(broken, tmp_path / "f.ome.zarr")

    def interrupt(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write(data, tmp_path / "k.ome.zarr", progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_a_folder_only_when_asked(tmp_path: Path) -> None:
    first, second = _image(seed=1), _image((1, 1, 2, 8, 8), seed=2)
    out = write(first, tmp_path / "o.ome.zarr", levels=1)
    with pytest.raises(OutputExistsError):
        write(second, out)
    write(second, out, overwrite=True)
    with Reader(out) as r:
        np.testing.assert_array_equal(r.data, second.values)
        assert r.resolution_levels == (0,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.ome.zarr"]


def test_found_by_suffix_and_name(tmp_path: Path) -> None:
    assert scitiff_readers.list_writers()["ome-zarr"].cls.suffixes == (".ome.zarr", ".zarr")
    out = write(_image((1, 1, 1, 8, 8)), tmp_path / "plain.zarr")
    assert (out / "zarr.json").is_file()
    out = write(_image((1, 1, 1, 8, 8)), tmp_path / "folder", format="ome-zarr")
    assert (out / "zarr.json").is_file()
    with pytest.raises(UnsupportedWriteError, match="holds 1 image per file"):
        write([_image(seed=1), _image(seed=2)], tmp_path / "x.tif", format="scitiff")


def test_option_values_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    from scitiff_readers.errors import OptionError

    data = xr.DataArray(np.arange(2 * 16 * 16, dtype="uint16").reshape(2, 16, 16), dims=("c", "y", "x"))
    target = tmp_path / "bad.ome.zarr"
    for options, message in [
        ({"version": "0.3"}, "option version='0.3' is not valid; version takes '0.4' or '0.5'"),
        ({"layout": "flat"}, "layout takes 'auto' or 'bioformats2raw'"),
        ({"channel_colors": "FF0000"}, "channel_colors takes None or a list of hex colours"),
        ({"downsample_method": "cubic", "levels": 1}, "downsample_method takes 'mean' or 'nearest'"),
        ({"downsample": 1, "levels": 1}, "downsample takes an integer >= 2"),
        ({"compression": "lzw"}, "compression must be one of blosc-zstd"),
        ({"compression": "zstd:high"}, "compression level must be an integer, got 'high'"),
        ({"shards": "big"}, "option shards='big' is not valid; shards takes 'auto', a shape or None"),
        ({"shards": "auto", "version": "0.4"}, "shards need Zarr v3"),
    ]:
        with pytest.raises(OptionError, match=rf"bad\.ome\.zarr: writer 'ome-zarr': .*{message}"):
            write(data, target, **options)
    assert not list(tmp_path.iterdir())
    # A number for the version (what JSON makes of --option version=0.4) was always accepted.
    out = write(data, tmp_path / "v2.ome.zarr", version=0.4)
    assert json.loads((out / ".zattrs").read_text())["multiscales"][0]["version"] == "0.4"
    np.testing.assert_array_equal(zarr.open_array(str(out / "0"), mode="r")[...][0, :, 0], data.values)
