"""Stable graph names of a file's pixels (:func:`scitiff_readers.backend.file_token`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from scitiff_readers.backend import file_stamp, file_token

if TYPE_CHECKING:
    from pathlib import Path


def test_the_token_names_the_file_its_mtime_and_size(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"12345")
    st = os.stat(path)
    assert file_token("kind", path, "s", 0) == f"kind-{path}-{st.st_mtime_ns}-{st.st_size}-s-0"


def test_a_stamp_the_caller_took_gives_the_same_token(tmp_path: Path) -> None:
    # An open that has just taken the file's stamp passes it instead of a second stat.
    path = tmp_path / "a.bin"
    path.write_bytes(b"12345")
    stamp = file_stamp(path)
    assert stamp is not None
    given = file_token("kind", path, 1, mtime_size=(stamp[3], stamp[2]))
    assert given == file_token("kind", path, 1)


def test_a_rewritten_file_gets_another_token(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"12345")
    before = file_token("kind", path)
    path.write_bytes(b"123456")
    assert file_token("kind", path) != before


def test_a_missing_file_is_named_missing(tmp_path: Path) -> None:
    path = tmp_path / "gone.bin"
    assert file_token("kind", path).endswith("-missing")
