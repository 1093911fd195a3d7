"""Reading small regions of common zarr arrays without importing zarr.

Importing zarr-python costs ~150-300 ms in a fresh process: more than opening the
dataset and decoding a plane together. For the array layouts that OME-Zarr and VISoR
writers produce, a plane is a handful of chunk files decoded by one codec, so this
module reads them directly: it computes the chunk keys, reads the files (for a
sharded array: the shard index, then only the inner chunks needed), decodes with
imagecodecs and copies the parts into the output. Anything else stays with zarr.

The layouts read here (:func:`direct_layout` returns ``None`` for every other):

* zarr v2: numeric dtype of either byte order, ``order: "C"``, no filters,
  compressor none, ``zstd`` or ``blosc``, ``.`` or ``/`` dimension separator;
* zarr v3: a regular chunk grid, ``default`` or ``v2`` chunk key encoding, codecs
  ``bytes`` (+ ``zstd`` or ``blosc``), or ``sharding_indexed`` over such inner codecs
  with a ``bytes`` (little-endian) + optional ``crc32c`` index at the start or end;
* a numeric fill value (or ``"NaN"``, ``"Infinity"``, ``"-Infinity"``), used for
  missing chunk files and missing inner chunks, as zarr does.

Every chunk is checked before it is decoded (chunk files are regular files inside
the array's folder; a Blosc header must match the bytes present and decode to one
chunk; a zstd frame must say it decodes to one chunk; shard index entries must lie
in the shard and match their checksum): a broken chunk is a ``CorruptFileError``
naming its file, never bytes read past a buffer. The tests compare every supported
layout with zarr-python over many generated arrays.
"""

from __future__ import annotations

import math
import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from scitiff_readers.backend import check_inside, positioned_read
from scitiff_readers.errors import CorruptFileError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["DirectLayout", "DirectReader", "direct_layout"]

_V3_TYPES = {
    "bool": "?",
    "int8": "i1",
    "int16": "i2",
    "int32": "i4",
    "int64": "i8",
    "uint8": "u1",
    "uint16": "u2",
    "uint32": "u4",
    "uint64": "u8",
    "float16": "f2",
    "float32": "f4",
    "float64": "f8",
}
_SPECIAL_FLOATS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_MISSING = 2**64 - 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class DirectLayout(NamedTuple):
    """What reading a chunk of one array needs (all parsed from its metadata document)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    grid: tuple[int, ...]  # the shape of one stored file (chunk, or shard)
    chunk: tuple[int, ...]  # the shape of one decoded unit (chunk, or inner chunk)
    codec: str  # "raw", "zstd" or "blosc"
    fill: Any
    prefix: str  # chunk keys: [prefix + separator] + separator.join(indices)
    separator: str
    index_at_end: bool = True
    index_crc: bool = False
    sharded: bool = False


def _fill(value: Any, dtype: np.dtype[Any]) -> Any:
    if isinstance(value, str):
        if dtype.kind != "f" or value not in _SPECIAL_FLOATS:
            return None
        return _SPECIAL_FLOATS[value]
    if type(value) is bool:
        return value if dtype.kind == "b" else None
    if type(value) in (int, float) and dtype.kind in "iuf":
        if dtype.kind in "iu" and (
            type(value) is not int or not np.iinfo(dtype).min <= value <= np.iinfo(dtype).max
        ):
            return None
        return value
    return None


def _byte_codecs(codecs: Sequence[Any]) -> tuple[str, str] | None:
    """``(byte order, codec)`` of ``[bytes, (zstd | blosc)?]``, else None."""
    names = [c.get("name") if isinstance(c, dict) else None for c in codecs]
    if not names or names[0] != "bytes" or len(names) > 2:
        return None
    config = codecs[0].get("configuration") or {}
    endian = config.get("endian", "little")
    if endian not in ("little", "big"):
        return None
    codec = "raw" if len(names) == 1 else names[1]
    if codec not in ("raw", "zstd", "blosc"):
        return None
    return ("<" if endian == "little" else ">"), codec


def _ints(values: Any, n: int | None = None) -> tuple[int, ...] | None:
    if not isinstance(values, list) or any(type(v) is not int or v < 1 for v in values):
        return None
    if n is not None and len(values) != n:
        return None
    return tuple(values)


def direct_layout(metadata: Mapping[str, Any]) -> DirectLayout | None:
    """The layout of an array this module reads, or ``None`` (then zarr reads it)."""
    layout = None
    try:
        if metadata.get("zarr_format") == 2:
            layout = _v2_layout(metadata)
        elif metadata.get("zarr_format") == 3 and metadata.get("node_type") == "array":
            layout = _v3_layout(metadata)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    if layout is not None and layout.codec != "raw":
        from importlib.util import find_spec

        if find_spec("imagecodecs") is None:
            return None  # zarr decodes with numcodecs instead
    return layout


def _v2_layout(meta: Mapping[str, Any]) -> DirectLayout | None:
    shape = tuple(meta["shape"]) if isinstance(meta.get("shape"), list) else None
    if not shape or any(type(s) is not int or s < 0 for s in shape):
        return None
    chunk = _ints(meta.get("chunks"), len(shape))
    if chunk is None or meta.get("order", "C") != "C" or meta.get("filters") is not None:
        return None
    if not isinstance(meta.get("dtype"), str):
        return None
    dtype = np.dtype(meta["dtype"])
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        return None
    compressor = meta.get("compressor")
    if compressor is None:
        codec = "raw"
    elif isinstance(compressor, dict) and compressor.get("id") in ("zstd", "blosc"):
        codec = compressor["id"]
    else:
        return None
    fill = _fill(meta.get("fill_value"), dtype)
    separator = meta.get("dimension_separator", ".")
    if fill is None or separator not in (".", "/"):
        return None
    return DirectLayout(shape, dtype, chunk, chunk, codec, fill, "", separator)


def _v3_layout(meta: Mapping[str, Any]) -> DirectLayout | None:
    shape = tuple(meta["shape"]) if isinstance(meta.get("shape"), list) else None
    if not shape or any(type(s) is not int or s < 0 for s in shape) or meta.get("storage_transformers"):
        return None
    grid = meta.get("chunk_grid") or {}
    if grid.get("name") != "regular":
        return None
    outer = _ints((grid.get("configuration") or {}).get("chunk_shape"), len(shape))
    name = meta.get("data_type")
    if outer is None or name not in _V3_TYPES:
        return None
    encoding = meta.get("chunk_key_encoding") or {"name": "default"}
    sep = (encoding.get("configuration") or {}).get("separator")
    if encoding.get("name") == "default":
        prefix, separator = "c", sep or "/"
    elif encoding.get("name") == "v2":
        prefix, separator = "", sep or "."
    else:
        return None
    if separator not in (".", "/"):
        return None
    codecs = meta.get("codecs")
    if not isinstance(codecs, list) or not codecs:
        return None
    sharded = isinstance(codecs[0], dict) and codecs[0].get("name") == "sharding_indexed"
    index_at_end, index_crc, chunk = True, False, outer
    if sharded:
        if len(codecs) != 1:
            return None
        config = codecs[0].get("configuration") or {}
        inner_shape = _ints(config.get("chunk_shape"), len(shape))
        if inner_shape is None or any(o % c for o, c in zip(outer, inner_shape, strict=True)):
            return None
        chunk = inner_shape
        inner = _byte_codecs(config.get("codecs") or [])
        index = [c.get("name") if isinstance(c, dict) else None for c in config.get("index_codecs") or []]
        endian = ((config.get("index_codecs") or [{}])[0].get("configuration") or {}).get("endian", "little")
        if inner is None or index not in (["bytes"], ["bytes", "crc32c"]) or endian != "little":
            return None
        location = config.get("index_location", "end")
        if location not in ("start", "end"):
            return None
        index_at_end, index_crc = location == "end", "crc32c" in index
        if index_crc:
            try:
                import google_crc32c  # noqa: F401 - zarr's own checksum library
            except ImportError:
                return None
        order, codec = inner
    else:
        found = _byte_codecs(codecs)
        if found is None:
            return None
        order, codec = found
    dtype = (
        np.dtype(order + _V3_TYPES[name])
        if np.dtype(_V3_TYPES[name]).itemsize > 1
        else np.dtype(_V3_TYPES[name])
    )
    fill = _fill(meta.get("fill_value"), dtype)
    if fill is None:
        return None
    return DirectLayout(
        shape, dtype, outer, chunk, codec, fill, prefix, separator, index_at_end, index_crc, sharded
    )


def _zstd_content_size(frame: bytes) -> int | None:
    """The decoded size a zstd frame header declares (None if it declares none)."""
    if len(frame) < 6 or frame[:4] != _ZSTD_MAGIC:
        return None
    descriptor = frame[4]
    fcs_flag, single = descriptor >> 6, (descriptor >> 5) & 1
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[descriptor & 3]
    size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if size == 0 or len(frame) < pos + size:
        return None
    value = int.from_bytes(frame[pos : pos + size], "little")
    return value + 256 if size == 2 else value


class DirectReader:
    """Reads regions of one array (``folder``) of a :class:`DirectLayout` into numpy arrays."""

    def __init__(self, folder: Path, layout: DirectLayout) -> None:
        self.folder = Path(folder)
        self.layout = layout
        self._real = os.path.realpath(self.folder)
        self.chunk_bytes = math.prod(layout.chunk) * layout.dtype.itemsize
        self.exact = True  # a chunk decodes to exactly chunk_bytes (no filters)
        self.per_shard = tuple(g // c for g, c in zip(layout.grid, layout.chunk, strict=True))
        self.index_bytes = 16 * math.prod(self.per_shard) + (4 if layout.index_crc else 0)

    def _key(self, coords: Sequence[int]) -> str:
        lay = self.layout
        key = lay.separator.join(map(str, coords))
        return f"{lay.prefix}{lay.separator}{key}" if lay.prefix else key

    def read_into(self, out: np.ndarray, index: Sequence[slice]) -> None:
        """Fill ``out`` (shaped like the region) with the array's values at ``index`` (step-1 slices)."""
        lay = self.layout
        ranges = [
            range(s.start // g, (s.stop - 1) // g + 1) if s.stop > s.start else range(0)
            for s, g in zip(index, lay.grid, strict=True)
        ]
        jobs: list[_Job] = []
        for coords in _product(ranges):
            origin = [c * g for c, g in zip(coords, lay.grid, strict=True)]
            path = self._file(self._key(coords))
            if lay.sharded and path is not None:
                jobs += self._shard_jobs(path, origin, index)
            else:
                jobs.append(_Job(path, None, origin, lay.grid))

        def run(job: _Job) -> None:
            block = None if job.path is None else self._chunk(job.path, job.frame)
            self._place(block, job.origin, job.extent, index, out)

        if len(jobs) > 1:
            # imagecodecs decodes without the GIL: the chunks of a plane in parallel, as zarr does.
            list(_pool().map(run, jobs))
        elif jobs:
            run(jobs[0])

    # ------------------------------------------------------------------ files
    def _file(self, key: str) -> str | None:
        """The chunk file of ``key`` after the safety checks, or None if it is absent."""
        path = os.path.join(self.folder, key)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            # Absent: the fill value. Its folder must still be ours (nothing outside is probed).
            check_inside(self._real, os.path.dirname(path), f"folder of chunk {key!r}")
            return None
        except OSError as exc:
            raise CorruptFileError(f"{path}: cannot look at this chunk file ({exc.strerror})") from None
        check_inside(self._real, path, "chunk file")
        if stat.S_ISLNK(st.st_mode):
            st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise CorruptFileError(f"{path}: the chunk {key!r} is not a regular file")
        return path

    def _chunk(self, path: str | None, frame: bytes | None) -> np.ndarray | None:
        """One decoded unit (chunk or inner chunk) in its C-order shape; None = fill value."""
        if frame is None:
            if path is None:
                return None
            with open(path, "rb") as fh:
                frame = fh.read()
        out = np.empty(self.chunk_bytes, dtype=np.uint8)
        self._decode(frame, out, path or "?")
        return out.view(self.layout.dtype).reshape(self.layout.chunk)

    def _decode(self, frame: bytes, out: np.ndarray, path: str) -> None:
        codec = self.layout.codec
        n = self.chunk_bytes
        if codec == "raw":
            if len(frame) != n:
                raise CorruptFileError(
                    f"{path}: decoding this chunk: it has {len(frame)} bytes uncompressed, "
                    f"a chunk has {n}; it is truncated or corrupt"
                )
            out[:] = np.frombuffer(frame, dtype=np.uint8)
            return
        if codec == "zstd":
            size = _zstd_content_size(frame)
            if size != n:
                raise CorruptFileError(
                    f"{path}: decoding this chunk: its zstd frame says it decodes to {size} "
                    f"bytes, a chunk has {n}; the chunk is corrupt"
                )
            from imagecodecs import zstd_decode as decode
        else:
            # The checks zarr's reads get from ChunkGuard: the header must fit the bytes
            # present and decode to exactly one chunk (Blosc trusts its header).
            from .chunkguard import ChunkGuard

            ChunkGuard.check_frame(self, path, frame[:16], len(frame), "")  # type: ignore[arg-type]
            from imagecodecs import blosc_decode as decode
        try:
            decode(frame, out=out)  # type: ignore[arg-type]  # numpy buffers are accepted
        except Exception as exc:  # noqa: BLE001 - imagecodecs raises its own RuntimeError kinds
            raise CorruptFileError(f"{path}: decoding this {codec} chunk failed: {exc}") from None

    def _shard_jobs(self, path: str, origin: Sequence[int], index: Sequence[slice]) -> list[_Job]:
        """The inner chunks of one shard file inside ``index``: their bytes read, not decoded."""
        lay = self.layout
        jobs: list[_Job] = []
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            size = os.fstat(fd).st_size
            if size < self.index_bytes:
                raise CorruptFileError(
                    f"{path}: the shard has {size} bytes, fewer than its index needs "
                    f"({self.index_bytes}); it is truncated"
                )
            at = size - self.index_bytes if lay.index_at_end else 0
            raw = positioned_read(fd, self.index_bytes, at)
            if lay.index_crc:
                import google_crc32c

                body, crc = raw[:-4], int.from_bytes(raw[-4:], "little")
                if google_crc32c.value(body) != crc:
                    raise CorruptFileError(
                        f"{path}: the shard index fails its crc32c checksum; the shard is corrupt"
                    )
            entries = np.frombuffer(raw, dtype="<u8", count=2 * math.prod(self.per_shard)).reshape(
                (*self.per_shard, 2)
            )
            ranges = []
            for o, c, s, g in zip(origin, lay.chunk, index, lay.grid, strict=True):
                lo, hi = max(s.start, o), min(s.stop, o + g)
                ranges.append(range((lo - o) // c, (hi - 1 - o) // c + 1) if hi > lo else range(0))
            for inner in _product(ranges):
                offset, nbytes = (int(v) for v in entries[inner])
                inner_origin = [o + i * c for o, i, c in zip(origin, inner, lay.chunk, strict=True)]
                if offset == _MISSING and nbytes == _MISSING:
                    jobs.append(_Job(None, None, inner_origin, lay.chunk))
                    continue
                if offset + nbytes > size:
                    raise CorruptFileError(
                        f"{path}: inner chunk {list(inner)} lies at bytes {offset}-"
                        f"{offset + nbytes}, beyond the {size} bytes of the shard; it is corrupt"
                    )
                jobs.append(_Job(path, positioned_read(fd, nbytes, offset), inner_origin, lay.chunk))
        finally:
            os.close(fd)
        return jobs

    def _place(
        self,
        block: np.ndarray | None,
        origin: Sequence[int],
        extent: Sequence[int],
        index: Sequence[slice],
        out: np.ndarray,
    ) -> None:
        """Copy the part of ``block`` (at ``origin``, ``extent`` big; None = fill) inside ``index``."""
        src, dst = [], []
        for o, e, s, n in zip(origin, extent, index, self.layout.shape, strict=True):
            lo, hi = max(s.start, o), min(s.stop, o + e, n)
            if hi <= lo:
                return
            src.append(slice(lo - o, hi - o))
            dst.append(slice(lo - s.start, hi - s.start))
        if block is None:
            out[tuple(dst)] = self.layout.fill
        else:
            out[tuple(dst)] = block[tuple(src)]


class _Job(NamedTuple):
    """One unit to place: its file (None = fill value), its bytes if already read, where it goes."""

    path: str | None
    frame: bytes | None
    origin: Sequence[int]
    extent: Sequence[int]


_POOL: Any = None
_POOL_LOCK = threading.Lock()


def _pool() -> Any:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            _POOL = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 2, thread_name_prefix="scitiff-readers-zarr"
            )
        return _POOL


def _forget_pool() -> None:
    # A pool's threads do not survive a fork: the child makes its own.
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _product(ranges: Sequence[range]) -> Any:
    import itertools

    return itertools.product(*ranges)
