"""The aicsimageio / bioio names a :class:`~scitiff_readers.Reader` answers to, beyond its own API.

:class:`PeerCompatibleAPI` is mixed into :class:`~scitiff_readers.Reader`: the
summary types (:mod:`scitiff_readers.stdmeta`), the scene stacks
(:mod:`scitiff_readers._stacks`), the mosaic API (answered by backends that know
tiles through :meth:`PeerCompatibleAPI._mosaic`) and ``_fs``. The module-level
``imread_*`` functions mirror ``aicsimageio.imread_*`` / ``bioio.imread_*``.
Everything heavy is imported when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .errors import DimensionSelectionError

if TYPE_CHECKING:
    from datetime import timedelta

    import dask.array as da
    import numpy as np
    import xarray as xr

    from ._dimensions import Dimensions
    from ._reader import Reader
    from .stdmeta import DimensionProperties, Scale, StandardMetadata

__all__ = [
    "MosaicTiles",
    "PeerCompatibleAPI",
    "imread_dask",
    "imread_xarray",
    "imread_xarray_dask",
]


class MosaicTiles:
    """What a backend says about the tiles of the current scene (see :meth:`PeerCompatibleAPI._mosaic`).

    Parameters
    ----------
    tile_shape
        ``(Y, X)`` size of one tile.
    positions
        Top-left ``(Y, X)`` pixel of every tile in the stitched mosaic, in tile order.
    stitched
        A function returning the stitched mosaic of the current scene as a lazy
        DataArray (dims ``TCZYX``).
    """

    def __init__(self, tile_shape: tuple[int, int], positions: list[tuple[int, int]], stitched: Any) -> None:
        self.tile_shape = tile_shape
        self.positions = positions
        self.stitched = stitched


class PeerCompatibleAPI:
    """aicsimageio / bioio names; see the "Coming from aicsimageio / bioio" page of the docs."""

    def _reader(self) -> Reader:
        return cast("Reader", self)

    # -------------------------------------------------------------- summaries
    @property
    def standard_metadata(self) -> StandardMetadata:
        """The bioio ``StandardMetadata`` of the current scene (sizes, pixel sizes, time, OME facts)."""
        from .stdmeta import standard_metadata

        return standard_metadata(self._reader())

    @property
    def time_interval(self) -> timedelta | None:
        """Step of a uniform ``T`` coordinate with a time unit, as a ``timedelta`` (bioio); else ``None``."""
        from .stdmeta import time_interval

        return time_interval(self._reader())

    @property
    def scale(self) -> Scale:
        """The bioio ``Scale(T, C, Z, Y, X)``: ``T`` in seconds, ``C`` ``None``, ``Z, Y, X`` the pixel sizes."""
        from .stdmeta import scale

        return scale(self._reader())

    @property
    def dimension_properties(self) -> DimensionProperties:
        """The bioio per-dim ``(type, unit)``, units as strings (``"µm"``, ``"s"``)."""
        from .stdmeta import dimension_properties

        return dimension_properties(self._reader())

    @property
    def _fs(self) -> Any:
        """The fsspec file system of the path (bioio readers have one; local files here)."""
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()

    # ------------------------------------------------------------------ stacks
    def get_stack(self, **kwargs: Any) -> np.ndarray:
        """Every scene stacked along a new first dim ``I`` (bioio's ``get_stack``; options as there)."""
        from ._stacks import generate_stack

        return cast("np.ndarray", generate_stack(self._reader(), "data", **kwargs))

    def get_dask_stack(self, **kwargs: Any) -> da.Array:
        """Like :meth:`get_stack`, lazily (a dask array)."""
        from ._stacks import generate_stack

        return cast("da.Array", generate_stack(self._reader(), "dask_data", **kwargs))

    def get_xarray_stack(self, **kwargs: Any) -> xr.DataArray:
        """Like :meth:`get_stack`, as a DataArray with the first scene's coordinates."""
        from ._stacks import generate_stack

        return cast("xr.DataArray", generate_stack(self._reader(), "xarray_data", **kwargs))

    def get_xarray_dask_stack(self, **kwargs: Any) -> xr.DataArray:
        """Like :meth:`get_xarray_stack`, lazily."""
        from ._stacks import generate_stack

        return cast("xr.DataArray", generate_stack(self._reader(), "xarray_dask_data", **kwargs))

    # ------------------------------------------------------------------ mosaic
    def _mosaic(self) -> MosaicTiles | None:
        """The tiles of the current scene, for backends whose scenes are tiles of a mosaic (default none)."""
        return None

    def _need_mosaic(self) -> MosaicTiles:
        tiles = self._mosaic()
        if tiles is None:
            reader = self._reader()
            raise DimensionSelectionError(
                f"{reader.path}: scene {reader.current_scene!r} is not a tile of a mosaic "
                "(no mosaic tiles to position or stitch)"
            )
        return tiles

    @property
    def mosaic_tile_dims(self) -> Dimensions | None:
        """``Dimensions("YX", tile shape)`` when the current scene is a mosaic tile, else ``None``."""
        from ._dimensions import Dimensions

        tiles = self._mosaic()
        return None if tiles is None else Dimensions("YX", tiles.tile_shape)

    def get_mosaic_tile_positions(self, **kwargs: int) -> list[tuple[int, int]]:
        """Top-left ``(Y, X)`` pixel of every tile of the mosaic the current scene belongs to.

        ``T``, ``C``, ``Z`` selections are accepted for aicsimageio compatibility: tiles
        have the same position in every plane.
        """
        return list(self._need_mosaic().positions)

    def get_mosaic_tile_position(self, mosaic_tile_index: int, **kwargs: int) -> tuple[int, int]:
        """Top-left ``(Y, X)`` pixel of tile ``mosaic_tile_index`` in the stitched mosaic."""
        positions = self._need_mosaic().positions
        if not 0 <= int(mosaic_tile_index) < len(positions):
            raise DimensionSelectionError(
                f"{self._reader().path}: mosaic tile index {mosaic_tile_index} is out of range; "
                f"the mosaic has {len(positions)} tiles"
            )
        return positions[int(mosaic_tile_index)]

    @property
    def mosaic_xarray_dask_data(self) -> xr.DataArray:
        """The stitched mosaic the current tile belongs to, lazily, with coordinates."""
        return cast("xr.DataArray", self._need_mosaic().stitched())

    @property
    def mosaic_dask_data(self) -> da.Array:
        """The stitched mosaic as a dask array."""
        data: da.Array = self.mosaic_xarray_dask_data.data
        return data

    @property
    def mosaic_xarray_data(self) -> xr.DataArray:
        """The stitched mosaic read into memory, with coordinates."""
        return self.mosaic_xarray_dask_data.compute()

    @property
    def mosaic_data(self) -> np.ndarray:
        """The stitched mosaic read into a numpy array."""
        return cast("np.ndarray", self.mosaic_xarray_dask_data.data.compute())


def _open(image: Any, scene_id: str | int | None, **kwargs: Any) -> Reader:
    from ._reader import Reader

    reader = Reader(image, **kwargs)
    if scene_id is not None:
        reader.set_scene(scene_id)
    return reader


def imread_dask(image: Any, scene_id: str | int | None = None, **kwargs: Any) -> da.Array:
    """A scene of ``image`` (a path or array data) as a dask array, as ``bioio.imread_dask``."""
    return _open(image, scene_id, **kwargs).dask_data


def imread_xarray_dask(image: Any, scene_id: str | int | None = None, **kwargs: Any) -> xr.DataArray:
    """A scene of ``image`` as a lazy DataArray, as ``bioio.imread_xarray_dask``."""
    return _open(image, scene_id, **kwargs).xarray_dask_data


def imread_xarray(image: Any, scene_id: str | int | None = None, **kwargs: Any) -> xr.DataArray:
    """A scene of ``image`` read into a DataArray, as ``bioio.imread_xarray``."""
    with _open(image, scene_id, **kwargs) as reader:
        return reader.xarray_data
