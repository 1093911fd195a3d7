"""The :class:`Reader` base class: backend contract and user API in one object.

Backends implement four small things (:meth:`Reader._open`,
:meth:`Reader._scene_names`, :meth:`Reader._image` and :attr:`Reader.metadata`)
and declare ``name``, ``suffixes``, ``priority`` and ``options``. Everything the
user sees (dims, scenes, levels, dask / xarray views, selections, pickling, the
context manager) is implemented once, here and in the modules it uses.
"""

from __future__ import annotations

import errno
import os
from abc import ABC, ABCMeta, abstractmethod
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import numpy as np

from . import _handoff
from ._chunking import normalize_chunk_bytes
from ._compat import PeerCompatibleAPI
from ._dimensions import Dimensions
from ._eager import read_regions
from ._guards import check_allocation, library_errors
from ._options import ReaderOptions, options_class
from ._selection import parse_selection
from .errors import ImageTooLargeError, ResolutionLevelError, SceneIndexError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import dask.array as da
    import xarray as xr

    from ._coords import PhysicalPixelSizes
    from ._image import Image
    from ._sources import PixelSource


__all__ = ["COMMON_OPTIONS", "Reader"]

_F = TypeVar("_F")

if TYPE_CHECKING:
    # ``Reader(path)`` on the base class is the main user API: it returns a backend
    # instance. Type checkers would reject it as "instantiating an abstract class",
    # so they see the backend hooks as ordinary methods; at run time they are real
    # abstract methods and a backend that forgets one fails when instantiated.
    def _backend_hook(func: _F) -> _F:
        return func
else:
    _backend_hook = abstractmethod

#: Options every reader accepts, with their defaults (the fields of :class:`ReaderOptions`).
COMMON_OPTIONS: Mapping[str, Any] = MappingProxyType(ReaderOptions.defaults())


#: The dims a plane request may select (by a plain int each).
_PLANE_DIMS = frozenset("TCZ")


def _nbytes(region: Sequence[slice], dtype: np.dtype[Any]) -> int:
    size = dtype.itemsize
    for s in region:
        size *= s.stop - s.start
    return size


def _restore(cls: type[Reader], path: Any, options: dict[str, Any], scene: int, level: int) -> Reader:
    reader = cls(path, **options)
    reader.set_scene(scene)
    reader.set_resolution_level(level)
    return reader


def _storage_options(options: dict[str, Any]) -> dict[str, Any] | None:
    """``storage_options=`` (fsspec's name) or ``fs_kwargs=`` (bioio's name), merged."""
    merged = {**(options.get("fs_kwargs") or {}), **(options.get("storage_options") or {})}
    return merged or None


def _guarded_metadata(fget: Any) -> Any:
    """``fget`` with its errors typed by ``library_errors``."""
    import functools

    @functools.wraps(fget)
    def wrapper(self: Any) -> Any:
        with library_errors(self._path, "reading the metadata"):
            return fget(self)

    wrapper._sr_guarded = True  # type: ignore[attr-defined]
    return wrapper


class _ReaderMeta(ABCMeta):
    """Reader classes: each ``Reader(...)`` call is one :mod:`._handoff` scope.

    Selecting the backend (in ``__new__``) and opening the file (in ``__init__``) are
    two steps of one call; what the first parsed may be handed to the second.
    """

    if not TYPE_CHECKING:  # type checkers keep seeing ``__new__``'s signature

        def __call__(cls, *args, **kwargs):
            offers = _handoff.enter()
            try:
                return super().__call__(*args, **kwargs)
            finally:
                _handoff.leave(offers)


class Reader(PeerCompatibleAPI, ABC, metaclass=_ReaderMeta):
    """Open an image file lazily as ``T, C, Z, Y, X`` (plus ``S`` for RGB) data.

    Calling ``Reader(path)`` on this base class picks the installed backend that
    can read ``path`` and returns an instance of it; calling a backend class
    directly uses that backend.

    Parameters
    ----------
    path
        The file or dataset folder.
    reader
        A registered reader name (see :func:`scitiff_readers.list_readers`) or a
        Reader class, to skip automatic selection.
    **options
        Reader options: ``chunk_bytes`` (target dask chunk size, default 32 MiB),
        ``keep_handles`` (default ``True``: files stay open between calls, so
        repeated reads pay no re-open; ``False``: no file handle stays open after
        any call, as bioio guarantees, at the cost of opening the file for every
        read) and the backend's own options (its ``options`` class attribute). Unknown
        options raise :class:`TypeError` listing the valid ones.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnsupportedFormatError
        If no installed reader can open ``path``.

    Examples
    --------
    >>> from scitiff_readers import Reader
    >>> r = Reader("stack.tif")  # doctest: +SKIP
    >>> r.dims, r.reader_name  # doctest: +SKIP
    (<Dimensions [T: 10, C: 2, Z: 5, Y: 512, X: 512]>, 'tiff')
    >>> r.get_image_data("ZYX", T=0, C=1).shape  # doctest: +SKIP
    (5, 512, 512)
    """

    #: Registry name of the backend, for example ``"ndtiff"``.
    name: ClassVar[str] = ""
    #: Lower-case dotted suffixes this backend claims, longest first matters not.
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: Among readers claiming the same suffix, higher priority is sniffed first.
    priority: ClassVar[int] = 0
    #: One line shown by ``scitiff-readers plugins``.
    description: ClassVar[str] = ""
    #: The backend's typed options: a frozen dataclass subclassing :class:`ReaderOptions`
    #: (``Reader(path, **options)`` builds one, checked, before ``_open``).
    Options: ClassVar[type[ReaderOptions]] = ReaderOptions
    #: Backend-specific options and their defaults (derived from :attr:`Options`; a
    #: backend that declares this mapping instead gets an unchecked option class).
    options: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    # Backends read ``self._path`` and ``self._opts`` (an instance of their
    # :attr:`Options`); the core's other state lives in attributes prefixed ``_sr_``,
    # which backends must not use.
    _opts: ReaderOptions

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for suffix in cls.suffixes:
            if not suffix.startswith(".") or suffix != suffix.lower():
                raise TypeError(f"{cls.__name__}.suffixes: {suffix!r} must be lower-case and start with '.'")
        if "Options" in cls.__dict__:
            if not issubclass(cls.Options, ReaderOptions):
                raise TypeError(f"{cls.__name__}.Options must subclass scitiff_readers.backend.ReaderOptions")
            cls.options = MappingProxyType(
                {k: v for k, v in cls.Options.defaults().items() if k not in COMMON_OPTIONS}
            )
        elif "options" in cls.__dict__:
            clash = set(cls.options) & set(COMMON_OPTIONS)
            if clash:
                raise TypeError(f"{cls.__name__}.options redefines common options {sorted(clash)}")
            cls.Options = options_class(cls.__name__, cls.options)
        # A backend's metadata property reads what the file says: whatever it raises on a
        # damaged file becomes a typed error naming the file (like every other boundary).
        meta = cls.__dict__.get("metadata")
        if (
            isinstance(meta, property)
            and meta.fget is not None
            and not getattr(meta.fget, "_sr_guarded", False)
        ):
            cls.metadata = property(_guarded_metadata(meta.fget), meta.fset, meta.fdel, meta.__doc__)  # type: ignore[method-assign,assignment]

    # Not Self: called on the base class, it returns an instance of the backend it selects.
    def __new__(  # noqa: PYI034
        cls,
        path: str | os.PathLike[str],
        reader: str | type[Reader] | None = None,
        **options: Any,
    ) -> Reader:
        """On the base class, select a backend and return an instance of it."""
        if cls is Reader:
            if reader is None and not isinstance(path, (str, os.PathLike)):
                from ._arrays import ArrayReader, is_array_input

                if is_array_input(path):
                    # aicsimageio's ArrayLikeReader: numpy, dask or xarray data (or a list of them).
                    return super().__new__(ArrayReader)
            from ._registry import select_reader

            chosen = select_reader(path, reader, storage_options=_storage_options(options))
            return super().__new__(chosen)
        if reader is not None:
            from ._registry import get_reader_class

            wanted = get_reader_class(reader) if isinstance(reader, str) else reader
            if not issubclass(cls, wanted):
                raise TypeError(
                    f"{cls.__name__} was called with reader={reader!r}; "
                    "call Reader(path, reader=...) to choose a backend"
                )
        return super().__new__(cls)

    def __init__(
        self, path: str | os.PathLike[str], reader: str | type[Reader] | None = None, **options: Any
    ) -> None:
        storage_options = _storage_options(options)
        options.pop("storage_options", None)
        options.pop("fs_kwargs", None)
        # Read by _resolve_path: a URL or fsspec OpenFile becomes a RemotePath with these options.
        self._sr_storage_options = storage_options
        self._path = self._resolve_path(path)
        self._opts = type(self).Options.from_keywords(f"{type(self).__name__} ({self.name!r})", options)
        self._sr_given_options = dict(options)
        self._options = MappingProxyType(self._opts.as_dict())
        self._sr_chunk_bytes = normalize_chunk_bytes(self._opts.chunk_bytes)
        self._sr_scene = 0
        self._sr_level = 0
        self._sr_images: dict[tuple[int, int], Image] = {}
        # Sources given by _pixels (a plane read that built no Image); closed with the reader.
        self._sr_pixels: dict[tuple[int, int], PixelSource] = {}
        self._sr_dask_cache: dict[tuple[int, int], xr.DataArray] = {}
        self._sr_raw_dask_cache: dict[tuple[int, int], da.Array] = {}
        self._sr_eager_cache: dict[tuple[int, int], np.ndarray] = {}
        self._sr_scenes: tuple[str, ...] | None = None
        try:
            self._open()
        except Exception:
            # The backstop for hostile files: whatever a library raises while parsing
            # becomes a typed error naming the file (see scitiff_readers._guards). The
            # translating contexts are entered only on failure (entering them around
            # every open costs more than some opens' own work).
            from ._fileobjects import reader_limits

            with library_errors(self._path, "opening the file"), reader_limits(self._path, self.name):
                raise
        self._sr_scene = int(self._default_scene())
        self._sr_release()

    def _sr_release(self) -> None:
        """With ``keep_handles=False``, close every file handle at the end of an API call."""
        if not self._opts.keep_handles:
            self.close()

    # ---------------------------------------------------------------- backend API
    def _resolve_path(self, path: Any) -> Path:
        """The absolute path to open; :class:`FileNotFoundError` if it does not exist.

        Absolute, so pickled readers and graphs work in workers with another cwd.
        A URL or ``fsspec`` ``OpenFile`` becomes a
        :class:`~scitiff_readers._byteaccess.RemotePath` (with ``storage_options``).
        Readers of in-memory data override it.
        """
        if isinstance(path, (str, os.PathLike)):
            # Selecting the backend in this Reader() call resolved it, and found it exists.
            known: Path | None = _handoff.take(_handoff.LOCATION, "", path)
            if known is not None:
                return known
        from ._byteaccess import as_location

        resolved = as_location(path, getattr(self, "_sr_storage_options", None))
        if not resolved.exists():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(resolved))
        return resolved

    @_backend_hook
    def _open(self) -> None:
        """Parse the file's structure and metadata once (never its pixels)."""
        raise NotImplementedError

    @_backend_hook
    def _scene_names(self) -> Sequence[str]:
        """Names of the scenes, in file order."""
        raise NotImplementedError

    @_backend_hook
    def _image(self, scene: int, level: int) -> Image:
        """Describe scene ``scene`` at resolution level ``level`` (from metadata only)."""
        raise NotImplementedError

    def _scene_ids(self) -> Sequence[str] | None:
        """Stable identifiers of the scenes (e.g. OME ``Image@ID``), if the format has them.

        :meth:`set_scene` accepts them besides the names; default ``None`` (none).
        """
        return None

    def _default_scene(self) -> int:
        """Index of the scene that is current after opening (default 0)."""
        return 0

    def _level_count(self, scene: int) -> int:
        """Number of resolution levels of ``scene`` (default 1)."""
        return 1

    def _pixels(self, scene: int, level: int) -> PixelSource | None:
        """The pixel source of ``scene`` / ``level`` without its metadata, if the backend has it at hand.

        :meth:`get_image_data` reads pixels only: a backend whose :meth:`_image`
        derives metadata (sizes, names, units) may return here the very source object
        that :meth:`_image` puts in its :class:`Image`, so a read builds no Image.
        It must raise only this package's typed errors. Default ``None``: the
        :class:`Image` is built.
        """
        return None

    def _close(self) -> None:
        """Release backend resources beyond the pixel sources' file handles."""

    @property
    @_backend_hook
    def metadata(self) -> Any:
        """The file's metadata in its native form (OME-XML, JSON dict, ...)."""
        raise NotImplementedError

    @classmethod
    def can_open(cls, path: str | os.PathLike[str]) -> bool:
        """Whether this backend can read ``path``: cheap, and never raises for foreign files.

        The default accepts any existing path whose name ends with one of
        :attr:`suffixes`; backends override it with a content sniff.
        """
        from ._byteaccess import as_location

        location = as_location(path)
        name = location.name.lower()
        return any(name.endswith(s) for s in cls.suffixes) and location.exists()

    @classmethod
    def demo_sample(cls, folder: Path) -> Path | None:
        """Write a small sample file into ``folder`` for ``scitiff-readers demo``."""
        return None

    # ------------------------------------------------------------------ user API
    @property
    def path(self) -> Path:
        """The path that was opened."""
        return self._path

    @property
    def reader_name(self) -> str:
        """Registry name of the backend that read the file."""
        return self.name

    @property
    def reader_options(self) -> Mapping[str, Any]:
        """All options of this reader, with defaults filled in (as a mapping; backends use ``self._opts``)."""
        return self._options

    @property
    def chunk_bytes(self) -> int:
        """Target size of one dask chunk in bytes."""
        return self._sr_chunk_bytes

    @property
    def scenes(self) -> tuple[str, ...]:
        """Scene names, in file order."""
        if self._sr_scenes is None:
            self._sr_scenes = tuple(str(s) for s in self._scene_names())
        return self._sr_scenes

    @property
    def current_scene(self) -> str:
        """Name of the current scene."""
        return self.scenes[self._sr_scene]

    @property
    def current_scene_index(self) -> int:
        """Index of the current scene."""
        return self._sr_scene

    def set_scene(self, scene: int | str) -> None:
        """Make ``scene`` current; the resolution level resets to 0.

        ``scene`` is an index, a scene identifier where the format has them (an OME
        ``Image@ID`` such as ``"Image:1"``, as aicsimageio and bioio name scenes; always
        accepted) or a name from :attr:`scenes` (accepted when no other scene has it).
        """
        scenes = self.scenes
        if isinstance(scene, (int, np.integer)) and not isinstance(scene, bool):
            index = int(scene)
            if not 0 <= index < len(scenes):
                raise SceneIndexError(
                    f"{self._path}: scene index {index} is out of range; the file has "
                    f"{len(scenes)} scene(s), indices 0 to {len(scenes) - 1}"
                )
        else:
            index = self._scene_index_of(str(scene))
        self._sr_scene = index
        self._sr_level = 0

    def _scene_index_of(self, scene: str) -> int:
        """The index of the scene with identifier ``scene``, else with that (unique) name."""
        ids = self._scene_ids()
        if ids is not None:
            by_id = [i for i, s in enumerate(ids) if s == scene]
            if len(by_id) == 1:
                return by_id[0]
        scenes = self.scenes
        matches = [i for i, s in enumerate(scenes) if s == scene]
        if not matches:
            shown = ", ".join(map(repr, scenes[:10])) + (" ..." if len(scenes) > 10 else "")
            known_ids = "" if ids is None else "; scene IDs: " + ", ".join(map(repr, list(ids)[:10]))
            raise SceneIndexError(f"{self._path}: no scene named {scene!r}; scenes: {shown}{known_ids}")
        if len(matches) > 1:
            raise SceneIndexError(
                f"{self._path}: scene name {scene!r} is used by scenes {matches}; select by index"
                + ("" if ids is None else " or by ID")
            )
        return matches[0]

    @property
    def resolution_levels(self) -> tuple[int, ...]:
        """Resolution levels of the current scene, 0 being full resolution."""
        return tuple(range(self._level_count(self._sr_scene)))

    @property
    def current_resolution_level(self) -> int:
        """The current resolution level."""
        return self._sr_level

    def set_resolution_level(self, level: int) -> None:
        """Make ``level`` current for the current scene."""
        levels = self.resolution_levels
        if level not in levels:
            raise ResolutionLevelError(
                f"{self._path}: resolution level {level} does not exist for scene "
                f"{self.current_scene!r}; levels: {list(levels)}"
            )
        self._sr_level = int(level)

    def image(self, scene: int | None = None, level: int | None = None) -> Image:
        """The backend's :class:`Image` description of a scene / level (default current)."""
        key = (self._sr_scene if scene is None else scene, self._sr_level if level is None else level)
        cached = self._sr_images.get(key)
        if cached is None:
            try:
                with library_errors(self._path, f"reading the metadata of scene {key[0]} level {key[1]}"):
                    cached = self._sr_images[key] = self._image(*key)
            except ImageTooLargeError as exc:
                # Raised by shared helpers (coordinates) that do not know the file.
                if str(self._path) in str(exc):
                    raise
                raise ImageTooLargeError(f"{self._path}: {exc}") from exc
        return cached

    @property
    def dims(self) -> Dimensions:
        """Dimension names and sizes, from metadata."""
        # The source's (what Image.dims gives): asking for dims builds no coordinates or sizes.
        source = self._current_pixels()
        return Dimensions(source.dims, source.shape)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape in :attr:`dims` order, from metadata."""
        return self._current_pixels().shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """Pixel dtype, from metadata."""
        return self._current_pixels().dtype

    @property
    def channel_names(self) -> list[str]:
        """Channel names of the current scene."""
        image = self.image()
        with library_errors(self._path, "reading the channel names"):
            return list(image.resolved_channel_names())

    @property
    def physical_pixel_sizes(self) -> PhysicalPixelSizes:
        """Z, Y, X pixel sizes with :attr:`~PhysicalPixelSizes.units` (``None`` = unknown)."""
        image = self.image()
        with library_errors(self._path, "reading the pixel sizes"):
            return image.resolved_physical_pixel_sizes()

    @property
    def coords(self) -> dict[str, xr.Variable]:
        """All coordinates of the current scene / level, from metadata."""
        image = self.image()
        with library_errors(self._path, "building the coordinates"):
            return image.resolved_coords()

    def _make_dataarray(self, data: Any) -> xr.DataArray:
        image = self.image()
        with library_errors(self._path, "building the coordinates"):
            coords = image.resolved_coordinates()  # imports xarray: reading planes never needs it
        from ._dataarray import make_dataarray

        return make_dataarray(data, image.source.dims, coords, image.attrs, image.name)

    @property
    def xarray_dask_data(self) -> xr.DataArray:
        """The current scene / level as a lazy, dask-backed DataArray with coordinates."""
        key = (self._sr_scene, self._sr_level)
        cached = self._sr_dask_cache.get(key)
        if cached is None:
            cached = self._sr_dask_cache[key] = self._make_dataarray(self.dask_data)
        return cached

    @property
    def dask_data(self) -> da.Array:
        """The current scene / level as a dask array (the same one :attr:`xarray_dask_data` wraps)."""
        key = (self._sr_scene, self._sr_level)
        cached = self._sr_raw_dask_cache.get(key)
        if cached is None:
            # Imports dask only now, and not xarray: get_image_dask_data needs no labels.
            from ._lazy import to_dask

            name = f"{self.name}-s{key[0]}-l{key[1]}"
            source = self.image().source
            if not self._opts.keep_handles:
                from ._transient import TransientSource

                source = TransientSource(source)
            try:
                cached = self._sr_raw_dask_cache[key] = to_dask(source, self._sr_chunk_bytes, name=name)
            except ImageTooLargeError as exc:  # shared code that does not know the file
                raise ImageTooLargeError(f"{self._path}: {exc}") from exc
        return cached

    @property
    def xarray_data(self) -> xr.DataArray:
        """The current scene / level read into memory, with coordinates (pixels cached)."""
        return self._make_dataarray(self.data)

    @property
    def data(self) -> np.ndarray:
        """The current scene / level read into a numpy array (cached)."""
        key = (self._sr_scene, self._sr_level)
        cached = self._sr_eager_cache.get(key)
        if cached is None:
            self._sr_eager_cache.clear()  # keep at most one image in memory
            cached = self._sr_eager_cache[key] = self.get_image_data()
        return cached

    def get_image_data(self, dimension_order_out: str | None = None, **selection: Any) -> np.ndarray:
        """Read a selection straight into numpy, touching only what is selected.

        Parameters
        ----------
        dimension_order_out
            Dims of the result, for example ``"ZYX"``; default all dims in order.
            Dims not listed must select a single index (default index 0).
        **selection
            Per dim: an int, a list of ints or a slice, e.g. ``T=0, C=[0, 2]``.
        """
        try:
            return self._get_image_data(dimension_order_out, selection)
        finally:
            self._sr_release()

    def _current_pixels(self) -> PixelSource:
        """The current scene / level's source, without building its :class:`Image` if the backend can."""
        key = (self._sr_scene, self._sr_level)
        image = self._sr_images.get(key)
        if image is not None:
            return image.source
        source = self._sr_pixels.get(key)
        if source is None:
            source = self._pixels(*key)
            if source is None:
                return self.image().source
            self._sr_pixels[key] = source
        return source

    def _get_image_data(self, dimension_order_out: str | None, selection: dict[str, Any]) -> np.ndarray:
        source = self._current_pixels()
        plane = self._single_plane_region(source, dimension_order_out, selection)
        if plane is not None:
            # The common "one plane" request: one region, one read, no planning.
            check_allocation(_nbytes(plane, source.dtype), self._path, "the requested plane")
            out = np.empty(tuple(s.stop - s.start for s in plane), dtype=source.dtype)
            source.read_into(out, plane)
            return out.reshape(out.shape[3:])
        sel = parse_selection(source.dims, source.shape, dimension_order_out, selection, path=self._path)
        jobs, post, buffer_shape = sel.read_jobs()
        # Sizes come from the file: refuse what cannot be held before allocating it.
        check_allocation(
            int(np.prod(buffer_shape, dtype=object)) * source.dtype.itemsize,
            self._path,
            f"reading {dict(zip(source.dims, buffer_shape, strict=False))} into memory",
        )
        out = np.empty(buffer_shape, dtype=source.dtype)
        read_regions(source, [(region, out[index]) for region, index in jobs], self._sr_chunk_bytes)
        for d, p in enumerate(post):
            if not isinstance(p, slice):  # list / stepped selection on Y, X: subsample
                out = np.take(out, p, axis=d)
        return np.asarray(sel.finish(out))

    @staticmethod
    def _single_plane_region(
        source: Any, order: str | None, selection: dict[str, Any]
    ) -> tuple[slice, ...] | None:
        """The region of ``get_image_data("YX"[S], T=t, C=c, Z=z)`` with plain ints, else None."""
        dims = source.dims
        if order is None or order.upper() != dims[3:]:
            return None
        shape = source.shape
        region = []
        for d, size in zip("TCZ", shape, strict=False):
            value = selection.get(d, 0)
            if type(value) is not int or not 0 <= value < size:
                return None  # lists, slices, negatives, errors: the general path handles them
            region.append(slice(value, value + 1))
        for d in selection:
            if d not in _PLANE_DIMS:
                return None
        return (*region, *(slice(0, s) for s in shape[3:]))

    def get_image_dask_data(self, dimension_order_out: str | None = None, **selection: Any) -> da.Array:
        """Like :meth:`get_image_data`, but lazy: a dask array of the selection."""
        array = self.dask_data
        sel = parse_selection(self.dims.order, array.shape, dimension_order_out, selection, path=self._path)
        for d, index in enumerate(sel.dask_index()):
            if not (isinstance(index, slice) and index == slice(0, array.shape[d])):
                array = array[(slice(None),) * d + (index,)]
        from ._lazy import local_array

        # compute() without importing distributed when no client can exist (lazy.LocalArray).
        return local_array(sel.finish(array))

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        scenes: int | str | Sequence[int | str] | None = None,
        **options: Any,
    ) -> Path:
        """Write the file's scenes (default: every scene, at full resolution) with a registered writer.

        ``scenes`` picks scenes by index or name; the other keywords (``format``,
        ``overwrite``, ``split_scenes``, ``progress``, ``levels`` and the writer's
        options) are those of :func:`scitiff_readers.write`.
        """
        from ._writers import write

        return write(self, path, scenes=scenes, **options)

    # ----------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Close every file handle; the reader re-opens them if used again."""
        sources = {id(s): s for s in self._sr_pixels.values()}
        sources.update((id(image.source), image.source) for image in self._sr_images.values())
        for source in sources.values():
            source.close()
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        # A remote path pickles without its secrets (RemotePath.__getstate__).
        path: Any = str(self._path) if isinstance(self._path, Path) else self._path
        return (_restore, (type(self), path, self._sr_given_options, self._sr_scene, self._sr_level))

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} reader={self.name!r} path={str(self._path)!r} "
            f"scene={self._sr_scene} level={self._sr_level}>"
        )
