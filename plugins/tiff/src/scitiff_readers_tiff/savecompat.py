"""``OmeTiffWriter.save(data, uri, dim_order=..., channel_names=..., physical_pixel_sizes=...)``.

The call of aicsimageio's and bioio-ome-tiff's ``OmeTiffWriter.save``, as a thin
adapter over this plugin's OME-TIFF writer (:func:`scitiff_readers.write` with
``format="ome-tiff"``): the array and the keyword arguments become a labelled
DataArray (dims, channel names, pixel-size coordinates, image name), which the
writer turns into OME metadata. One image per call; an existing file is replaced,
as those writers do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import os
    from pathlib import Path

__all__ = ["save"]


def _one(value: Any, what: str) -> Any:
    """The single image of a one-element list: this adapter writes one image per file."""
    if not isinstance(value, list):
        return value
    if len(value) != 1:
        raise ValueError(
            f"OmeTiffWriter.save writes one image per file here; got {len(value)} {what} entries "
            "(write each image to its own file)"
        )
    return value[0]


def save(
    data: Any,
    uri: str | os.PathLike[str],
    dim_order: str | None = None,
    ome_xml: Any = None,
    channel_names: Sequence[str] | None = None,
    image_name: str | None = None,
    physical_pixel_sizes: Any = None,
    channel_colors: Any = None,
    **options: Any,
) -> Path:
    """Write ``data`` (numpy, dask or xarray; 2 to 6 dims) as OME-TIFF, as aicsimageio / bioio do.

    Parameters
    ----------
    data
        The image; a list holding one image is accepted.
    uri
        The output path (local files only).
    dim_order
        The data's dims as letters of ``TCZYXS`` (default: a DataArray's dims, else
        the trailing dims of ``TCZYX``).
    ome_xml, channel_colors
        Not supported (a :class:`TypeError` if given): the OME metadata is made from
        the arguments.
    channel_names
        Names of the channels.
    image_name
        The OME ``Image@Name``.
    physical_pixel_sizes
        ``(Z, Y, X)`` in µm (a sequence, a ``{"Z", "Y", "X"}`` mapping or a
        ``PhysicalPixelSizes``, whose units are kept); ``None`` entries are left out.
    **options
        Options of the OME-TIFF writer (``compression``, ``tile``, ``subresolutions`` ...);
        ``overwrite`` defaults to ``True``. aicsimageio's ``fs_kwargs`` and
        ``tifffile_kwargs`` are not supported.
    """
    import xarray as xr

    from scitiff_readers.backend import PhysicalPixelSizes, uniform_coordinate, write

    if ome_xml is not None or channel_colors is not None:
        raise TypeError(
            "OmeTiffWriter.save here makes the OME metadata from its arguments: ome_xml and "
            "channel_colors are not supported"
        )
    for key in ("fs_kwargs", "tifffile_kwargs"):
        if options.pop(key, None):
            raise TypeError(f"OmeTiffWriter.save: {key} is not supported (local files, the project's writer)")
    data = _one(data, "data")
    dim_order = _one(dim_order, "dim_order")
    image_name = _one(image_name, "image_name")
    if isinstance(channel_names, list) and channel_names and isinstance(channel_names[0], list):
        channel_names = _one(channel_names, "channel_names")
    if (
        isinstance(physical_pixel_sizes, list)
        and physical_pixel_sizes
        and not isinstance(physical_pixel_sizes[0], (int, float, type(None)))
    ):
        physical_pixel_sizes = _one(physical_pixel_sizes, "physical_pixel_sizes")
    if isinstance(data, xr.DataArray):
        array = data if dim_order is None else data.rename(dict(zip(data.dims, dim_order, strict=True)))
    else:
        order = dim_order or "TCZYX"[-data.ndim :]
        if len(order) != data.ndim:
            raise ValueError(f"dim_order {order!r} does not fit data of shape {tuple(data.shape)}")
        array = xr.DataArray(data, dims=tuple(order))
    array = array.rename({d: str(d).upper() for d in array.dims})
    if channel_names is not None:
        array = array.assign_coords(C=list(channel_names))
    if physical_pixel_sizes is not None:
        if isinstance(physical_pixel_sizes, Mapping):
            physical_pixel_sizes = (
                physical_pixel_sizes.get("Z"),
                physical_pixel_sizes.get("Y"),
                physical_pixel_sizes.get("X"),
            )
        units = getattr(physical_pixel_sizes, "units", None)
        z, y, x = physical_pixel_sizes
        sizes = PhysicalPixelSizes(z, y, x, units if units is not None else "µm")
        for dim, step, unit in zip("ZYX", sizes, sizes.units, strict=True):
            if step is not None and dim in array.dims:
                array = array.assign_coords(
                    {dim: uniform_coordinate(dim, array.sizes[dim], step, units=unit)}
                )
    if image_name is not None:
        array.name = image_name
    options.setdefault("overwrite", True)
    return write(array, uri, format="ome-tiff", **options)
