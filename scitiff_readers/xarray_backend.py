"""The ``scitiff_readers`` engine of :func:`xarray.open_dataset` (entry point ``xarray.backends``).

::

    xr.open_dataarray("data.ome.tif", engine="scitiff_readers", scene=0, level=1, chunks={})
    xr.open_dataset("plate.ome.tif", engine="scitiff_readers", chunks={})  # every scene

The backend chooses the reader through the registry exactly like ``Reader(path)``.
Each scene is one data variable named after the scene, with the coordinates and
attributes of ``Reader(path).xarray_dask_data``. Pixels are read through the
backend's pixel source only when indexed; ``chunks={}`` gives dask arrays chunked
like ``xarray_dask_data`` (whole storage units, see :mod:`scitiff_readers._chunking`),
any other ``chunks=`` is honoured by xarray. This module is imported by xarray's
plugin machinery only, never by ``import scitiff_readers``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from ._chunking import chunk_shape
from ._eager import read_regions
from ._reader import Reader
from ._registry import select_reader
from ._sources import PixelSource
from .errors import ScitiffReadersError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ._sources import PixelSource

__all__ = ["ScitiffReadersBackendEntrypoint", "open_reader_dataset"]


class SourceBackendArray(BackendArray):
    """One scene / level of a reader as an xarray lazily indexed array."""

    def __init__(self, reader: Reader, scene: int, level: int) -> None:
        self._reader = reader
        self._scene = scene
        self._level = level
        source = self._source
        self.shape = tuple(int(n) for n in source.shape)
        self.dtype = np.dtype(source.dtype)

    @property
    def _source(self) -> PixelSource:
        return self._reader.image(self._scene, self._level).source

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        out: np.ndarray = indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )
        return out

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        # BASIC indexing: ints and slices. Read the step-1 bounding region, then step / drop in numpy.
        region: list[slice] = []
        after: list[Any] = []
        for index, size in zip(key, self.shape, strict=True):
            if isinstance(index, slice):
                start, stop, step = index.indices(size)
                if step < 0 or stop <= start:
                    region.append(slice(0, size))
                    after.append(index)
                else:
                    region.append(slice(start, stop))
                    after.append(slice(None, None, step))
            else:
                i = int(index) + (size if int(index) < 0 else 0)
                region.append(slice(i, i + 1))
                after.append(0)
        source = self._source
        out = np.empty(tuple(s.stop - s.start for s in region), dtype=self.dtype)
        if out.size:
            read_regions(source, [(tuple(region), out)], self._reader.chunk_bytes)
        picked: np.ndarray = out[tuple(after)]
        return picked


def _preferred_chunks(reader: Reader, scene: int, level: int) -> tuple[int, ...]:
    source = reader.image(scene, level).source
    return chunk_shape(source.shape, source.storage_chunks, source.dtype.itemsize, reader.chunk_bytes)


def _scene_variable(reader: Reader, scene: int, level: int) -> xr.DataArray:
    image = reader.image(scene, level)
    data = indexing.LazilyIndexedArray(SourceBackendArray(reader, scene, level))
    variable = xr.Variable(tuple(image.source.dims), data, attrs=dict(image.attrs))
    return xr.DataArray(variable, coords=image.resolved_coordinates(), name=reader.scenes[scene])


def _scene_index(reader: Reader, scene: int | str) -> int:
    reader.set_scene(scene)  # raises the reader's typed SceneIndexError for a bad scene
    return reader.current_scene_index


def _suffixed(array: xr.DataArray, suffix: str) -> xr.DataArray:
    renamed = {str(d): f"{d}{suffix}" for d in array.dims}
    return array.rename({**renamed, **{str(n): f"{n}{suffix}" for n in array.coords if n not in renamed}})


def _combine(arrays: list[xr.DataArray]) -> xr.Dataset:
    """One Dataset; scenes share dims when their coordinates agree, else get ``_<scene index>`` dims."""
    try:
        return xr.merge(arrays, join="exact", compat="no_conflicts", combine_attrs="drop_conflicts")
    except (ValueError, xr.MergeError):
        return xr.merge([_suffixed(a, f"_{i}") for i, a in enumerate(arrays)], combine_attrs="drop_conflicts")


def open_reader_dataset(
    path: str | os.PathLike[str],
    *,
    scene: int | str | None = None,
    level: int = 0,
    reader: str | None = None,
    reader_options: Mapping[str, Any] | None = None,
    drop_variables: Iterable[str] | None = None,
) -> xr.Dataset:
    """The Dataset the engine returns (lazily indexed, not yet chunked by xarray).

    Parameters
    ----------
    path
        A file or folder any installed reader can open.
    scene
        A scene index or name; ``None`` gives every scene, one data variable each.
    level
        The resolution level (0 = full resolution).
    reader
        A reader name to bypass automatic selection.
    reader_options
        Options for the reader (``chunk_bytes`` and the backend's own).
    drop_variables
        Coordinates to leave out.
    """
    opened = Reader(path, reader=reader, **dict(reader_options or {}))
    try:
        indices = range(len(opened.scenes)) if scene is None else [_scene_index(opened, scene)]
        arrays = []
        for index in indices:
            opened.set_scene(index)
            opened.set_resolution_level(level)  # the reader's typed error for a level the scene lacks
            arrays.append(_scene_variable(opened, index, level))
        dataset = arrays[0].to_dataset() if len(arrays) == 1 else _combine(arrays)
        for index, array in zip(indices, arrays, strict=True):
            # chunks={} then gives the reader's own chunks (whole storage units); set last, as
            # building the Dataset does not carry encodings over.
            variable = dataset.variables[str(array.name)]
            variable.encoding["preferred_chunks"] = dict(
                zip(variable.dims, _preferred_chunks(opened, index, level), strict=True)
            )
        if drop_variables:
            dataset = dataset.drop_vars(list(drop_variables), errors="ignore")
    except BaseException:
        opened.close()
        raise
    dataset.set_close(opened.close)
    dataset.attrs.update({"scitiff_readers_reader": opened.reader_name, "scitiff_readers_level": level})
    return dataset


class ScitiffReadersBackendEntrypoint(BackendEntrypoint):
    """``engine="scitiff_readers"``: every format an installed reader opens."""

    description = (
        "Scientific image stacks (SciTiff, NDTiff, OME-TIFF, TIFF, VISoR, OME-Zarr) via scitiff_readers"
    )
    url = "https://scitiff-readers.readthedocs.io/en/latest/xarray.html"
    open_dataset_parameters = (
        "filename_or_obj",
        "drop_variables",
        "scene",
        "level",
        "reader",
        "reader_options",
    )

    def open_dataset(
        self,
        filename_or_obj: Any,
        *,
        drop_variables: Iterable[str] | None = None,
        scene: int | str | None = None,
        level: int = 0,
        reader: str | None = None,
        reader_options: Mapping[str, Any] | None = None,
    ) -> xr.Dataset:
        """Open ``filename_or_obj`` (a path) as a Dataset; see :func:`open_reader_dataset`."""
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            raise TypeError(f"engine 'scitiff_readers' opens paths, not {type(filename_or_obj).__name__}")
        return open_reader_dataset(
            filename_or_obj,
            scene=scene,
            level=level,
            reader=reader,
            reader_options=reader_options,
            drop_variables=drop_variables,
        )

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Whether an installed reader recognises the path (content sniffing, never raises)."""
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            return False
        try:
            return select_reader(filename_or_obj) is not None
        except (ScitiffReadersError, OSError, ValueError):
            return False
