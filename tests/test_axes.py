"""AxisMap and parse_dim_order against xarray's own transposition."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

from scitiff_readers._axes import AxisMap, parse_dim_order
from scitiff_readers.errors import MetadataError

SIZES = {"T": 2, "C": 3, "Z": 4, "Y": 5, "X": 6, "S": 3, "_": 1}
CASES = ["YX", "XY", "ZYX", "CZYX", "ZCYX", "TCZYX", "XYZCT", "YXS", "CYXS", "TZCYXS", "C_ZYX", "_T_YX"]


def _expected(native: np.ndarray, axes: str, canonical: str, region: tuple[slice, ...]) -> np.ndarray:
    """The reference: xarray renames, adds the missing dims, transposes and slices."""
    dims = [a if a != "_" else f"extra{i}" for i, a in enumerate(axes)]
    da = xr.DataArray(native, dims=dims).squeeze([d for d in dims if d.startswith("extra")], drop=True)
    da = da.expand_dims([d for d in canonical if d not in axes]).transpose(*canonical)
    return da.isel(dict(zip(canonical, region, strict=True))).values


@pytest.mark.parametrize("axes", CASES)
def test_read_and_write_through_the_map_match_xarray(axes: str) -> None:
    native_shape = tuple(SIZES[a] for a in axes)
    native = np.arange(int(np.prod(native_shape))).reshape(native_shape)
    m = AxisMap(axes)
    canonical = m.canonical
    assert canonical == ("TCZYXS" if "S" in axes else "TCZYX")
    shape = m.shape(native_shape)
    assert shape == tuple(SIZES[d] if d in axes else 1 for d in canonical)
    for starts in itertools.islice(itertools.product(*[range(min(n, 2)) for n in shape]), 12):
        region = tuple(slice(s, n) for s, n in zip(starts, shape, strict=True))
        want = _expected(native, axes, canonical, region)
        np.testing.assert_array_equal(m.to_canonical(native[m.index(region)], region), want)
        out = np.zeros(want.shape, dtype=native.dtype)
        m.native_view(out)[...] = native[m.index(region)]
        np.testing.assert_array_equal(out, want)


def test_chunks_are_clamped_to_the_dims() -> None:
    m = AxisMap("ZYX")
    assert m.chunks((1, 64, 64), (3, 10, 100)) == (1, 1, 1, 10, 64)


@pytest.mark.parametrize(("axes", "message"), [("ZQX", "outside TCZYXS"), ("ZZX", "repeat")])
def test_bad_axes(axes: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AxisMap(axes)


def test_parse_dim_order_guesses_and_checks() -> None:
    assert parse_dim_order(None, (4, 5), "f") == "YX"
    assert parse_dim_order(None, (1, 2, 3, 4, 5, 3), "f") == "TCZYXS"
    assert parse_dim_order("zyx", (2, 3, 4), "f") == "ZYX"
    with pytest.raises(MetadataError, match=r"f: cannot guess the dims of a 7-D array; it needs dim_order="):
        parse_dim_order(None, (1,) * 7, "f")
    with pytest.raises(MetadataError, match=r"f: dim_order 'ZYX' does not fit shape \(2, 3\)"):
        parse_dim_order("ZYX", (2, 3), "f")
    with pytest.raises(MetadataError, match="does not fit"):
        parse_dim_order("ZZX", (2, 3, 4), "f")
    with pytest.raises(MetadataError, match="has no Y and X"):
        parse_dim_order("TCZ", (2, 3, 4), "f")
