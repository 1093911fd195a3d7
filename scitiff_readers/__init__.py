"""scitiff_readers: scientific image stacks as lazy, labelled TCZYX arrays.

>>> from scitiff_readers import Reader
>>> r = Reader("file.tif")  # doctest: +SKIP
>>> r.xarray_dask_data  # doctest: +SKIP

Backends are plugins discovered through the ``scitiff_readers.readers`` entry-point
group; importing this package imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._compat import imread_dask, imread_xarray, imread_xarray_dask
from ._coords import PhysicalPixelSizes
from ._dimensions import Dimensions
from ._display import ChannelDisplay, channel_display
from ._image import Image
from ._reader import Reader
from ._registry import (
    feasibility_report,
    get_reader_class,
    list_readers,
    refresh_readers,
    register_reader,
    select_reader,
    unregister_reader,
)
from ._writers import Writer, list_writers, register_writer, write
from .errors import (
    CorruptFileError,
    DimensionSelectionError,
    FileObjectError,
    ImageTooLargeError,
    MetadataError,
    MissingDependencyError,
    OptionError,
    OutputExistsError,
    PluginLoadWarning,
    ReaderNotFoundError,
    RemoteAccessError,
    ResolutionLevelError,
    SceneIndexError,
    ScitiffReadersError,
    ScitiffReadersWarning,
    UnsupportedFormatError,
    UnsupportedWriteError,
    WriterNotFoundError,
)

# Documentation and reprs name the user-facing classes where users import them from.
for _obj in (ChannelDisplay, Dimensions, PhysicalPixelSizes, Reader, Writer, channel_display):
    _obj.__module__ = __name__
del _obj

if TYPE_CHECKING:
    __version__: str


def __getattr__(name: str) -> Any:
    # importlib.metadata (and the email, zipfile and csv modules it pulls in) costs
    # 10-20 ms of every fresh process; only asking for the version needs it.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("scitiff-readers")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            found = "0+unknown"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ChannelDisplay",
    "CorruptFileError",
    "DimensionSelectionError",
    "FileObjectError",
    "ImageTooLargeError",
    "Dimensions",
    "Image",
    "MetadataError",
    "MissingDependencyError",
    "OptionError",
    "OutputExistsError",
    "PhysicalPixelSizes",
    "PluginLoadWarning",
    "Reader",
    "ReaderNotFoundError",
    "RemoteAccessError",
    "ResolutionLevelError",
    "SceneIndexError",
    "ScitiffReadersError",
    "ScitiffReadersWarning",
    "UnsupportedFormatError",
    "UnsupportedWriteError",
    "Writer",
    "WriterNotFoundError",
    "__version__",
    "channel_display",
    "feasibility_report",
    "get_reader_class",
    "imread",
    "imread_dask",
    "imread_xarray",
    "imread_xarray_dask",
    "list_readers",
    "list_writers",
    "refresh_readers",
    "register_reader",
    "register_writer",
    "select_reader",
    "unregister_reader",
    "write",
]


def imread(path: Any, scene_id: str | int | None = None, **options: Any) -> Any:
    """Read a scene (default the first) of ``path`` into a numpy array (``Reader(path).data``).

    ``path`` may also be array data (see :class:`~scitiff_readers.Reader`);
    ``scene_id`` is a scene index, ID or name, as in ``bioio.imread``.
    """
    with Reader(path, **options) as reader:
        if scene_id is not None:
            reader.set_scene(scene_id)
        return reader.data
