"""``get_stack`` and its dask / xarray variants against bioio's (bioio_base.transforms.generate_stack)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from scitiff_readers import DimensionSelectionError, MetadataError, Reader

bioio = pytest.importorskip("bioio")

SCENES = [(np.arange(2 * 3 * 4 * 5) % 61 + k).astype("uint16").reshape(2, 3, 4, 5) for k in range(3)]


def _pair(images: list[np.ndarray]) -> tuple[Reader, object]:
    return Reader(images, dim_order="CZYX"), bioio.BioImage(images, dim_order="CZYX")


@pytest.mark.parametrize(
    "method", ["get_stack", "get_dask_stack", "get_xarray_stack", "get_xarray_dask_stack"]
)
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"select_scenes": [2, "Image:0"]}, {"scene_coord_values": "names"}, {"scene_character": "P"}],
)
def test_stacks_equal_bioio(method: str, kwargs: dict) -> None:
    r, ref = _pair(SCENES)
    ours, theirs = getattr(r, method)(**kwargs), getattr(ref, method)(**kwargs)
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    assert isinstance(ours, da.Array) == isinstance(theirs, da.Array) or "xarray" in method
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    if "xarray" in method:
        assert ours.dims == theirs.dims
        character = kwargs.get("scene_character", "I")
        assert (character in ours.coords) == (character in theirs.coords)
        if character in ours.coords:
            assert ours.coords[character].values.tolist() == theirs.coords[character].values.tolist()
        assert ours.coords["C"].values.tolist() == theirs.coords["C"].values.tolist()
    assert r.current_scene_index == 0  # the current scene is kept


def test_non_matching_scenes_raise_or_are_dropped_as_in_bioio() -> None:
    images = [SCENES[0], SCENES[1][:1], SCENES[2]]
    r, ref = _pair(images)
    with pytest.raises(MetadataError, match="drop_non_matching_scenes"):
        r.get_stack()
    ours, theirs = r.get_stack(drop_non_matching_scenes=True), ref.get_stack(drop_non_matching_scenes=True)
    np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(DimensionSelectionError, match="already a dim"):
        r.get_xarray_stack(scene_character="C", drop_non_matching_scenes=True)
    with pytest.raises(ValueError, match="scene_coord_values"):
        r.get_stack(scene_coord_values="ids")
