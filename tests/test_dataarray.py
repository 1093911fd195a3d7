"""DataArray assembly: the fastpath result is the checking constructor's, variable for variable."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from scitiff_readers._coords import UniformValues
from scitiff_readers._dataarray import make_dataarray
from scitiff_readers._image import Image
from scitiff_readers._sources import ArraySource

DIMS = tuple("TCZYX")


def _reference(
    data: object, coords: xr.Coordinates, attrs: dict[str, object], name: str | None
) -> xr.DataArray:
    """xarray's own checking constructor: the ground truth."""
    array = xr.DataArray(data, dims=DIMS, coords=coords, attrs=dict(attrs))
    array.name = name
    return array


def _image(coords: dict[str, object], shape: tuple[int, ...] = (2, 3, 4, 5, 6)) -> Image:
    source = ArraySource(np.zeros(shape, np.uint8), "TCZYX")
    return Image(
        source,
        coords=coords,
        channel_names=["DAPI", "GFP", "RFP"][: shape[1]],
        attrs={"units": "counts"},
        name="img",
    )


CASES = {
    "channels only": {},
    "uniform axes with units": {
        "Z": ("Z", np.arange(4) * 0.5, {"units": "micrometer"}),
        "Y": ("Y", np.arange(5) * 0.1 + 3.0, {"units": "micrometer"}),
        "X": ("X", np.arange(6) * 0.1, {"units": "micrometer"}),
        "T": ("T", np.array([0.0, 2.5]), {"units": "second"}),
    },
    "non-index coordinate": {
        "Z": ("Z", np.arange(4.0)),
        "stage_time": (("T", "Z"), np.arange(8.0).reshape(2, 4), {"units": "second"}),
    },
    "datetime axis": {"T": ("T", np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[ns]"))},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("lazy", [True, False])
def test_fastpath_equals_the_checking_constructor(case: str, lazy: bool) -> None:
    image = _image(CASES[case])
    coords = image.resolved_coordinates()
    numpy_data = np.arange(2 * 3 * 4 * 5 * 6, dtype=np.uint16).reshape(2, 3, 4, 5, 6)
    data = da.from_array(numpy_data, chunks=(1, 1, 4, 5, 6)) if lazy else numpy_data
    fast = make_dataarray(data, DIMS, coords, image.attrs, image.name)
    ref = _reference(data, coords, dict(image.attrs), image.name)
    xr.testing.assert_identical(fast, ref)
    assert list(fast.xindexes) == list(ref.xindexes)
    for name in ref.coords:
        assert type(fast.coords[name].variable) is type(ref.coords[name].variable)
        assert fast.coords[name].attrs == ref.coords[name].attrs
    # Selections by label work through the shared indexes.
    xr.testing.assert_identical(fast.sel(C="GFP"), ref.sel(C="GFP"))
    assert (fast.data is data) == (ref.data is data)


def test_each_array_has_its_own_attrs() -> None:
    image = _image(CASES["uniform axes with units"])
    coords = image.resolved_coordinates()
    first = make_dataarray(np.zeros((2, 3, 4, 5, 6)), DIMS, coords, image.attrs, image.name)
    second = make_dataarray(np.zeros((2, 3, 4, 5, 6)), DIMS, coords, image.attrs, image.name)
    first.attrs["note"] = "mine"
    first.coords["Z"].attrs["units"] = "nanometer"
    assert "note" not in second.attrs
    assert second.coords["Z"].attrs["units"] == "micrometer"
    assert image.attrs == {"units": "counts"}
    assert coords["Z"].attrs["units"] == "micrometer"


def test_range_index_of_a_huge_declared_axis() -> None:
    size = 2**40
    shape = (size, 3, 4, 5, 6)
    image = Image(
        ArraySource(np.zeros((1, 3, 4, 5, 6), np.uint8), "TCZYX"),
        coords={"T": ("T", UniformValues(size, 2.0), {"units": "second"})},
    )
    coords = image.resolved_coordinates()
    data = da.zeros(shape, chunks=(2**30, 3, 4, 5, 6), dtype=np.uint8)
    fast = make_dataarray(data, DIMS, coords, {}, None)
    assert fast.sizes["T"] == size
    assert float(fast.coords["T"][-1]) == 2.0 * (size - 1)
    assert fast.coords["T"].attrs["units"] == "second"
    assert type(fast.xindexes["T"]) is type(coords.xindexes["T"])


def test_a_coordinate_that_does_not_fit_gets_xarrays_error() -> None:
    coords = xr.Coordinates({"Z": xr.Variable("Z", np.arange(3.0))})  # the data has Z = 4
    with pytest.raises(ValueError, match=r"conflicting sizes|length"):
        make_dataarray(np.zeros((2, 3, 4, 5, 6)), DIMS, coords, {}, None)
