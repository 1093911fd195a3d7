"""Coordinate specs: uniform axes, and axes too long to hold (computed on demand)."""

from __future__ import annotations

import numpy as np
import pytest

from scitiff_readers import _coords as coords
from scitiff_readers._coords import UniformValues, uniform_coordinate_spec
from scitiff_readers._image import Image
from scitiff_readers._sources import ArraySource
from scitiff_readers.errors import ImageTooLargeError


def test_short_uniform_axes_are_arrays() -> None:
    dims, values, attrs = uniform_coordinate_spec("Z", 5, 0.5, 1.0, "micrometer")
    assert dims == ("Z",)
    assert attrs == {"units": "µm"}
    np.testing.assert_array_equal(values, 1.0 + 0.5 * np.arange(5))


def test_long_axis_is_a_range_index_with_numpy_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the threshold: an xarray RangeIndex whose values equal numpy's arange, with units kept."""
    xr = pytest.importorskip("xarray")
    if not hasattr(xr.indexes, "RangeIndex"):
        pytest.skip("xarray before 2025.06 has no RangeIndex")
    monkeypatch.setattr(coords, "LAZY_AXIS", 10)
    spec = uniform_coordinate_spec("T", 1000, 0.25, 3.0, "s")
    assert isinstance(spec[1], UniformValues)
    image = Image(ArraySource(np.zeros((1000, 1, 1, 2, 2), np.uint8), "TCZYX"), coords={"T": spec})
    expected = 3.0 + 0.25 * np.arange(1000, dtype=np.float64)
    variable = image.resolved_coords()["T"]
    assert variable.attrs["units"] == "s"
    np.testing.assert_allclose(variable.values, expected, rtol=0, atol=1e-9)
    coordinates = image.resolved_coordinates()
    assert type(coordinates.xindexes["T"]).__name__ == "RangeIndex"
    array = xr.DataArray(np.zeros((1000, 1, 1, 2, 2), np.uint8), dims=tuple("TCZYX"), coords=coordinates)
    np.testing.assert_allclose(array.isel(T=7)["T"].values, expected[7])
    assert int(array.sel(T=expected[7] + 0.01, method="nearest")["T"].values == expected[7]) == 1
    assert image.resolved_physical_pixel_sizes() == (None, None, None)


def test_materialising_an_axis_beyond_memory_is_refused() -> None:
    with pytest.raises(ImageTooLargeError, match="a coordinate of 1099511627776 values"):
        np.asarray(UniformValues(2**40, 1.0))
