"""The per-process file caches: values are served only while the file is unchanged."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from scitiff_readers._filecache import MISSING, FileCache, clear_file_caches, file_identity, file_stamp
from scitiff_readers._tiffhead import read_first_ifd, tiff_head
from scitiff_readers.testing import let_files_age, short_cache_window

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def _short_racy_window() -> Iterator[None]:
    with short_cache_window():
        yield


_age = let_files_age


def test_recently_changed_files_are_never_cached(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert file_stamp(path) is not None
    assert file_identity(path) is None  # racy: just written
    cache = FileCache("test")
    cache.put(path, file_identity(path), "value")
    assert cache.get(path) is MISSING
    _age()
    assert file_identity(path) == file_stamp(path)


def test_identity_is_none_for_folders_and_missing_files(tmp_path: Path) -> None:
    _age()
    assert file_identity(tmp_path) is None
    assert file_identity(tmp_path / "missing") is None
    assert file_stamp(tmp_path / "missing") is None


@pytest.mark.parametrize("change", ["rewrite-same-size", "truncate", "replace", "touch", "delete"])
def test_a_changed_file_is_not_served_stale(tmp_path: Path, change: str) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"first")
    _age()
    cache = FileCache("test")
    cache.put(path, file_identity(path), "first")
    assert cache.get(path) == "first"
    if change == "rewrite-same-size":
        with open(path, "r+b") as fh:
            fh.write(b"other")
    elif change == "truncate":
        os.truncate(path, 2)
    elif change == "replace":
        other = tmp_path / "g.bin"
        other.write_bytes(b"first")
        os.replace(other, path)
    elif change == "touch":
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, but ctime moves
    else:
        path.unlink()
    assert cache.get(path) is MISSING
    assert len(cache) == 0


def test_cache_is_bounded_by_entries_and_bytes(tmp_path: Path) -> None:
    paths = []
    for i in range(4):
        p = tmp_path / f"{i}.bin"
        p.write_bytes(bytes([i]))
        paths.append(p)
    _age()
    cache = FileCache("test", max_entries=2, max_bytes=100)
    for p in paths[:3]:
        cache.put(p, file_identity(p), p.name, nbytes=10)
    assert len(cache) == 2
    assert cache.get(paths[0]) is MISSING
    assert cache.get(paths[1]) == "1.bin"
    cache.put(paths[3], file_identity(paths[3]), "big", nbytes=95)
    assert cache.get(paths[3]) == "big"
    assert len(cache) == 1
    cache.put(paths[0], file_identity(paths[0]), "too big", nbytes=101)
    assert cache.get(paths[0]) is MISSING
    clear_file_caches()
    assert len(cache) == 0


def test_clear_file_caches_empties_live_caches_and_forgets_dropped_ones(tmp_path: Path) -> None:
    import gc

    from scitiff_readers import _filecache

    p = tmp_path / "a.bin"
    p.write_bytes(b"a")
    _age()
    kept, dropped = FileCache("kept"), FileCache("dropped")
    kept.put(p, file_identity(p), "kept", nbytes=1)
    dropped.put(p, file_identity(p), "dropped", nbytes=1)
    before = len(_filecache._all_caches)
    del dropped
    gc.collect()
    clear_file_caches()
    assert kept.get(p) is MISSING
    assert len(kept) == 0
    assert len(_filecache._all_caches) <= before - 1  # the dropped cache's reference is pruned
    assert any(ref() is kept for ref in _filecache._all_caches)


def test_tiff_head_matches_tifffile_and_follows_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    tifffile.imwrite(path, np.zeros((3, 20, 30), np.uint16), ome=True, metadata={"axes": "ZYX"})
    _age()
    head = tiff_head(path)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        assert head is not None
        assert head.is_ome == tif.is_ome is True
        assert (head.width, head.height) == (page.imagewidth, page.imagelength) == (30, 20)
        assert head.descriptions[0].decode() == page.description
    assert head.numpy_dtype == "<u2"
    assert tiff_head(path) is head  # cached: shared by every backend's sniff
    # Rewritten in place as an ImageJ file: the next look-up parses the new content.
    tifffile.imwrite(path, np.zeros((3, 10, 12), np.float32), imagej=True)
    new = tiff_head(path)
    assert new is not None
    assert not new.is_ome
    assert new.description.startswith(b"ImageJ=")
    assert (new.width, new.height, new.numpy_dtype) == (12, 10, "<f4")


def test_tiff_head_of_foreign_files_is_none(tmp_path: Path) -> None:
    (tmp_path / "x.tif").write_bytes(b"PNG not a tiff at all")
    (tmp_path / "empty.tif").write_bytes(b"")
    (tmp_path / "cut.tif").write_bytes(b"II*\x00\xff\xff\x00\x00")  # IFD offset beyond the end
    for name in ("x.tif", "empty.tif", "cut.tif", "missing.tif"):
        assert tiff_head(tmp_path / name) is None
    assert tiff_head(tmp_path) is None
    with pytest.raises(ValueError, match="outside the file"):
        read_first_ifd(tmp_path / "cut.tif")


def test_every_reader_is_selected_for_its_sample_before_and_after_caching(tmp_path: Path) -> None:
    from scitiff_readers import Reader, list_readers

    samples = {}
    for name, info in list_readers().items():
        folder = tmp_path / name
        folder.mkdir()
        try:
            samples[name] = info.cls.demo_sample(folder)
        except (ImportError, NotImplementedError):
            continue
    assert samples
    for _ in range(2):  # just written (nothing cached), then aged (cached sniffs)
        for name, path in samples.items():
            with Reader(path) as reader:
                assert reader.reader_name == name, path
                plane = reader.get_image_data("YX" + ("S" if "S" in reader.dims.order else ""))
                assert plane.shape[:2] == (reader.dims.Y, reader.dims.X)
        _age()
