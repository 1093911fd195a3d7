"""Bad input: paths leaving the dataset, missing / malformed metadata, missing chunks."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from typing import TYPE_CHECKING

import numpy as np
import pytest
import zarr
from scitiff_readers_zarr.omezarr import OmeZarrReader
from scitiff_readers_zarr.testing import blosc_ngff, zarr_reference
from scitiff_readers_zarr.visor import VisorReader
from scitiff_readers_zarr.visor_writer import write_visor_2024_11_3, write_visor_2025

from scitiff_readers import CorruptFileError, MetadataError, Reader
from scitiff_readers.errors import ImageTooLargeError

if TYPE_CHECKING:
    from pathlib import Path


def _ngff(path: Path, dataset_path: str = "0", zarr_format: int = 3) -> Path:
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    ms = {
        "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [
            {"path": dataset_path, "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}
        ],
    }
    if zarr_format == 3:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [ms]}
    else:
        group.attrs["multiscales"] = [{**ms, "version": "0.4"}]
    arr = group.create_array("0", shape=(6, 8), dtype="uint16", chunks=(3, 4), fill_value=9)
    arr[:3, :4] = 1  # the other three chunks are never written
    return path


@pytest.mark.parametrize("bad", ["../outside", "/etc", "0/../../outside"])
def test_dataset_path_leaving_the_root_is_refused(tmp_path: Path, bad: str) -> None:
    outside = tmp_path / "outside"
    zarr.create_array(str(outside), shape=(6, 8), dtype="uint16")
    path = _ngff(tmp_path / "img.zarr", bad)
    with pytest.raises(CorruptFileError, match=r"outside|absolute"):
        Reader(path)


def test_symlinked_dataset_leaving_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    zarr.create_array(str(outside), shape=(6, 8), dtype="uint16")
    path = _ngff(tmp_path / "img.zarr", "link")
    os.symlink(outside, path / "link")
    with pytest.raises(CorruptFileError, match="outside"):
        Reader(path)


def test_visor_dataset_path_leaving_the_image_is_refused(tmp_path: Path) -> None:
    sample = write_visor_2024_11_3(tmp_path / "S.vsr")
    zattrs = sample / "visor_raw_images" / "slice_1_10x.zarr" / ".zattrs"
    attrs = json.loads(zattrs.read_text())
    attrs["multiscales"][0]["datasets"][1]["path"] = "../slice_1_10x_1.zarr/0"
    zattrs.write_text(json.dumps(attrs))
    with pytest.raises(CorruptFileError, match="outside"):
        Reader(sample)


def test_selected_image_paths_never_leave_the_raw_folder(tmp_path: Path) -> None:
    from scitiff_readers_zarr.visor import VisorWarning

    sample = write_visor_2024_11_3(tmp_path / "S.vsr")
    shutil.copytree(sample / "visor_raw_images" / "slice_1_10x.zarr", tmp_path / "elsewhere.zarr")
    (sample / "visor_raw_images" / "selected.json").write_text(json.dumps([{"path": "../../elsewhere.zarr"}]))
    # Selected entries are image names inside visor_raw_images: the outside copy is never opened.
    with pytest.warns(VisorWarning, match="'elsewhere' is missing"), Reader(sample) as r:
        assert r.scenes == ("slice_1_10x_projn",)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_missing_chunks_read_as_fill_value(tmp_path: Path, zarr_format: int) -> None:
    path = _ngff(tmp_path / "img.zarr", zarr_format=zarr_format)
    with Reader(path) as r:
        data = r.get_image_data("YX")
        np.testing.assert_array_equal(data, zarr_reference(path / "0"))
        assert (data[:3, :4] == 1).all()
        assert (data[3:] == 9).all()
        assert (data[:, 4:] == 9).all()
        np.testing.assert_array_equal(r.dask_data.compute()[0, 0, 0], data)


def test_malformed_zarr_json_names_the_file(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr")
    (path / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {')
    with pytest.raises(CorruptFileError, match=r"img\.zarr/zarr\.json: the zarr\.json is not valid JSON"):
        OmeZarrReader(path)
    assert OmeZarrReader.can_open(path) is False


def test_malformed_zattrs_names_the_file(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr", zarr_format=2)
    (path / ".zattrs").write_text("[1, 2")
    with pytest.raises(CorruptFileError, match=r"\.zattrs: the \.zattrs is not valid JSON"):
        OmeZarrReader(path)


def test_visor_image_with_malformed_zarr_json(tmp_path: Path) -> None:
    sample = write_visor_2025(tmp_path / "S.vsr", extra_images=False)
    bad = sample / "visor_raw_images" / "slice_2_10x.zarr" / "zarr.json"
    bad.write_text("{")
    assert VisorReader.can_open(sample)  # the sample is still recognised ...
    with pytest.raises(CorruptFileError, match=str(bad)):  # ... and the error names the file
        Reader(sample)


def test_visor_image_with_missing_zattrs(tmp_path: Path) -> None:
    sample = write_visor_2024_11_3(tmp_path / "S.vsr")
    zattrs = sample / "visor_raw_images" / "slice_1_10x.zarr" / ".zattrs"
    zattrs.unlink()
    with pytest.raises(MetadataError, match=rf"{zattrs}: missing"):
        Reader(sample)


def test_missing_level_array_names_the_paths(tmp_path: Path) -> None:
    sample = write_visor_2025(tmp_path / "S.vsr", extra_images=False)
    shutil.rmtree(sample / "visor_raw_images" / "slice_1_10x.zarr" / "1")
    with Reader(sample) as r:
        r.set_resolution_level(1)
        with pytest.raises(MetadataError, match=r"resolution level 1 .*zarr\.json"):
            _ = r.dims


def test_missing_array_metadata_in_original_layout(tmp_path: Path) -> None:
    from scitiff_readers_zarr.visor_writer import write_visor_2024_11_0

    sample = write_visor_2024_11_0(tmp_path / "E")
    (sample / "visor_raw_image.zarr" / "0" / "slice_1_stack_1" / "405nm_10X" / ".zarray").write_text("{")
    with Reader(sample) as r, pytest.raises(CorruptFileError, match=r"405nm_10X/\.zarray"):
        _ = r.dims


def test_missing_selected_image_warns_and_is_skipped(tmp_path: Path) -> None:
    from scitiff_readers_zarr.visor import VisorWarning

    sample = write_visor_2024_11_3(tmp_path / "S.vsr")
    (sample / "visor_raw_images" / "selected.json").write_text(
        json.dumps([{"path": "slice_9_10x.zarr"}, {"path": "slice_1_10x.zarr"}])
    )
    with pytest.warns(VisorWarning, match="slice_9_10x"), Reader(sample) as r:
        assert r.scenes == ("slice_1_10x", "slice_1_10x_projn")


def test_axes_not_matching_the_array(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr")
    meta = json.loads((path / "zarr.json").read_text())
    meta["attributes"]["ome"]["multiscales"][0]["axes"].insert(0, {"name": "z", "type": "space"})
    meta["attributes"]["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [
        1,
        1,
        1,
    ]
    (path / "zarr.json").write_text(json.dumps(meta))
    with Reader(path) as r, pytest.raises(MetadataError, match="declares 3 axes"):
        _ = r.dims


def test_wrong_transform_length(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr")
    meta = json.loads((path / "zarr.json").read_text())
    meta["attributes"]["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [1]
    (path / "zarr.json").write_text(json.dumps(meta))
    with Reader(path) as r, pytest.raises(MetadataError, match="one per axis"):
        _ = r.coords


def test_group_without_multiscales_is_not_ome_zarr(tmp_path: Path) -> None:
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w", zarr_format=3)
    group.attrs["ome"] = {"version": "0.5", "other": {}}
    assert OmeZarrReader.can_open(tmp_path / "g.zarr") is False
    with pytest.raises(MetadataError, match="without 'multiscales'"):
        OmeZarrReader(tmp_path / "g.zarr")


def test_plate_without_wells_is_a_clear_error(tmp_path: Path) -> None:
    group = zarr.open_group(str(tmp_path / "p.zarr"), mode="w", zarr_format=3)
    group.attrs["ome"] = {"version": "0.5", "plate": {"wells": []}}
    assert OmeZarrReader.can_open(tmp_path / "p.zarr") is True  # an HCS plate is ours
    with pytest.raises(MetadataError, match="the plate lists no wells"):
        OmeZarrReader(tmp_path / "p.zarr")


def test_sources_pickle_small_and_reopen(tmp_path: Path) -> None:
    sample = write_visor_2025(tmp_path / "S.vsr", extra_images=False)
    with Reader(sample) as r:
        source = r.image().source
        blob = pickle.dumps(source)
        assert len(blob) < 2000
        clone = pickle.loads(blob)
        region = tuple(slice(0, n) for n in source.shape)
        np.testing.assert_array_equal(clone.read(region), r.data)


def test_codec_pipeline_option_is_validated(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr")
    with pytest.raises(ValueError, match="codec_pipeline"):
        Reader(path, codec_pipeline="fast please")


def test_axes_in_unusual_order_are_transposed(tmp_path: Path) -> None:
    """Axes ``x, c, y, z`` plus a size-1 unknown axis: mapped by name, pixels transposed to TCZYX."""
    group = zarr.open_group(str(tmp_path / "odd.zarr"), mode="w", zarr_format=2)
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [
                {"name": "x", "type": "space", "unit": "micrometer"},
                {"name": "c", "type": "channel"},
                {"name": "extra"},
                {"name": "y", "type": "space"},
                {"name": "z", "type": "space"},
            ],
            "datasets": [
                {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [0.5, 1, 1, 2, 3]}]}
            ],
        }
    ]
    arr = group.create_array("0", shape=(7, 2, 1, 5, 3), dtype="uint16", chunks=(4, 1, 1, 5, 2))
    arr[...] = np.arange(7 * 2 * 5 * 3, dtype="uint16").reshape(7, 2, 1, 5, 3)
    expected = zarr_reference(tmp_path / "odd.zarr" / "0")[:, :, 0].transpose(1, 3, 2, 0)[None]
    with Reader(tmp_path / "odd.zarr") as r:
        assert r.dims.order == "TCZYX"
        assert r.shape == (1, 2, 3, 5, 7)
        np.testing.assert_array_equal(r.data, expected)
        np.testing.assert_array_equal(r.dask_data.compute(), expected)
        np.testing.assert_array_equal(r.get_image_data("YX", C=1, Z=2), expected[0, 1, 2])
        assert r.physical_pixel_sizes == (3.0, 2.0, 0.5)
        assert r.image().source.storage_chunks == (1, 1, 2, 5, 4)


def test_symlinked_visor_image_leaving_the_sample_is_refused(tmp_path: Path) -> None:
    sample = write_visor_2024_11_3(tmp_path / "S.vsr")
    elsewhere = tmp_path / "elsewhere.zarr"
    shutil.copytree(sample / "visor_projn_images" / "slice_1_10x_projn.zarr", elsewhere)
    os.symlink(elsewhere, sample / "visor_projn_images" / "linked.zarr")
    with pytest.raises(CorruptFileError, match="outside"):
        Reader(sample)


@pytest.mark.parametrize("pipeline", ["auto", "zarr"])
def test_big_endian_v2_array(tmp_path: Path, pipeline: str) -> None:
    group = zarr.open_group(str(tmp_path / "be.zarr"), mode="w", zarr_format=2)
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
            "datasets": [{"path": "0"}],
        }
    ]
    arr = group.create_array("0", shape=(6, 8), dtype=">u2", chunks=(3, 4))
    arr[...] = np.arange(48).reshape(6, 8) * 1000
    with Reader(tmp_path / "be.zarr", codec_pipeline=pipeline) as r:
        ref = zarr_reference(tmp_path / "be.zarr" / "0")
        assert r.dtype == ref.dtype
        np.testing.assert_array_equal(r.get_image_data("YX"), ref)
        np.testing.assert_array_equal(r.dask_data.compute()[0, 0, 0], ref)


# ------------------------------------------------------------- hostile files (issue 16)
def _blosc_ngff(path: Path, zarr_format: int) -> tuple[Path, np.ndarray]:
    """A 2-D OME-Zarr whose chunks are Blosc frames (what the blosc checks guard)."""
    return path, blosc_ngff(path, zarr_format)


def _chunk(path: Path, zarr_format: int) -> Path:
    return path / "0" / ("c/1/1" if zarr_format == 3 else "1.1")


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("cut", [20, 60, -1])
def test_truncated_blosc_chunk_is_refused_naming_the_chunk(
    tmp_path: Path, zarr_format: int, cut: int
) -> None:
    """numcodecs would decode bytes past the end of the buffer: the header is checked against the file."""
    path, _ = _blosc_ngff(tmp_path / "img.zarr", zarr_format)
    chunk = _chunk(path, zarr_format)
    raw = chunk.read_bytes()
    chunk.write_bytes(raw[:cut])
    with Reader(path) as r:
        with pytest.raises(
            CorruptFileError, match=rf"{chunk.name}.*(Blosc header says|shorter than its header)"
        ):
            r.get_image_data()
        with pytest.raises(CorruptFileError, match="Blosc"):
            r.dask_data.compute()


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_blosc_header_claiming_more_than_a_chunk_is_refused(tmp_path: Path, zarr_format: int) -> None:
    path, _ = _blosc_ngff(tmp_path / "img.zarr", zarr_format)
    chunk = _chunk(path, zarr_format)
    raw = bytearray(chunk.read_bytes())
    raw[4:8] = (2**31).to_bytes(4, "little")  # nbytes: 2 GiB from one 1 KiB chunk
    chunk.write_bytes(bytes(raw))
    with (
        Reader(path) as r,
        pytest.raises(CorruptFileError, match="decodes to 2147483648 bytes, a chunk has 1024"),
    ):
        r.get_image_data()


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_corrupt_chunk_errors_are_typed_and_name_the_chunk(tmp_path: Path, zarr_format: int) -> None:
    """What numcodecs / zarr raise (RuntimeError, ValueError ...) becomes CorruptFileError with the chunk."""
    path = _ngff(tmp_path / "img.zarr", zarr_format=zarr_format)  # zstd chunks
    chunk = path / "0" / ("c/0/0" if zarr_format == 3 else "0.0")
    raw = chunk.read_bytes()
    chunk.write_bytes(raw[: len(raw) // 2])
    with (
        Reader(path) as r,
        pytest.raises(
            CorruptFileError, match=rf"{chunk.parent.name}.*{chunk.name}: (decoding|the Blosc)"
        ) as info,
    ):
        r.get_image_data()
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("what", ["chunk", "chunk-folder", ".zarray", ".zattrs"])
def test_links_out_of_the_store_are_refused(tmp_path: Path, what: str) -> None:
    path, _ = _blosc_ngff(tmp_path / "img.zarr", 2)
    twin = tmp_path / "elsewhere.zarr"
    shutil.copytree(path, twin)
    target = {"chunk": "0/1.1", "chunk-folder": "0", ".zarray": "0/.zarray", ".zattrs": ".zattrs"}[what]
    if what == "chunk-folder":
        # Nested chunk keys (dimension_separator "/"), so a chunk folder exists to link.
        path, _ = _blosc_ngff(tmp_path / "nested.zarr", 3)
        twin = tmp_path / "nested-elsewhere.zarr"
        shutil.copytree(path, twin)
        target = "0/c/1"
    (path / target).unlink() if (path / target).is_file() else shutil.rmtree(path / target)
    os.symlink(twin / target, path / target)
    # Named reader: a sniff never reads through the link, so auto-detection only says
    # the folder is not recognised.
    with (
        pytest.raises(CorruptFileError, match=r"symbolic link .* outside"),
        Reader(path, reader="ome-zarr") as r,
    ):
        r.get_image_data()


def test_a_link_to_the_whole_store_is_followed(tmp_path: Path) -> None:
    path, _data = _blosc_ngff(tmp_path / "img.zarr", 2)
    link = tmp_path / "my-link.zarr"
    link.symlink_to(path)
    with Reader(link) as r:
        np.testing.assert_array_equal(r.get_image_data("YX"), zarr_reference(path / "0"))


def test_deeply_nested_attributes_are_a_metadata_error(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr", zarr_format=2)
    attrs = json.loads((path / ".zattrs").read_text())
    (path / ".zattrs").write_text(json.dumps(attrs)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(MetadataError, match=r"\.zattrs is nested too deeply"):
        Reader(path, reader="ome-zarr")


def test_chunks_of_zero_are_typed(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr", zarr_format=2)
    meta = json.loads((path / "0" / ".zarray").read_text())
    meta["chunks"] = [0, 0]
    (path / "0" / ".zarray").write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError), Reader(path) as r:
        r.get_image_data()


def test_visor_shard_linked_out_is_refused(tmp_path: Path) -> None:
    sample = write_visor_2025(tmp_path / "S.vsr")
    twin = tmp_path / "elsewhere.vsr"
    shutil.copytree(sample, twin)
    shard = next(p for p in sorted(sample.rglob("*")) if p.is_file() and "/c/" in str(p))
    shard.unlink()
    os.symlink(twin / shard.relative_to(sample), shard)
    # The refusal may come at open or at the read of the scene holding the shard: either is right.
    with pytest.raises(CorruptFileError, match=r"symbolic link .* outside"), Reader(sample) as r:  # noqa: PT012
        for scene in range(len(r.scenes)):
            r.set_scene(scene)
            r.get_image_data()


def test_visor_truncated_shard_is_refused(tmp_path: Path) -> None:
    sample = write_visor_2025(tmp_path / "S.vsr")
    shard = next(p for p in sorted(sample.rglob("*")) if p.is_file() and "/c/" in str(p))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    # The refusal may come at open or at the read of the scene holding the shard: either is right.
    with pytest.raises(CorruptFileError), Reader(sample) as r:  # noqa: PT012
        for scene in range(len(r.scenes)):
            r.set_scene(scene)
            r.get_image_data()


def test_visor_stack_axis_of_2_63_is_refused_fast(tmp_path: Path) -> None:
    sample = write_visor_2024_11_3(tmp_path / "S.vsr")
    changed = 0
    for meta in sample.rglob(".zarray"):
        doc = json.loads(meta.read_text())
        if len(doc["shape"]) == 5:
            doc["shape"][0] = 2**63 - 1
            meta.write_text(json.dumps(doc))
            changed += 1
    assert changed
    # Refused at open, at the coordinates or at the read: the test accepts the first that refuses.
    with (  # noqa: PT012
        pytest.raises(ImageTooLargeError, match="labels for 9223372036854775807 stacks"),
        Reader(sample) as r,
    ):
        _ = r.coords
        r.get_image_data()


def test_reading_a_sparse_array_larger_than_memory_is_refused_before_allocating(tmp_path: Path) -> None:
    """2 TiB declared, no chunk written: legal and lazy, but get_image_data refuses the buffer."""
    group = zarr.open_group(str(tmp_path / "big.zarr"), mode="w", zarr_format=3)
    group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [
            {
                "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
                "datasets": [
                    {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}
                ],
            }
        ],
    }
    group.create_array("0", shape=(2**20, 2**20), dtype="uint16", chunks=(1024, 1024))
    with Reader(tmp_path / "big.zarr") as r:
        assert r.shape[-2:] == (2**20, 2**20)
        assert r.dask_data.shape[-2:] == (2**20, 2**20)
        with pytest.raises(ImageTooLargeError, match=r"big\.zarr: reading .* would need 2048\.0 GiB"):
            r.get_image_data()
        assert int(r.get_image_data("YX", Y=slice(0, 4), X=slice(0, 4)).sum()) == 0


def test_huge_sparse_time_axis_opens_lazily_and_reads_by_selection(tmp_path: Path) -> None:
    """2**40 time points declared, two chunks written: zarr opens and reads it, so must we.

    The T coordinate is a range index (values computed when indexed, from the NGFF
    scale and translation); pixels come from zarr's own read of the same region;
    the whole axis through dask (which dask itself cannot build) is refused, typed.
    """
    n = 2**40
    group = zarr.open_group(str(tmp_path / "huge.zarr"), mode="w", zarr_format=3)
    group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [
            {
                "axes": [
                    {"name": "t", "type": "time", "unit": "second"},
                    {"name": "c", "type": "channel"},
                    {"name": "y", "type": "space", "unit": "micrometer"},
                    {"name": "x", "type": "space", "unit": "micrometer"},
                ],
                "datasets": [
                    {
                        "path": "0",
                        "coordinateTransformations": [
                            {"type": "scale", "scale": [0.5, 1, 0.25, 0.25]},
                            {"type": "translation", "translation": [10, 0, 0, 0]},
                        ],
                    }
                ],
            }
        ],
    }
    arr = group.create_array("0", shape=(n, 2, 16, 16), dtype="uint16", chunks=(1, 1, 16, 16), fill_value=3)
    arr[5, 1] = np.arange(256, dtype=np.uint16).reshape(16, 16)
    arr[n - 1, 0] = 7
    ref = zarr.open_array(str(tmp_path / "huge.zarr" / "0"), mode="r")
    with Reader(tmp_path / "huge.zarr") as r:
        assert r.dims.T == n
        assert r.shape == (n, 2, 1, 16, 16)
        t = r.coords["T"]
        assert t.shape == (n,)
        assert t.attrs["units"] == "s"
        assert float(t[5]) == 10 + 5 * 0.5
        assert float(t[-1]) == 10 + (n - 1) * 0.5
        assert r.physical_pixel_sizes.X == 0.25
        np.testing.assert_array_equal(r.get_image_data("YX", T=5, C=1), ref[5, 1])
        np.testing.assert_array_equal(r.get_image_data("TCYX", T=slice(n - 3, None)), ref[n - 3 :])
        np.testing.assert_array_equal(
            r.get_image_data("TYX", T=[0, 5, n - 1], C=1), np.stack([ref[0, 1], ref[5, 1], ref[n - 1, 1]])
        )
        with pytest.raises(ImageTooLargeError, match=r"huge\.zarr: a dask array .* blocks"):
            _ = r.dask_data
        with pytest.raises(ImageTooLargeError, match=r"huge\.zarr: indexing T=1099511627776"):
            r.get_image_data("TYX")


def test_visor_channels_of_the_wrong_type_in_metadata_are_typed(tmp_path: Path) -> None:
    """``visor.channels = 2`` (found by the fuzz campaign): reading ``metadata`` raised a bare TypeError."""
    sample = write_visor_2025(tmp_path / "S.vsr")
    changed = 0
    for meta in sample.rglob("zarr.json"):
        doc = json.loads(meta.read_text())
        visor = doc.get("attributes", {}).get("visor")
        if isinstance(visor, dict) and "channels" in visor:
            visor["channels"] = 2
            meta.write_text(json.dumps(doc))
            changed += 1
    assert changed
    try:
        reader = Reader(sample)
    except CorruptFileError:
        return  # refused at open: typed as well
    with reader, pytest.raises(CorruptFileError, match=r"S\.vsr: reading the metadata: .*TypeError"):
        _ = reader.metadata
