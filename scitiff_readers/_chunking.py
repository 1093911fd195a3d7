"""The one chunking policy: whole storage units grouped toward a target size.

Chunks are always whole storage units (a page, a tile, a zarr chunk or shard), so
nothing is decoded twice and decoding parallelises. Units are grouped along the
innermost dimensions first (X, Y, then Z, C, T) until a chunk reaches the target
byte size. Planes larger than the target stay split along their tiles: sub-plane
chunks where storage is tiled.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "MAX_BLOCKS",
    "check_block_count",
    "chunk_shape",
    "normalize_chunk_bytes",
    "regular_chunks",
]

#: Default target size of one dask chunk: 32 MiB (tens of MiB cost no measurable
#: scheduler overhead and keep memory per task small).
DEFAULT_CHUNK_BYTES = 32 * 2**20

#: Most blocks a dask array may have. Each costs about a kilobyte of graph, and a
#: graph of millions of tasks is unusable anyway: 2**22 blocks of the default size
#: are 128 TiB. More means a declared shape (2**40 time points of a sparse zarr
#: array) to be read by selection, not through dask.
MAX_BLOCKS = 2**22


def normalize_chunk_bytes(value: int | str | None) -> int:
    """Accept ``None`` (default), a byte count or a string such as ``"64 MiB"``."""
    if value is None:
        return DEFAULT_CHUNK_BYTES
    if isinstance(value, str):
        from dask.utils import parse_bytes  # only for strings: keeps dask out of a plain open

        size = parse_bytes(value)
    else:
        size = int(value)
    if size <= 0:
        raise ValueError(f"chunk_bytes must be positive, got {value!r}")
    return size


def chunk_shape(
    shape: Sequence[int],
    storage_chunks: Sequence[int],
    itemsize: int,
    target_bytes: int = DEFAULT_CHUNK_BYTES,
) -> tuple[int, ...]:
    """Return the shape of one regular chunk for an array stored in ``storage_chunks``.

    Each entry is a multiple of the storage unit along that dim, or the full size.
    """
    if len(shape) != len(storage_chunks):
        raise ValueError(f"storage chunks {tuple(storage_chunks)} do not match shape {tuple(shape)}")
    chunk = [max(1, min(int(c), int(s))) if s > 0 else 1 for c, s in zip(storage_chunks, shape, strict=True)]
    # The trailing sample dim S is never split.
    order = list(range(len(shape)))[::-1]
    for d in order:
        size = int(shape[d])
        if chunk[d] >= size:
            continue
        nbytes = math.prod(chunk) * itemsize
        factor = target_bytes // max(nbytes, 1)
        if factor <= 1:
            break
        units = math.ceil(size / chunk[d])
        if factor >= units:
            chunk[d] = size
            continue
        chunk[d] *= int(factor)
        break
    return tuple(chunk)


def regular_chunks(shape: Sequence[int], chunk: Sequence[int]) -> tuple[tuple[int, ...], ...]:
    """Dask ``chunks`` for ``shape`` cut into blocks of ``chunk`` (last block shorter)."""
    out: list[tuple[int, ...]] = []
    for size, c in zip(shape, chunk, strict=True):
        size, c = int(size), max(1, int(c))
        if size == 0:
            out.append((0,))
            continue
        full, rest = divmod(size, c)
        out.append((c,) * full + ((rest,) if rest else ()))
    return tuple(out)


def check_block_count(shape: Sequence[int], chunk: Sequence[int], path: object = None) -> None:
    """Refuse, before building anything, a dask array of more than :data:`MAX_BLOCKS` blocks.

    Raises
    ------
    ImageTooLargeError
        If ``shape`` cut into ``chunk`` makes too many blocks, or more graph than
        memory can hold (dask itself would build a tuple per axis of one entry per
        block and hang on a declared axis of 2**40).
    """
    from ._guards import check_allocation
    from .errors import ImageTooLargeError

    blocks = math.prod(max(1, -(-int(s) // max(1, int(c)))) for s, c in zip(shape, chunk, strict=True))
    where = f"{path}: " if path is not None else ""
    advice = "read selections with get_image_data(...), or pass a larger chunk_bytes"
    if blocks > MAX_BLOCKS:
        raise ImageTooLargeError(
            f"{where}a dask array of shape {tuple(shape)} in chunks of {tuple(chunk)} would have {blocks} blocks "
            f"(at most {MAX_BLOCKS}); {advice}"
        )
    check_allocation(
        blocks * 1024, None if path is None else str(path), f"a dask graph of {blocks} blocks", advice
    )
