"""The lazy engine: graph shape, laziness, eager reads straight into the output, threads."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dask
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scitiff_readers._lazy as lazy_engine
from scitiff_readers._chunking import regular_chunks
from scitiff_readers._eager import uniform_block_regions
from scitiff_readers._lazy import block_regions, read_regions, to_dask
from scitiff_readers._sources import ArraySource, PlaneSource, Region
from scitiff_readers.testing.counters import count_reads


class CountingPlanes(PlaneSource):
    """Planes computed from their index; counts reads and detects concurrent use."""

    def __init__(self, shape: tuple[int, ...], missing: set[tuple[int, int, int]] | None = None) -> None:
        super().__init__(shape, np.uint16, tile=(8, 8))
        self.missing = missing or set()
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lock")
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def read_plane(self, t: int, c: int, z: int, ys: slice, xs: slice) -> np.ndarray | None:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(0.002)
            if (t, c, z) in self.missing:
                return None
            yy, xx = np.mgrid[ys, xs]
            return (t * 1000 + c * 100 + z * 10 + yy * 3 + xx).astype(np.uint16)
        finally:
            with self._lock:
                self.active -= 1


def expected(shape: tuple[int, ...], missing: set[tuple[int, int, int]] = frozenset()) -> np.ndarray:
    t, c, z, y, x = np.indices(shape)
    out = (t * 1000 + c * 100 + z * 10 + y * 3 + x).astype(np.uint16)
    for m in missing:
        out[m] = 0
    return out


def test_graph_is_lazy_and_has_one_task_per_chunk() -> None:
    src = CountingPlanes((2, 2, 3, 16, 16))
    arr = to_dask(src, target_bytes=16 * 16 * 2 * 3)  # three planes per chunk
    assert src.calls == 0
    assert arr.chunks == ((1, 1), (1, 1), (3,), (16,), (16,))
    graph = dict(arr.__dask_graph__())
    assert len(graph) == 4 + 1, "four blocks plus the shared source key"
    np.testing.assert_array_equal(arr.compute(scheduler="sync"), expected(src.shape))
    assert src.calls == 12


def test_source_is_one_graph_node_shared_by_tasks() -> None:
    src = CountingPlanes((1, 1, 4, 8, 8))
    arr = to_dask(src, target_bytes=8 * 8 * 2)
    graph = dict(arr.__dask_graph__())
    sources = [k for k, v in graph.items() if v is src]
    assert len(sources) == 1
    # Pickling the whole graph stores the source once.
    payload = pickle.dumps(graph)
    assert payload.count(b"CountingPlanes") == 1


def test_graph_names_are_deterministic_for_stable_tokens() -> None:
    a = ArraySource(np.zeros((2, 3)), "YX", token="same")
    b = ArraySource(np.zeros((2, 3)), "YX", token="same")
    assert to_dask(a, 100).name == to_dask(b, 100).name
    c = ArraySource(np.zeros((2, 3)), "YX", token="other")
    assert to_dask(a, 100).name != to_dask(c, 100).name


def test_missing_planes_are_filled() -> None:
    missing = {(0, 1, 2)}
    src = CountingPlanes((1, 2, 3, 8, 8), missing=missing)
    np.testing.assert_array_equal(to_dask(src, 10**6).compute(), expected(src.shape, missing))


def test_eager_read_goes_straight_into_output_in_parallel() -> None:
    src = CountingPlanes((2, 2, 8, 16, 16))
    out = np.zeros(src.shape, dtype=np.uint16)
    full: Region = tuple(slice(0, s) for s in src.shape)
    read_regions(src, [(full, out)], target_bytes=16 * 16 * 2)
    np.testing.assert_array_equal(out, expected(src.shape))
    assert src.calls == 2 * 2 * 8
    assert src.max_active >= 2, "blocks should be read by several threads"


def test_block_regions_follow_chunk_boundaries() -> None:
    region = (slice(1, 5), slice(0, 3))
    blocks = block_regions(region, ((2, 2, 2), (3,)))
    assert blocks == [(slice(1, 2), slice(0, 3)), (slice(2, 4), slice(0, 3)), (slice(4, 5), slice(0, 3))]


@st.composite
def _shape_chunk_region(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], Region]:
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(0, 40)) for _ in range(ndim))
    chunk = tuple(draw(st.integers(1, 12)) for _ in range(ndim))
    region = []
    for size in shape:
        start = draw(st.integers(0, size))
        region.append(slice(start, draw(st.integers(start, size))))
    return shape, chunk, tuple(region)


@settings(max_examples=300, deadline=None)
@given(_shape_chunk_region())
def test_uniform_block_regions_cut_like_the_dask_chunks(case: tuple[Any, Any, Region]) -> None:
    """The eager read's cuts, computed from the region, equal those of the dask-style chunks."""
    shape, chunk, region = case
    assert uniform_block_regions(region, chunk) == block_regions(region, regular_chunks(shape, chunk))


def test_eager_read_of_a_region_of_a_huge_declared_axis() -> None:
    """A 2**60-long axis (a sparse zarr array may declare one): reading 4 rows reads 4 rows.

    The eager read used to lay out the whole axis's blocks first (a 2**49-entry tuple:
    MemoryError, found by the fuzz campaign on a VISoR ``.zarray`` shape of 2**63 - 1).
    """
    huge = np.broadcast_to(np.arange(3, dtype=np.uint16)[:, None], (3, 2**60)).T
    src = ArraySource(huge, "YX", storage_chunks=(16, 3))
    lead = tuple(slice(0, 1) for _ in src.shape[:-2])
    out = np.zeros((1,) * len(lead) + (4, 3), dtype=np.uint16)
    read_regions(src, [((*lead, slice(2**60 - 6, 2**60 - 2), slice(0, 3)), out)], target_bytes=4096)
    np.testing.assert_array_equal(out.reshape(4, 3), huge[2**60 - 6 : 2**60 - 2])


def test_concurrent_dask_computes_on_threads() -> None:
    src = CountingPlanes((3, 2, 4, 16, 16))
    arr = to_dask(src, target_bytes=16 * 16 * 2)
    with dask.config.set(scheduler="threads", num_workers=4), ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: arr.compute(), range(4)))
    for r in results:
        np.testing.assert_array_equal(r, expected(src.shape))


def test_pixel_read_counter_counts_subclass_reads_only_inside_its_block() -> None:
    src = ArraySource(np.ones((4, 4)), "YX")
    region = (slice(0, 1),) * 3 + (slice(0, 4), slice(0, 4))
    with count_reads() as counts:
        src.read(region)
        assert counts.pixel_reads == 1
        lazy_engine.to_dask(src, target_bytes=16)
        assert counts.graphs_built == 1

        class LateSource(PlaneSource):  # defined while counting: wrapped on creation
            def read_plane(self, t: int, c: int, z: int, ys: slice, xs: slice) -> np.ndarray:
                return np.zeros((2, 2), np.uint8)

        late = LateSource((1, 1, 1, 2, 2), np.uint8)
        late.read((*region[:3], slice(0, 2), slice(0, 2)))
        assert counts.pixel_reads >= 2  # read() and the read_plane() calls under it
        inside = counts.pixel_reads
    src.read(region)
    late.read_plane(0, 0, 0, slice(0, 2), slice(0, 2))
    lazy_engine.to_dask(src, target_bytes=16)
    assert (counts.pixel_reads, counts.graphs_built) == (inside, 1)
    assert not getattr(ArraySource.read, "_sr_counting", False)
    assert not getattr(LateSource.read_plane, "_sr_counting", False)


def test_array_source_axes_validation() -> None:
    with pytest.raises(ValueError, match="do not match"):
        ArraySource(np.ones((2, 2)), "ZYX")
    with pytest.raises(ValueError, match="outside TCZYXS"):
        ArraySource(np.ones((2, 2)), "QX")
    src = ArraySource(np.arange(24).reshape(2, 3, 4), "XCY")  # any axis order
    assert src.shape == (1, 3, 1, 4, 2)
    block = src.read((slice(0, 1), slice(1, 3), slice(0, 1), slice(0, 4), slice(1, 2)))
    np.testing.assert_array_equal(block[0, :, 0, :, 0], np.arange(24).reshape(2, 3, 4)[1, 1:3, :])


def test_a_source_must_implement_read_or_read_into() -> None:
    with pytest.raises(TypeError, match="must implement read\\(\\) or read_into\\(\\)"):
        type("Nothing", (ArraySource.__mro__[1],), {})
    only_read_into = type(
        "OnlyInto",
        (ArraySource.__mro__[1],),
        {
            "read_into": lambda self, out, region: out.fill(7),
            "shape": (1, 1, 1, 2, 2),
            "dtype": np.dtype("u1"),
            "storage_chunks": (1, 1, 1, 2, 2),
        },
    )
    full = (slice(0, 1),) * 3 + (slice(0, 2), slice(0, 2))
    assert (only_read_into().read(full) == 7).all()


class RecordingPlanes(CountingPlanes):
    """Records whether blocks were asked for with read() or straight into an output."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__(shape)
        self.methods: list[str] = []

    def read(self, region: Region) -> np.ndarray:
        self.methods.append("read")
        return super().read(region)

    def read_into(self, out: np.ndarray, region: Region) -> None:
        self.methods.append("read_into")
        super().read_into(out, region)


def _recording(shape: tuple[int, ...] = (3, 2, 4, 16, 16)) -> tuple[RecordingPlanes, Any]:
    src = RecordingPlanes(shape)
    return src, to_dask(src, target_bytes=16 * 16 * 2 * 4)  # one chunk per (t, c)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_whole_compute_reads_blocks_straight_into_the_result(scheduler: str) -> None:
    src, arr = _recording()
    assert arr.numblocks == (3, 2, 1, 1, 1)
    result = arr.compute(scheduler=scheduler)
    np.testing.assert_array_equal(result, expected(src.shape))
    assert src.methods == ["read_into"] * 6, "no block read into its own buffer, no join copy"
    assert result.flags.owndata
    assert result.flags.writeable
    assert result.flags.c_contiguous


def test_whole_compute_results_are_independent() -> None:
    src, arr = _recording()
    first = arr.compute()
    first[...] = 7
    second = arr.compute()
    np.testing.assert_array_equal(second, expected(src.shape))
    assert not np.shares_memory(first, second)


def test_derived_arrays_keep_the_block_wise_plan() -> None:
    src, arr = _recording()
    np.testing.assert_array_equal(arr[1, :, 2].compute(), expected(src.shape)[1, :, 2])
    assert arr.sum().compute() == expected(src.shape).sum(dtype=np.uint64)
    assert type(arr[1]) is dask.array.Array
    # Each block read into its own buffer (read() then its own read_into), then joined.
    assert src.methods.count("read") == 2 + 6


def test_subset_of_blocks_reads_only_those_blocks() -> None:
    src, arr = _recording()
    np.testing.assert_array_equal(arr[0].compute(), expected(src.shape)[0])
    assert src.calls == 2 * 4, "only the planes of T=0"


def test_whole_compute_with_other_collections() -> None:
    src, arr = _recording()
    plain, shifted = dask.compute(arr, arr + 1)
    np.testing.assert_array_equal(plain, expected(src.shape))
    np.testing.assert_array_equal(shifted, expected(src.shape) + 1)


def test_whole_compute_inside_xarray_and_persist() -> None:
    xr = pytest.importorskip("xarray")
    src, arr = _recording()
    data = xr.DataArray(arr, dims=list("TCZYX"))
    np.testing.assert_array_equal(data.compute().values, expected(src.shape))
    assert src.methods == ["read_into"] * 6
    persisted = arr.persist()
    np.testing.assert_array_equal(persisted.compute(), expected(src.shape))
    assert src.methods == ["read_into"] * 12


def test_unoptimized_or_too_large_computes_fall_back_to_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    import scitiff_readers._lazy as lazy

    src, arr = _recording()
    np.testing.assert_array_equal(arr.compute(optimize_graph=False), expected(src.shape))
    assert src.methods.count("read") == 6
    src.methods.clear()
    monkeypatch.setattr(lazy, "_physical_memory", lambda: 1024)  # smaller than the array
    np.testing.assert_array_equal(arr.compute(), expected(src.shape))
    assert src.methods.count("read") == 6


def test_whole_compute_on_process_scheduler_joins_copies() -> None:
    src, arr = _recording((2, 1, 2, 8, 8))
    np.testing.assert_array_equal(arr.compute(scheduler="processes", num_workers=2), expected(src.shape))


def test_finalize_refuses_views_at_the_wrong_place() -> None:
    from scitiff_readers._lazy import _finalize_direct

    base = np.empty((2, 4), dtype=np.int64)
    base[...] = np.arange(8).reshape(2, 4)
    regions = [(slice(0, 1), slice(0, 4)), (slice(1, 2), slice(0, 4))]
    joined = _finalize_direct([[base[0:1]], [base[1:2]]], base.shape, regions)
    assert joined is base
    swapped = _finalize_direct([[base[1:2]], [base[0:1]]], base.shape, regions)
    assert swapped is not base
    np.testing.assert_array_equal(swapped, base[::-1])


class SelfParallelPlanes(RecordingPlanes):
    """A source that decodes in parallel itself: the core must hand it whole regions."""

    decodes_in_parallel = True

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__(shape)
        self.regions: list[Region] = []

    def read_into(self, out: np.ndarray, region: Region) -> None:
        self.regions.append(region)
        super().read_into(out, region)


def test_self_parallel_source_gets_whole_regions_in_eager_reads() -> None:
    src = SelfParallelPlanes((3, 2, 4, 16, 16))
    out = np.zeros(src.shape, dtype=np.uint16)
    full: Region = tuple(slice(0, s) for s in src.shape)
    read_regions(src, [(full, out)], target_bytes=16 * 16 * 2)
    np.testing.assert_array_equal(out, expected(src.shape))
    assert src.regions == [full], "one call for the whole region, not one per storage block"


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_self_parallel_source_is_read_whole_by_a_dask_compute(scheduler: str) -> None:
    src = SelfParallelPlanes((3, 2, 4, 16, 16))
    arr = to_dask(src, target_bytes=16 * 16 * 2 * 4)
    assert arr.numblocks == (3, 2, 1, 1, 1)
    result = arr.compute(scheduler=scheduler)
    np.testing.assert_array_equal(result, expected(src.shape))
    assert src.regions == [tuple(slice(0, s) for s in src.shape)]
    assert result.flags.owndata
    src.regions.clear()
    np.testing.assert_array_equal(arr[1].compute(scheduler=scheduler), expected(src.shape)[1])
    assert len(src.regions) == 2, "a selection still reads only its own blocks"


# ------------------------------------------------- compute with no distributed client
def test_compute_in_a_fresh_process_imports_no_distributed() -> None:
    # distributed is installed (the test extra): dask's own compute would import it to
    # look for a client; with none possible, LocalArray names the default scheduler.
    program = (
        "import sys\nimport numpy as np\n"
        "from scitiff_readers._lazy import local_array, to_dask\n"
        "from scitiff_readers._sources import ArraySource\n"
        "data = np.arange(2 * 3 * 1 * 16 * 16, dtype=np.uint16).reshape(2, 3, 1, 16, 16)\n"
        "whole = to_dask(ArraySource(data, 'TCZYX', (1, 1, 1, 16, 16)), target_bytes=16 * 16 * 2)\n"
        "plane = local_array(whole[1, 2, 0])\n"
        "assert whole.npartitions > 1 and plane.npartitions == 1, (whole.chunks, plane.chunks)\n"
        "assert np.array_equal(plane.compute(), data[1, 2, 0])\n"
        "assert np.array_equal(whole.compute(), data)\n"
        "assert np.array_equal(whole.persist().compute(), data)\n"
        "print('distributed' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False"]


def test_compute_uses_the_distributed_client_when_there_is_one() -> None:
    distributed = pytest.importorskip("distributed")
    data = np.arange(2 * 3 * 1 * 16 * 16, dtype=np.uint16).reshape(2, 3, 1, 16, 16)
    plane = lazy_engine.local_array(
        to_dask(ArraySource(data, "TCZYX", (1, 1, 1, 16, 16)), target_bytes=16 * 16 * 2)[1, 2, 0]
    )
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
    ):
        result = plane.compute()
    np.testing.assert_array_equal(result, data[1, 2, 0])
    assert stream.data, "the compute did not run on the client's cluster"


def test_a_configured_scheduler_is_left_to_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    plane = lazy_engine.local_array(
        to_dask(ArraySource(np.zeros((1, 1, 1, 4, 4), np.uint8), "TCZYX"), 16)[0, 0, 0]
    )
    assert lazy_engine._scheduler_without_client(plane) is dask.local.get_sync
    with dask.config.set(scheduler="threads"):
        assert lazy_engine._scheduler_without_client(plane) is None
