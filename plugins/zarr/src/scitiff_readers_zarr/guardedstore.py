"""A zarr store wrapper that checks Blosc chunk headers as the chunk bytes arrive, before zarr decodes them.

:class:`~scitiff_readers_zarr.chunkguard.ChunkGuard` checks a local array's chunk
files before a read, but behind a URL zarr fetches the chunks itself: the bytes
first exist inside zarr's read, just before its codec pipeline hands them to
numcodecs / c-blosc, which trust the sizes in a Blosc header and read past a
truncated buffer (returning heap contents). :class:`GuardedStore` wraps the
store zarr reads from (zarr's fsspec store for HTTP, S3, GCS, ...) and checks every
chunk it returns with the same rules as the local guard
(:meth:`~scitiff_readers_zarr.chunkguard.ChunkGuard.check_frame`): the frame must
not claim more compressed bytes than arrived, nor decode to more than one chunk.
A broken chunk is a :class:`~scitiff_readers.errors.CorruptFileError` naming its URL.

What is checked depends on the request zarr makes:

* a whole chunk file (no byte range): its Blosc frame;
* a whole shard (no byte range): its index (every entry inside the shard) and the
  frame of every inner chunk;
* a byte range of a shard (zarr fetches inner chunks one range each): the frame
  that starts the range (a range that holds several frames is checked on the
  first; a truncated shard returns fewer bytes than the range, which fails the check);
* the shard index (a suffix range): left to zarr, which checks its size.

Metadata documents pass unchecked; so does everything until :meth:`GuardedStore.guard`
is given the array's layout (zarr reads only metadata before that).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from zarr.abc.store import RangeByteRequest, Store
from zarr.storage import WrapperStore

from .chunkguard import ChunkGuard, Layout

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Iterable

    from zarr.abc.store import ByteRequest
    from zarr.core.buffer import Buffer, BufferPrototype

__all__ = ["GuardedStore"]

_METADATA = frozenset({".zarray", ".zattrs", ".zgroup", ".zmetadata", "zarr.json"})


class GuardedStore(WrapperStore[Store]):
    """``store`` with the Blosc checks of :mod:`.chunkguard` on every chunk it returns.

    Parameters
    ----------
    store
        The store of one array (keys are chunk keys and the array's metadata names).
    where
        The array's location, named in errors (credentials hidden by its ``str``).
    """

    def __init__(self, store: Store, where: Any = "") -> None:
        super().__init__(store)
        self.where = where
        self.layout: Layout | None = None

    def _with_store(self, store: Store) -> GuardedStore:
        clone = type(self)(store, self.where)
        clone.layout = self.layout
        return clone

    def guard(self, array: Any) -> None:
        """Check the chunks of ``array`` (opened on this store) from now on; no-op unless it uses Blosc."""
        layout = Layout(array)
        self.layout = layout if layout.blosc or layout.sharded_blosc else None

    def check(self, key: str, data: Buffer | None, byte_range: ByteRequest | None) -> None:
        """Raise ``CorruptFileError`` if the bytes of ``key`` are not a sound Blosc chunk (or shard)."""
        lay = self.layout
        if lay is None or data is None or posixpath.basename(key) in _METADATA:
            return
        raw = data.as_numpy_array()  # a view of the bytes (no copy of a whole shard)
        name = f"{self.where}/{key}" if self.where else key
        if byte_range is None:
            if lay.blosc:
                ChunkGuard.check_frame(lay, name, raw[:16].tobytes(), len(raw), "")
            else:
                ChunkGuard.check_shard(lay, name, len(raw), lambda n, at: raw[at : at + n].tobytes())
        elif lay.sharded_blosc and isinstance(byte_range, RangeByteRequest):
            # A range zarr asks for one inner chunk; fewer bytes than asked for means the shard ends early.
            asked = byte_range.end - byte_range.start
            if len(raw) < asked:
                ChunkGuard.truncated_range(name, byte_range.start, byte_range.end, len(raw))
            ChunkGuard.check_frame(
                lay, name, raw[:16].tobytes(), len(raw), f" (bytes {byte_range.start}-{byte_range.end})"
            )

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        """The wrapped store's ``get``, checked (see :meth:`check`)."""
        data = await self._store.get(key, prototype, byte_range)
        self.check(key, data, byte_range)
        return data

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        """The wrapped store's ``get_partial_values``, each checked (see :meth:`check`)."""
        asked = list(key_ranges)
        found = await self._store.get_partial_values(prototype, asked)
        for (key, byte_range), data in zip(asked, found, strict=True):
            self.check(key, data, byte_range)
        return found

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        asked = list(requests)
        ranges = {key: byte_range for key, _, byte_range in asked}
        async for key, data in self._store._get_many(asked):
            self.check(key, data, ranges.get(key))
            yield key, data
