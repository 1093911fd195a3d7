"""Pixels and coordinates into an :class:`xarray.DataArray`, without re-validating what is known.

``xr.DataArray(data, dims=..., coords=...)`` checks and copies every coordinate and
rebuilds its index: about a tenth of a millisecond, a fair part of a small file's whole
lazy read. The coordinates here come from :meth:`Image.resolved_coordinates
<scitiff_readers.backend.Image.resolved_coordinates>`, an :class:`xarray.Coordinates`
that xarray validated and indexed once, so the array is assembled with xarray's
``fastpath`` constructors after checking that every coordinate lies along the data's
dims with their sizes. Anything else (a coordinate of another length: a backend bug)
goes through the checking constructor, which raises xarray's own error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping, Sequence

    import xarray as xr

__all__ = ["make_dataarray"]


def _fits(coords: xr.Coordinates, sizes: Mapping[Hashable, int]) -> bool:
    for variable in coords.variables.values():
        for dim, size in zip(variable.dims, variable.shape, strict=True):
            if sizes.get(dim) != size:
                return False
    return all(name in coords.variables for name in coords.xindexes)


def make_dataarray(
    data: Any,
    dims: Sequence[str],
    coords: xr.Coordinates,
    attrs: Mapping[str, Any],
    name: str | None,
) -> xr.DataArray:
    """A DataArray of ``data`` along ``dims`` with ``coords`` (an :class:`xarray.Coordinates`).

    Each array gets its own variable objects and attribute dicts (changing one
    array's attributes never shows in another); the immutable pixel values of the
    coordinates and their indexes are shared.
    """
    import xarray as xr

    dims = tuple(dims)
    sizes: dict[Hashable, int] = dict(zip(dims, data.shape, strict=True))
    if len(sizes) != len(dims) or not _fits(coords, sizes):
        array = xr.DataArray(data, dims=dims, coords=coords, attrs=dict(attrs))
        # xarray would otherwise name the DataArray after the dask graph key.
        array.name = name
        return array
    variable = xr.Variable(dims, data, dict(attrs), fastpath=True)
    # The same class (IndexVariable for indexed coordinates), data and dims; fresh attrs.
    variables = {
        key: type(value)(value.dims, value._data, dict(value.attrs), dict(value.encoding), fastpath=True)  # type: ignore[arg-type]  # _data: xarray's own duck array
        for key, value in coords.variables.items()
    }
    return xr.DataArray(variable, variables, name=name, indexes=dict(coords.xindexes), fastpath=True)
