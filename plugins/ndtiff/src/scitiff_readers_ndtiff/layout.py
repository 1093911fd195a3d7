"""Where an NDTiff dataset's files are, and the header of its TIFF files.

Layouts (see ``docs/formats/ndtiff.md``)::

    v3 single resolution:  <root>/NDTiff.index, <root>/*_NDTiffStack*.tif
    v2, and v3 pyramids:   <root>/Full resolution/NDTiff.index (+ .tif)
                           <root>/Downsampled_x2/NDTiff.index ... (pyramid levels)
    v1 (Micro-Magellan):   <root>/Full resolution/*.tif with the index inside the TIFF

A user may pass the root folder, a level folder, an ``NDTiff.index`` or any of
the dataset's ``.tif`` files; all lead to the same dataset.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from scitiff_readers.backend import SharedFile, is_remote, load_json, read_head
from scitiff_readers.errors import CorruptFileError, UnsupportedFormatError

if TYPE_CHECKING:
    from scitiff_readers.backend import SharedFile

__all__ = [
    "FULL_RESOLUTION",
    "INDEX_NAME",
    "NDTIFF_MAGIC",
    "Header",
    "Layout",
    "is_ndtiff_tif",
    "locate",
    "read_header",
]

INDEX_NAME = "NDTiff.index"
FULL_RESOLUTION = "Full resolution"
#: uint32 at byte 8 of every NDTiff v2/v3 TIFF file.
NDTIFF_MAGIC = 483729
#: uint32 at byte 8 of NDTiff v1 TIFF files (the index map offset header).
V1_MAGIC = 54773648
_SUMMARY_HEADER = 2355492
# Compiled on first use (re caches it): a single-level dataset never needs it.
_DOWNSAMPLED = r"^Downsampled_x(\d+)$"


# NamedTuples, not dataclasses: a frozen dataclass costs about half a millisecond
# to create at import, which every cold open of a dataset pays.
class Layout(NamedTuple):
    """The folders of a dataset: ``levels[k]`` holds the index of resolution level k."""

    root: Path
    levels: tuple[Path, ...]
    pyramid: bool


class Header(NamedTuple):
    """The NDTiff additions to the TIFF header."""

    byteorder: str
    major: int
    minor: int
    summary: dict[str, Any]

    @property
    def version(self) -> str:
        """``"major.minor"`` (v2 files have no minor version: ``"2.0"``)."""
        return f"{self.major}.{self.minor}"


def _tif_head(path: Path, n: int = 16) -> bytes:
    return read_head(path, n)


def _magic(head: bytes) -> int | None:
    if len(head) < 12:
        return None
    if head[:4] == b"II*\x00":
        return int(struct.unpack_from("<I", head, 8)[0])
    if head[:4] == b"MM\x00*":
        return int(struct.unpack_from(">I", head, 8)[0])
    return None


def is_ndtiff_tif(path: Path) -> bool:
    """Whether ``path`` starts like an NDTiff v2/v3 TIFF file."""
    return _magic(_tif_head(path)) == NDTIFF_MAGIC


def _is_v1_tif(path: Path) -> bool:
    # Looking for a v1 dataset never reads through a link (it could lead out of the folder).
    return not path.is_symlink() and _magic(_tif_head(path)) == V1_MAGIC


def _level_folders(root: Path) -> tuple[Path, ...]:
    """``Full resolution`` and ``Downsampled_x2``, ``_x4`` ... as long as they are complete."""
    found: dict[int, Path] = {}
    if is_remote(root):
        # A remote folder is listed only where the file system can (not every HTTP server).
        try:
            for sub in root.iterdir():
                m = re.match(_DOWNSAMPLED, sub.name)
                if m:
                    found[int(m.group(1))] = sub
        except OSError:
            pass
    else:
        with os.scandir(root) as it:
            for entry in it:
                m = re.match(_DOWNSAMPLED, entry.name)
                if m and entry.is_dir():
                    found[int(m.group(1))] = Path(entry.path)
    levels = [root / FULL_RESOLUTION]
    factor = 2
    while factor in found and (found[factor] / INDEX_NAME).is_file():
        levels.append(found[factor])
        factor *= 2
    return tuple(levels)


def _v1_refusal(folder: Path) -> UnsupportedFormatError:
    return UnsupportedFormatError(
        f"{folder}: this is an NDTiff v1 dataset (Micro-Magellan 1.x: the index lives inside "
        "the TIFF files and there is no NDTiff.index). The 'ndtiff' reader reads NDTiff v2 and v3 "
        "only; open it with ndstorage.Dataset(path) (pip install ndstorage) or re-save it with "
        "a current Micro-Manager / pycro-manager."
    )


def locate(path: Path) -> Layout:
    """Find the dataset that ``path`` (folder, index or .tif) belongs to.

    Raises
    ------
    UnsupportedFormatError
        If ``path`` is not part of an NDTiff v2/v3 dataset (v1 gets its own message).
    """
    p = path if is_remote(path) else Path(path)
    folder = p if p.is_dir() else p.parent
    if (folder / INDEX_NAME).is_file():
        if folder.name == FULL_RESOLUTION or re.match(_DOWNSAMPLED, folder.name):
            root = folder.parent
            if (root / FULL_RESOLUTION / INDEX_NAME).is_file():
                return Layout(root, _level_folders(root), True)
        return Layout(folder, (folder,), False)
    full = folder / FULL_RESOLUTION
    if full.is_dir():
        if (full / INDEX_NAME).is_file():
            return Layout(folder, _level_folders(folder), True)
        if any(_is_v1_tif(t) for t in sorted(full.glob("*.tif"))[:1]):
            raise _v1_refusal(folder)
    if folder.name == FULL_RESOLUTION and any(_is_v1_tif(t) for t in sorted(folder.glob("*.tif"))[:1]):
        raise _v1_refusal(folder.parent)
    raise UnsupportedFormatError(
        f"{p}: not part of an NDTiff dataset (no {INDEX_NAME} in {folder} or in {folder / FULL_RESOLUTION})"
    )


def looks_like_v1(path: Path) -> bool:
    """Whether ``path`` is the root or ``Full resolution`` folder of an NDTiff v1 dataset."""
    for full in (path / FULL_RESOLUTION, path):
        if full.is_dir() and not (full / INDEX_NAME).exists():
            tifs = sorted(full.glob("*.tif"))[:1]
            if tifs and _is_v1_tif(tifs[0]):
                return True
    return False


def read_header(file: SharedFile) -> Header:
    """Read the NDTiff header and summary metadata of one of the dataset's TIFF files.

    Raises
    ------
    CorruptFileError
        If the file is not an NDTiff v2/v3 TIFF or its summary metadata is unreadable.
    """
    size = file.size
    head = file.pread(0, min(size, 28))
    if len(head) < 24 or head[:4] not in (b"II*\x00", b"MM\x00*"):
        raise CorruptFileError(f"{file.path}: not a TIFF file (the dataset's index refers to it)")
    order = "<" if head[:2] == b"II" else ">"
    magic, major = struct.unpack_from(order + "II", head, 8)
    if magic != NDTIFF_MAGIC:
        raise CorruptFileError(
            f"{file.path}: a TIFF file without the NDTiff signature ({NDTIFF_MAGIC} at byte 8); "
            "the index refers to a file that is not part of an NDTiff dataset"
        )
    if major >= 3:
        minor, marker, length = struct.unpack_from(order + "III", head, 16)
        start = 28
    else:
        minor = 0
        marker, length = struct.unpack_from(order + "II", head, 16)
        start = 24
    if marker != _SUMMARY_HEADER or start + length > size:
        raise CorruptFileError(
            f"{file.path}: the NDTiff summary metadata header is broken (marker {marker}, "
            f"length {length}, file size {size})"
        )
    raw = file.pread(start, length)
    try:
        summary = load_json(raw.decode("utf-8"), file.path, "summary metadata") if length else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError(f"{file.path}: the summary metadata is not valid JSON: {exc}") from exc
    if not isinstance(summary, dict):
        summary = {"value": summary}
    return Header(order, int(major), int(minor), summary)
