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


# ------------------------------------------- fewer blocks than cores: reads spread out
class AlignedRecorder(ArraySource):
    """An array source that records the regions it is asked for and the threads that ask."""

    def __init__(self, data: np.ndarray, chunks: tuple[int, ...]) -> None:
        super().__init__(data, "TCZYX", chunks)
        self.regions: list[Region] = []
        self.threads: set[int] = set()

    def read_into(self, out: np.ndarray, region: Region) -> None:
        self.regions.append(region)
        self.threads.add(threading.get_ident())
        out[...] = self.array[region]


def _whole_storage_units(src: AlignedRecorder, region: Region) -> bool:
    return all(
        s.start % unit == 0 and (s.stop % unit == 0 or s.stop == size)
        for s, unit, size in zip(region, src.storage_chunks, src.shape, strict=True)
    )


@st.composite
def _spread_cases(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...], Region, int, int]:
    shape = tuple(draw(st.integers(1, n)) for n in (3, 3, 9, 20, 20))
    chunks = tuple(draw(st.integers(1, s)) for s in shape)
    starts = [draw(st.integers(0, s - 1)) for s in shape]
    region = tuple(slice(a, draw(st.integers(a + 1, s))) for a, s in zip(starts, shape, strict=True))
    data = np.arange(int(np.prod(shape)), dtype=np.uint16).reshape(shape)
    return data, chunks, region, draw(st.integers(1, 5)), draw(st.integers(16, 4096))


@settings(max_examples=200, deadline=None)
@given(_spread_cases())
def test_spread_reads_equal_the_array_and_cut_only_along_storage_units(
    case: tuple[np.ndarray, tuple[int, ...], Region, int, int],
) -> None:
    import scitiff_readers._eager as eager

    data, chunks, region, workers, target = case
    src = AlignedRecorder(data, chunks)
    out = np.full(tuple(s.stop - s.start for s in region), 65535, dtype=np.uint16)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(eager, "cores", lambda: workers)
        mp.setattr(eager, "spare_cores", lambda: workers)
        mp.setattr(eager, "MIN_THREAD_BYTES", 8)
        read_regions(src, [(region, out)], target)
    np.testing.assert_array_equal(out, data[region])
    for sub in src.regions:
        # Every cut lies on a storage boundary (or on the region's own edge).
        for s, r, u in zip(sub, region, src.storage_chunks, strict=True):
            assert s.start == r.start or s.start % u == 0, (sub, region)
            assert s.stop == r.stop or s.stop % u == 0, (sub, region)
    covered = sum(int(np.prod([s.stop - s.start for s in sub])) for sub in src.regions)
    assert covered == out.size, "each pixel read exactly once"


class MeetingRecorder(AlignedRecorder):
    """Its first read waits (up to 10 s) until a read on another thread has begun."""

    def __init__(self, data: np.ndarray, chunks: tuple[int, ...]) -> None:
        super().__init__(data, chunks)
        self.second_thread = threading.Event()
        self.first: int | None = None

    def read_into(self, out: np.ndarray, region: Region) -> None:
        me = threading.get_ident()
        if self.first is None:
            self.first = me
        if me != self.first:
            self.second_thread.set()
        else:
            self.second_thread.wait(10)
        super().read_into(out, region)


def test_one_block_read_is_spread_over_the_cores_in_whole_storage_units(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import scitiff_readers._eager as eager

    monkeypatch.setattr(eager, "cores", lambda: 2)
    monkeypatch.setattr(eager, "spare_cores", lambda: 2)
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", 1024)
    data = np.arange(1 * 2 * 8 * 32 * 32, dtype=np.uint16).reshape(1, 2, 8, 32, 32)
    src = MeetingRecorder(data, (1, 1, 1, 32, 32))
    arr = to_dask(src, target_bytes=data.nbytes)  # one block, as for a small file
    assert arr.numblocks == (1, 1, 1, 1, 1)
    result = arr.compute()
    np.testing.assert_array_equal(result, data)
    assert len(src.regions) == 2 * eager.PIECES_PER_CORE, src.regions
    assert all(_whole_storage_units(src, r) for r in src.regions)
    assert src.second_thread.is_set(), "both cores read a part"
    assert len(src.threads) == 2
    # Not spread: below MIN_THREAD_BYTES per core, or with spread=False.
    src.regions.clear()
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", data.nbytes)
    np.testing.assert_array_equal(arr.compute(), data)
    assert len(src.regions) == 1
    src.regions.clear()
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", 1024)
    out = np.empty_like(data)
    read_regions(src, [(tuple(slice(0, n) for n in data.shape), out)], data.nbytes, spread=False)
    np.testing.assert_array_equal(out, data)
    assert len(src.regions) == 1


class FailingPiece(AlignedRecorder):
    """Raises on the piece that starts at ``bad_z``."""

    def __init__(self, data: np.ndarray, bad_z: int) -> None:
        super().__init__(data, (1, 1, 1, 8, 8))
        self.bad_z = bad_z

    def read_into(self, out: np.ndarray, region: Region) -> None:
        if region[2].start == self.bad_z:
            raise ValueError(f"piece at Z={self.bad_z} is broken")
        super().read_into(out, region)


@pytest.mark.parametrize("bad_z", [0, 4, 14])
def test_an_error_in_any_piece_of_a_spread_read_is_raised(
    monkeypatch: pytest.MonkeyPatch, bad_z: int
) -> None:
    import scitiff_readers._eager as eager

    monkeypatch.setattr(eager, "cores", lambda: 2)
    monkeypatch.setattr(eager, "spare_cores", lambda: 2)
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", 64)
    data = np.zeros((1, 1, 16, 8, 8), np.uint16)
    src = FailingPiece(data, bad_z)
    out = np.empty_like(data)
    with pytest.raises(ValueError, match=f"Z={bad_z} is broken"):
        read_regions(src, [(tuple(slice(0, n) for n in data.shape), out)], data.nbytes)


def test_spread_reads_from_inside_the_pool_never_wait_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import scitiff_readers._eager as eager

    monkeypatch.setattr(eager, "cores", lambda: 4)
    monkeypatch.setattr(eager, "spare_cores", lambda: 4)
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", 64)
    data = np.arange(16 * 8 * 8, dtype=np.uint16).reshape(1, 1, 16, 8, 8)
    pool = eager._pool()

    def nested() -> np.ndarray:
        # A read whose pool helpers cannot start: every pool thread runs one of these.
        out = np.empty_like(data)
        read_regions(
            AlignedRecorder(data, (1, 1, 1, 8, 8)), [(tuple(slice(0, n) for n in data.shape), out)], 64
        )
        return out

    futures = [pool.submit(nested) for _ in range(pool._max_workers * 2)]
    for future in futures:
        np.testing.assert_array_equal(future.result(timeout=60), data)


def test_blocks_as_many_as_cores_are_not_cut_further(monkeypatch: pytest.MonkeyPatch) -> None:
    import scitiff_readers._eager as eager

    monkeypatch.setattr(eager, "cores", lambda: 2)
    monkeypatch.setattr(eager, "spare_cores", lambda: 2)
    monkeypatch.setattr(lazy_engine, "cores", lambda: 2)
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", 1024)
    data = np.arange(1 * 2 * 8 * 32 * 32, dtype=np.uint16).reshape(1, 2, 8, 32, 32)
    src = AlignedRecorder(data, (1, 1, 1, 32, 32))
    arr = to_dask(src, target_bytes=data.nbytes // 2)  # two blocks on two cores
    assert arr.npartitions == 2
    np.testing.assert_array_equal(arr.compute(scheduler="threads"), data)
    assert sorted((r[1].start, r[2].start) for r in src.regions) == [(0, 0), (1, 0)]


# ------------------------------------------------------ the scheduler of reader arrays
def test_small_graph_runs_on_the_calling_thread_and_big_ones_on_dask_threads() -> None:
    data = np.arange(2 * 1 * 1 * 8 * 8, dtype=np.uint16).reshape(2, 1, 1, 8, 8)
    src = AlignedRecorder(data, (1, 1, 1, 8, 8))
    one = to_dask(src, target_bytes=data.nbytes)
    np.testing.assert_array_equal(dask.compute(one)[0], data)
    assert src.threads == {threading.get_ident()}, "one small block: no thread hop"
    src.threads.clear()
    two = to_dask(src, target_bytes=data.nbytes // 2)
    np.testing.assert_array_equal(dask.compute(two)[0], data)
    assert threading.get_ident() not in src.threads, "several blocks: dask's thread pool"


def test_scheduler_compares_equal_to_dasks_threaded_get() -> None:
    from dask import threaded

    arr = to_dask(ArraySource(np.zeros((1, 1, 1, 4, 4), np.uint8), "TCZYX"), 16)
    assert arr.__dask_scheduler__ == threaded.get
    assert threaded.get == arr.__dask_scheduler__
    plain = dask.array.ones((4, 4), chunks=2)
    a, b = dask.compute(arr, plain)  # dask refuses collections whose default schedulers differ
    np.testing.assert_array_equal(a, np.zeros((1, 1, 1, 4, 4)))
    np.testing.assert_array_equal(b, np.ones((4, 4)))
    assert pickle.loads(pickle.dumps(arr.__dask_scheduler__)) is arr.__dask_scheduler__


def test_small_graph_still_reports_to_dask_callbacks() -> None:
    from dask.callbacks import Callback

    data = np.arange(16, dtype=np.uint8).reshape(1, 1, 1, 4, 4)
    arr = to_dask(ArraySource(data, "TCZYX"), 1024)
    seen: list[Any] = []
    with Callback(posttask=lambda key, result, dsk, state, worker: seen.append(key)):
        np.testing.assert_array_equal(arr.compute(), data)
    assert seen, "a progress bar or profiler sees the tasks"


def test_small_graph_errors_propagate() -> None:
    class Broken(ArraySource):
        def read_into(self, out: np.ndarray, region: Region) -> None:
            raise OSError("disk on fire")

    from scitiff_readers.errors import CorruptFileError

    arr = to_dask(Broken(np.zeros((1, 1, 1, 4, 4), np.uint8), "TCZYX"), 1024)
    # The same typed error on the calling thread as through dask's own scheduler.
    with pytest.raises(CorruptFileError, match="disk on fire") as here:
        dask.compute(arr)
    with pytest.raises(CorruptFileError, match="disk on fire") as threaded:
        dask.compute(arr, scheduler="threads")
    assert type(here.value) is type(threaded.value)


_LAYOUTS: dict[str, dict[str, Any]] = {
    "strips": {"rowsperstrip": 3},
    "tiles-aligned": {"tile": (16, 16)},
    "tiles-unaligned": {"tile": (16, 32)},
    "zlib-predictor": {"compression": "zlib", "predictor": True, "rowsperstrip": 5},
    "contiguous-pages": {},
    "rgb": {"photometric": "rgb"},
    "planar-separate": {"photometric": "rgb", "planarconfig": "separate"},
}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_spread_reads_equal_tifffile_on_tiff_layouts(
    layout: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tifffile = pytest.importorskip("tifffile")
    import scitiff_readers._eager as eager
    from scitiff_readers import Reader

    # Spread every read a little over three "cores", whatever the machine.
    monkeypatch.setattr(eager, "cores", lambda: 3)
    monkeypatch.setattr(eager, "spare_cores", lambda: 3)
    monkeypatch.setattr(lazy_engine, "cores", lambda: 3)
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", 64)
    kwargs = dict(_LAYOUTS[layout])
    rgb = "photometric" in kwargs
    shape = (7, 48, 64, 3) if rgb else (7, 48, 64)
    if kwargs.get("planarconfig") == "separate":
        shape = (7, 3, 48, 64)
    rng = np.random.default_rng(11)
    data = rng.integers(0, 60000, size=shape, dtype=np.uint16)
    path = tmp_path / f"{layout}.tif"
    kwargs.setdefault("photometric", "minisblack")
    tifffile.imwrite(path, data, **kwargs)
    want = tifffile.imread(path)
    if kwargs.get("planarconfig") == "separate":
        want = np.moveaxis(want, 1, -1)  # ours: samples last
    with Reader(path) as r:
        np.testing.assert_array_equal(np.squeeze(r.data), np.squeeze(want))
        np.testing.assert_array_equal(np.squeeze(r.xarray_dask_data.compute().values), np.squeeze(want))
        np.testing.assert_array_equal(np.squeeze(r.dask_data.compute(scheduler="threads")), np.squeeze(want))
        order = "ZYXS" if rgb else "ZYX"
        np.testing.assert_array_equal(r.get_image_data(order, Z=slice(1, 6)), want[1:6])


def test_spare_cores_follow_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import scitiff_readers._eager as eager

    monkeypatch.setattr(eager, "cores", lambda: 4)
    for load, spare in [(0.0, 4), (1.0, 4), (1.6, 3), (3.0, 2), (4.2, 1), (40.0, 1)]:
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        assert eager.spare_cores() == spare, load

    def no_load_average() -> tuple[float, float, float]:
        raise OSError("not here")

    monkeypatch.setattr(os, "getloadavg", no_load_average)
    assert eager.spare_cores() == 4


def test_a_busy_machine_reads_on_the_calling_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import scitiff_readers._eager as eager

    monkeypatch.setattr(eager, "cores", lambda: 2)
    monkeypatch.setattr(eager, "MIN_THREAD_BYTES", 64)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))  # both cores busy elsewhere
    data = np.arange(16 * 8 * 8, dtype=np.uint16).reshape(1, 1, 16, 8, 8)
    src = AlignedRecorder(data, (1, 1, 1, 8, 8))
    out = np.empty_like(data)
    read_regions(src, [(tuple(slice(0, n) for n in data.shape), out)], data.nbytes)
    np.testing.assert_array_equal(out, data)
    assert len(src.regions) == 1
    assert src.threads == {threading.get_ident()}
