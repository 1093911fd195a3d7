"""Eager reads without dask: regions of a pixel source read straight into numpy.

``Reader.get_image_data`` and ``Reader.data`` come here. Nothing in this module imports
dask or xarray, so a script that only reads planes never pays for importing them
(about half a second in a fresh process); :mod:`scitiff_readers._lazy` builds the dask
views on the same block boundaries (:func:`block_regions`).
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ._chunking import chunk_shape
from ._sources import PixelSource, Region

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import numpy as np

    from ._sources import PixelSource, Region

__all__ = ["block_regions", "read_regions", "uniform_block_regions"]


def _offsets(chunks: Sequence[int]) -> list[int]:
    return [0, *itertools.accumulate(chunks)]


def block_regions(region: Region, chunks: Sequence[Sequence[int]]) -> list[Region]:
    """Split ``region`` along the block boundaries given by dask-style ``chunks``."""
    per_dim: list[list[slice]] = []
    for sl, dim_chunks in zip(region, chunks, strict=True):
        cuts = [o for o in _offsets(dim_chunks) if sl.start < o < sl.stop]
        edges = [sl.start, *cuts, sl.stop]
        per_dim.append([slice(a, b) for a, b in itertools.pairwise(edges)])
    return [tuple(p) for p in itertools.product(*per_dim)]


def uniform_block_regions(region: Region, chunk: Sequence[int]) -> list[Region]:
    """Split ``region`` along the boundaries of blocks of shape ``chunk`` laid from the origin.

    The same cuts as :func:`block_regions` with :func:`~scitiff_readers._chunking.regular_chunks`,
    computed from the region alone: an axis a file declares 2**63 long (legal in a sparse
    zarr array) costs nothing beyond the blocks the region touches.
    """
    per_dim: list[list[slice]] = []
    for sl, size in zip(region, chunk, strict=True):
        step = max(1, int(size))
        cuts = range((sl.start // step + 1) * step, sl.stop, step)
        edges = [sl.start, *cuts, sl.stop]
        per_dim.append([slice(a, b) for a, b in itertools.pairwise(edges)])
    return [tuple(p) for p in itertools.product(*per_dim)]


#: A read is spread over more threads only if each gets at least this many bytes: below
#: it, handing work to a thread (~50 us) costs more than copying or decoding it saves.
MIN_THREAD_BYTES = 2**20

#: A spread read is cut into this many pieces per core: when another process holds a
#: core for a while, the threads that run take over its share instead of waiting for it.
PIECES_PER_CORE = 4

_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        _executor = ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="scitiff-readers"
        )
        _executor_pid = os.getpid()
    return _executor


def cores() -> int:
    """CPUs this process may run on (its affinity where the platform says, else the machine's)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:  # pragma: no cover - platforms that list but refuse
            pass
    return max(1, os.cpu_count() or 1)


def spare_cores() -> int:
    """Cores a read may spread over now: this process's CPUs less those other work keeps busy.

    From the 1-minute load average, which counts every runnable thread of the machine,
    this one's included (hence the ``+ 1``). On a machine that other processes keep
    busy, a piece handed to a second thread waits for a core, and the whole read waits
    for that piece: a read spread there is slower than one read on the calling thread.
    """
    total = cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # platforms without a load average
        return total
    return max(1, min(total, round(total - load + 1)))


def _split(
    jobs: Iterable[tuple[Region, np.ndarray]], chunk: Sequence[int]
) -> list[tuple[Region, np.ndarray]]:
    """Cut every job along the blocks of shape ``chunk``: ``(sub_region, view of out)`` pairs."""
    tasks: list[tuple[Region, np.ndarray]] = []
    for region, out in jobs:
        for sub in uniform_block_regions(region, chunk):
            view = out[
                tuple(slice(s.start - r.start, s.stop - r.start) for s, r in zip(sub, region, strict=True))
            ]
            tasks.append((sub, view))
    return tasks


def _drain(source: PixelSource, pending: deque[tuple[Region, np.ndarray]]) -> None:
    """Read tasks from ``pending`` until it is empty (several threads share one queue)."""
    while True:
        try:
            sub, view = pending.popleft()
        except IndexError:
            return
        try:
            source.read_into(view, sub)
        except BaseException:
            pending.clear()  # the others stop after their current task
            raise


def _read_shared(source: PixelSource, tasks: list[tuple[Region, np.ndarray]], helpers: int) -> None:
    """Read ``tasks`` on this thread and up to ``helpers`` pool threads, all taking from one queue.

    The calling thread reads too (it would only wait otherwise), and a thread that the
    operating system gives no core for a while (another process holds it) leaves the
    tasks it has not started to the others instead of making all of them wait. Pool
    threads that have not started when this thread runs out of tasks are cancelled,
    so a read never waits for a pool kept busy by other reads.
    """
    pending = deque(tasks)
    futures = [_pool().submit(_drain, source, pending) for _ in range(helpers)]
    error: BaseException | None = None
    try:
        _drain(source, pending)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, once the helpers stopped
        error = exc
    for future in futures:
        if future.cancel():
            continue
        try:
            future.result()
        except BaseException as exc:  # noqa: BLE001 - the first error is raised below
            error = error or exc
    if error is not None:
        raise error


def read_regions(
    source: PixelSource,
    jobs: Iterable[tuple[Region, np.ndarray]],
    target_bytes: int,
    *,
    spread: bool = True,
) -> None:
    """Read each ``(region, out_view)`` job straight into ``out_view``.

    Regions are split along the same storage-aligned blocks the dask path uses and
    read in parallel threads; no dask graph, no concatenation copy. When that gives
    fewer blocks than the machine has cores (a small file is one block) and
    ``spread`` is true, the blocks are cut further, still along whole storage units,
    into a few pieces per core, so that every idle core (:func:`spare_cores`) reads
    (or decodes) a part: the same bytes are read, in fewer milliseconds. A source that decodes in parallel
    itself (:attr:`PixelSource.decodes_in_parallel`) gets each region whole, in one call.
    """
    if source.decodes_in_parallel:
        for region, out in jobs:
            source.read_into(out, region)
        return
    jobs = list(jobs)
    itemsize = source.dtype.itemsize
    tasks = _split(jobs, chunk_shape(source.shape, source.storage_chunks, itemsize, target_bytes))
    helpers = min(len(tasks) - 1, _pool()._max_workers)
    workers = spare_cores() if spread and len(tasks) < cores() else 1
    if 1 <= len(tasks) < workers:
        total = sum(view.nbytes for _, view in tasks)
        if total >= 2 * MIN_THREAD_BYTES:
            finer = max(MIN_THREAD_BYTES, -(-total // (workers * PIECES_PER_CORE)))
            tasks = _split(jobs, chunk_shape(source.shape, source.storage_chunks, itemsize, finer))
            helpers = min(len(tasks), workers) - 1  # CPU-bound pieces: one thread per core
    if len(tasks) == 1:
        sub, view = tasks[0]
        source.read_into(view, sub)
        return
    _read_shared(source, tasks, helpers)
