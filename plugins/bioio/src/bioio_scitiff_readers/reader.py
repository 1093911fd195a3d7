"""A ``bioio_base.reader.Reader`` over :class:`scitiff_readers.Reader`.

Each read opens our reader, takes its view and closes it again, so the bioio object
holds no file handle between reads (bioio-base's ``check_local_file_not_open``) and
pickles as a path plus options. The view keeps our coordinates, with their ``units``
attributes; the differences from bioio's own readers are listed in the docs
(``docs/bioio.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bioio_base import exceptions, io
from bioio_base import reader as bioio_reader
from bioio_base.types import PhysicalPixelSizes
from fsspec.implementations.local import LocalFileSystem

from scitiff_readers import Reader as ScitiffReader
from scitiff_readers import select_reader
from scitiff_readers.errors import ScitiffReadersError

if TYPE_CHECKING:
    from datetime import timedelta

    import xarray as xr

__all__ = ["Reader"]


class Reader(bioio_reader.Reader):
    """Any file or folder an installed scitiff_readers backend opens, as a bioio Reader.

    Parameters
    ----------
    image
        A local path (file or folder).
    fs_kwargs
        Accepted for bioio's API; only the local filesystem is supported.
    **kwargs
        Options of :class:`scitiff_readers.Reader`: ``reader=`` to name the backend,
        ``chunk_bytes=`` and the backend's own options.
    """

    NAME = "bioio-scitiff-readers"

    @staticmethod
    def _is_supported_image(fs: Any, path: str, **kwargs: Any) -> bool:
        if not isinstance(fs, LocalFileSystem):
            return False
        if kwargs.get("reader"):
            return True  # an explicit backend decides when it opens the file
        try:
            return select_reader(path) is not None
        except (ScitiffReadersError, OSError, ValueError):
            return False

    def __init__(self, image: Any, fs_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._fs, self._path = io.pathlike_to_fs(image, enforce_exists=True, fs_kwargs=fs_kwargs or {})
        if not self._is_supported_image(self._fs, self._path, **kwargs):
            raise exceptions.UnsupportedFileFormatError(self.__class__.__name__, self._path)
        self._options = dict(kwargs)
        with self._open() as reader:
            self._scene_names = tuple(reader.scenes)
            self._scenes = self._scene_names
            self._levels: list[int] = []
            for scene in range(len(self._scene_names)):
                reader.set_scene(scene)
                self._levels.append(len(reader.resolution_levels))
            self._backend = reader.reader_name

    def _open(self) -> ScitiffReader:
        reader = ScitiffReader(self._path, **self._options)
        reader.set_scene(self._current_scene_index)
        reader.set_resolution_level(self._current_resolution_level)
        return reader

    @property
    def scenes(self) -> tuple[str, ...]:
        """Scene names, as the backend names them."""
        return self._scene_names

    @property
    def resolution_levels(self) -> tuple[int, ...]:
        """Levels of the current scene, full resolution first."""
        return tuple(range(self._levels[self._current_scene_index]))

    @property
    def reader_name(self) -> str:
        """The scitiff_readers backend that reads the file (``"ndtiff"``, ``"scitiff"`` ...)."""
        return self._backend

    def _read_delayed(self) -> xr.DataArray:
        with self._open() as reader:
            # The dask graph re-opens the file on compute; nothing stays open.
            return reader.xarray_dask_data

    def _read_immediate(self) -> xr.DataArray:
        with self._open() as reader:
            return reader.xarray_data

    @property
    def metadata(self) -> Any:
        """The backend's metadata (the OME model of OME-TIFF, NDTiff summary, SciTiff models ...)."""
        if self._metadata is None:
            with self._open() as reader:
                self._metadata = reader.metadata
        return self._metadata

    @property
    def ome_metadata(self) -> Any:
        """The OME model of OME-TIFF files (``ome_types.OME``); other formats raise NotImplementedError."""
        with self._open() as reader:
            model = getattr(reader, "ome_metadata", None)
        if model is None:
            raise NotImplementedError(f"{self._backend} files carry no OME metadata")
        return model

    @property
    def physical_pixel_sizes(self) -> PhysicalPixelSizes:
        """Z, Y, X pixel sizes in the file's units (see the coordinates' ``units`` attributes)."""
        if self._physical_pixel_sizes is None:
            with self._open() as reader:
                z, y, x = reader.physical_pixel_sizes
            self._physical_pixel_sizes = PhysicalPixelSizes(z, y, x)
        return self._physical_pixel_sizes

    @property
    def time_interval(self) -> timedelta | None:
        """The step of a uniform, time-valued ``T`` coordinate (scitiff_readers' rule), else ``None``."""
        with self._open() as reader:
            return reader.time_interval
