"""Blosc checks behind URLs (:mod:`scitiff_readers_zarr.guardedstore`): loopback HTTP and moto S3.

The arrays are written by zarr-python with numcodecs' / zarr's Blosc codec, then a
chunk is cut short on disk (as a failed upload or copy leaves it) and served: the
read must fail with a ``CorruptFileError`` naming that chunk, never decode the
bytes past the end of the buffer. Sound chunks read as zarr-python reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from scitiff_readers_zarr.testing import blosc_ngff

from scitiff_readers import Reader
from scitiff_readers.errors import CorruptFileError

pytest.importorskip("aiohttp")
from scitiff_readers.testing.httpserver import RangeServer

if TYPE_CHECKING:
    from pathlib import Path


def _chunk(path: Path, zarr_format: int) -> Path:
    return path / "0" / ("c/1/1" if zarr_format == 3 else "1.1")


CASES = [(2, 20), (2, 60), (3, 20), (3, 60), (3, -1)]


@pytest.mark.parametrize(("zarr_format", "cut"), CASES)
def test_truncated_blosc_chunk_over_http_is_refused_naming_the_chunk(
    tmp_path: Path, zarr_format: int, cut: int
) -> None:
    path = tmp_path / "img.zarr"
    data = blosc_ngff(path, zarr_format)
    with RangeServer(tmp_path) as server, Reader(server.url("img.zarr")) as r:
        np.testing.assert_array_equal(r.get_image_data("YX"), data)  # sound: as zarr wrote it
    chunk = _chunk(path, zarr_format)
    chunk.write_bytes(chunk.read_bytes()[:cut])
    key = "1.1" if zarr_format == 2 else "c/1/1"
    with RangeServer(tmp_path) as server, Reader(server.url("img.zarr")) as r:
        for read in (r.get_image_data, r.dask_data.compute):
            with pytest.raises(
                CorruptFileError, match=rf"img\.zarr/0/{key}.*(Blosc header says|shorter than)"
            ) as info:
                read()
            assert isinstance(info.value, ValueError)
        # The chunks before it are sound and read.
        np.testing.assert_array_equal(r.get_image_data("YX", Y=slice(0, 16)), data[:16])


def test_truncated_inner_chunk_of_a_remote_shard_is_refused(tmp_path: Path) -> None:
    """A shard cut inside its last inner chunk (index rewritten to the end as a damaged copy leaves it)."""
    path = tmp_path / "img.zarr"
    data = blosc_ngff(path, 3, shards=(48, 64))
    shard = path / "0" / "c" / "0" / "0"
    raw = shard.read_bytes()
    index_bytes = 16 * 6 + 4
    index = np.frombuffer(raw[-index_bytes:-4], dtype="<u8").reshape(-1, 2)
    last = int(np.argmax(index[:, 0]))
    offset, nbytes = (int(v) for v in index[last])
    # Keep the index, drop half of the last inner chunk's bytes: its range now runs past the data.
    shard.write_bytes(raw[: offset + nbytes // 2] + raw[offset + nbytes : -index_bytes] + raw[-index_bytes:])
    with RangeServer(tmp_path) as server, Reader(server.url("img.zarr")) as r:
        with pytest.raises(
            CorruptFileError,
            match=r"img\.zarr/0/c/0/0.*(beyond the .* bytes of chunk data|cut short|Blosc header says)",
        ) as info:
            r.get_image_data()
        assert isinstance(info.value, ValueError)
    assert data.shape == (48, 64)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_truncated_blosc_chunk_on_s3_is_refused_naming_the_chunk(tmp_path: Path, zarr_format: int) -> None:
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    from scitiff_readers.testing.s3server import S3Server

    path = tmp_path / "img.zarr"
    data = blosc_ngff(path, zarr_format)
    chunk = _chunk(path, zarr_format)
    chunk.write_bytes(chunk.read_bytes()[:60])
    key = "1.1" if zarr_format == 2 else "c/1/1"
    with S3Server() as s3:
        url = s3.upload(path, f"v{zarr_format}")
        with Reader(url, storage_options=s3.options) as r:
            with pytest.raises(CorruptFileError, match=rf"img\.zarr/0/{key}.*Blosc header says") as info:
                r.get_image_data()
            assert isinstance(info.value, ValueError)
            assert "testing" not in str(info.value)
            np.testing.assert_array_equal(r.get_image_data("YX", Y=slice(0, 16)), data[:16])
