"""Streaming a canonical ``(T, C, Z, Y, X[, S])`` array to a writer in slabs of whole planes.

Writers never load the whole input: :func:`plan_slabs` cuts it into slabs of about
``target_bytes`` that follow the input's dask chunks along ``T`` and ``C`` and are
cut along ``Z`` at multiples of what the output needs (a zarr chunk or shard depth);
:func:`iter_slabs` computes them in order, the next one in a background thread while
the writer stores the current one, so at most two slabs are in memory. A lazy array
straight from a reader (:class:`scitiff_readers._lazy.SourceArray`) is read without
dask: each slab's blocks go from the pixel source straight into the slab (in parallel
threads), with no per-slab graph and no join copy, optionally into two buffers reused
in turn (no fresh memory for the kernel to clear for every slab).
:class:`Progress` counts the bytes written for a ``progress(done, total)`` callback.

Slabs come in ``T, C, Z`` order, and a slab that spans several ``T`` or ``C``
indices always holds every ``Z``: handing out a slab's planes in ``T, C, Z`` order
gives the planes of the whole array in that order (what TIFF pages need).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_SLAB_BYTES",
    "DIRECT_READ_BYTES",
    "Progress",
    "ProgressCallback",
    "Slab",
    "iter_slabs",
    "plan_slabs",
]

#: Bytes of one slab by default: with one slab being computed and one being written,
#: the pixels in flight stay near 64 MiB whatever the size of the input.
DEFAULT_SLAB_BYTES = 32 * 2**20

#: Bytes of pixels one thread reads at a time when slabs come straight from a pixel
#: source: a few planes, so that both cores of a small machine read (or decode) at once.
DIRECT_READ_BYTES = 4 * 2**20

#: ``progress(done, total)``: bytes of full-resolution input written so far, and in all.
ProgressCallback = Callable[[int, int], None]

#: A slab's position: ``(t, c, z)`` slices of the canonical array (all ``Y``, ``X``, ``S``).
Slab = tuple[slice, slice, slice]


class Progress:
    """A thread-safe count of the bytes written, reported to an optional callback.

    Parameters
    ----------
    total
        Bytes to write in all (full-resolution input).
    callback
        Called as ``callback(done, total)`` after every advance (and once with
        ``done = 0`` at the start).
    """

    def __init__(self, total: int, callback: ProgressCallback | None = None) -> None:
        self.total = int(total)
        self.done = 0
        self._callback = callback
        self._lock = threading.Lock()
        if callback is not None:
            callback(0, self.total)

    def advance(self, nbytes: int) -> None:
        """Count ``nbytes`` more as written."""
        with self._lock:
            self.done = min(self.total, self.done + int(nbytes))
            done = self.done
        if self._callback is not None:
            self._callback(done, self.total)


def _chunk_edges(chunks: Sequence[int] | None, size: int) -> list[int]:
    if chunks is None:
        return list(range(size + 1))
    return [int(e) for e in np.cumsum((0, *chunks))]


def plan_slabs(
    shape: Sequence[int],
    itemsize: int,
    chunks: Sequence[Sequence[int]] | None = None,
    z_align: int = 1,
    target_bytes: int = DEFAULT_SLAB_BYTES,
) -> list[Slab]:
    """Cut a canonical array into slabs of whole planes, in ``T, C, Z`` order.

    Parameters
    ----------
    shape
        The canonical shape ``(T, C, Z, Y, X[, S])``.
    itemsize
        Bytes per pixel value.
    chunks
        The input's dask chunks (``None`` for a numpy array: one ``(t, c)`` at a time).
    z_align
        Slabs that split ``Z`` are cut at multiples of this (e.g. the output's chunk depth).
    target_bytes
        A slab holds at most about this many bytes, unless one ``z_align`` deep
        slab of one ``t`` and ``c`` is already larger.
    """
    nt, nc, nz = (int(n) for n in shape[:3])
    plane = int(np.prod(shape[3:], dtype=np.int64)) * int(itemsize)
    t_edges = _chunk_edges(chunks[0] if chunks else None, nt)
    c_edges = _chunk_edges(chunks[1] if chunks else None, nc)
    z_align = max(1, int(z_align))
    # Follow the input's Z chunks when they fit the alignment and the budget: a dask
    # chunk cut in two is computed twice.
    dz = int(chunks[2][0]) if chunks and chunks[2] else 1
    unit = math.lcm(z_align, dz)
    if unit * plane > target_bytes:
        unit = z_align
    depth = max(unit, (target_bytes // max(plane * unit, 1)) * unit)
    slabs: list[Slab] = []
    for (t0, t1), (c0, c1) in itertools.product(itertools.pairwise(t_edges), itertools.pairwise(c_edges)):
        single = t1 - t0 == 1 and c1 - c0 == 1
        if (t1 - t0) * (c1 - c0) * nz * plane <= target_bytes or (single and depth >= nz):
            slabs.append((slice(t0, t1), slice(c0, c1), slice(0, nz)))
            continue
        for t, c in itertools.product(range(t0, t1), range(c0, c1)):
            for z0 in range(0, nz, depth):
                slabs.append((slice(t, t + 1), slice(c, c + 1), slice(z0, min(nz, z0 + depth))))
    return slabs


def iter_slabs(
    array: Any, slabs: Sequence[Slab], *, reuse: bool = False
) -> Iterator[tuple[Slab, np.ndarray]]:
    """Compute ``slabs`` of ``array`` (dask or numpy) in order, one ahead in a background thread.

    Closing the iterator early (an error or Ctrl-C in the writer) waits for the slab
    being computed, and computes no more.

    Parameters
    ----------
    array
        A canonical numpy or dask array.
    slabs
        From :func:`plan_slabs`.
    reuse
        Read slabs of a reader's lazy array into two buffers used in turn: a slab
        handed out is overwritten two slabs later, so the caller must be done with it
        (and keep no view of it) when it asks for the next one.
    """
    if getattr(array, "chunks", None) is None or not hasattr(array, "dask"):
        arr = np.asarray(array)
        for slab in slabs:
            yield slab, arr[slab]
        return
    compute = _direct_reader(array, slabs, reuse) or _dask_reader(array)
    pool = ThreadPoolExecutor(1, thread_name_prefix="scitiff-readers-slab")
    try:
        pending: Future[np.ndarray] | None = pool.submit(compute, 0, slabs[0]) if slabs else None
        for i, slab in enumerate(slabs):
            assert pending is not None
            data = pending.result()
            pending = pool.submit(compute, i + 1, slabs[i + 1]) if i + 1 < len(slabs) else None
            yield slab, data
            del data
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_reader(array: Any) -> Callable[[int, Slab], np.ndarray]:
    from dask.base import compute as dask_compute

    def compute(i: int, slab: Slab) -> np.ndarray:
        (out,) = dask_compute(array[slab])
        return np.asarray(out)

    return compute


def _direct_reader(
    array: Any, slabs: Sequence[Slab], reuse: bool
) -> Callable[[int, Slab], np.ndarray] | None:
    """Slabs read straight from the pixel source of a reader's lazy array, or ``None`` for another array.

    Only the unmodified array of a source qualifies (any dask operation on it gives a
    plain dask array without ``_sr_source_key``); its blocks are the source's regions.
    """
    key = getattr(array, "_sr_source_key", None)
    if key is None:
        return None
    try:
        source = array.dask[key]
    except KeyError:
        return None
    dtype = np.dtype(array.dtype)
    if tuple(source.shape) != tuple(array.shape) or np.dtype(source.dtype) != dtype:
        return None
    from ._eager import read_regions  # no dask, no xarray

    rest = tuple(slice(0, int(n)) for n in array.shape[3:])
    buffers: list[np.ndarray] = []
    if reuse and slabs:
        largest = max(math.prod(s.stop - s.start for s in slab) for slab in slabs)
        largest *= math.prod(int(n) for n in array.shape[3:])
        # np.empty reserves address space; pages are touched (once) by the first reads.
        buffers = [np.empty(largest, dtype=dtype) for _ in range(2)]

    def compute(i: int, slab: Slab) -> np.ndarray:
        shape = tuple(s.stop - s.start for s in slab) + tuple(int(n) for n in array.shape[3:])
        out = buffers[i % 2][: math.prod(shape)].reshape(shape) if buffers else np.empty(shape, dtype=dtype)
        read_regions(source, [((*slab, *rest), out)], DIRECT_READ_BYTES)
        return out

    return compute
