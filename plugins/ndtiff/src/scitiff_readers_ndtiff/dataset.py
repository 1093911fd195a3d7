"""One resolution level of an NDTiff dataset: its parsed, checked index and files.

Every file name in the index is resolved with
:func:`scitiff_readers.backend.resolve_inside` (nothing outside the level folder is
ever opened) and every image's byte range is checked against its file's size
when the level is loaded, so a corrupt index fails early with a clear message and
never makes a read allocate an absurd buffer.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from scitiff_readers.backend import (
    SharedFile,
    file_token,
    is_remote,
    load_json,
    open_bytes,
    positioned_read,
    resolve_inside,
)
from scitiff_readers.errors import CorruptFileError

from .index import PIXEL_TYPES, IndexTable, parse_index
from .layout import INDEX_NAME

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from scitiff_readers.backend import RemoteFile

__all__ = ["DatasetFile", "Level", "data_file", "load_level"]

# The NDTiff/TIFF header occupies the first 28 bytes: no pixels can start there.
_MIN_OFFSET = 8


class DatasetFile(SharedFile):
    """A :class:`SharedFile` that also releases its descriptor when garbage-collected.

    Unpickled copies of a source (dask graphs, pickled DataArrays) open their own
    descriptors and nobody calls ``close`` on them; without this they would stay
    open until the process ends.
    """

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


# A NamedTuple, not a dataclass: cheaper to import (see mosaic.Mosaic).
class Level(NamedTuple):
    """The checked index of one level folder and its TIFF files."""

    folder: Path
    table: IndexTable
    files: tuple[SharedFile, ...]
    token: str

    def image_metadata(self, number: int) -> dict[str, Any]:
        """The per-image JSON metadata (TIFF tag 51123) of image ``number``."""
        return self.image_metadata_many([number])[0]

    def image_metadata_many(self, numbers: Sequence[int]) -> list[dict[str, Any]]:
        """Per-image metadata of several images, opening each file once.

        Metadata is read through short-lived descriptors, not the shared ones used for
        pixels, so reading metadata (for example while a pickled reader is restored
        somewhere) never leaves a file open.
        """
        t = self.table
        out: list[dict[str, Any]] = [{} for _ in numbers]
        by_file: dict[int, list[int]] = {}
        for i, n in enumerate(numbers):
            by_file.setdefault(int(t.file_id[n]), []).append(i)
        for file_id, where in by_file.items():
            path = self.files[file_id].path
            reader = _MetadataReader(path)
            try:
                for i in where:
                    n = numbers[i]
                    offset, length = int(t.metadata_offset[n]), int(t.metadata_length[n])
                    raw = reader.read(offset, length)
                    if len(raw) != length:
                        raise CorruptFileError(f"{path}: the metadata of image {t.axes[n]} is truncated")
                    try:
                        value = load_json(raw.decode("utf-8"), path, "image metadata") if raw else {}
                    except (UnicodeDecodeError, ValueError) as exc:
                        raise CorruptFileError(
                            f"{path}: the metadata of image {t.axes[n]} is not valid JSON: {exc}"
                        ) from exc
                    out[i] = value if isinstance(value, dict) else {"value": value}
            finally:
                reader.close()
        return out

    def close(self) -> None:
        """Close every file of this level (they re-open on the next read)."""
        for f in self.files:
            f.close()


class _MetadataReader:
    """Positioned reads through a short-lived descriptor (local) or the shared remote file."""

    def __init__(self, path: Any) -> None:
        self._remote: RemoteFile | None = open_bytes(path) if is_remote(path) else None
        self._fd = (
            None if self._remote is not None else os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        )

    def read(self, offset: int, length: int) -> bytes:
        if self._remote is not None:
            return self._remote.read_at_most(offset, length)
        if self._fd is None:
            raise ValueError(f"read of {length} bytes at {offset} after close()")
        return positioned_read(self._fd, length, offset)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def data_file(path: Any) -> Any:
    """The byte source of one image file: a :class:`DatasetFile`, or a shared remote file."""
    return open_bytes(path) if is_remote(path) else DatasetFile(path)


def load_level(folder: Path) -> Level:
    """Parse and check the ``NDTiff.index`` of ``folder``.

    Raises
    ------
    CorruptFileError
        If a file name points outside ``folder``, a referenced file is missing, or
        an image or its metadata lies beyond the end of its file.
    """
    index_path = folder / INDEX_NAME
    index_path.stat()  # a missing index is a FileNotFoundError naming it, before parsing
    table = parse_index(index_path)
    files: list[SharedFile] = []
    sizes: list[int] = []
    counts = np.bincount(table.file_id, minlength=len(table.file_names))
    for i, name in enumerate(table.file_names):
        real = resolve_inside(folder, name, what="image file name")
        try:
            st = real.stat()
        except FileNotFoundError:
            raise CorruptFileError(
                f"{index_path}: {int(counts[i])} image(s) of this dataset are stored in {name!r}, "
                f"which is missing from {folder}; copy the complete dataset folder (every .tif "
                f"next to {INDEX_NAME})"
            ) from None
        if not stat.S_ISREG(st.st_mode):
            raise CorruptFileError(f"{index_path}: the image file {name!r} is not a regular file")
        files.append(data_file(real))
        sizes.append(st.st_size)
    if table.image_count:
        _check_ranges(index_path, table, np.asarray(sizes, dtype=np.int64))
    token = file_token("ndtiff", folder, stamp_from=(index_path,))
    return Level(folder, table, tuple(files), token)


def _check_overlaps(index_path: Path, table: IndexTable, nbytes: np.ndarray) -> None:
    """Refuse an index whose images share bytes, beyond a few re-used entries.

    Each image is written once, after the previous one. Two entries naming the very
    same pixels happen (an image re-acquired under another key; ndstorage reads it),
    but an index of a few MiB listing 10^5 images stored at the same few bytes, or
    images that partly overlap, is not an index of this file: refused before the
    reader builds a plane grid (and a graph) that the bytes present cannot back.
    """
    if table.image_count < 2:
        return
    order = np.lexsort((nbytes, table.pixel_offset, table.file_id))
    fid, start = table.file_id[order], table.pixel_offset[order].astype(np.int64)
    end = start + nbytes[order].astype(np.int64)
    same_file = fid[1:] == fid[:-1]
    alias = same_file & (start[1:] == start[:-1]) & (end[1:] == end[:-1])
    clash = same_file & ~alias & (start[1:] < end[:-1])
    aliases = int(alias.sum())
    if clash.any() or aliases > table.image_count - aliases + 16:
        i = int(order[int(np.flatnonzero(clash | alias)[0]) + 1])
        raise CorruptFileError(
            f"{index_path}: the image {table.axes[i]} shares the pixels of another image of "
            f"{table.file_names[int(table.file_id[i])]!r} ({int(clash.sum())} overlapping and {aliases} "
            f"repeated entries of {table.image_count}); the index is corrupt"
        )


def _check_ranges(index_path: Path, table: IndexTable, sizes: np.ndarray) -> None:
    size = sizes[table.file_id]
    nbytes = table.image_nbytes()
    bad = (
        (table.width <= 0)
        | (table.height <= 0)
        | (table.pixel_offset < _MIN_OFFSET)
        | (table.pixel_offset + nbytes > size)
    )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = table.file_names[int(table.file_id[i])]
        kind = PIXEL_TYPES[int(table.pixel_type[i])][0]
        raise CorruptFileError(
            f"{index_path}: the image {table.axes[i]} is said to be {int(table.width[i])} x "
            f"{int(table.height[i])} {kind} pixels ({int(nbytes[i])} bytes) at offset "
            f"{int(table.pixel_offset[i])} of {name!r}, but that file has {int(size[i])} bytes; "
            f"the index is corrupt or the file is truncated ({int(bad.sum())} bad entries)"
        )
    _check_overlaps(index_path, table, nbytes)
    md_bad = table.metadata_offset + table.metadata_length > size
    if md_bad.any():
        i = int(np.flatnonzero(md_bad)[0])
        name = table.file_names[int(table.file_id[i])]
        raise CorruptFileError(
            f"{index_path}: the metadata of image {table.axes[i]} is said to be "
            f"{int(table.metadata_length[i])} bytes at offset {int(table.metadata_offset[i])} of "
            f"{name!r}, beyond the end of that file ({int(size[i])} bytes); the index is corrupt "
            "or the file is truncated"
        )
