"""Bad input: paths leaving the dataset, missing / malformed metadata, missing chunks."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr
from scitiff_readers_zarr.omezarr import OmeZarrReader
from scitiff_readers_zarr.testing import zarr_reference
from scitiff_readers_zarr.visor import VisorReader
from scitiff_readers_zarr.visor_writer import write_visor_2024_11_3, write_visor_2025

from scitiff_readers import CorruptFileError, MetadataError, Reader


def _ngff(path: Path, dataset_path: str = "0", zarr_format: int = 3) -> Path:
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    ms = {"axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
          "datasets": [{"path": dataset_path, "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}]}
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
        assert (data[:3, :4] == 1).all() and (data[3:] == 9).all() and (data[:, 4:] == 9).all()
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
    (sample / "visor_raw_images" / "selected.json").write_text(json.dumps(
        [{"path": "slice_9_10x.zarr"}, {"path": "slice_1_10x.zarr"}]))
    with pytest.warns(VisorWarning, match="slice_9_10x"), Reader(sample) as r:
        assert r.scenes == ("slice_1_10x", "slice_1_10x_projn")


def test_axes_not_matching_the_array(tmp_path: Path) -> None:
    path = _ngff(tmp_path / "img.zarr")
    meta = json.loads((path / "zarr.json").read_text())
    meta["attributes"]["ome"]["multiscales"][0]["axes"].insert(0, {"name": "z", "type": "space"})
    meta["attributes"]["ome"]["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"] = [1, 1, 1]
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
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [
        {"name": "x", "type": "space", "unit": "micrometer"}, {"name": "c", "type": "channel"},
        {"name": "extra"}, {"name": "y", "type": "space"}, {"name": "z", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [0.5, 1, 1, 2, 3]}]}]}]
    arr = group.create_array("0", shape=(7, 2, 1, 5, 3), dtype="uint16", chunks=(4, 1, 1, 5, 2))
    arr[...] = np.arange(7 * 2 * 5 * 3, dtype="uint16").reshape(7, 2, 1, 5, 3)
    expected = zarr_reference(tmp_path / "odd.zarr" / "0")[:, :, 0].transpose(1, 3, 2, 0)[None]
    with Reader(tmp_path / "odd.zarr") as r:
        assert r.dims.order == "TCZYX" and r.shape == (1, 2, 3, 5, 7)
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
    group.attrs["multiscales"] = [{"version": "0.4", "axes": [{"name": "y", "type": "space"},
                                                              {"name": "x", "type": "space"}],
                                   "datasets": [{"path": "0"}]}]
    arr = group.create_array("0", shape=(6, 8), dtype=">u2", chunks=(3, 4))
    arr[...] = np.arange(48).reshape(6, 8) * 1000
    with Reader(tmp_path / "be.zarr", codec_pipeline=pipeline) as r:
        ref = zarr_reference(tmp_path / "be.zarr" / "0")
        assert r.dtype == ref.dtype
        np.testing.assert_array_equal(r.get_image_data("YX"), ref)
        np.testing.assert_array_equal(r.dask_data.compute()[0, 0, 0], ref)
