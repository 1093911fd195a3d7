"""The byte-access layer: local reads with and without POSIX calls, URLs over a real loopback HTTP server.

Expected pixels come from tifffile reading the local file; requests and bytes are
counted by the server itself (:class:`scitiff_readers.testing.httpserver.RangeServer`).
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import pytest

from scitiff_readers import Reader
from scitiff_readers._byteaccess import (
    RemoteAccessError,
    RemotePath,
    as_location,
    hidden_posix_calls,
    merge_ranges,
    open_bytes,
    positioned_read,
    positioned_readinto,
    redact,
)
from scitiff_readers._files import SharedFile
from scitiff_readers.errors import CorruptFileError, MissingDependencyError, ScitiffReadersError

tifffile = pytest.importorskip("tifffile")
pytest.importorskip("aiohttp")

from scitiff_readers.testing.httpserver import RangeServer  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def server(tmp_path: Path):
    with RangeServer(tmp_path) as srv:
        yield srv


# ------------------------------------------------------------------------- local
def test_positioned_reads_equal_with_and_without_posix_calls(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        with_posix = positioned_read(fd, 1000, 12345)
        out = bytearray(50_000)
        positioned_readinto(fd, memoryview(out), 7)
        with hidden_posix_calls():
            assert not hasattr(os, "pread")
            assert not hasattr(os, "preadv")
            assert positioned_read(fd, 1000, 12345) == with_posix == data[12345:13345]
            out2 = bytearray(50_000)
            assert positioned_readinto(fd, memoryview(out2), 7) == 50_000
            assert positioned_read(fd, 10, len(data) - 4) == data[-4:]  # short at the end
        assert bytes(out) == bytes(out2) == data[7:50_007]
    finally:
        os.close(fd)
    assert hasattr(os, "pread") == hasattr(os, "preadv")  # restored (where the OS has them)


def test_shared_file_without_posix_calls_threads_agree(tmp_path: Path) -> None:
    """The portable path serialises seek + read: concurrent readers never see each other's offsets."""
    data = np.arange(2**20, dtype=np.uint32)
    path = tmp_path / "numbers.bin"
    data.tofile(path)
    shared = SharedFile(path)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(50):
                start = (k * 997 + i * 4099) % (2**20 - 1024)
                out = np.empty(1024, dtype=np.uint32)
                shared.readinto(start * 4, out)
                np.testing.assert_array_equal(out, data[start : start + 1024])
                got = np.frombuffer(shared.pread(start * 4, 64), dtype=np.uint32)
                np.testing.assert_array_equal(got, data[start : start + 16])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with hidden_posix_calls():
        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        shared.close()
    assert not errors, errors[:1]


def test_merge_ranges_joins_near_and_overlapping() -> None:
    assert merge_ranges([(100, 10), (0, 10), (105, 20), (1_000_000, 5)], gap=50) == [
        (0, 10),
        (100, 125),
        (1_000_000, 1_000_005),
    ]
    assert merge_ranges([(0, 10), (20, 10)], gap=5) == [(0, 10), (20, 30)]
    assert merge_ranges([(0, 10), (20, 10)], gap=10) == [(0, 30)]
    assert merge_ranges([(5, 0)]) == []


def test_file_url_and_open_file_are_local(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.arange(64, dtype=np.uint8).reshape(8, 8))
    assert as_location(path.as_uri()) == path
    assert as_location(fsspec.open(str(path))) == path
    with Reader(fsspec.open(str(path))) as r:
        np.testing.assert_array_equal(r.get_image_data("YX"), tifffile.imread(path))


# ------------------------------------------------------------------------ remote
def _pyramid(path: Path) -> np.ndarray:
    """An OME-TIFF pyramid written by tifffile (2 MiB level 0, 4 channels), IFDs first."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 60000, (4, 512, 512), dtype=np.uint16)
    with tifffile.TiffWriter(path, bigtiff=True) as tif:
        tif.write(data, subifds=2, metadata={"axes": "CYX"}, tile=(128, 128), compression="zlib")
        tif.write(data[:, ::2, ::2], subfiletype=1, tile=(128, 128), compression="zlib")
        tif.write(data[:, ::4, ::4], subfiletype=1, tile=(128, 128), compression="zlib")
    return data


def test_one_plane_transfers_little_more_than_its_bytes(tmp_path: Path, server: RangeServer) -> None:
    path = tmp_path / "pyramid.ome.tif"
    data = _pyramid(path)
    with tifffile.TiffFile(path) as tif:
        page = tif.series[0].pages[2]
        plane_bytes = int(sum(page.databytecounts))
        first_ifd_end = max(int(p.offset) for p in tif.pages[:4]) + 4096
    server.reset()
    with Reader(server.url("pyramid.ome.tif")) as r:
        assert r.reader_name == "ome-tiff"
        opened = (server.requests, server.bytes_sent)
        server.reset()
        plane = r.get_image_data("YX", C=2)
        np.testing.assert_array_equal(plane, data[2])
        one_plane = (server.requests, server.bytes_sent)
    # The target of the issue: one plane costs <= 1.5x its stored bytes plus the IFD bytes.
    assert one_plane[1] <= 1.5 * plane_bytes + first_ifd_end, (one_plane, plane_bytes)
    assert one_plane[1] < path.stat().st_size / 2
    assert opened[1] < path.stat().st_size / 4, opened


def test_open_of_a_single_file_ome_tiff_in_few_requests(tmp_path: Path, server: RangeServer) -> None:
    path = tmp_path / "stack.ome.tif"
    data = np.arange(20 * 64 * 64, dtype=np.uint16).reshape(1, 20, 64, 64)
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "CZYX"})
    server.reset()
    with Reader(server.url("stack.ome.tif")) as r:
        assert r.dims.Z == 20
        # HEAD (size) + one 64 KiB read-ahead block holding the header, IFD and OME-XML.
        assert server.requests <= 4, server.requests
        np.testing.assert_array_equal(r.get_image_data("ZYX"), data[0])


def test_missing_url_is_file_not_found_naming_it(server: RangeServer) -> None:
    url = server.url("nothing-here.tif")
    with pytest.raises(FileNotFoundError, match=r"nothing-here\.tif"):
        Reader(url)


def test_unknown_protocol_names_the_package_to_install() -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install gcsfs") as info:
        Reader("gs://bucket/x.tif")
    assert isinstance(info.value, ImportError)
    with pytest.raises(MissingDependencyError, match=r"nosuchproto://"):
        Reader("nosuchproto://bucket/x.tif")


def test_refused_connection_is_a_typed_error_naming_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://user:hunter2@127.0.0.1:{port}/x.tif"
    with pytest.raises((RemoteAccessError, FileNotFoundError)) as info:
        Reader(url)
    assert isinstance(info.value, OSError)
    assert f"127.0.0.1:{port}/x.tif" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_stalled_server_times_out_instead_of_hanging() -> None:
    """A server that accepts but never answers: a typed error after the read timeout, no hang."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        aiohttp = pytest.importorskip("aiohttp")
        options = {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=2)}}
        start = time.monotonic()
        with pytest.raises(ScitiffReadersError) as info:
            Reader(f"http://127.0.0.1:{port}/slow.tif", storage_options=options)
        assert isinstance(info.value, OSError)
        assert time.monotonic() - start < 30
        assert f"127.0.0.1:{port}/slow.tif" in str(info.value)
    finally:
        listener.close()


def test_secrets_stay_out_of_reprs_errors_and_pickles(tmp_path: Path, server: RangeServer) -> None:
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8))
    options = {"headers": {"Authorization": "Bearer s3cr3t"}, "client_kwargs": {"trust_env": False}}
    url = server.url("a.tif").replace("http://", "http://me:pa55word@") + "?X-Amz-Signature=s1gnature"
    loc = RemotePath(url, options)
    for text in (str(loc), repr(loc), redact(url)):
        assert "s3cr3t" not in text
        assert "s1gnature" not in text
        assert "pa55word" not in text
    blob = pickle.dumps(loc)
    # A presigned URL's query string is its address and travels with it; passwords and options' secrets do not.
    assert b"s3cr3t" not in blob
    assert b"pa55word" not in blob
    assert pickle.loads(blob).storage_options == {"headers": {}, "client_kwargs": {"trust_env": False}}
    with Reader(server.url("a.tif"), storage_options=options) as r:
        assert "s3cr3t" not in repr(r)
        assert b"s3cr3t" not in pickle.dumps(r)
        assert b"s3cr3t" not in pickle.dumps(r.dask_data)


def test_fs_kwargs_is_the_bioio_name_for_storage_options(tmp_path: Path, server: RangeServer) -> None:
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.arange(64, dtype=np.uint8).reshape(8, 8))
    with Reader(server.url("a.tif"), fs_kwargs={"headers": {"X-Test": "1"}}) as r:
        assert r.path.storage_options == {"headers": {"X-Test": "1"}}
        np.testing.assert_array_equal(r.get_image_data("YX"), tifffile.imread(path))


def test_remote_range_beyond_the_end_is_corrupt(tmp_path: Path, server: RangeServer) -> None:
    (tmp_path / "b.bin").write_bytes(b"x" * 100)
    source = open_bytes(as_location(server.url("b.bin")))
    assert source.size == 100
    assert source.read_ranges([(0, 10), (50, 10), (90, 10)]) == [b"x" * 10] * 3
    with pytest.raises(CorruptFileError, match="beyond the end"):
        source.pread(95, 10)


def test_remote_path_api(server: RangeServer, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("hello")
    folder = as_location(server.url("d"))
    assert isinstance(folder, RemotePath)
    assert folder.is_dir()
    assert not folder.is_file()
    child = folder / "f.txt"
    assert child.is_file()
    assert child.read_text() == "hello"
    assert child.suffix == ".txt"
    assert child.parent == folder
    assert child.name == "f.txt"
    assert [p.name for p in folder.iterdir()] == ["f.txt"]
    assert not (folder / "missing").exists()
