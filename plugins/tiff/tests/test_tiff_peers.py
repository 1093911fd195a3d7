"""The aicsimageio / bioio drop-in API on OME-TIFF, against bioio-ome-tiff, bioio-base and ome-types.

Expected values come from bioio (with its OME-TIFF plugin), bioio-base's own reader
checks and ome-types; the deliberate differences (scene names, time fields measured
from the first time point) are asserted against ome-types.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import ome_types
import pytest
import tifffile

from scitiff_readers import Reader, SceneIndexError

bioio = pytest.importorskip("bioio")
bioio_ome_tiff = pytest.importorskip("bioio_ome_tiff")
test_utilities = pytest.importorskip("bioio_base.test_utilities")

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "corpus"
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "manifest.json").is_file(), reason=f"corpus not found in {CORPUS}"
)


def _ome_entries() -> list[str]:
    if not (CORPUS / "manifest.json").is_file():
        return []
    return [
        e["path"] for e in json.loads((CORPUS / "manifest.json").read_text()) if e["format"] == "tiff (ome)"
    ]


def _bioio(path: Path) -> object:
    """bioio-ome-tiff's view, or a skip where bioio itself cannot read the file."""
    logging.getLogger("bioio_base").setLevel(logging.CRITICAL)
    try:
        return bioio.BioImage(path, reader=bioio_ome_tiff.Reader)
    except Exception as exc:  # noqa: BLE001 - only the peer's failure is judged here
        pytest.skip(f"bioio-ome-tiff cannot read {path.name}: {type(exc).__name__}")


@pytest.fixture(scope="module")
def two_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-scene OME-TIFF as in the aicsimageio / bioio quick starts (second channel unnamed).

    The OME-XML is made with ome-types (tifffile would write ``Name="None"``).
    """
    from ome_types import model

    path = tmp_path_factory.mktemp("scenes") / "two.ome.tif"
    a = (np.arange(2 * 3 * 16 * 20) % 251).astype("uint8").reshape(2, 3, 16, 20)
    b = (np.arange(4 * 12 * 10) % 253).astype("uint8").reshape(4, 12, 10)
    ome = model.OME(
        images=[
            model.Image(
                id="Image:0",
                name="first",
                pixels=model.Pixels(
                    id="Pixels:0",
                    dimension_order="XYZCT",
                    type="uint8",
                    size_x=20,
                    size_y=16,
                    size_z=3,
                    size_c=2,
                    size_t=1,
                    physical_size_x=0.5,
                    physical_size_y=0.5,
                    channels=[model.Channel(id="Channel:0:0", name="DAPI"), model.Channel(id="Channel:0:1")],
                    tiff_data_blocks=[model.TiffData(ifd=0, plane_count=6)],
                ),
            ),
            model.Image(
                id="Image:1",
                name="second",
                pixels=model.Pixels(
                    id="Pixels:1",
                    dimension_order="XYZCT",
                    type="uint8",
                    size_x=10,
                    size_y=12,
                    size_z=1,
                    size_c=1,
                    size_t=4,
                    time_increment=2.5,
                    time_increment_unit="ms",
                    channels=[model.Channel(id="Channel:1:0")],
                    tiff_data_blocks=[model.TiffData(ifd=6, plane_count=4)],
                ),
            ),
        ]
    )
    with tifffile.TiffWriter(path) as tw:
        planes = [p for c in a for p in c] + list(b)
        for i, plane in enumerate(planes):
            tw.write(plane, description=ome.to_xml() if i == 0 else None, metadata=None, contiguous=False)
    return path


def test_set_scene_by_ome_image_id_as_bioio(two_scenes: Path) -> None:
    ref = _bioio(two_scenes)
    with Reader(two_scenes) as r:
        assert tuple(r.scene_ids) == tuple(ref.scenes) == ("Image:0", "Image:1")
        assert r.scenes == ("first", "second")  # names; documented difference
        for scene_id in ref.scenes:
            ref.set_scene(scene_id)
            r.set_scene(scene_id)
            assert r.current_scene_index == ref.current_scene_index
            np.testing.assert_array_equal(r.data, ref.data)
        r.set_scene("first")  # names still work where unique
        assert r.current_scene_index == 0
        with pytest.raises(SceneIndexError, match="Image:0"):
            r.set_scene("Image:7")


def test_ids_win_over_names_and_duplicate_names_need_the_id(tmp_path: Path) -> None:
    path = tmp_path / "dupes.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(np.zeros((4, 5), "uint8"), metadata={"Name": "Image:1"})  # a name that is another's ID
        tw.write(np.ones((4, 5), "uint8"), metadata={"Name": "same"})
        tw.write(np.full((4, 5), 2, "uint8"), metadata={"Name": "same"})
    ids = [im.id for im in ome_types.from_tiff(path).images]
    with Reader(path, series_levels=False) as r:
        r.set_scene("Image:1")
        assert r.scene_ids[r.current_scene_index] == ids[1] == "Image:1"
        assert r.get_image_data("YX")[0, 0] == 1
        # Repeated names are told apart by the ID; the bare name is no scene, and the
        # message lists the IDs that select them.
        assert r.scenes == ("Image:1", f"same [{ids[1]}]", f"same [{ids[2]}]")
        with pytest.raises(SceneIndexError, match="scene IDs: 'Image:0', 'Image:1', 'Image:2'"):
            r.set_scene("same")
        r.set_scene(ids[2])
        assert r.get_image_data("YX")[0, 0] == 2


def test_metadata_is_the_ome_model_and_raw_xml_stays(two_scenes: Path) -> None:
    ref = _bioio(two_scenes)
    with Reader(two_scenes) as r:
        meta = r.metadata
        assert isinstance(meta, ome_types.OME)
        assert meta is r.metadata is r.ome_metadata  # parsed once, on first access
        assert meta.images[0].id == "Image:0"
        assert meta.images[1].name == "second"
        assert meta == ref.metadata == ome_types.from_xml(r.ome_xml)
        with tifffile.TiffFile(two_scenes) as tif:
            assert r.ome_xml == tif.ome_metadata


def test_unnamed_channels_are_named_by_their_ome_id(two_scenes: Path) -> None:
    ref = _bioio(two_scenes)
    ids = [c.id for c in ome_types.from_tiff(two_scenes).images[0].pixels.channels]
    with Reader(two_scenes) as r:
        assert r.channel_names == ["DAPI", ids[1]] == list(ref.channel_names)
        assert (
            r.xarray_dask_data.coords["C"].values.tolist() == ref.xarray_dask_data.coords["C"].values.tolist()
        )


@needs_corpus
@pytest.mark.parametrize("rel", _ome_entries())
def test_corpus_names_channels_sizes_and_standard_metadata_as_bioio(rel: str) -> None:
    path = CORPUS / rel
    ref = _bioio(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = Reader(path)
    with r:
        assert tuple(r.scene_ids) == tuple(ref.scenes)
        for scene_id in ref.scenes:
            ref.set_scene(scene_id)
            r.set_scene(scene_id)
            assert r.channel_names == list(ref.channel_names)
            assert tuple(r.physical_pixel_sizes) == tuple(ref.physical_pixel_sizes)
            assert r.dims.order == ref.dims.order
            assert r.shape == ref.shape
            ours, theirs = dataclasses.asdict(r.standard_metadata), dataclasses.asdict(ref.standard_metadata)
            assert list(ours) == list(theirs)
            # Time fields: measured from the first time point to the last (the documented
            # difference: bioio takes the last DeltaT, counted from the acquisition start).
            planes = ome_types.from_xml(r.ome_xml).images[r.current_scene_index].pixels.planes
            first = {p.the_t: p for p in planes if p.the_z == 0 and p.the_c == 0}
            times = [first[t].delta_t for t in sorted(first)] if first else []
            differ = {"timelapse_interval", "total_time_duration"}
            if len(times) >= 2 and all(t is not None for t in times) and len(times) == r.dims.T:
                factor = {"ms": 1e-3, "s": 1.0}.get(first[0].delta_t_unit.value)
                if factor is not None:
                    expected = timedelta(seconds=(times[-1] - times[0]) * factor)
                    assert abs(ours["total_time_duration"] - expected) < timedelta(microseconds=2)
                    assert abs(ours["timelapse_interval"] - expected / (len(times) - 1)) < timedelta(
                        microseconds=2
                    )
                if times[0] == 0:
                    differ = set()
            if r.current_scene_index > 0:
                # bioio reads these of the first OME image whatever the scene; here, the scene's own.
                image = ome_types.from_xml(r.ome_xml).images[r.current_scene_index]
                assert ours["imaging_datetime"] == image.acquisition_date
                differ |= {"binning", "imaged_by", "imaging_datetime", "objective"}
            for key in set(ours) - differ:
                assert ours[key] == theirs[key], key


def test_scale_time_interval_and_dimension_properties(two_scenes: Path) -> None:
    pixels = ome_types.from_tiff(two_scenes).images
    with Reader(two_scenes) as r:
        assert r.scale == (
            None,
            None,
            None,
            pixels[0].pixels.physical_size_y,
            pixels[0].pixels.physical_size_x,
        )
        assert r.time_interval is None
        props = r.dimension_properties
        assert props.X == ("space", "µm")
        assert props.Z == (None, None)
        assert props.T == (None, None)
        r.set_scene("Image:1")
        assert r.time_interval == timedelta(milliseconds=pixels[1].pixels.time_increment)
        assert r.scale.T == pytest.approx(0.0025)
        assert r.dimension_properties.T == ("time", "ms")
        # bioio's field names and order.
        assert r.scale._fields == ("T", "C", "Z", "Y", "X")


def test_bioio_base_reader_checks_pass_without_kept_handles(two_scenes: Path) -> None:
    ref = _bioio(two_scenes)
    ref.set_scene("Image:1")

    def make(path: Path, **kwargs: object) -> Reader:
        return Reader(path, keep_handles=False)

    test_utilities.run_image_file_checks(
        make,
        two_scenes,
        set_scene="Image:1",
        expected_scenes=("first", "second"),
        expected_current_scene="second",
        expected_shape=ref.shape,
        expected_dtype=ref.dtype,
        expected_dims_order=ref.dims.order,
        expected_channel_names=list(ref.channel_names),
        expected_physical_pixel_sizes=tuple(ref.physical_pixel_sizes),
        expected_metadata_type=ome_types.OME,
        reader_kwargs={},
    )
    first, second = _bioio(two_scenes), _bioio(two_scenes)
    second.set_scene(1)
    test_utilities.run_multi_scene_image_read_checks(
        make,
        two_scenes,
        first_scene_id=0,
        first_scene_shape=first.shape,
        first_scene_dtype=first.dtype,
        second_scene_id=1,
        second_scene_shape=second.shape,
        second_scene_dtype=second.dtype,
        allow_same_scene_data=False,
        reader_kwargs={},
    )


def test_default_keeps_the_file_open_between_calls(two_scenes: Path) -> None:
    from scitiff_readers.testing import open_handles_under

    with Reader(two_scenes) as r:
        r.get_image_data("YX", C=1, Z=2)
        assert open_handles_under(two_scenes)  # the documented default: fast repeated reads
        with pytest.raises(AssertionError):
            test_utilities.check_local_file_not_open(r)
    assert not open_handles_under(two_scenes)
    with Reader(two_scenes, keep_handles=False) as r:
        np.testing.assert_array_equal(
            r.get_image_dask_data("ZYX", C=1).compute(), r.get_image_data("ZYX", C=1)
        )
        assert not open_handles_under(two_scenes)


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "dim_order": "CZYX",
            "channel_names": ["DAPI", "GFP"],
            "physical_pixel_sizes": (2.0, 0.5, 0.25),
            "image_name": "cells",
        },
        {"dim_order": "ZYX"},
        {},
    ],
)
def test_ome_tiff_writer_save_writes_what_bioios_writer_writes(tmp_path: Path, kwargs: dict) -> None:
    from bioio_base.types import PhysicalPixelSizes as BioioSizes
    from bioio_ome_tiff.writers import OmeTiffWriter as BioioWriter
    from scitiff_readers_tiff.writer import OmeTiffWriter

    data = (np.arange(2 * 3 * 8 * 9) % 1021).astype("uint16").reshape(2, 3, 8, 9)
    if kwargs.get("dim_order") == "ZYX":
        data = data[0]
    theirs_kwargs = dict(kwargs)
    if "physical_pixel_sizes" in kwargs:
        theirs_kwargs["physical_pixel_sizes"] = BioioSizes(*kwargs["physical_pixel_sizes"])
    OmeTiffWriter.save(data, tmp_path / "ours.ome.tif", **kwargs)
    BioioWriter.save(data, tmp_path / "theirs.ome.tif", **theirs_kwargs)
    ours, theirs = (ome_types.from_tiff(tmp_path / f"{n}.ome.tif").images[0] for n in ("ours", "theirs"))
    for key in (
        "size_t",
        "size_c",
        "size_z",
        "size_y",
        "size_x",
        "physical_size_z",
        "physical_size_y",
        "physical_size_x",
        "type",
    ):
        assert getattr(ours.pixels, key) == getattr(theirs.pixels, key), key
    if "channel_names" in kwargs:
        assert [c.name for c in ours.pixels.channels] == [c.name for c in theirs.pixels.channels]
    if "image_name" in kwargs:
        assert ours.name == theirs.name == "cells"
    a, b = _bioio(tmp_path / "ours.ome.tif"), _bioio(tmp_path / "theirs.ome.tif")
    np.testing.assert_array_equal(a.data, b.data)
    OmeTiffWriter.save(data, tmp_path / "ours.ome.tif", **kwargs)  # replaces the file, as aicsimageio does


def test_ome_tiff_writer_save_refuses_what_it_does_not_do(tmp_path: Path) -> None:
    from scitiff_readers_tiff.writer import OmeTiffWriter

    data = np.zeros((4, 5), "uint8")
    with pytest.raises(TypeError, match="ome_xml"):
        OmeTiffWriter.save(data, tmp_path / "a.ome.tif", ome_xml="<OME/>")
    with pytest.raises(ValueError, match="one image per file"):
        OmeTiffWriter.save([data, data], tmp_path / "a.ome.tif")
    with pytest.raises(ValueError, match="does not fit"):
        OmeTiffWriter.save(data, tmp_path / "a.ome.tif", dim_order="ZYX")
    assert not (tmp_path / "a.ome.tif").exists()
