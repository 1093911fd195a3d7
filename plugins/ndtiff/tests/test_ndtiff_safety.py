"""Crafted bad NDTiff indexes: every safety rule gives a typed error and opens nothing outside."""

from __future__ import annotations

import builtins
import json
import os
import struct
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from scitiff_readers_ndtiff import NDTiffReader
from scitiff_readers_ndtiff.samples import write_sample

from scitiff_readers import Reader
from scitiff_readers.errors import CorruptFileError, ScitiffReadersError
from scitiff_readers.testing import open_handles_under
from scitiff_readers.testing.counters import count_reads

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest.importorskip("ndstorage")


def _entries(index: Path) -> list[tuple[dict[str, Any], str, list[int]]]:
    data = index.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (k,) = struct.unpack_from("<I", data, pos)
        axes = json.loads(data[pos + 4 : pos + 4 + k])
        (n,) = struct.unpack_from("<I", data, pos + 4 + k)
        name = data[pos + 8 + k : pos + 8 + k + n].decode()
        pos += 8 + k + n
        out.append((axes, name, list(struct.unpack_from("<8I", data, pos))))
        pos += 32
    return out


def _write(index: Path, entries: list[tuple[dict[str, Any], str, list[int]]]) -> None:
    buf = bytearray()
    for axes, name, values in entries:
        a, n = json.dumps(axes).encode(), name.encode()
        buf += struct.pack("<I", len(a)) + a + struct.pack("<I", len(n)) + n + struct.pack("<8I", *values)
    index.write_bytes(bytes(buf))


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "data", "safe", times=3, height=16, width=16)


def _edit(dataset: Path, which: int = -1, name: str | None = None, **fields: int) -> None:
    """Change entry ``which`` of the dataset's index (file name and/or numeric fields)."""
    order = [
        "pixel_offset",
        "width",
        "height",
        "pixel_type",
        "pixel_compression",
        "metadata_offset",
        "metadata_length",
        "metadata_compression",
    ]
    index = dataset / "NDTiff.index"
    entries = _entries(index)
    axes, old, values = entries[which]
    for key, value in fields.items():
        values[order.index(key)] = value
    entries[which] = (axes, name if name is not None else old, values)
    _write(index, entries)


@pytest.fixture
def opened_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every path opened with os.open or open() during the test."""
    seen: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        seen.append(os.fspath(path))
        return real_os_open(path, *args, **kwargs)

    def py_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            seen.append(os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", py_open)
    return seen


def _outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside.tif"
    secret.write_bytes(b"II*\x00" + b"\x00" * 4096)
    return secret


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "nested-dotdot"])
def test_file_name_escaping_the_folder(
    dataset: Path, tmp_path: Path, kind: str, opened_paths: list[str]
) -> None:
    secret = _outside(tmp_path)
    if kind == "absolute":
        name = str(secret)
    elif kind == "dotdot":
        name = "../../outside.tif"
    elif kind == "nested-dotdot":
        name = "sub/../../../outside.tif"
    else:
        (dataset / "link.tif").symlink_to(secret)
        name = "link.tif"
    _edit(dataset, 0, name=name)
    opened_paths.clear()
    with pytest.raises(CorruptFileError, match=r"outside|absolute"):
        Reader(dataset)
    assert not [p for p in opened_paths if Path(p).resolve() == secret.resolve()]
    assert open_handles_under(tmp_path) == []


def test_pixels_beyond_end_of_file(dataset: Path) -> None:
    size = next(dataset.glob("*.tif")).stat().st_size
    _edit(dataset, 1, pixel_offset=size - 100)
    with pytest.raises(CorruptFileError, match=r"safe_NDTiffStack\.tif.*truncated"):
        NDTiffReader(dataset)


def test_absurd_image_size_is_refused_without_allocating(dataset: Path) -> None:
    _edit(dataset, 0, width=60000, height=60000)
    tracemalloc.start()
    try:
        with count_reads() as counts, pytest.raises(CorruptFileError, match=r"60000 x 60000"):
            NDTiffReader(dataset)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20
    assert counts.pixel_reads == 0


def test_zero_sized_image(dataset: Path) -> None:
    _edit(dataset, 0, width=0)
    with pytest.raises(CorruptFileError, match="0 x 16"):
        NDTiffReader(dataset)


def test_metadata_beyond_end_of_file(dataset: Path) -> None:
    _edit(dataset, 2, metadata_length=2**31)
    with pytest.raises(CorruptFileError, match="metadata"):
        NDTiffReader(dataset)


def test_missing_tif_is_named(dataset: Path) -> None:
    _edit(dataset, 2, name="safe_NDTiffStack_1.tif")
    with pytest.raises(CorruptFileError, match=r"'safe_NDTiffStack_1\.tif'.*missing"):
        Reader(dataset)


def test_unknown_pixel_type(dataset: Path) -> None:
    _edit(dataset, 0, pixel_type=9)
    with pytest.raises(CorruptFileError, match="pixel type 9"):
        NDTiffReader(dataset)


def test_compressed_entry(dataset: Path) -> None:
    _edit(dataset, 0, pixel_compression=1)
    with pytest.raises(CorruptFileError, match="compressed"):
        NDTiffReader(dataset)


def test_invalid_axes_json(dataset: Path) -> None:
    index = dataset / "NDTiff.index"
    data = bytearray(index.read_bytes())
    data[4] = ord("[")  # first entry's axes no longer a JSON object
    index.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="byte 0"):
        NDTiffReader(dataset)


def test_referenced_file_is_not_ndtiff(dataset: Path) -> None:
    tif = next(dataset.glob("*.tif"))
    data = bytearray(tif.read_bytes())
    data[8:12] = b"\x00\x00\x00\x00"
    tif.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="NDTiff signature"):
        NDTiffReader(dataset)


def test_file_truncated_after_opening_fails_on_read_not_crash(dataset: Path) -> None:
    tif = next(dataset.glob("*.tif"))
    with NDTiffReader(dataset) as reader:
        with open(tif, "r+b") as fh:
            fh.truncate(1000)
        with pytest.raises(CorruptFileError, match="beyond the end"):
            reader.get_image_data("YX", T=2)


def test_images_of_different_sizes_in_one_scene(tmp_path: Path) -> None:
    from scitiff_readers_ndtiff.samples import write_images

    from scitiff_readers.errors import MetadataError

    path = write_images(
        tmp_path,
        "sizes",
        [({"time": 0}, np.zeros((4, 4), np.uint16), {}), ({"time": 1}, np.zeros((5, 4), np.uint16), {})],
    )
    with NDTiffReader(path) as reader, pytest.raises(MetadataError, match="different sizes"):
        _ = reader.dims


def test_index_without_images(dataset: Path) -> None:
    from scitiff_readers_ndtiff import NDTiffIndexWarning

    (dataset / "NDTiff.index").write_bytes(b"\x00" * 1000)  # pre-allocated, nothing written yet
    with (
        pytest.warns(NDTiffIndexWarning, match="0 complete image entries"),
        pytest.raises(CorruptFileError, match="lists no images"),
    ):
        NDTiffReader(dataset)


# ------------------------------------------------------------- hostile files (issue 16)
def _copy_outside(dataset: Path, tmp_path: Path) -> Path:
    import shutil

    twin = tmp_path / "elsewhere" / dataset.name
    shutil.copytree(dataset, twin)
    return twin


def test_symlinked_index_leading_out_is_refused_unread(
    dataset: Path, tmp_path: Path, opened_paths: list[str]
) -> None:
    twin = _copy_outside(dataset, tmp_path)
    (dataset / "NDTiff.index").unlink()
    (dataset / "NDTiff.index").symlink_to(twin / "NDTiff.index")
    opened_paths.clear()
    with pytest.raises(
        CorruptFileError, match=r"NDTiff.index is a symbolic link .* outside the dataset folder"
    ):
        Reader(dataset)
    assert not [p for p in opened_paths if str(Path(p).resolve()).startswith(str(twin))]


def test_symlinked_full_resolution_folder_leading_out_is_refused(
    tmp_path: Path, opened_paths: list[str]
) -> None:
    import shutil

    real = write_sample(tmp_path / "real", "pyr", times=2, height=16, width=16)
    root = tmp_path / "root"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(real, elsewhere)
    (root / "Full resolution").symlink_to(elsewhere)
    opened_paths.clear()
    with pytest.raises(CorruptFileError, match=r"resolution level folder is a symbolic link"):
        Reader(root)
    assert not [p for p in opened_paths if str(Path(p).resolve()).startswith(str(elsewhere))]


def test_a_link_to_the_whole_dataset_is_followed(dataset: Path, tmp_path: Path) -> None:
    """The user's own link to a dataset is legitimate: everything inside its real folder reads."""
    link = tmp_path / "my-link"
    link.symlink_to(dataset)
    with Reader(link) as via_link, Reader(dataset) as direct:
        np.testing.assert_array_equal(via_link.get_image_data(), direct.get_image_data())


def test_index_of_100000_bogus_entries_is_refused_fast(dataset: Path) -> None:
    index = dataset / "NDTiff.index"
    entries = _entries(index)
    _, name, values = entries[0]
    bogus = [({"time": k, "channel": 0, "z": k % 7}, name, values) for k in range(100_000)]
    _write(index, entries + bogus)
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CorruptFileError, match=r"99999 repeated entries of 10000\d\); the index is corrupt"):
        Reader(dataset)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert (
        grown_kib < 400 * 1024
    )  # the index itself is ~6 MB; no plane grid or graph was built (was 1.85 GiB)


@pytest.mark.parametrize("value", [2**63, -(2**63), 2**64])
def test_axis_value_beyond_int64_reads_or_is_typed(dataset: Path, value: int) -> None:
    index = dataset / "NDTiff.index"
    entries = _entries(index)
    axes, name, values = entries[0]
    entries[0] = ({**axes, "time": value}, name, values)
    _write(index, entries)
    try:
        with Reader(dataset) as r:
            assert value in r.coords["T"].values.tolist() or r.shape[0] == 3
            r.get_image_data()
    except ScitiffReadersError:
        pass  # refused with a typed error: also fine; an OverflowError would not be


def test_file_name_of_5000_characters_is_typed(dataset: Path) -> None:
    _edit(dataset, 0, name="x" * 5000 + ".tif")
    with pytest.raises(CorruptFileError, match=r"File name too long|cannot be resolved"):
        Reader(dataset)
