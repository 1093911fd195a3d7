"""``read_into`` decodes straight into the caller's buffer: pixels equal zarr's on edge regions.

Edge regions: partial shards and chunks at the array's end, missing inner chunks and
missing whole shards (fill value), regions not aligned to chunks or shards; caller
buffers that are whole arrays, contiguous views and strided views of a larger array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import zarr
from scitiff_readers_zarr import source as source_module
from scitiff_readers_zarr.testing import zarr_reference

from scitiff_readers import Reader

if TYPE_CHECKING:
    from pathlib import Path

FILL = 7
SHAPE = (2, 3, 10, 21, 19)  # T, C, Z, Y, X: no axis is a multiple of the shard or chunk
SHARDS = (1, 2, 8, 16, 16)
CHUNKS = (1, 1, 4, 8, 8)

PIPELINES = [
    "zarr",
    pytest.param(
        "zarrs",
        marks=pytest.mark.skipif(
            source_module.resolve_pipeline("auto") != "auto", reason="zarrs is not installed"
        ),
    ),
]

REGIONS = {
    "whole": tuple(slice(0, n) for n in SHAPE),
    "one shard": (slice(0, 1), slice(0, 2), slice(0, 8), slice(0, 16), slice(0, 16)),
    "partial shards at the end": (slice(1, 2), slice(2, 3), slice(8, 10), slice(16, 21), slice(16, 19)),
    "unaligned": (slice(0, 2), slice(1, 3), slice(3, 9), slice(5, 18), slice(2, 17)),
    "inside a missing shard": (slice(1, 2), slice(0, 2), slice(0, 8), slice(16, 21), slice(0, 16)),
    "one pixel": (slice(1, 2), slice(1, 2), slice(9, 10), slice(20, 21), slice(18, 19)),
    "one plane": (slice(0, 1), slice(0, 1), slice(5, 6), slice(0, 21), slice(0, 19)),
}


def _ngff_05(path: Path, data: np.ndarray, sharded: bool) -> Path:
    """An OME-Zarr 0.5 image whose array has missing chunks and shards (fill value ``FILL``)."""
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [
            {
                "axes": [
                    {"name": "t", "type": "time"},
                    {"name": "c", "type": "channel"},
                    {"name": "z", "type": "space"},
                    {"name": "y", "type": "space"},
                    {"name": "x", "type": "space"},
                ],
                "datasets": [
                    {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1] * 5}]}
                ],
            }
        ],
    }
    options: dict[str, Any] = {"chunks": CHUNKS, "shards": SHARDS} if sharded else {"chunks": CHUNKS}
    arr = group.create_array("0", shape=SHAPE, dtype="uint16", fill_value=FILL, **options)
    # Leave holes: T=1, Y >= 16 is never written (whole shards missing), and within the
    # written part every chunk whose Z block is 1 (z 4..7) stays empty.
    arr[0] = data[0]
    arr[1, :, :, :16] = data[1, :, :, :16]
    arr[:, :, 4:8] = FILL  # equal to the fill value: zarr does not store these chunks
    return path


@pytest.fixture(params=[True, False], ids=["sharded", "chunked"])
def image(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    data = (np.arange(np.prod(SHAPE), dtype=np.uint32) * 2654435761 % 60000).astype(np.uint16)
    return _ngff_05(tmp_path / "img.zarr", data.reshape(SHAPE), sharded=request.param)


def _expected(path: Path, region: tuple[slice, ...]) -> np.ndarray:
    return zarr_reference(path / "0")[region]


def test_the_fixture_has_holes(image: Path) -> None:
    ref = zarr_reference(image / "0")
    assert (ref[1, :, :, 16:] == FILL).all()
    assert (ref[:, :, 4:8] == FILL).all()
    assert (ref[0, :, :4] != FILL).mean() > 0.99
    stored = [p for p in (image / "0" / "c").rglob("*") if p.is_file()]
    unit = zarr.open_array(str(image / "0"), mode="r").shards or CHUNKS
    n_units = int(np.prod([-(-s // u) for s, u in zip(SHAPE, unit, strict=True)]))
    assert 0 < len(stored) < n_units  # some shards / chunks are missing


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("name", list(REGIONS))
def test_read_into_a_fresh_buffer_equals_zarr(image: Path, pipeline: str, name: str) -> None:
    region = REGIONS[name]
    with Reader(image, codec_pipeline=pipeline) as r:
        source = r.image().source
        out = np.full(tuple(s.stop - s.start for s in region), 12345, dtype=source.dtype)
        source.read_into(out, region)
        np.testing.assert_array_equal(out, _expected(image, region))


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("name", list(REGIONS))
def test_read_into_views_of_a_larger_array(image: Path, pipeline: str, name: str) -> None:
    """Contiguous and strided views; what lies outside the view is left untouched."""
    region = REGIONS[name]
    size = tuple(s.stop - s.start for s in region)
    with Reader(image, codec_pipeline=pipeline) as r:
        source = r.image().source
        # Contiguous: a block of whole trailing planes inside a bigger buffer.
        big = np.full((size[0] + 2, *size[1:]), 54321, dtype=source.dtype)
        view = big[1 : 1 + size[0]]
        assert view.flags.c_contiguous
        source.read_into(view, region)
        np.testing.assert_array_equal(view, _expected(image, region))
        assert (big[0] == 54321).all()
        assert (big[-1] == 54321).all()
        # Strided: the block sits inside a wider Y, X frame (as in a dask result).
        frame = np.full((*size[:3], size[3] + 3, size[4] + 5), 54321, dtype=source.dtype)
        view = frame[:, :, :, 1 : 1 + size[3], 2 : 2 + size[4]]
        source.read_into(view, region)
        np.testing.assert_array_equal(view, _expected(image, region))
        outside = np.ones(frame.shape, bool)
        outside[:, :, :, 1 : 1 + size[3], 2 : 2 + size[4]] = False
        assert (frame[outside] == 54321).all()


class _Spy:
    """Records the ``out`` buffers zarr is asked to decode into."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.outs: list[np.ndarray | None] = []
        original = zarr.Array.get_basic_selection

        def spy(array: Any, selection: Any, *args: Any, out: Any = None, **kwargs: Any) -> Any:
            self.outs.append(None if out is None else np.asarray(out.as_ndarray_like()))
            return original(array, selection, *args, out=out, **kwargs)

        monkeypatch.setattr(zarr.Array, "get_basic_selection", spy)
        # What zarr decodes into is checked here: small reads would otherwise skip zarr
        # (directchunks, tested in test_zarr_directchunks.py).
        monkeypatch.setattr(source_module, "DIRECT_MAX_BYTES", -1)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_contiguous_buffers_are_decoded_into_directly(
    image: Path, pipeline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = REGIONS["unaligned"]
    size = tuple(s.stop - s.start for s in region)
    with Reader(image, codec_pipeline=pipeline) as r:
        source = r.image().source
        spy = _Spy(monkeypatch)
        big = np.zeros((size[0] + 1, *size[1:]), dtype=source.dtype)
        view = big[1:]
        source.read_into(view, region)
        assert len(spy.outs) == 1
        assert spy.outs[0] is not None
        assert np.shares_memory(spy.outs[0], big)  # zarr wrote into the caller's buffer
        np.testing.assert_array_equal(view, _expected(image, region))


def test_strided_buffers_are_decoded_into_directly_by_zarr_python(
    image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = REGIONS["unaligned"]
    size = tuple(s.stop - s.start for s in region)
    with Reader(image, codec_pipeline="zarr") as r:
        source = r.image().source
        spy = _Spy(monkeypatch)
        frame = np.zeros((*size[:4], size[4] + 4), dtype=source.dtype)
        view = frame[..., 4:]
        source.read_into(view, region)
        assert len(spy.outs) == 1
        assert spy.outs[0] is not None
        assert np.shares_memory(spy.outs[0], frame)
        np.testing.assert_array_equal(view, _expected(image, region))


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_transposed_axes_decode_into_the_callers_buffer(
    tmp_path: Path, pipeline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Axes ``x, c, extra, y, z``: zarr writes through a transposed view of ``out``."""
    group = zarr.open_group(str(tmp_path / "odd.zarr"), mode="w", zarr_format=2)
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [
                {"name": "x", "type": "space"},
                {"name": "c", "type": "channel"},
                {"name": "extra"},
                {"name": "y", "type": "space"},
                {"name": "z", "type": "space"},
            ],
            "datasets": [{"path": "0"}],
        }
    ]
    arr = group.create_array("0", shape=(9, 2, 1, 7, 5), dtype="int16", chunks=(4, 1, 1, 3, 2), fill_value=-3)
    arr[:5] = (np.arange(5 * 2 * 7 * 5, dtype="int16") - 100).reshape(5, 2, 1, 7, 5)  # x >= 5: missing
    reference = zarr_reference(tmp_path / "odd.zarr" / "0")[:, :, 0].transpose(1, 3, 2, 0)[None]
    region = (slice(0, 1), slice(0, 2), slice(1, 4), slice(2, 7), slice(3, 9))
    with Reader(tmp_path / "odd.zarr", codec_pipeline=pipeline) as r:
        source = r.image().source
        spy = _Spy(monkeypatch)
        out = np.zeros(tuple(s.stop - s.start for s in region), dtype=source.dtype)
        source.read_into(out, region)
        np.testing.assert_array_equal(out, reference[region])
        assert (out[..., 2:] == -3).all()  # x 5..8 were never written
        if pipeline == "zarr":
            assert spy.outs[0] is not None
            assert np.shares_memory(spy.outs[0], out)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_eager_and_lazy_reads_equal_zarr(image: Path, pipeline: str) -> None:
    """The core's eager path (regions read into views of the result) and dask agree with zarr."""
    ref = zarr_reference(image / "0")
    with Reader(image, codec_pipeline=pipeline, chunk_bytes=3000) as r:
        np.testing.assert_array_equal(r.data, ref)
        np.testing.assert_array_equal(r.dask_data.compute(), ref)
        np.testing.assert_array_equal(r.get_image_data("ZYX", T=1, C=2), ref[1, 2])
        np.testing.assert_array_equal(r.get_image_data("CYX", T=1, Z=9), ref[1, :, 9])


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_zarrs_sources_are_read_whole(image: Path, pipeline: str) -> None:
    """zarrs calls from several Python threads do not overlap: the core hands zarrs whole regions."""
    ref = zarr_reference(image / "0")
    with Reader(image, codec_pipeline=pipeline, chunk_bytes=3000) as r:
        source = r.image().source
        assert source.decodes_in_parallel is (pipeline != "zarr")
        calls: list[tuple[slice, ...]] = []
        original = source.read_into

        def spy(out: np.ndarray, region: tuple[slice, ...]) -> None:
            calls.append(region)
            original(out, region)

        source.read_into = spy  # type: ignore[method-assign]
        np.testing.assert_array_equal(r.data, ref)
        whole = tuple(slice(0, n) for n in source.shape)
        assert (calls == [whole]) is (pipeline != "zarr")
        assert len(calls) >= 1
