"""Pixel sources: the one thing a backend must provide to read pixels.

A backend parses its file once at open and describes each scene / level as a
:class:`PixelSource`: the shape in ``TCZYX`` (or ``TCZYXS``) order, the dtype, the
natural storage unit (page, tile, zarr chunk or shard) and a thread-safe
:meth:`PixelSource.read` of any hyper-rectangle. The core's lazy engine
(:mod:`scitiff_readers._lazy`) turns that into dask arrays and eager reads; backends
never build dask graphs themselves.

Two ready-made bases cover most formats:

* :class:`PlaneSource` for page-based formats (TIFF, NDTiff): implement
  :meth:`PlaneSource.read_plane` and get regions for free.
* :class:`ArraySource` for chunked-array formats (zarr): wrap any sliceable array
  whose axes are a subset of ``TCZYX(S)``.

Sources travel inside dask graphs, so they must pickle small (a path and a parsed
index, never pixel data or an open handle) and re-open what they need on first use
in a new process.
"""

from __future__ import annotations

import functools
import uuid
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from ._axes import AxisMap
from ._dimensions import dims_for_ndim
from ._guards import typed_error

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["ArraySource", "PixelSource", "PlaneSource", "Region"]

#: A hyper-rectangle in canonical order: one ``slice(start, stop)`` (step 1) per dim.
Region = tuple[slice, ...]


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a pixel-reading method: whatever a library raises becomes a typed error naming file and region.

    The backstop for hostile files (see :mod:`scitiff_readers._guards`): no pixel read of
    any source leaks a library's own exception (``RuntimeError`` from a codec,
    ``struct.error``, ``IndexError`` ...).
    """
    if getattr(method, "_guards_pixel_reads", False):
        return method

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            typed = typed_error(
                exc, _source_name(args[0]), f"reading pixels {_region_text(args[1:], kwargs)}"
            )
            if typed is exc:
                raise
            raise typed from exc

    wrapper._guards_pixel_reads = True  # type: ignore[attr-defined]  # a marker attribute on the function object
    return wrapper


def _source_name(source: Any) -> str:
    """The file a source reads, for error messages."""
    for attr in ("path", "files", "paths"):
        value = getattr(source, attr, None)
        if isinstance(value, (list, tuple)) and value:
            value = value[0]
            while isinstance(value, (list, tuple)) and value:
                value = value[0]
        value = getattr(value, "path", value)
        if value is not None and not isinstance(value, (list, tuple)):
            return str(value)
    return type(source).__name__


def _region_text(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    for value in (*args, *kwargs.values()):
        if isinstance(value, tuple) and value and all(isinstance(s, slice) for s in value):
            return (
                "["
                + ", ".join(f"{d}={s.start}:{s.stop}" for d, s in zip("TCZYXS", value, strict=False))
                + "]"
            )
    return "(" + ", ".join(str(a) for a in args if isinstance(a, (int, slice))) + ")"


class PixelSource(ABC):
    """Thread-safe, picklable access to the pixels of one scene at one level.

    Subclasses set :attr:`shape`, :attr:`dtype` and :attr:`storage_chunks` in
    ``__init__`` and implement :meth:`read`. Overriding :meth:`read_into` lets eager
    reads decode straight into the caller's array without a temporary.
    """

    #: Shape in ``TCZYX`` or ``TCZYXS`` order.
    shape: tuple[int, ...]
    #: Pixel dtype.
    dtype: np.dtype[Any]
    #: Shape of the natural storage unit (a page is ``(1, 1, 1, Y, X)``, a 256x256
    #: tile ``(1, 1, 1, 256, 256)``, a zarr chunk or shard its shape in TCZYX order).
    storage_chunks: tuple[int, ...]
    #: ``True`` when one :meth:`read_into` call already decodes on several threads of
    #: its own and concurrent calls from Python threads do not overlap (the zarrs
    #: codec pipeline holds the GIL). Big reads are then handed over whole, in one
    #: call, instead of being split across the core's threads.
    decodes_in_parallel: bool = False

    _PIXEL_METHODS = ("read", "read_into", "read_plane")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls._PIXEL_METHODS:
            if name in cls.__dict__:
                setattr(cls, name, _guarded(cls.__dict__[name]))
        # read() and read_into() default to each other: a concrete source must
        # implement at least one of them.
        if not getattr(cls, "__abstractmethods__", None) and (
            cls.read is PixelSource.read and cls.read_into is PixelSource.read_into
        ):
            raise TypeError(f"{cls.__name__} must implement read() or read_into()")

    @property
    def dims(self) -> str:
        """``"TCZYX"`` or ``"TCZYXS"``."""
        return dims_for_ndim(len(self.shape))

    @property
    def token(self) -> str:
        """A name that identifies this source's pixels in dask graphs.

        The default is unique per object; sources override it with something stable
        (path, modification time, scene, level) so equal files give equal graph names.
        """
        tok = self.__dict__.get("_token")
        if tok is None:
            tok = uuid.uuid4().hex
            self.__dict__["_token"] = tok
        return str(tok)

    def read(self, region: Region) -> np.ndarray:
        """Return the pixels of ``region`` (one step-1 slice per dim), exact shape.

        The default allocates the result and calls :meth:`read_into`.
        """
        out = np.empty(tuple(s.stop - s.start for s in region), dtype=self.dtype)
        self.read_into(out, region)
        return out

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Write the pixels of ``region`` into ``out`` (a view of the caller's array).

        The default copies the result of :meth:`read`.
        """
        out[...] = self.read(region)

    def close(self) -> None:  # noqa: B027 - optional hook, most sources hold nothing
        """Release file handles; the source re-opens them if read again."""

    def __dask_tokenize__(self) -> str:
        return self.token


class PlaneSource(PixelSource):
    """A source whose storage unit is one 2-D plane (optionally tiled), as in TIFF.

    Implement :meth:`read_plane`; regions spanning many planes are assembled here.
    ``shape`` is ``(T, C, Z, Y, X)`` or ``(T, C, Z, Y, X, S)``.

    Parameters
    ----------
    shape, dtype
        The canonical shape and the pixel dtype.
    tile
        ``(tile_y, tile_x)`` when planes are stored in tiles or strips, so the
        core can chunk big planes along storage boundaries; ``None`` for whole planes.
    fill_value
        Value of planes that :meth:`read_plane` reports missing.
    """

    def __init__(
        self,
        shape: Sequence[int],
        dtype: Any,
        tile: tuple[int, int] | None = None,
        fill_value: float = 0,
    ) -> None:
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        ty, tx = tile if tile is not None else (self.shape[3], self.shape[4])
        self.storage_chunks = (1, 1, 1, min(ty, self.shape[3]), min(tx, self.shape[4]))
        self.storage_chunks += tuple(self.shape[5:])
        self.fill_value = fill_value

    @abstractmethod
    def read_plane(self, t: int, c: int, z: int, ys: slice, xs: slice) -> np.ndarray | None:
        """Return plane ``(t, c, z)`` cropped to ``ys``/``xs``, or ``None`` if missing.

        The result has shape ``(len(ys), len(xs))`` or ``(len(ys), len(xs), S)``.
        Called from several threads at once.
        """

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Write each plane of ``region`` straight into ``out``."""
        rt, rc, rz, ys, xs = region[:5]
        for i, t in enumerate(range(rt.start, rt.stop)):
            for j, c in enumerate(range(rc.start, rc.stop)):
                for k, z in enumerate(range(rz.start, rz.stop)):
                    plane = self.read_plane(t, c, z, ys, xs)
                    if plane is None:
                        out[i, j, k] = self.fill_value
                    elif len(region) > 5:
                        sample_index: tuple[Any, ...] = (Ellipsis, *region[5:])
                        out[i, j, k] = plane[sample_index]
                    else:
                        out[i, j, k] = plane


class ArraySource(PixelSource):
    """Wrap a sliceable array (zarr, numpy, h5py ...) whose axes are a subset of TCZYX(S).

    The axis mapping is :class:`~scitiff_readers.backend.AxisMap`'s; subclasses whose
    array is opened per process (a memory map, a zarr array) override
    :meth:`native_array` and call :meth:`_describe` instead of ``__init__``.

    Parameters
    ----------
    array
        Anything with ``shape``, ``dtype`` and numpy basic-slicing ``__getitem__``
        that is safe to call from several threads (zarr arrays are).
    axes
        The array's own axis order using the letters ``T C Z Y X S``, for example
        ``"CZYX"`` (``"_"`` for a size-1 axis that is no dim). Letters absent from
        ``axes`` become size-1 dimensions.
    storage_chunks
        The storage unit in the array's own axis order (zarr: ``shards`` or
        ``chunks``); defaults to ``array.chunks`` when present, else the whole array.
    """

    axis_map: AxisMap

    def __init__(
        self,
        array: Any,
        axes: str,
        storage_chunks: Sequence[int] | None = None,
        token: str | None = None,
    ) -> None:
        self.array = array
        native_chunks = storage_chunks or getattr(array, "chunks", None) or array.shape
        self._describe(axes, array.shape, array.dtype, native_chunks)
        if token is not None:
            self.__dict__["_token"] = token

    def _describe(
        self, axes: str, native_shape: Sequence[int], dtype: Any, native_chunks: Sequence[int]
    ) -> None:
        """Set :attr:`axes`, :attr:`shape`, :attr:`dtype` and :attr:`storage_chunks` from the array's own."""
        self.axis_map = AxisMap(axes)
        self.axes = axes
        self.native_shape = tuple(int(s) for s in native_shape)
        self.shape = self.axis_map.shape(self.native_shape)
        self.dtype = np.dtype(dtype)
        self.storage_chunks = self.axis_map.chunks(native_chunks, self.native_shape)

    def native_array(self) -> Any:
        """The wrapped array, in its own axis order."""
        return self.array

    def read(self, region: Region) -> np.ndarray:
        """Slice the wrapped array and reorder the block to canonical order."""
        return self.axis_map.to_canonical(self.native_array()[self.axis_map.index(region)], region)
