"""The chunking policy: whole storage units, grouped toward the target size."""

from __future__ import annotations

import pytest

from scitiff_readers._chunking import DEFAULT_CHUNK_BYTES, chunk_shape, normalize_chunk_bytes, regular_chunks

MiB = 2**20


def test_pages_are_grouped_along_z_then_c_then_t() -> None:
    # 512x512 uint16 pages = 0.5 MiB; 32 MiB target -> 64 pages per chunk.
    shape = (10, 3, 20, 512, 512)
    assert chunk_shape(shape, (1, 1, 1, 512, 512), 2, 32 * MiB) == (1, 3, 20, 512, 512)
    assert chunk_shape(shape, (1, 1, 1, 512, 512), 2, 10 * MiB) == (1, 1, 20, 512, 512)
    assert chunk_shape(shape, (1, 1, 1, 512, 512), 2, 4 * MiB) == (1, 1, 8, 512, 512)


def test_big_tiled_planes_become_sub_plane_chunks_aligned_to_tiles() -> None:
    # 16384 x 16384 uint16 plane = 512 MiB, tiles 256x256 = 128 KiB.
    shape = (1, 1, 1, 16384, 16384)
    chunk = chunk_shape(shape, (1, 1, 1, 256, 256), 2, 32 * MiB)
    assert chunk[4] == 16384
    assert chunk[3] % 256 == 0
    assert chunk[3] < 16384
    assert chunk[3] * chunk[4] * 2 <= 32 * MiB


def test_untiled_big_plane_stays_whole() -> None:
    assert chunk_shape((1, 1, 1, 20000, 20000), (1, 1, 1, 20000, 20000), 2, MiB) == (1, 1, 1, 20000, 20000)


def test_units_larger_than_target_are_not_split() -> None:
    assert chunk_shape((4, 1, 64, 256, 256), (1, 1, 64, 256, 256), 2, MiB) == (1, 1, 64, 256, 256)


def test_samples_dim_is_kept_whole() -> None:
    assert chunk_shape((5, 1, 1, 100, 100, 3), (1, 1, 1, 100, 100, 3), 1, 32 * MiB) == (5, 1, 1, 100, 100, 3)


def test_zero_sized_dims() -> None:
    assert regular_chunks((0, 3), (1, 2)) == ((0,), (2, 1))


def test_regular_chunks_last_block_shorter() -> None:
    assert regular_chunks((10, 7), (4, 7)) == ((4, 4, 2), (7,))


def test_normalize_chunk_bytes() -> None:
    assert normalize_chunk_bytes(None) == DEFAULT_CHUNK_BYTES
    assert normalize_chunk_bytes("64 MiB") == 64 * MiB
    assert normalize_chunk_bytes(1000) == 1000
    with pytest.raises(ValueError, match="positive"):
        normalize_chunk_bytes(-1)


def test_mismatched_ndim_is_an_error() -> None:
    with pytest.raises(ValueError, match="do not match"):
        chunk_shape((1, 2), (1,), 1)


def test_more_blocks_than_a_graph_can_hold_are_refused_before_building() -> None:
    """A declared axis of 2**40 (legal in a sparse zarr array): dask itself would build 2**40-entry tuples."""
    import time

    from scitiff_readers._chunking import MAX_BLOCKS, check_block_count
    from scitiff_readers.errors import ImageTooLargeError

    start = time.perf_counter()
    with pytest.raises(
        ImageTooLargeError, match=r"img\.zarr: a dask array .* would have 1099511627776 blocks"
    ):
        check_block_count((2**40, 1, 1, 16, 16), (1, 1, 1, 16, 16), path="img.zarr")
    assert time.perf_counter() - start < 1
    assert isinstance(ImageTooLargeError("x"), MemoryError)
    check_block_count((MAX_BLOCKS, 1, 1, 1, 1), (1, 1, 1, 1, 1))  # the bound itself is allowed
