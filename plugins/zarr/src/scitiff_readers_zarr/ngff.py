"""NGFF images shared by the zarr plugin's readers: one multiscale image, one level, as an Image.

The OME-Zarr reader finds multiscale images in a hierarchy (plain groups, the
bioformats2raw layout, HCS plates); the VISoR reader finds them in a sample's
folders. Both describe a level of such an image the same way, here: the dataset's
array (its metadata read once), its axes mapped to ``TCZYX``, its NGFF coordinate
transformations as coordinates, the ``omero`` channel names and what this plugin's
writer kept beside the NGFF metadata.
"""

from __future__ import annotations

import posixpath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from scitiff_readers.backend import Image, resolve_inside
from scitiff_readers.errors import MetadataError

from .nodes import array_chunks, node_dtype, read_node, zarr_metadata

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from .ome import Multiscale

__all__ = ["EXTRAS_KEY", "ZarrImage", "build_image", "check_dataset_paths"]

#: The group attribute under which this plugin's writer keeps what NGFF cannot say
#: (see :mod:`.ngffmeta`, which imports it from here: an image without it never
#: loads that module).
EXTRAS_KEY = "scitiff_readers"


class ZarrImage(NamedTuple):
    """One multiscale image found in a zarr hierarchy (a scene)."""

    name: str
    rel: str  # group path relative to the root, "" for the root itself
    multiscale: Multiscale
    attrs: Mapping[str, Any]
    attrs_file: Path
    #: Facts about the image beyond its group (HCS: plate row and column, field, well).
    extra: Mapping[str, Any] = MappingProxyType({})


def check_dataset_paths(root: Path, image: ZarrImage) -> None:
    """Refuse, at open, any dataset path that would leave the zarr root."""
    for dataset in image.multiscale.datasets:
        rel = posixpath.join(image.rel, dataset.path) if image.rel else dataset.path
        resolve_inside(root, rel, what=f"multiscales dataset path (in {image.attrs_file})")


class _Declared(NamedTuple):
    """A dtype as :func:`~.source.checked_dtype` expects it on an array."""

    dtype: Any


def build_image(
    root: Path,
    image: ZarrImage,
    level: int,
    pipeline: str,
    token_extra: Any,
    extra_coords: Mapping[str, Any] | None = None,
    channel_names: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    time_always: bool = False,
) -> Image:
    """Describe one level of one multiscale image (opens its zarr array once)."""
    from .ome import axis_letters, omero_channel_names, spatial_coords
    from .source import ZarrArraySource, array_storage, array_token, checked_dtype, open_zarr_array

    ms = image.multiscale
    dataset = ms.datasets[level]
    rel = posixpath.join(image.rel, dataset.path) if image.rel else dataset.path
    path = resolve_inside(root, rel, what="multiscales dataset path")
    if (path / "zarr.json").is_file():
        fmt = 3
    elif (path / ".zarray").is_file():
        fmt = 2
    else:
        raise MetadataError(
            f"{image.attrs_file}: resolution level {level} (dataset path {dataset.path!r}) has no "
            f"array metadata: {path / 'zarr.json'} and {path / '.zarray'} are missing"
        )
    node = read_node(path)  # our own parse: errors name the file
    if node.kind != "array":
        raise MetadataError(
            f"{node.attrs_file or path}: resolution level {level} (dataset path {dataset.path!r}) "
            "is a group, not an array"
        )
    metadata = zarr_metadata(node)
    declared = node_dtype(node)
    if declared is not None:
        # Shape, dtype and storage from our own parse: zarr (a 0.1-0.3 s import in a
        # fresh process) loads only when pixels are read, from this same document.
        shape, array = node.shape, None
        chunks, shards = array_chunks(node)
        dtype, storage = checked_dtype(_Declared(declared), path), shards or chunks
    else:
        # A type only zarr can interpret: open it now (it also validates the document).
        array = open_zarr_array(path, fmt, pipeline, metadata)
        shape, dtype, storage = array.shape, checked_dtype(array, path), array_storage(array)
    letters = axis_letters(ms.axes, shape, image.attrs_file)
    token = array_token(path, token_extra, level, pipeline)
    source = ZarrArraySource(path, fmt, letters, shape, dtype, storage, token, pipeline, array, metadata)
    coords: dict[str, Any] = {}
    spatial, pps, _ = spatial_coords(ms, level, letters, shape, image.attrs_file, time_always)
    coords.update(spatial)
    # What our writer kept beside the NGFF metadata (irregular or unit-less steps,
    # non-index coordinates, attributes); only coordinates of this level's sizes.
    kept_attrs: dict[str, Any] = {}
    if EXTRAS_KEY in image.attrs:
        from .ngffmeta import restore_extras

        kept_coords, kept_attrs = restore_extras(image.attrs, dict(zip("TCZYX", source.shape, strict=False)))
        coords.update(kept_coords)
    if extra_coords:
        coords.update(extra_coords)
    names = (
        list(channel_names)
        if channel_names is not None
        else omero_channel_names(image.attrs, source.shape[1])
    )
    all_attrs = {
        **kept_attrs,
        "ngff_version": ms.version or "",
        "multiscale_path": image.rel or "/",
        "dataset_path": dataset.path,
    }
    all_attrs.update(attrs or {})
    return Image(
        source, coords=coords, channel_names=names, physical_pixel_sizes=pps, attrs=all_attrs, name=image.name
    )
