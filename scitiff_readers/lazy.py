"""The lazy engine: pixel sources to dask arrays, and eager reads without dask.

One graph layer per array: the source object is a single graph key that every
block task depends on, so a distributed scheduler ships it to each worker once
(never per task), and no task re-opens or re-parses the file.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .chunking import chunk_shape, regular_chunks
from .sources import PixelSource, Region

__all__ = ["block_regions", "graphs_built", "read_regions", "to_dask"]

_graphs_built = 0


def graphs_built() -> int:
    """Number of dask arrays built from sources in this process (for laziness tests)."""
    return _graphs_built


def _read_block(source: PixelSource, region: Region) -> np.ndarray:
    return source.read(region)


def _offsets(chunks: Sequence[int]) -> list[int]:
    return [0, *itertools.accumulate(chunks)]


def to_dask(source: PixelSource, target_bytes: int, name: str = "scitiff-readers") -> da.Array:
    """Return a dask array over ``source`` with the core's chunking policy."""
    global _graphs_built
    _graphs_built += 1
    chunk = chunk_shape(source.shape, source.storage_chunks, source.dtype.itemsize, target_bytes)
    chunks = regular_chunks(source.shape, chunk)
    token = f"{name}-{tokenize(source.token, chunk)}"
    source_key = f"source-{token}"
    graph: dict[Any, Any] = {source_key: source}
    offsets = [_offsets(c) for c in chunks]
    for index in itertools.product(*(range(len(c)) for c in chunks)):
        region = tuple(
            slice(offsets[d][i], offsets[d][i + 1]) for d, i in enumerate(index)
        )
        graph[(token, *index)] = (_read_block, source_key, region)
    hlg = HighLevelGraph.from_collections(token, graph, dependencies=())
    meta = np.empty((0,) * len(source.shape), dtype=source.dtype)
    return da.Array(hlg, token, chunks, meta=meta)


def block_regions(region: Region, chunks: Sequence[Sequence[int]]) -> list[Region]:
    """Split ``region`` along the block boundaries given by dask-style ``chunks``."""
    per_dim: list[list[slice]] = []
    for sl, dim_chunks in zip(region, chunks, strict=True):
        cuts = [o for o in _offsets(dim_chunks) if sl.start < o < sl.stop]
        edges = [sl.start, *cuts, sl.stop]
        per_dim.append([slice(a, b) for a, b in itertools.pairwise(edges)])
    return [tuple(p) for p in itertools.product(*per_dim)]


_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    if _executor is None or _executor_pid != os.getpid():
        _executor = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2),
                                       thread_name_prefix="scitiff-readers")
        _executor_pid = os.getpid()
    return _executor


def read_regions(
    source: PixelSource,
    jobs: Iterable[tuple[Region, np.ndarray]],
    target_bytes: int,
) -> None:
    """Read each ``(region, out_view)`` job straight into ``out_view``.

    Regions are split along the same storage-aligned blocks the dask path uses and
    read in parallel threads; no dask graph, no concatenation copy.
    """
    chunk = chunk_shape(source.shape, source.storage_chunks, source.dtype.itemsize, target_bytes)
    chunks = regular_chunks(source.shape, chunk)
    tasks: list[tuple[Region, np.ndarray]] = []
    for region, out in jobs:
        for sub in block_regions(region, chunks):
            view = out[tuple(slice(s.start - r.start, s.stop - r.start) for s, r in zip(sub, region, strict=True))]
            tasks.append((sub, view))
    if len(tasks) == 1:
        sub, view = tasks[0]
        source.read_into(view, sub)
        return
    for future in [_pool().submit(source.read_into, view, sub) for sub, view in tasks]:
        future.result()
