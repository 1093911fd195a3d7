"""Checks of the chunk files a zarr read will touch, before zarr and numcodecs decode them.

zarr-python reads chunk and shard files through its local store, which follows
symbolic links anywhere, and numcodecs' C codecs trust the sizes written in a
chunk: a truncated Blosc chunk decodes bytes past the end of its buffer (heap
contents, different on every call). Before a region is read, :class:`ChunkGuard`

* refuses a chunk or shard file (or chunk folder) whose real location is outside
  the array's folder (:func:`scitiff_readers.backend.check_inside`), and
* checks the header of every Blosc frame against the bytes present: the frame
  must not claim more compressed bytes than the file (or shard entry) holds, nor
  decode to more bytes than one chunk has.

Behind a URL the same Blosc checks run where the bytes arrive, inside zarr's read
(:mod:`scitiff_readers_zarr.guardedstore`). Then the read runs under :func:`scitiff_readers.backend.library_errors`; when it
fails, the chunk that fails is found and named in the error. Files already
checked are remembered (by size and modification time), so repeated reads pay
one ``lstat`` per chunk.
"""

from __future__ import annotations

import itertools
import math
import os
import stat
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import check_inside, is_remote, positioned_read, typed_error
from scitiff_readers.errors import CorruptFileError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

__all__ = ["ChunkGuard", "Layout"]

_BLOSC = struct.Struct("<BBBBIII")  # version, versionlz, flags, typesize, nbytes, blocksize, cbytes
_MISSING = 2**64 - 1  # shard index entry of an absent inner chunk


class Layout:
    """What the guard needs to know of one array: its key grid and how chunks are encoded."""

    def __init__(self, array: Any) -> None:
        meta = array.metadata
        self.encode = meta.encode_chunk_key
        shards = getattr(array, "shards", None)
        self.grid = tuple(int(c) for c in (shards if shards is not None else array.chunks))
        self.chunk = tuple(int(c) for c in array.chunks)
        self.shape = tuple(int(s) for s in array.shape)
        itemsize = np.dtype(array.dtype).itemsize if np.dtype(array.dtype).kind in "biufc" else 0
        self.chunk_bytes = math.prod(self.chunk) * itemsize
        self.blosc = False  # each file is one Blosc frame
        self.exact = False  # ... that decodes to exactly chunk_bytes
        self.sharded_blosc = False  # shard files of Blosc frames, index at the end
        self.index_bytes = 0
        if meta.zarr_format == 2:
            comp = getattr(meta, "compressor", None)
            self.blosc = getattr(comp, "codec_id", None) == "blosc"
            self.exact = self.blosc and not getattr(meta, "filters", None)
            return
        codecs = list(getattr(meta, "codecs", ()))
        names = [type(c).__name__ for c in codecs]
        if names and names[-1] == "BloscCodec":
            self.blosc = True
            self.exact = names == ["BytesCodec", "BloscCodec"]
        elif names == ["ShardingCodec"]:
            inner = [type(c).__name__ for c in codecs[0].codecs]
            index = [type(c).__name__ for c in codecs[0].index_codecs]
            location = str(getattr(codecs[0].index_location, "value", codecs[0].index_location))
            if (
                inner
                and inner[-1] == "BloscCodec"
                and location == "end"
                and index in (["BytesCodec"], ["BytesCodec", "Crc32cCodec"])
            ):
                self.sharded_blosc = True
                self.exact = inner == ["BytesCodec", "BloscCodec"]
                per_shard = math.prod(g // c for g, c in zip(self.grid, self.chunk, strict=True))
                self.index_bytes = 16 * per_shard + (4 if "Crc32cCodec" in index else 0)


class ChunkGuard:
    """Guards the reads of one zarr array stored in ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        # Behind a URL there are no links to follow and the chunk files are zarr's to
        # fetch: the Blosc checks run on the bytes as they arrive (.guardedstore).
        self.remote = is_remote(folder)
        self.folder = folder if self.remote else Path(folder)
        self._real = "" if self.remote else os.path.realpath(self.folder)
        self._checked: dict[str, tuple[int, int]] = {}
        self._dirs: set[str] = set()
        self._layouts: dict[int, Layout] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"folder": self.folder}

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["folder"])

    def _layout(self, array: Any) -> Layout:
        found = self._layouts.get(id(array))
        if found is None:
            found = self._layouts[id(array)] = Layout(array)
        return found

    def keys(self, array: Any, index: Sequence[slice]) -> Iterator[tuple[tuple[int, ...], str]]:
        """Grid coordinates and store keys of the chunk / shard files that ``index`` touches."""
        lay = self._layout(array)
        ranges = [
            range(s.start // g, (s.stop - 1) // g + 1) if s.stop > s.start else range(0)
            for s, g in zip(index, lay.grid, strict=True)
        ]
        for coords in itertools.product(*ranges):
            yield coords, lay.encode(coords)

    def read(
        self,
        array: Any,
        index: tuple[slice, ...],
        out: np.ndarray,
        read: Callable[[Any, tuple[slice, ...], np.ndarray], None],
    ) -> None:
        """Check the files of ``index``, then ``read(array, index, out)`` with its errors typed."""
        if not self.remote:
            lay = self._layout(array)
            for _, key in self.keys(array, index):
                self._check(lay, key)
        try:
            read(array, index, out)
        except Exception as exc:
            typed = typed_error(exc, self.folder, "decoding a chunk")
            if typed is exc:
                raise
            culprit = self._culprit(array, index)
            if culprit is not None:
                typed = typed_error(exc, self.folder / culprit, "decoding this chunk")
            raise typed from exc

    def _culprit(self, array: Any, index: Sequence[slice]) -> str | None:
        """The key of the first storage unit in ``index`` that fails to decode on its own."""
        lay = self._layout(array)
        for n, (coords, key) in enumerate(self.keys(array, index)):
            if n >= 256:
                break
            part = tuple(
                slice(c * g, min((c + 1) * g, s)) for c, g, s in zip(coords, lay.grid, lay.shape, strict=True)
            )
            try:
                array.get_basic_selection(part)
            except Exception:  # noqa: BLE001 - found it
                return key
        return None

    def _check(self, lay: Layout, key: str) -> None:
        path = os.path.join(self.folder, key)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            # A missing chunk reads as the fill value (zarr's rule), but zarr still
            # tries to open it: the deepest folder that exists must be ours, so no
            # path outside is even probed.
            parent = os.path.dirname(path)
            while (
                parent not in self._dirs
                and not os.path.lexists(parent)
                and len(parent) > len(str(self.folder))
            ):
                parent = os.path.dirname(parent)
            if parent not in self._dirs:
                self._check_dir(parent, key)
            return
        except OSError as exc:
            raise CorruptFileError(f"{path}: cannot look at this chunk file ({exc.strerror})") from None
        stamp = (st.st_size, st.st_mtime_ns)
        if self._checked.get(key) == stamp:
            return
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            self._check_dir(parent, key)
        if stat.S_ISLNK(st.st_mode):
            check_inside(self._real, path, "chunk file")
            st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise CorruptFileError(f"{path}: the chunk {key!r} is not a regular file")
        if lay.blosc or lay.sharded_blosc:
            self._check_blosc(lay, path, st.st_size)
        with self._lock:
            self._checked[key] = stamp

    def _check_dir(self, parent: str, key: str) -> None:
        check_inside(self._real, parent, f"folder of chunk {key!r}")
        with self._lock:
            self._dirs.add(parent)

    def _check_blosc(self, lay: Layout, path: str, size: int) -> None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            if lay.blosc:
                self.check_frame(lay, path, positioned_read(fd, 16, 0), size, "")
            else:
                self.check_shard(lay, path, size, lambda n, at: positioned_read(fd, n, at))
        finally:
            os.close(fd)

    @classmethod
    def check_shard(cls, lay: Layout, path: str, size: int, read: Callable[[int, int], bytes]) -> None:
        """Check a shard of ``size`` bytes (index at the end) and the Blosc frame of each inner chunk.

        ``read(n, offset)`` returns ``n`` bytes of the shard from ``offset``.
        """
        if size < lay.index_bytes:
            raise CorruptFileError(
                f"{path}: the shard has {size} bytes, fewer than its index needs ({lay.index_bytes}); "
                "it is truncated"
            )
        raw = read(lay.index_bytes, size - lay.index_bytes)
        entries = np.frombuffer(raw, dtype="<u8", count=(lay.index_bytes // 16) * 2).reshape(-1, 2)
        for n, (offset, nbytes) in enumerate(entries.tolist()):
            if offset == _MISSING and nbytes == _MISSING:
                continue
            if offset + nbytes > size - lay.index_bytes:
                raise CorruptFileError(
                    f"{path}: inner chunk {n} of the shard lies at bytes {offset}-{offset + nbytes}, beyond "
                    f"the {size - lay.index_bytes} bytes of chunk data; the shard is truncated or corrupt"
                )
            cls.check_frame(lay, path, read(16, offset), nbytes, f" (inner chunk {n})")

    @staticmethod
    def truncated_range(path: str, start: int, end: int, got: int) -> None:
        """Raise the error of a shard that ends inside the byte range ``start``-``end`` of an inner chunk."""
        raise CorruptFileError(
            f"{path}: the inner chunk at bytes {start}-{end} of the shard is cut short ({got} bytes arrived); "
            "the shard is truncated or corrupt"
        )

    @staticmethod
    def check_frame(lay: Layout, path: str, head: bytes, length: int, where: str) -> None:
        """Raise ``CorruptFileError`` if the Blosc header ``head`` does not fit ``length`` bytes and one chunk."""
        if len(head) < 16 or length < 16:
            raise CorruptFileError(
                f"{path}{where}: a Blosc chunk of {length} bytes is shorter than its header"
            )
        version, _, _, typesize, nbytes, blocksize, cbytes = _BLOSC.unpack(head)
        if cbytes > length or cbytes < 16:
            raise CorruptFileError(
                f"{path}{where}: the Blosc header says {cbytes} compressed bytes but the chunk has {length}; "
                "it is truncated or corrupt"
            )
        if lay.chunk_bytes and (nbytes > lay.chunk_bytes or (lay.exact and nbytes != lay.chunk_bytes)):
            raise CorruptFileError(
                f"{path}{where}: the Blosc header says it decodes to {nbytes} bytes, a chunk has "
                f"{lay.chunk_bytes}; the chunk is corrupt"
            )
        if version == 0 or typesize == 0 or (nbytes and blocksize == 0) or blocksize > max(nbytes, 1) * 2:
            raise CorruptFileError(
                f"{path}{where}: invalid Blosc header (version {version}, typesize "
                f"{typesize}, blocksize {blocksize}); the chunk is corrupt"
            )
