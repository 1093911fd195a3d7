"""scitiff_readers._guards: typed library errors, allocation bounds, path confinement, JSON nesting."""

from __future__ import annotations

import errno
import json
import os
import struct
import sys
from typing import TYPE_CHECKING

import pytest

from scitiff_readers._guards import check_allocation, check_inside, library_errors, load_json, typed_error
from scitiff_readers.errors import CorruptFileError, ImageTooLargeError, MetadataError, ScitiffReadersError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("raised", "expected", "builtin"),
    [
        (RuntimeError("Zstd decompression error: invalid input data"), CorruptFileError, ValueError),
        (struct.error("unpack requires a buffer of 2 bytes"), CorruptFileError, ValueError),
        (ZeroDivisionError("integer division or modulo by zero"), CorruptFileError, ValueError),
        (OverflowError("Python int too large to convert to C long"), CorruptFileError, ValueError),
        (KeyError("Z"), CorruptFileError, ValueError),
        (RecursionError("maximum recursion depth exceeded"), MetadataError, ValueError),
        (MemoryError("Unable to allocate 32.0 GiB"), ImageTooLargeError, MemoryError),
        (OSError(errno.ENAMETOOLONG, "File name too long"), CorruptFileError, ValueError),
        (OSError(errno.ELOOP, "Too many levels of symbolic links"), CorruptFileError, ValueError),
    ],
)
def test_library_errors_become_typed_errors_naming_file_and_place(raised, expected, builtin) -> None:
    with (
        pytest.raises(expected, match=r"^/data/x\.tif: decoding chunk 0/1: ") as info,
        library_errors("/data/x.tif", "decoding chunk 0/1"),
    ):
        raise raised
    assert isinstance(info.value, ScitiffReadersError)
    assert isinstance(info.value, builtin)
    assert info.value.__cause__ is raised
    assert type(raised).__name__ in str(info.value)


@pytest.mark.parametrize(
    "kept",
    [
        FileNotFoundError(2, "gone"),
        PermissionError(13, "no"),
        OSError(errno.EIO, "io"),
        CorruptFileError("ours"),
    ],
)
def test_own_errors_and_real_io_errors_pass_unchanged(kept) -> None:
    assert typed_error(kept, "f", "w") is kept
    with pytest.raises(type(kept)) as info, library_errors("f", "w"):
        raise kept
    assert info.value is kept


def test_long_library_messages_are_cut() -> None:
    error = typed_error(OSError(errno.ENAMETOOLONG, "x" * 5000), "f", "opening")
    assert len(str(error)) < 500
    assert "characters)" in str(error)


def test_check_allocation_refuses_more_than_memory_before_allocating() -> None:
    check_allocation(2**20, "f", "small")  # small: no question asked
    with pytest.raises(ImageTooLargeError, match=r"f: reading it would need .* GiB, more than this process"):
        check_allocation(2**62, "f", "reading it")


@pytest.mark.skipif(sys.platform != "linux", reason="address-space limits (Linux)")
def test_check_allocation_honours_an_address_space_limit() -> None:
    import resource

    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            with open("/proc/self/statm") as fh:
                used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (used + 2**30, used + 2**30))
            try:
                check_allocation(3 * 2**30, "f", "x")
            except ImageTooLargeError:
                check_allocation(2**28, "f", "x")  # fits under the limit
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_check_inside_refuses_links_out_and_accepts_a_linked_dataset(tmp_path: Path) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    (data / "sub").mkdir(parents=True)
    outside.mkdir()
    (data / "sub" / "a").write_bytes(b"a")
    (outside / "b").write_bytes(b"b")
    os.symlink(outside / "b", data / "link")
    os.symlink(outside, data / "dirlink")
    os.symlink(data / "sub" / "a", data / "inner")
    os.symlink("loop", data / "loop")
    assert check_inside(data, data / "sub" / "a", "chunk") == data / "sub" / "a"
    assert check_inside(data, data / "inner", "chunk") == data / "inner"  # a link inside the dataset
    assert (
        check_inside(data, data / "missing", "chunk") == data / "missing"
    )  # missing: the caller's to report
    with pytest.raises(
        CorruptFileError, match=r"link: the chunk is a symbolic link .* outside the dataset folder"
    ):
        check_inside(data, data / "link", "chunk")
    with pytest.raises(CorruptFileError, match="outside the dataset folder"):
        check_inside(data, data / "dirlink" / "b", "chunk")
    with pytest.raises(CorruptFileError, match="cannot be resolved"):
        check_inside(data, data / "loop", "chunk")
    # A link the user made to the whole dataset is followed: its real folder is the root.
    os.symlink(data, tmp_path / "mine")
    assert check_inside(tmp_path / "mine", tmp_path / "mine" / "sub" / "a", "chunk")


def test_load_json_types_nesting_and_keeps_syntax_errors() -> None:
    assert load_json('{"a": [1, 2]}', "f", "attributes") == {"a": [1, 2]}
    with pytest.raises(MetadataError, match=r"f: the \.zattrs is nested too deeply"):
        load_json("[" * 100_000 + "]" * 100_000, "f", ".zattrs")
    with pytest.raises(json.JSONDecodeError):
        load_json("{", "f", "attributes")


def test_npy_declaring_more_pixels_than_its_bytes_is_refused_at_open(tmp_path: Path) -> None:
    from numpy.lib import format as npformat

    from scitiff_readers import Reader

    path = tmp_path / "huge.npy"
    with open(path, "wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": "|u1", "fortran_order": False, "shape": (2**20, 2**20)})
        fh.write(b"\x00" * 16)
    with pytest.raises(
        CorruptFileError, match="header says 1099511627776 bytes of pixels but the file has 16"
    ):
        Reader(path)
