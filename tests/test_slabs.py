"""Slab plans (bounded, ordered, aligned) and the background computation of slabs."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import dask
import dask.array as da
import numpy as np
import pytest

from scitiff_readers import Reader
from scitiff_readers._slabs import Progress, iter_slabs, plan_slabs
from scitiff_readers._writers import to_canonical

if TYPE_CHECKING:
    from pathlib import Path


def _covers_in_order(slabs: list[tuple[slice, slice, slice]], shape: tuple[int, ...]) -> None:
    planes = [
        (t, c, z)
        for ts, cs, zs in slabs
        for t in range(ts.start, ts.stop)
        for c in range(cs.start, cs.stop)
        for z in range(zs.start, zs.stop)
    ]
    assert planes == list(itertools.product(*(range(n) for n in shape[:3])))


@pytest.mark.parametrize(
    "chunks", [None, ((1,) * 4, (1, 1, 1), (16,) * 4), ((2, 2), (3,), (64,)), ((4,), (3,), (7,) * 9 + (1,))]
)
def test_plans_cover_every_plane_in_tcz_order_within_budget(chunks: object) -> None:
    shape = (4, 3, 64, 256, 256)
    plane = 256 * 256 * 2
    target = 4 * 2**20
    slabs = plan_slabs(shape, 2, chunks, z_align=4, target_bytes=target)  # type: ignore[arg-type]
    _covers_in_order(slabs, shape)
    for ts, cs, zs in slabs:
        n = (ts.stop - ts.start) * (cs.stop - cs.start) * (zs.stop - zs.start)
        assert n * plane <= max(target, 4 * plane)
        if zs != slice(0, 64):  # a slab that splits Z holds one t and one c, cut at multiples of z_align
            assert ts.stop - ts.start == 1
            assert cs.stop - cs.start == 1
            assert zs.start % 4 == 0


def test_plans_follow_dask_chunks_when_they_fit() -> None:
    slabs = plan_slabs((1, 1, 64, 256, 256), 2, ((1,), (1,), (16,) * 4), z_align=4, target_bytes=4 * 2**20)
    assert [(s[2].start, s[2].stop) for s in slabs] == [(0, 32), (32, 64)]


def test_iter_slabs_computes_each_block_once_and_in_order() -> None:
    calls: list[tuple[int, int]] = []

    def record(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        assert block_info is not None
        calls.append(tuple(block_info[0]["chunk-location"][:2]))
        return block

    base = np.arange(2 * 2 * 8 * 4 * 4, dtype=np.uint16).reshape(2, 2, 8, 4, 4)
    array = da.from_array(base, chunks=(1, 1, 4, 4, 4)).map_blocks(
        record, meta=np.empty((0,) * 5, base.dtype)
    )
    slabs = plan_slabs(base.shape, 2, array.chunks, target_bytes=128)
    got = list(iter_slabs(array, slabs))
    assert [w for w, _ in got] == slabs
    for where, slab in got:
        np.testing.assert_array_equal(slab, base[where])
    assert len(calls) == 8
    assert len(set(calls)) == 4


def test_iter_slabs_stops_computing_when_closed() -> None:
    computed: list[int] = []

    def record(block: np.ndarray) -> np.ndarray:
        computed.append(1)
        return block

    array = da.zeros((10, 1, 1, 4, 4), chunks=(1, 1, 1, 4, 4)).map_blocks(record, meta=np.empty((0,) * 5))
    it = iter_slabs(array, plan_slabs(array.shape, 8, array.chunks))
    next(it)
    it.close()
    assert len(computed) <= 2  # the one handed out and the one computed ahead


def test_slabs_of_a_readers_lazy_array_are_read_straight_from_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = np.random.default_rng(0).integers(0, 2**16, (2, 3, 10, 32, 24), dtype=np.uint16)
    np.save(tmp_path / "a.npy", base)  # numpy writes the file; numpy slices the expected slabs
    with Reader(tmp_path / "a.npy") as r:
        array = to_canonical(r.xarray_dask_data).data
        slabs = plan_slabs(base.shape, 2, array.chunks, z_align=4, target_bytes=4 * 32 * 24 * 2)
        assert len(slabs) > 4
        with monkeypatch.context() as m:  # no dask compute: the slabs come from the pixel source
            m.setattr(dask, "compute", lambda *a, **k: pytest.fail("dask.compute called"))
            fresh = list(iter_slabs(array, slabs))
            reused = []
            for where, slab in iter_slabs(array, slabs, reuse=True):
                np.testing.assert_array_equal(slab, base[where])
                reused.append(slab)
        for (where, slab), expected in zip(fresh, slabs, strict=True):
            assert where == expected
            np.testing.assert_array_equal(slab, base[where])
        # reuse: two buffers in turn; otherwise every slab is its own array
        assert np.shares_memory(reused[0], reused[2])
        assert not np.shares_memory(reused[0], reused[1])
        assert not any(np.shares_memory(a, b) for (_, a), (_, b) in itertools.combinations(fresh, 2))
        # any other dask array (here one derived from the reader's) is computed by dask
        derived = array + np.uint16(1)
        got = list(iter_slabs(derived, plan_slabs(base.shape, 2, derived.chunks), reuse=True))
        for where, slab in got:
            np.testing.assert_array_equal(slab, base[where] + np.uint16(1))


def test_progress_reports_bytes() -> None:
    seen: list[tuple[int, int]] = []
    p = Progress(10, lambda d, t: seen.append((d, t)))
    p.advance(4)
    p.advance(9)
    assert seen == [(0, 10), (4, 10), (10, 10)]
