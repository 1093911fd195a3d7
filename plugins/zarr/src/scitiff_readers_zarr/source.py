"""Pixel sources over zarr arrays, read through zarr-python 3.

Small reads (a plane, a dask block) of the common layouts are decoded without
importing zarr by :mod:`.directchunks`, proven equal to zarr by its tests; every
other read goes through zarr.

Arrays are opened once per process, on first read, and kept: no metadata is
read per chunk. Sources pickle as paths plus the parsed layout and re-open in
the new process. Each read is ONE zarr call for the whole region (zarr's per
call overhead is large; inside a call it decodes chunks concurrently). Where it
pays, the call goes through a second handle whose codec pipeline is zarrs, the
Rust pipeline for zarr-python (see :func:`resolve_pipeline`).
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from scitiff_readers.backend import ArraySource, PixelSource, Region, file_token, is_remote
from scitiff_readers.errors import CorruptFileError, MissingDependencyError

from .chunkguard import ChunkGuard

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .directchunks import DirectReader

__all__ = ["GridSource", "ZarrArraySource", "array_from_metadata", "open_zarr_array", "resolve_pipeline"]


#: Reads of at most this many bytes of the array layouts :mod:`.directchunks` knows
#: are decoded without zarr (a plane or a dask block); bigger ones go through zarr.
DIRECT_MAX_BYTES = 8 * 2**20

#: Under ``codec_pipeline="auto"``, reads of unsharded arrays of at least this many
#: bytes use zarrs; smaller ones (a plane) use zarr-python's pipeline, which starts
#: faster in a fresh process and is as fast on a few chunks.
ZARRS_MIN_BYTES = 8 * 2**20


def resolve_pipeline(choice: str | None) -> str:
    """Check the ``codec_pipeline`` option: ``"auto"``, ``"zarrs"`` or ``"zarr"``.

    ``"auto"`` (when the ``zarrs`` package is installed) decodes with the zarrs
    (Rust) codec pipeline for zarr-python where it pays: every read of a sharded
    array (zarr-python's sharding codec is slow) and reads of at least
    :data:`ZARRS_MIN_BYTES`; small reads of chunked arrays use zarr-python's own
    pipeline. ``"zarrs"`` always uses zarrs, ``"zarr"`` never.
    """
    value = "auto" if choice is None else str(choice).lower()
    if value in ("zarr", "default", "python"):
        return "zarr"
    if value == "zarrs":
        try:
            import zarrs  # noqa: F401
        except ImportError:
            raise MissingDependencyError(
                "codec_pipeline='zarrs' needs the zarrs package: pip install zarrs"
            ) from None
        return value
    if value == "auto":
        # Only look for it: importing zarrs costs milliseconds that a cold "open one
        # plane" of an unsharded array (read with zarr-python's pipeline) never needs.
        # If it is installed but broken, with_zarrs() falls back to zarr-python.
        from importlib.util import find_spec

        return value if find_spec("zarrs") is not None else "zarr"
    raise ValueError(f"codec_pipeline must be 'auto', 'zarrs' or 'zarr', got {choice!r}")


def open_zarr_array(
    path: Path, zarr_format: int, pipeline: str, metadata: Mapping[str, Any] | None = None
) -> Any:
    """Open the zarr array at ``path`` read-only, with the codec pipeline ``pipeline``.

    ``pipeline`` is a value of :func:`resolve_pipeline`. ``metadata``, when given,
    is the array's metadata document as zarr reads it (``zarr.json``, or ``.zarray``
    with ``"attributes"`` from ``.zattrs``), already parsed by the caller: zarr then
    builds the array from it without reading the files again (see
    :func:`array_from_metadata`).

    The zarrs pipeline is attached to this array only (no change to zarr's
    process-wide configuration, unlike ``zarr.config.set``); it falls back to
    zarr-python's pipeline for anything it does not support.
    """
    import zarr

    array = array_from_metadata(path, metadata) if metadata is not None else None
    if array is None:
        try:
            # zarr_format is 2 or 3 (read from the metadata that found the array); zarr wants the Literal.
            array = zarr.open_array(store_for(path), mode="r", zarr_format=zarr_format)  # type: ignore[arg-type]
        except Exception as exc:  # zarr raises many types for broken metadata
            raise CorruptFileError(
                f"{path}: zarr cannot open this array: {type(exc).__name__}: {exc}"
            ) from exc
    _force_default_pipeline(array)
    from .guardedstore import GuardedStore

    store = getattr(getattr(array._async_array, "store_path", None), "store", None)
    if isinstance(store, GuardedStore):
        store.guard(array)
    if pipeline == "zarrs":
        return with_zarrs(array) or array
    return array


def array_from_metadata(path: Path, metadata: Mapping[str, Any]) -> Any | None:
    """A read-only zarr array at ``path`` built from its parsed metadata document.

    What ``zarr.open_array`` does after reading the metadata files: parse the
    document (zarr validates it) and attach a local store. Skipping the second read
    of the files, and the round trip through zarr's event loop, saves milliseconds
    on a cold open. ``None`` if zarr refuses the document: the caller then opens the
    array the usual way, which reports the problem.
    """
    try:
        import zarr
        from zarr.core.array import AsyncArray
        from zarr.storage import StorePath

        # zarr may keep or adjust the dict it is given: hand it a copy.
        inner = AsyncArray(
            metadata=dict(metadata),  # type: ignore[call-overload]  # zarr overloads on TypedDicts of v2/v3 documents; this is a parsed .zarray/zarr.json, refused by zarr if wrong
            store_path=StorePath(store_for(path)),
        )
        return zarr.Array(inner)
    except Exception:  # noqa: BLE001 - fall back to zarr.open_array and its errors
        return None


def store_for(path: Any) -> Any:
    """A read-only zarr store: local folders, or zarr's own fsspec store for a remote location."""
    if is_remote(path):
        from zarr.storage import FsspecStore

        from .guardedstore import GuardedStore

        # Blosc headers are checked as the chunk bytes arrive (the local guard checks files).
        return GuardedStore(
            FsspecStore.from_url(path.url, storage_options=path.options_with_secrets or None, read_only=True),
            path,
        )
    from zarr.storage import LocalStore

    return LocalStore(path, read_only=True)


def with_zarrs(array: Any) -> Any | None:
    """A second handle on ``array`` that decodes with zarrs (``None`` if zarrs cannot).

    Built from the already parsed metadata (no file is read). The pipeline is set on
    this handle only: zarr's process-wide configuration is not changed (unlike
    ``zarr.config.set``, which visor-py uses).
    """
    if not _zarrs_can_read(array) or not _local_store(array):
        return None
    try:
        import zarr
        from zarr.core.array import AsyncArray
        from zarrs import ZarrsCodecPipeline

        inner = array._async_array
        clone = AsyncArray(metadata=inner.metadata, store_path=inner.store_path, config=inner.config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "unsupported by zarrs": it falls back by itself
            codec_pipeline = ZarrsCodecPipeline.from_array_metadata_and_store(
                inner.metadata, inner.store_path.store
            )
        object.__setattr__(clone, "codec_pipeline", codec_pipeline)
        return zarr.Array(clone)
    except Exception:  # noqa: BLE001 - any problem: keep zarr-python's own pipeline
        return None


def _local_store(array: Any) -> bool:
    """Whether ``array`` reads from a local folder.

    zarrs drives a remote (fsspec) store from its own threads and stalls there;
    fetching, not decoding, dominates remote reads anyway.
    """
    store = getattr(getattr(getattr(array, "_async_array", None), "store_path", None), "store", None)
    return type(store).__name__ == "LocalStore"


def _zarrs_can_read(array: Any) -> bool:
    """Whether zarrs can decode this array: native-endian numbers only (it refuses big-endian output)."""
    try:
        dtype = np.dtype(array.dtype)
    except TypeError:
        return False
    return dtype.isnative and dtype.kind in "biufc"


def _force_default_pipeline(array: Any) -> None:
    """Use zarr-python's own pipeline even if another library changed zarr's global default."""
    try:
        from zarr.core.codec_pipeline import BatchedCodecPipeline

        inner = array._async_array
        if not isinstance(inner.codec_pipeline, BatchedCodecPipeline):
            meta = inner.metadata
            if meta.zarr_format == 3:
                codecs = list(meta.codecs)
            else:
                from zarr.codecs._v2 import V2Codec

                codecs = [V2Codec(filters=meta.filters, compressor=meta.compressor)]
            object.__setattr__(inner, "codec_pipeline", BatchedCodecPipeline.from_codecs(codecs))
    except Exception:  # noqa: BLE001 - keep whatever zarr chose
        pass


class _LazyArrays:
    """Array handles opened on first use, once per process (a fork or unpickle re-opens)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrays: dict[Any, Any] = {}
        self._pid = os.getpid()

    def get(self, key: Any, opener: Any) -> Any:
        arrays = self._arrays
        if self._pid == os.getpid():
            found = arrays.get(key)
            if found is not None:
                return found
        with self._lock:
            if self._pid != os.getpid():
                self._arrays, self._pid = {}, os.getpid()
            found = self._arrays.get(key)
            if found is None:
                found = self._arrays[key] = opener()
            return found

    def clear(self) -> None:
        with self._lock:
            self._arrays = {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Open handles belong to this process: a pickled cache arrives empty.
        return (_LazyArrays, ())

    def for_read(
        self,
        key: Any,
        path: Path,
        zarr_format: int,
        pipeline: str,
        nbytes: int,
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        """The handle to read ``nbytes`` with: zarr-python's pipeline or zarrs (see ``pipeline``)."""
        base = self.get(key, lambda: open_zarr_array(path, zarr_format, pipeline, metadata))
        sharded = getattr(base, "shards", None) is not None
        if pipeline == "auto" and (sharded or nbytes >= ZARRS_MIN_BYTES):
            return self.get((key, "zarrs"), lambda: with_zarrs(base) or base)
        return base


def _ndbuffer(view: np.ndarray) -> Any:
    from zarr.core.buffer.cpu import NDBuffer

    return NDBuffer.from_ndarray_like(view)  # type: ignore[arg-type]  # numpy's ndarray does not match zarr's NDArrayLike protocol exactly (overloaded all/reshape); zarr's own CPU buffer wraps ndarrays


def uses_zarrs(array: Any) -> bool:
    """Whether ``array`` decodes with the zarrs pipeline."""
    pipeline = getattr(getattr(array, "_async_array", None), "codec_pipeline", None)
    return type(pipeline).__name__ == "ZarrsCodecPipeline"


def _read_array_into(array: Any, index: tuple[slice, ...], out: np.ndarray) -> None:
    """``out[...] = array[index]`` decoding straight into ``out`` when possible.

    ``out`` has the selection's shape in the array's own axis order.
    """
    # zarrs decodes into C-contiguous buffers only (it raises "input array must be a
    # C contiguous array" otherwise): decode into a temporary and copy. zarr-python
    # writes into any strided view.
    if out.flags.c_contiguous or not uses_zarrs(array):
        array.get_basic_selection(index, out=_ndbuffer(out))
    else:
        out[...] = array.get_basic_selection(index)


class ZarrArraySource(ArraySource):
    """One zarr array whose axes map to ``TCZYX``.

    Parameters
    ----------
    path
        Folder of the array.
    zarr_format
        2 or 3.
    axes
        One letter per array axis: a letter of ``TCZYX``, or ``"_"`` for a size-1
        axis that maps to no dim.
    array_shape, dtype
        From the array metadata.
    storage
        Storage unit in the array's axis order: the shard shape for sharded arrays,
        else the chunk shape.
    token
        Stable name for dask graphs.
    pipeline
        ``"auto"``, ``"zarrs"`` or ``"zarr"`` (see :func:`resolve_pipeline`).
    """

    def __init__(
        self,
        path: Path,
        zarr_format: int,
        axes: str,
        array_shape: Sequence[int],
        dtype: Any,
        storage: Sequence[int],
        token: str,
        pipeline: str = "zarr",
        array: Any = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path if is_remote(path) else Path(path)
        self.zarr_format = int(zarr_format)
        self.pipeline = pipeline
        self._describe(axes, array_shape, dtype, storage)
        self.__dict__["_token"] = token
        self._arrays = _LazyArrays()
        self._guard = ChunkGuard(self.path)
        # The parsed metadata document: the array opens from it on first read, without
        # reading its files again (see open_zarr_array).
        self._metadata = dict(metadata) if metadata is not None else None
        if array is not None:
            # The reader opened it already (to learn shape, dtype, chunks): keep it.
            self._arrays.get(0, lambda: array)

    @property
    def decodes_in_parallel(self) -> bool:  # type: ignore[override]  # the base declares a plain class attribute; this source decides per instance
        """Big reads go through zarrs, which decodes the chunks of one call on its own threads.

        Concurrent zarrs calls from Python threads run one after the other, so the
        core hands such sources whole regions rather than splitting them. Remote
        arrays too: one zarr call fetches all the chunks of its region concurrently
        (zarr's async fsspec store), while one call per chunk from the core's few
        threads would wait for the round trips a few at a time.
        """
        return self.pipeline != "zarr" or is_remote(self.path)

    def _array(self, nbytes: int) -> Any:
        return self._arrays.for_read(0, self.path, self.zarr_format, self.pipeline, nbytes, self._metadata)

    def native_array(self) -> Any:
        """The zarr array (opened once per process, on first use)."""
        return self._array(0)

    def read(self, region: Region) -> np.ndarray:
        """Decode ``region`` into a new array (through :meth:`read_into`: guarded, one zarr call)."""
        return PixelSource.read(self, region)

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Decode ``region`` straight into ``out`` with one zarr call.

        ``out`` is written through a view in the array's axis order, so even arrays
        whose axes are not in ``TCZYX`` order decode without a temporary (except
        with zarrs when that view is not C-contiguous, see :func:`_read_array_into`).
        """
        direct = self._direct(out.nbytes)
        if direct is not None:
            direct.read_into(self.axis_map.native_view(out), self.axis_map.index(region))
            return
        array = self._array(out.nbytes)
        self._guard.read(array, self.axis_map.index(region), self.axis_map.native_view(out), _read_array_into)

    def _direct(self, nbytes: int) -> DirectReader | None:
        """The zarr-free reader of this array, for reads up to :data:`DIRECT_MAX_BYTES`.

        A plane of a fresh process then costs no zarr import (see :mod:`.directchunks`);
        bigger reads, remote arrays and layouts it does not know go through zarr.
        """
        if nbytes > DIRECT_MAX_BYTES or self._metadata is None or is_remote(self.path):
            return None
        reader = self.__dict__.get("_direct_reader", False)
        if reader is False:
            from .directchunks import DirectReader, direct_layout

            layout = direct_layout(self._metadata)
            ok = (
                layout is not None
                and layout.shape == self.native_shape
                and layout.dtype.newbyteorder("=") == self.dtype.newbyteorder("=")
            )
            reader = DirectReader(self.path, layout) if ok and layout is not None else None
            self.__dict__["_direct_reader"] = reader
        return cast("DirectReader | None", reader)

    def close(self) -> None:
        """Forget the opened arrays (they re-open on the next read)."""
        # zarr's local store opens and closes files per read; dropping the arrays
        # releases anything a codec pipeline may hold.
        self._arrays.clear()


class GridSource(PixelSource):
    """A ``T x C`` grid of 3-D (``Z, Y, X``) zarr arrays of equal shape and dtype.

    Used for the original VISoR layout, where each stack is a group holding one
    array per channel. Missing grid cells read as ``fill_value``.
    """

    def __init__(
        self,
        paths: Sequence[Sequence[Path | None]],
        zarr_format: int,
        zyx_shape: Sequence[int],
        dtype: Any,
        storage: Sequence[int],
        token: str,
        pipeline: str = "zarr",
        fill_value: float = 0,
    ) -> None:
        self.paths = [[None if p is None else p if is_remote(p) else Path(p) for p in row] for row in paths]
        self.zarr_format = int(zarr_format)
        self.dtype = np.dtype(dtype)
        self.pipeline = pipeline
        self.fill_value = fill_value
        n_t, n_c = len(self.paths), max((len(r) for r in self.paths), default=0)
        self.shape = (n_t, n_c, *(int(s) for s in zyx_shape))
        self.storage_chunks = (
            1,
            1,
            *(max(1, min(int(c), int(s))) for c, s in zip(storage, zyx_shape, strict=True)),
        )
        self.__dict__["_token"] = token
        self._arrays = _LazyArrays()
        self._guards: dict[tuple[int, int], ChunkGuard] = {}

    @property
    def decodes_in_parallel(self) -> bool:  # type: ignore[override]  # the base declares a plain class attribute
        """Remote stacks: whole regions per call, as :attr:`ZarrArraySource.decodes_in_parallel`."""
        return any(p is not None and is_remote(p) for row in self.paths for p in row)

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Decode ``region`` into ``out``: one zarr call per (stack, channel) array."""
        rt, rc, rz, ry, rx = region
        index = (rz, ry, rx)
        for i, t in enumerate(range(rt.start, rt.stop)):
            row = self.paths[t]
            for j, c in enumerate(range(rc.start, rc.stop)):
                path = row[c] if c < len(row) else None
                if path is None:
                    out[i, j] = self.fill_value
                    continue
                array = self._arrays.for_read((t, c), path, self.zarr_format, self.pipeline, out[i, j].nbytes)
                if array.shape != self.shape[2:]:
                    raise CorruptFileError(
                        f"{path}: array shape {array.shape} differs from the other stacks' {self.shape[2:]}"
                    )
                guard = self._guards.get((t, c))
                if guard is None:
                    guard = self._guards.setdefault((t, c), ChunkGuard(path))
                guard.read(array, index, out[i, j], _read_array_into)

    def close(self) -> None:
        """Forget the opened arrays (they re-open on the next read)."""
        self._arrays.clear()


def array_storage(array: Any) -> tuple[int, ...]:
    """The storage unit of a zarr array: its shard shape if sharded, else its chunk shape."""
    shards = getattr(array, "shards", None)
    return tuple(int(c) for c in (shards if shards is not None else array.chunks))


def checked_dtype(array: Any, path: Path) -> np.dtype[Any]:
    """The array's numpy dtype; refuse dtypes that are not pixels (strings, objects)."""
    from scitiff_readers.errors import MetadataError

    dtype: np.dtype[Any]
    try:
        dtype = np.dtype(array.dtype)
    except TypeError:
        dtype = np.dtype(object)
    if dtype.kind not in "biufc":
        raise MetadataError(f"{path}: array dtype {array.dtype} is not a pixel type")
    return dtype


def array_token(path: Path, *extra: Any) -> str:
    """A stable dask token: the array path, its metadata file's mtime and size, and ``extra``."""
    return file_token("zarr", path, *extra, stamp_from=(path / "zarr.json", path / ".zarray"))
