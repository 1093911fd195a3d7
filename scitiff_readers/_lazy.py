"""The lazy engine: pixel sources to dask arrays (eager reads: :mod:`scitiff_readers._eager`).

One graph layer per array: the source object is a single graph key that every
block task depends on, so a distributed scheduler ships it to each worker once
(never per task), and no task re-opens or re-parses the file.

Computing a whole array (``reader.xarray_dask_data.compute()``) would normally read
every block into its own buffer and then copy all of them into the result (dask's
``concatenate3``): twice the memory traffic and twice the peak memory of the
eager read. :class:`SourceArray` avoids that copy: when the whole array is computed
its graph is rewritten so every block is read (in parallel, by the scheduler's
threads) straight into its slot of one output array, which is returned as is.
Any other use of the array (slicing, reductions, ``map_blocks``) builds plain dask
arrays on the unchanged per-block graph.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.core import flatten
from dask.highlevelgraph import HighLevelGraph

from ._chunking import check_block_count, chunk_shape, regular_chunks
from ._eager import _offsets, block_regions, cores, read_regions
from ._sources import PixelSource, Region

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._sources import PixelSource, Region

# block_regions and read_regions stay importable from here for existing callers.
__all__ = ["LocalArray", "SourceArray", "block_regions", "local_array", "read_regions", "to_dask"]


def _read_block(source: PixelSource, region: Region) -> np.ndarray:
    return source.read(region)


def to_dask(source: PixelSource, target_bytes: int, name: str = "scitiff-readers") -> SourceArray:
    """Return a dask array over ``source`` with the core's chunking policy."""
    chunk = chunk_shape(source.shape, source.storage_chunks, source.dtype.itemsize, target_bytes)
    check_block_count(source.shape, chunk)
    chunks = regular_chunks(source.shape, chunk)
    token = f"{name}-{tokenize(source.token, chunk)}"
    source_key = f"source-{token}"
    graph: dict[Any, Any] = {source_key: source}
    regions: dict[Any, Region] = {}
    offsets = [_offsets(c) for c in chunks]
    for index in itertools.product(*(range(len(c)) for c in chunks)):
        region = tuple(slice(offsets[d][i], offsets[d][i + 1]) for d, i in enumerate(index))
        regions[(token, *index)] = region
        graph[(token, *index)] = (_read_block, source_key, region)
    hlg = HighLevelGraph.from_collections(token, graph, dependencies=())
    meta = np.empty((0,) * len(source.shape), dtype=source.dtype)
    array = SourceArray(hlg, token, chunks, meta=meta)
    array._sr_source_key = source_key
    array._sr_regions = regions
    array._sr_target_bytes = int(target_bytes)
    return array


def _scheduler_without_client(array: da.Array) -> Any | None:
    """The scheduler dask would pick for ``array`` when no distributed client can exist, else None.

    With no scheduler configured, every ``compute`` asks ``distributed`` for a current
    client (``dask.base.get_scheduler``), importing it when it is installed: ~150-450 ms
    in a fresh process, for nothing when it was never imported (a client cannot exist
    then). In that case the array's own default is named explicitly, so dask does not
    look; a one-block array (a plane) is read on the calling thread, as nothing is
    left for a thread pool to run in parallel. ``None``: let dask decide.
    """
    import dask

    if "distributed" in sys.modules or dask.config.get("scheduler", None) is not None:
        return None
    if array.npartitions == 1 and not isinstance(array, SourceArray):  # SourceArray's own scheduler decides
        from dask.local import get_sync

        return get_sync
    return type(array).__dask_scheduler__


class LocalArray(da.Array):
    """A :class:`dask.array.Array` whose ``compute`` / ``persist`` skip dask's client lookup.

    It is a plain dask array in every other respect (operations on it return plain
    dask arrays). Only when the caller names no scheduler, none is configured and
    ``distributed`` was never imported (so no client exists), ``compute`` and
    ``persist`` name the default scheduler themselves (see
    :func:`_scheduler_without_client`): the result is the same, without importing
    ``distributed`` on the first compute.
    """

    def compute(self, **kwargs: Any) -> Any:
        """As :meth:`dask.array.Array.compute`, without importing ``distributed`` to find no client."""
        if "scheduler" not in kwargs and "get" not in kwargs:
            scheduler = _scheduler_without_client(self)
            if scheduler is not None:
                kwargs["scheduler"] = scheduler
        return super().compute(**kwargs)  # type: ignore[no-untyped-call]  # dask's DaskMethodsMixin is unannotated

    def persist(self, **kwargs: Any) -> Any:
        """As :meth:`dask.array.Array.persist`; the result is a :class:`LocalArray` too."""
        if "scheduler" not in kwargs and "get" not in kwargs:
            scheduler = _scheduler_without_client(self)
            if scheduler is not None:
                kwargs["scheduler"] = scheduler
        return local_array(super().persist(**kwargs))  # type: ignore[no-untyped-call]  # unannotated in dask


def local_array(array: da.Array) -> da.Array:
    """``array`` as a :class:`LocalArray` (the same graph, name, chunks and meta)."""
    if isinstance(array, LocalArray):
        return array
    return LocalArray(array.dask, array.name, array.chunks, meta=array._meta)  # type: ignore[no-untyped-call]  # dask.array.Array.__new__ is unannotated


class _OutputArray:
    """The result of one whole-array compute, allocated on first use.

    A graph task creates one per execution, so two computes never share a result,
    even when dask caches the optimized graph. It pickles as shape and dtype only:
    a process that receives it (``processes`` / distributed schedulers) allocates its
    own array, and :func:`_finalize_direct` then falls back to dask's concatenation.
    """

    def __init__(self, shape: Sequence[int], dtype: str) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._array: np.ndarray | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"shape": self.shape, "dtype": self.dtype.str}

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["shape"], state["dtype"])

    def array(self) -> np.ndarray:
        if self._array is None:
            with self._lock:
                if self._array is None:
                    # np.empty only reserves address space: blocks not read never cost memory.
                    self._array = np.empty(self.shape, dtype=self.dtype)
        return self._array


def _read_block_into(source: PixelSource, output: _OutputArray, region: Region) -> np.ndarray:
    view = output.array()[region]
    source.read_into(view, region)
    return view


def _read_block_spread(
    source: PixelSource, output: _OutputArray, region: Region, target_bytes: int
) -> np.ndarray:
    """Read one block of a graph with fewer blocks than cores, on all of them.

    The block is cut along whole storage units (as eager reads are, see
    :func:`~scitiff_readers._eager.read_regions`): the dask chunks users see stay
    as they are, but a one-block file is not read on a single thread.
    """
    view = output.array()[region]
    read_regions(source, [(region, view)], target_bytes)
    return view


def _read_whole_into(source: PixelSource, shape: Sequence[int], dtype: str) -> _OutputArray:
    """One call for the whole array, for sources that parallelise their own decoding."""
    output = _OutputArray(shape, dtype)
    source.read_into(output.array(), tuple(slice(0, n) for n in shape))
    return output


def _output_block(output: _OutputArray, region: Region) -> np.ndarray:
    return output.array()[region]


def _finalize_direct(results: Any, shape: tuple[int, ...], regions: list[Region]) -> Any:
    """Return the output array the blocks were read into, or fall back to dask's join.

    The blocks are views of one output only when they were read in one process
    (threaded or synchronous scheduler); blocks that travelled between processes
    are copies, and are joined by dask as usual.
    """
    blocks = list(flatten(results))
    base = getattr(blocks[0], "base", None) if blocks else None
    if isinstance(base, np.ndarray) and base.shape == shape and len(blocks) == len(regions):
        start = base.__array_interface__["data"][0]
        if all(
            isinstance(b, np.ndarray)
            and b.base is base
            and b.__array_interface__["data"][0] - start
            == sum(r.start * st for r, st in zip(region, base.strides, strict=True))
            for b, region in zip(blocks, regions, strict=True)
        ):
            return base
    return da.core.finalize(results)


#: Graph functions that read pixels, and those that only hand them on (see _SourceScheduler).
_READS = frozenset({_read_block, _read_block_into, _read_block_spread, _read_whole_into})
_BOOKKEEPING = frozenset({_OutputArray, _output_block, _finalize_direct})


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _node_func(node: Any) -> Any:
    """The function of a graph node (legacy tuple or ``Task``); ``None`` for data and aliases."""
    if type(node) is tuple:
        return node[0] if node and callable(node[0]) else None
    func = getattr(node, "func", None)
    if func is not None:
        return func
    if type(node).__name__ in ("Alias", "DataNode") or not hasattr(node, "dependencies"):
        return None
    return _node_func  # an unknown kind of task: never counted as bookkeeping


#: Most graph nodes of a compute that :class:`_SourceScheduler` may run on the calling thread.
_SMALL_GRAPH = 8


def _at_most_one_read(graph: Mapping[Any, Any]) -> bool:
    """Whether ``graph`` is a few of this module's bookkeeping tasks around at most one read."""
    if len(graph) > _SMALL_GRAPH:
        return False
    reads = 0
    for node in graph.values():
        func = _node_func(node)
        if func is None or func in _BOOKKEEPING:
            continue
        if func not in _READS:
            return False
        reads += 1
    return reads <= 1


def _run_here(graph: Mapping[Any, Any], keys: Any) -> tuple[Any] | None:
    """Evaluate a few-node graph on this thread: ``(result,)``, or ``None`` if dask cannot convert it.

    What dask's synchronous scheduler does for such a graph, without its
    bookkeeping (ordering, a task queue, callbacks: only used when none are
    active), which costs a few tenths of a millisecond per compute.
    """
    try:
        from dask._task_spec import convert_legacy_graph
    except ImportError:  # pragma: no cover - dask before 2024.12: its scheduler does it
        return None
    nodes = convert_legacy_graph(graph)
    cache: dict[Any, Any] = {}
    # Depth-first, without a recursive closure: a closure that refers to itself is a
    # reference cycle, and would keep the (large) result alive until the next garbage
    # collection instead of freeing it when the caller drops it.
    stack = list(flatten(keys)) if isinstance(keys, list) else [keys]
    budget = 4 * len(nodes) ** 2 + 16  # a graph with a cycle never ends: dask's scheduler reports it
    while stack:
        budget -= 1
        if budget < 0:
            return None
        key = stack[-1]
        if key in cache:
            stack.pop()
            continue
        node = nodes[key]
        missing = [dep for dep in node.dependencies if dep not in cache]
        if missing:
            stack.extend(missing)
            continue
        cache[key] = node({dep: cache[dep] for dep in node.dependencies})
        stack.pop()
    return (_pack(keys, cache),)


def _pack(keys: Any, values: Mapping[Any, Any]) -> Any:
    """``keys`` (a key or nested lists of keys) with each key replaced by its value; lists become tuples."""
    if isinstance(keys, list):
        return tuple(_pack(k, values) for k in keys)
    return values[keys]


class _SourceScheduler:
    """The default scheduler of :class:`SourceArray`: dask's threaded one, minus a thread hop.

    A compute whose graph is one read (a small file is one block; that block's read is
    spread over the cores by :func:`_read_block_spread`) runs on the calling thread:
    handing the one task to a pool thread and waiting for it only adds latency. It is
    evaluated by :func:`_run_here` when no dask callbacks are active, else by dask's
    synchronous scheduler (which reports to them). Every other graph goes to dask's
    threaded scheduler. It compares equal to dask's threaded ``get``, so computing a reader's
    array together with other dask arrays (``dask.compute(a, b)``) is allowed as
    with any dask array (dask refuses collections with different default schedulers).
    """

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        from dask import threaded

        if "pool" not in kwargs and "num_workers" not in kwargs:
            graph = dsk if isinstance(dsk, Mapping) else dsk.__dask_graph__()
            if _at_most_one_read(graph):
                from dask.callbacks import Callback

                if not kwargs and not Callback.active:
                    done = _run_here(graph, keys)
                    if done is not None:
                        return done[0]
                from dask.local import get_sync

                return get_sync(dict(graph), keys, **kwargs)
            dsk = graph
        return threaded.get(dsk, keys, **kwargs)

    def __eq__(self, other: object) -> bool:
        from dask import threaded

        return other is self or isinstance(other, _SourceScheduler) or other is threaded.get

    def __hash__(self) -> int:
        return hash(_SourceScheduler)

    def __reduce__(self) -> str:
        return "_SOURCE_SCHEDULER"


_SOURCE_SCHEDULER = _SourceScheduler()


class SourceArray(LocalArray):
    """A dask array over a :class:`~scitiff_readers.backend.PixelSource`.

    It behaves exactly like a :class:`dask.array.Array` (every operation on it returns
    plain dask arrays). The one difference: computing or persisting the whole array
    reads each block straight into its place in one result array (the blocks are still
    read in parallel by the scheduler), so the result costs one copy of the pixels
    and 1x their size in memory instead of dask's read-then-join 2x.
    """

    _sr_source_key: str
    _sr_regions: dict[Any, Region]
    _sr_target_bytes: int

    __dask_scheduler__ = _SOURCE_SCHEDULER

    def __new__(
        cls,
        dask: Mapping[Any, Any],
        name: str,
        chunks: Any,
        dtype: Any = None,
        meta: Any = None,
        shape: Any = None,
    ) -> Self:
        """Same arguments as :class:`dask.array.Array`."""
        # dask's Array.__new__ is unannotated: this typed twin makes the construction checkable.
        array: Self = da.Array.__new__(cls, dask, name, chunks, dtype, meta, shape)
        return array

    def __dask_optimize__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        direct = self._direct_graph(dsk, keys)
        if direct is not None:
            return direct
        return da.Array.__dask_optimize__(dsk, keys, **kwargs)

    def __dask_postcompute__(self) -> tuple[Any, tuple[Any, ...]]:
        return _finalize_direct, (self.shape, list(self._sr_regions.values()))

    def _direct_graph(self, dsk: Any, keys: Any) -> dict[Any, Any] | None:
        """The read-into-one-output graph, when the whole unmodified array is wanted.

        ``keys`` are either all of this array's block keys (``persist``) or the key of
        the one finalize task dask adds for ``compute``, which joins all blocks with
        :func:`_finalize_direct`. Anything else (the array used inside a bigger
        graph, a subset of blocks) keeps dask's own plan.
        """
        regions = getattr(self, "_sr_regions", None)
        layers = getattr(dsk, "layers", None)
        if not regions or layers is None or self.name not in layers:
            return None
        extra: dict[Any, Any] = {}
        for name, layer in layers.items():
            if name == self.name:
                continue
            for key, task in layer.items():
                if getattr(task, "func", None) is not _finalize_direct or set(task.dependencies) != set(
                    regions
                ):
                    return None
                extra[key] = task
        wanted = set(flatten(keys))
        if wanted != set(extra) and wanted != set(regions):
            return None
        try:
            source = dsk[self._sr_source_key]
        except KeyError:
            return None
        limit = _physical_memory()
        if limit is not None and self.nbytes > limit:
            return None  # a full result could not fit anyway; keep dask's block-wise plan
        # A fresh key per plan: a distributed cluster must never hand one compute's
        # output array to another.
        output_key = f"output-{self.name}-{uuid.uuid4().hex}"
        graph: dict[Any, Any] = {self._sr_source_key: source}
        if source.decodes_in_parallel:
            graph[output_key] = (_read_whole_into, self._sr_source_key, list(self.shape), self.dtype.str)
            for key, region in regions.items():
                graph[key] = (_output_block, output_key, region)
        elif len(regions) < cores():
            # Fewer blocks than cores: each block's read is spread over the cores itself.
            graph[output_key] = (_OutputArray, list(self.shape), self.dtype.str)
            target = getattr(self, "_sr_target_bytes", self.nbytes)
            for key, region in regions.items():
                graph[key] = (_read_block_spread, self._sr_source_key, output_key, region, target)
        else:
            graph[output_key] = (_OutputArray, list(self.shape), self.dtype.str)
            for key, region in regions.items():
                graph[key] = (_read_block_into, self._sr_source_key, output_key, region)
        graph.update(extra)
        return graph
