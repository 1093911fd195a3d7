"""The conformance rule that the lazy view survives xarray's everyday operations.

``sel``, ``interp``, ``coarsen``, ``resample``, ``to_netcdf`` and ``to_zarr`` on a
small window of the view, each checked against the same operation done with numpy on
the reference pixels (or, for samples without reference pixels, on the eagerly read
window), and the written files read back by xarray itself.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["PANDAS_TIME_UNITS", "check_everyday_operations"]

#: Time units of the view (after :func:`scitiff_readers.backend.normalize_unit`) -> pandas units.
PANDAS_TIME_UNITS: dict[str, Literal["ns", "us", "ms", "s", "min", "h"]] = {
    "ns": "ns",
    "µs": "us",
    "ms": "ms",
    "s": "s",
    "min": "min",
    "h": "h",
}

# Keep the files written and the pixels computed small whatever the sample's size.
_WINDOW = 4


def _window(view: Any, reference: np.ndarray | None) -> tuple[Any, np.ndarray]:
    index = {d: slice(0, _WINDOW) for d in view.dims if d in ("T", "Z", "Y", "X")}
    small = view.isel(index)
    if reference is None:
        pixels = np.asarray(small.values)
    else:
        pixels = reference[tuple(index.get(d, slice(None)) for d in view.dims)]
    return small, pixels


def _numeric_index(view: Any, dim: str) -> bool:
    return dim in view.indexes and view[dim].dtype.kind in "iuf" and view.sizes[dim] >= 2


def _check_sel(small: Any, pixels: np.ndarray) -> None:
    for dim in small.dims:
        if dim not in small.indexes or small.sizes[dim] < 2:
            continue
        label = small[dim].values[1]
        picked = (
            small.sel({dim: label}, method="nearest")
            if small[dim].dtype.kind in "iufM"
            else small.sel({dim: label})
        )
        np.testing.assert_array_equal(
            picked.values, np.take(pixels, 1, axis=small.dims.index(dim)), err_msg=f"sel({dim}={label!r})"
        )


def _check_interp(small: Any, pixels: np.ndarray) -> None:
    for dim in ("X", "Y"):
        if not _numeric_index(small, dim):
            continue
        values = small[dim].values.astype(np.float64)
        middle = (values[0] + values[1]) / 2
        got = small.astype(np.float64).interp({dim: middle}).values
        axis = small.dims.index(dim)
        want = (np.take(pixels, 0, axis=axis).astype(np.float64) + np.take(pixels, 1, axis=axis)) / 2
        np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"interp({dim}={middle})")


def _check_coarsen(small: Any, pixels: np.ndarray) -> None:
    # Coordinates are reduced with their mean, so only dims whose coordinates can be averaged.
    windows = {
        d: 2
        for d in ("T", "Z", "Y", "X")
        if d in small.dims
        and small.sizes[d] >= 2
        and all(c.dtype.kind in "iufMb" for c in small.coords.values() if d in c.dims)
    }
    if not windows:
        return
    got = small.coarsen(windows, boundary="trim").sum()
    want: np.ndarray = pixels.astype(np.float64) if pixels.dtype.kind == "f" else pixels.astype(np.int64)
    for axis, dim in enumerate(small.dims):
        if dim in windows:
            n = (want.shape[axis] // 2) * 2
            want = np.take(want, np.arange(n), axis=axis)
            want = want.reshape((*want.shape[:axis], n // 2, 2, *want.shape[axis + 1 :])).sum(axis=axis + 1)
    np.testing.assert_allclose(
        got.values.astype(np.float64), want.astype(np.float64), rtol=1e-6, err_msg=f"coarsen({windows}).sum()"
    )
    for dim in windows:
        if _numeric_index(small, dim):
            centres = small[dim].values.astype(np.float64)
            n = (len(centres) // 2) * 2
            np.testing.assert_allclose(
                got[dim].values,
                centres[:n].reshape(-1, 2).mean(axis=1),
                err_msg=f"coarsened {dim} coordinate",
            )


def _time_index(small: Any) -> Any:
    """The view with a time-like ``T`` index for ``resample``, or ``None`` when ``T`` is not time."""
    import pandas as pd

    if "T" not in small.dims or small.sizes["T"] < 2:
        return None
    if "T" in small.indexes and small["T"].dtype.kind in "mM":
        return small
    for name, coord in small.coords.items():  # a datetime coordinate along T (e.g. frame times)
        if coord.dims == ("T",) and coord.dtype.kind == "M" and name != "T":
            return small.assign_coords(T=coord.values)
    if "T" in small.indexes and small["T"].dtype.kind in "iuf":
        unit = PANDAS_TIME_UNITS.get(str(small["T"].attrs.get("units")))
        if unit is not None:
            return small.assign_coords(T=pd.to_timedelta(np.asarray(small["T"].values), unit=unit))
    return None


def _check_resample(small: Any, pixels: np.ndarray) -> None:
    timed = _time_index(small)
    if timed is None:
        return
    times = timed.indexes["T"]
    if not times.is_monotonic_increasing or times.has_duplicates:
        return
    span = times[-1] - times[0]
    # One bin holding every frame: the mean over T, whatever the spacing.
    step = span + (span if span.value > 0 else type(span)(1, "s"))
    got = timed.resample(T=step).mean()
    axis = small.dims.index("T")
    np.testing.assert_allclose(
        np.take(got.values, 0, axis=axis),
        pixels.astype(np.float64).mean(axis=axis),
        rtol=1e-6,
        err_msg="resample(T).mean()",
    )


def _check_written(small: Any, pixels: np.ndarray, path: Path, opener: Any) -> None:
    back = opener(path)
    try:
        image = back["image"]
        np.testing.assert_array_equal(image.values, pixels, err_msg=f"pixels read back from {path.name}")
        for name, coord in small.coords.items():
            assert name in back.coords, f"{path.name}: coordinate {name!r} was not written"
            np.testing.assert_array_equal(back[name].values, coord.values, err_msg=f"{path.name}: {name}")
            if coord.dtype.kind not in "mM" and "units" in coord.attrs:
                assert back[name].attrs.get("units") == coord.attrs["units"], f"{path.name}: units of {name}"
    finally:
        back.close()


def check_everyday_operations(view: Any, reference: np.ndarray | None, folder: Path) -> None:
    """Run every check on a small window of ``view`` (a reader's ``xarray_dask_data``).

    Raises
    ------
    AssertionError
        If an operation gives other pixels or coordinates than numpy on ``reference``.
    """
    import xarray as xr

    small, pixels = _window(view, reference)
    _check_sel(small, pixels)
    _check_interp(small, pixels)
    _check_coarsen(small, pixels)
    _check_resample(small, pixels)
    dataset = small.to_dataset(name="image")
    netcdf = folder / "view.nc"
    dataset.to_netcdf(netcdf, engine="h5netcdf")
    _check_written(small, pixels, netcdf, lambda p: xr.open_dataset(p, engine="h5netcdf"))
    store = folder / "view.zarr"
    with warnings.catch_warnings():
        # zarr 3 warns that string arrays (channel names, SciTiff / VISoR labels) have no Zarr v3
        # specification yet; the round trip below is what this rule checks.
        warnings.filterwarnings(
            "ignore", "The data type .* does not have a Zarr V3 specification", FutureWarning
        )
        dataset.to_zarr(store, mode="w", consolidated=False)
    _check_written(small, pixels, store, lambda p: xr.open_zarr(p, consolidated=False))
