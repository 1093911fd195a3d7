"""``Reader(array, dim_order=...)`` against bioio's ArrayLikeReader (aicsimageio's, moved to bioio)."""

from __future__ import annotations

import pickle

import dask.array as da
import numpy as np
import pytest
import xarray as xr

import scitiff_readers
from scitiff_readers import MetadataError, PhysicalPixelSizes, Reader
from scitiff_readers._arrays import ArrayReader

bioio = pytest.importorskip("bioio")

RAMP = (np.arange(2 * 3 * 4 * 5) % 61).astype("uint16").reshape(2, 3, 4, 5)


def _ref(image: object, **kwargs: object) -> object:
    return bioio.BioImage(image, **kwargs)


@pytest.mark.parametrize(
    ("data", "dim_order"),
    [
        (RAMP, None),
        (RAMP, "CZYX"),
        (RAMP, "ZCYX"),
        (RAMP, "TZYX"),
        (RAMP[0], "YXS"),
        (RAMP[0, 0], None),
        (da.from_array(RAMP, chunks=(1, 2, 4, 5)), "CZYX"),
    ],
)
def test_array_input_reads_like_bioio(data: object, dim_order: str | None) -> None:
    ref = _ref(data, dim_order=dim_order)
    r = Reader(data, dim_order=dim_order)
    assert isinstance(r, ArrayReader)
    assert r.reader_name == "array"
    assert r.dims.order == ref.dims.order
    assert r.shape == ref.shape
    assert r.dtype == ref.dtype
    assert r.scenes == tuple(ref.scenes) == ("Image:0",)
    if "C" in (dim_order or "TCZYX"[-np.ndim(data) :]):
        assert r.channel_names == list(ref.channel_names)
    np.testing.assert_array_equal(r.data, ref.data)
    np.testing.assert_array_equal(r.get_image_data("ZYX", C=0), ref.get_image_data("ZYX", C=0))
    z = min(1, r.dims.Z - 1)
    np.testing.assert_array_equal(r.get_image_dask_data("YX", Z=z).compute(), ref.get_image_data("YX", Z=z))


def test_list_input_is_one_scene_per_array() -> None:
    images = [RAMP, RAMP[:, :2] * 2]
    ref = _ref(images, dim_order=["CZYX", "TZYX"], channel_names=[["a", "b"], None])
    r = Reader(images, dim_order=["CZYX", "TZYX"], channel_names=[["a", "b"], None])
    assert r.scenes == tuple(ref.scenes)
    for scene in ref.scenes:
        ref.set_scene(scene)
        r.set_scene(scene)
        assert r.shape == ref.shape
        assert r.channel_names == list(ref.channel_names)
        np.testing.assert_array_equal(r.data, ref.data)


def test_xarray_input_keeps_its_dims_coordinates_and_attrs() -> None:
    arr = xr.DataArray(
        RAMP[:, :, :, :],
        dims=("C", "Z", "Y", "X"),
        coords={
            "C": ["DAPI", "GFP"],
            "X": ("X", np.arange(5) * 0.25, {"units": "µm"}),
            "Y": ("Y", np.arange(4) * 0.25, {"units": "µm"}),
        },
        attrs={"origin": "test"},
    )
    ref = _ref(arr.copy())
    r = Reader(arr)
    assert r.dims.order == ref.dims.order
    assert r.channel_names == list(ref.channel_names) == ["DAPI", "GFP"]
    np.testing.assert_array_equal(r.data, ref.data)
    np.testing.assert_array_equal(r.coords["X"].values, arr.coords["X"].values)
    assert r.coords["X"].attrs["units"] == "µm"
    assert r.physical_pixel_sizes == (None, 0.25, 0.25)
    assert r.metadata == {"origin": "test"}
    # Lower-case dims are taken too (bioio needs upper case).
    lower = Reader(arr.rename({d: d.lower() for d in arr.dims}))
    assert lower.dims.order == "TCZYX"
    assert lower.channel_names == ["DAPI", "GFP"]
    np.testing.assert_array_equal(lower.data, ref.data)


def test_physical_pixel_sizes_forms_match_bioio() -> None:
    for given in (
        [2.0, 0.5, 0.25],
        {"Z": 2.0, "Y": 0.5, "X": 0.25},
        PhysicalPixelSizes(2.0, 0.5, 0.25, "µm"),
    ):
        ref = _ref(RAMP, dim_order="CZYX", physical_pixel_sizes=given)
        r = Reader(RAMP, dim_order="CZYX", physical_pixel_sizes=given)
        assert tuple(r.physical_pixel_sizes) == tuple(ref.physical_pixel_sizes)
        np.testing.assert_allclose(r.coords["Z"].values, np.arange(3) * 2.0)
    assert (
        Reader(
            RAMP, dim_order="CZYX", physical_pixel_sizes=PhysicalPixelSizes(2.0, 0.5, 0.25, "µm")
        ).physical_pixel_sizes.units.X
        == "µm"
    )


def test_bad_arguments_are_typed_errors() -> None:
    with pytest.raises(MetadataError, match="does not fit"):
        Reader(RAMP, dim_order="ZYX")
    with pytest.raises(MetadataError, match="no Y and X"):
        Reader(RAMP[0, 0], dim_order="CZ")
    with pytest.raises(MetadataError, match="channel names"):
        Reader(RAMP, dim_order="CZYX", channel_names=["only one"])
    with pytest.raises(MetadataError, match="cannot guess"):
        Reader(np.zeros((2,) * 7, "uint8"))
    with pytest.raises(ValueError, match="3 values given for 2"):
        Reader([RAMP, RAMP], dim_order=["CZYX", "CZYX", "CZYX"])
    with pytest.raises(TypeError, match="unknown option"):
        Reader(RAMP, dim_ordr="CZYX")


def test_pickles_and_imread_functions_take_arrays() -> None:
    r = Reader([RAMP, RAMP + 1], dim_order="CZYX")
    r.set_scene(1)
    again = pickle.loads(pickle.dumps(r))
    assert again.current_scene == "Image:1"
    np.testing.assert_array_equal(again.data, (RAMP + 1)[None])
    ref = bioio.BioImage([RAMP, RAMP + 1], dim_order="CZYX")
    ref.set_scene("Image:1")
    np.testing.assert_array_equal(
        scitiff_readers.imread([RAMP, RAMP + 1], scene_id="Image:1", dim_order="CZYX"), ref.data
    )
    np.testing.assert_array_equal(
        scitiff_readers.imread_dask(RAMP, dim_order="CZYX").compute(),
        bioio.bio_image.imread_dask(RAMP, dim_order="CZYX").compute(),
    )
    ours = scitiff_readers.imread_xarray(RAMP, dim_order="CZYX")
    theirs = bioio.bio_image.imread_xarray(RAMP, dim_order="CZYX")
    assert ours.dims == theirs.dims
    np.testing.assert_array_equal(ours.values, theirs.values)
    assert ours.coords["C"].values.tolist() == theirs.coords["C"].values.tolist()
    lazy = scitiff_readers.imread_xarray_dask(RAMP, dim_order="CZYX")
    assert isinstance(lazy.data, da.Array)
