"""The bioio plugin under bioio-base's own ``test_utilities`` checks, on files others wrote."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

bioio = pytest.importorskip("bioio")
import bioio_scitiff_readers  # noqa: E402
from bioio_base import exceptions, test_utilities  # noqa: E402
from bioio_scitiff_readers import Reader, ReaderMetadata  # noqa: E402

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
NDTIFF_V2 = SHARED / "ndtiff" / "v2" / "ndtiffv2.0_test"
VISOR = SHARED / "visor" / "VISOR001.vsr"
SCITIFF = SHARED / "scitiff" / "scitiff-26.1.0.tiff"
PYRAMID = SHARED / "corpus" / "BMCV+galaxy-image-analysis/tools/bfconvert/test-data/res.ome.tiff"
pytestmark = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} not found (no ../shared beside the repo)"
)


def test_entry_point_exposes_reader_metadata() -> None:
    from bioio.plugins import get_plugins

    plugins = get_plugins(use_cache=False)
    ours = {p.entrypoint.name for entries in plugins.values() for p in entries}
    assert "bioio-scitiff-readers" in ours
    assert {".vsr", ".tif", ".zarr"} <= set(ReaderMetadata.get_supported_extensions())
    assert ReaderMetadata.supports_directory_images()
    assert ReaderMetadata.get_reader() is Reader


def test_ndtiff_dataset_folder_through_bioimage() -> None:
    ndstorage = pytest.importorskip("ndstorage")
    reference = ndstorage.Dataset(str(NDTIFF_V2))
    summary = reference.summary_metadata
    pixels = np.asarray(reference.as_array())  # (time, channel, y, x)
    reference.close()
    settings = json.loads((NDTIFF_V2 / "display_settings.txt").read_text())
    names = [k for k in settings if k != "All channel settings"]
    test_utilities.run_image_file_checks(
        ImageContainer=Reader,
        image=NDTIFF_V2,
        set_scene=NDTIFF_V2.name,
        expected_scenes=(NDTIFF_V2.name,),
        expected_current_scene=NDTIFF_V2.name,
        expected_shape=(5, 2, 1, 32, 32),
        expected_dtype=np.dtype("uint16"),
        expected_dims_order="TCZYX",
        expected_channel_names=sorted(names, key=["DAPI", "FITC"].index),
        expected_physical_pixel_sizes=(None, summary["PixelSize_um"], summary["PixelSize_um"]),
        expected_metadata_type=dict,
        reader_kwargs={},
    )
    image = bioio.BioImage(NDTIFF_V2)  # a folder: found through supports_directory_images
    assert isinstance(image.reader, Reader)
    np.testing.assert_array_equal(image.get_image_data("TCYX", Z=0), pixels)


def test_visor_scenes_through_bioimage() -> None:
    image = bioio.BioImage(VISOR)
    assert isinstance(image.reader, Reader)
    assert image.reader.reader_name == "visor"
    test_utilities.run_multi_scene_image_read_checks(
        ImageContainer=Reader,
        image=VISOR,
        first_scene_id="slice_1_10x",
        first_scene_shape=(2, 2, 4, 4, 4),
        first_scene_dtype=np.dtype("uint16"),
        second_scene_id=1,
        second_scene_shape=(2, 2, 4, 4, 4),
        second_scene_dtype=np.dtype("uint16"),
        allow_same_scene_data=False,
        reader_kwargs={},
    )
    assert image.xarray_dask_data["X"].attrs["units"] == "µm"


def test_scitiff_coordinates_and_units_through_bioimage() -> None:
    scitiff = pytest.importorskip("scitiff")
    reference = scitiff.load_scitiff(SCITIFF, squeeze=False, only_image=True)
    image = bioio.BioImage(SCITIFF)  # bioio-ome-tiff refuses it (no OME-XML); ours reads it
    assert isinstance(image.reader, Reader)
    assert image.reader.reader_name == "scitiff"
    test_utilities.run_image_container_checks(
        image_container=image.reader,
        set_scene="Image:0",
        expected_scenes=("Image:0",),
        expected_current_scene="Image:0",
        expected_shape=(4, 1, 2, 10, 10),
        expected_dtype=np.dtype("float32"),
        expected_dims_order="TCZYX",
        expected_channel_names=["intensities"],
        expected_physical_pixel_sizes=image.reader.physical_pixel_sizes,
        expected_metadata_type=object,
    )
    view = image.xarray_dask_data
    np.testing.assert_array_equal(view["T"].values, reference.coords["t"].values)
    assert view["T"].attrs["units"] == str(reference.coords["t"].unit) == "s"
    assert image.time_interval.total_seconds() == 1.0
    np.testing.assert_array_equal(view["Y"].values, reference.coords["y"].values)
    assert view["Y"].attrs["units"] == str(reference.coords["y"].unit)


def test_ome_tiff_pyramid_levels_when_chosen_explicitly() -> None:
    tifffile = pytest.importorskip("tifffile")
    ome_types = pytest.importorskip("ome_types")
    with tifffile.TiffFile(PYRAMID) as tif:
        levels = [level.asarray() for level in tif.series[0].levels]
    image = bioio.BioImage(PYRAMID, reader=bioio_scitiff_readers.Reader)
    assert image.resolution_levels == tuple(range(len(levels))) == (0, 1, 2, 3)
    for level, expected in enumerate(levels):
        image.set_resolution_level(level)
        np.testing.assert_array_equal(image.data.reshape(expected.shape), expected)
    test_utilities.run_image_file_checks(
        ImageContainer=Reader,
        image=PYRAMID,
        set_scene=image.scenes[0],
        expected_scenes=image.scenes,
        expected_current_scene=image.scenes[0],
        expected_shape=(1, 1, 1, 12, 13, 4),
        expected_dtype=np.dtype("uint8"),
        expected_dims_order="TCZYXS",
        expected_channel_names=image.channel_names,
        expected_physical_pixel_sizes=(None, None, None),
        expected_metadata_type=ome_types.OME,
        set_resolution_level=1,
        expected_current_resolution_level=1,
        expected_resolution_levels=(0, 1, 2, 3),
        reader_kwargs={},
    )
    assert isinstance(image.ome_metadata, ome_types.OME)


def test_unsupported_file_is_bioio_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(exceptions.UnsupportedFileFormatError):
        Reader(text)
    with pytest.raises(FileNotFoundError):
        Reader(tmp_path / "missing.tif")


def test_view_is_the_scitiff_readers_view() -> None:
    from scitiff_readers import Reader as ScitiffReader

    with ScitiffReader(VISOR) as ours:
        xr.testing.assert_identical(Reader(VISOR).xarray_dask_data, ours.xarray_dask_data)


def test_multi_position_ome_tiff_scenes() -> None:
    tifffile = pytest.importorskip("tifffile")
    path = (
        SHARED
        / "corpus"
        / "tlnagy+exampletiffs/ometiff_testdata/singles/181003_multi_pos_time_course_1_MMStack.ome.tif"
    )
    with tifffile.TiffFile(path, is_mmstack=False) as tif:  # the OME series, one per stage position
        positions = [series.asarray() for series in tif.series]
    reader = test_utilities.run_multi_scene_image_read_checks(
        ImageContainer=Reader,
        image=path,
        first_scene_id=0,
        first_scene_shape=(10, 1, 1, 256, 256),
        first_scene_dtype=np.dtype("uint16"),
        second_scene_id=1,
        second_scene_shape=(10, 1, 1, 256, 256),
        second_scene_dtype=np.dtype("uint16"),
        allow_same_scene_data=False,
        reader_kwargs={},
    )
    for scene, expected in enumerate(positions):
        reader.set_scene(scene)
        np.testing.assert_array_equal(reader.get_image_data("TYX"), expected)


def test_bioformats2raw_ome_zarr_through_bioimage() -> None:
    zarr = pytest.importorskip("zarr")
    store = SHARED / "corpus" / "BMCV+galaxy-image-analysis/tools/bioformats2raw/test-data/camera.ome.zarr"
    levels = [np.asarray(zarr.open_array(str(store / "0" / str(i)), mode="r")) for i in range(3)]
    image = bioio.BioImage(store, reader=Reader)
    assert image.resolution_levels == (0, 1, 2)
    for level, expected in enumerate(levels):
        image.set_resolution_level(level)
        np.testing.assert_array_equal(image.data, expected)
    assert image.channel_names == ["Channel 0"]
