"""SharedFile, resolve_inside and atomic_output."""

from __future__ import annotations

import os
import pickle
import threading
from typing import TYPE_CHECKING

import numpy as np
import pytest

from scitiff_readers import CorruptFileError, OutputExistsError
from scitiff_readers._files import SharedFile, atomic_output, resolve_inside
from scitiff_readers.testing import open_handles_under

if TYPE_CHECKING:
    from pathlib import Path


def test_shared_file_reads_views_and_closes(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    data = np.arange(1000, dtype="<u2")
    path.write_bytes(b"HEAD" + data.tobytes())
    f = SharedFile(path)
    assert f.pread(0, 4) == b"HEAD"
    view = f.array(4, "<u2", (10, 100))
    np.testing.assert_array_equal(view.ravel(), data)
    view[0, 0] = 7  # copy-on-write: the caller's copy changes, the file does not
    assert view[0, 0] == 7
    del view
    assert path.read_bytes()[4:6] == data[:1].tobytes()
    assert open_handles_under(path)
    f.close()
    assert open_handles_under(path) == []
    assert f.pread(0, 4) == b"HEAD", "re-opens after close"
    f.close()


def test_shared_file_bounds_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "small.bin"
    path.write_bytes(b"x" * 10)
    f = SharedFile(path)
    with pytest.raises(CorruptFileError, match="beyond the end of the file"):
        f.pread(8, 4)
    with pytest.raises(CorruptFileError, match=str(path)):
        f.array(0, "<u8", (1000, 1000, 1000))  # absurd size: refused before allocating
    f.close()


def test_shared_file_pickles_as_path_and_threads_share_it(tmp_path: Path) -> None:
    path = tmp_path / "t.bin"
    payload = os.urandom(4096)
    path.write_bytes(payload)
    f = SharedFile(path)
    f.pread(0, 1)
    clone = pickle.loads(pickle.dumps(f))
    assert not clone.is_open
    assert clone.path == path
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda i=i: results.append(f.pread(i * 256, 256))) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(payload[i * 256 : (i + 1) * 256] for i in range(16))
    f.close()


def test_resolve_inside_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "ok.tif").write_bytes(b"")
    assert resolve_inside(root, "sub/ok.tif") == (root / "sub" / "ok.tif").resolve()
    assert resolve_inside(root, "sub\\ok.tif") == (root / "sub" / "ok.tif").resolve()
    for bad in ["../secret", "/etc/passwd", "sub/../../x", "", "C:/Windows", "a\x00b"]:
        with pytest.raises(CorruptFileError, match="dataset"):
            resolve_inside(root, bad, what="file name")
    outside = tmp_path / "outside.tif"
    outside.write_bytes(b"")
    (root / "link.tif").symlink_to(outside)
    with pytest.raises(CorruptFileError, match="outside the dataset folder"):
        resolve_inside(root, "link.tif")


def test_resolve_inside_a_url_refuses_escapes_also_percent_encoded() -> None:
    from scitiff_readers._byteaccess import RemotePath

    root = RemotePath("http://127.0.0.1:9/data/ds")
    assert str(resolve_inside(root, "sub/ok.tif")) == "http://127.0.0.1:9/data/ds/sub/ok.tif"
    assert str(resolve_inside(root, "50%.tif")).endswith("/ds/50%.tif")
    # A server decodes %2E%2E to "..": "%2E%2E/x" names the folder above, like "../x".
    for bad in [
        "../x.tif",
        "%2E%2E/x.tif",
        "%2e%2e%2Fx.tif",
        "%252e%252e/x.tif",
        "sub/..%5C..%5Cx.tif",
        "https://elsewhere/x.tif",
        "/x.tif",
    ]:
        with pytest.raises(CorruptFileError, match="dataset"):
            resolve_inside(root, bad, what="file name")


def test_atomic_output_renames_on_success_only(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp != target
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    with pytest.raises(OutputExistsError, match="overwrite=True"), atomic_output(target):
        pass
    # The failure must happen inside the block, after a partial write: that is what is tested.
    with pytest.raises(RuntimeError), atomic_output(target, overwrite=True) as tmp:  # noqa: PT012
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert target.read_bytes() == b"new", "a failed write leaves the target untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"], "no temporary left behind"
    with pytest.raises(FileNotFoundError), atomic_output(tmp_path / "no" / "dir.bin"):
        pass


def test_descriptor_is_closed_when_the_object_is_collected(tmp_path: Path) -> None:
    import gc

    path = tmp_path / "gc.bin"
    path.write_bytes(b"abc")
    f = pickle.loads(pickle.dumps(SharedFile(path)))  # as inside an unpickled dask graph
    assert f.pread(0, 3) == b"abc"
    assert open_handles_under(path)
    del f
    gc.collect()
    assert open_handles_under(path) == []
