"""Parser of the binary ``NDTiff.index`` file.

The index is a sequence of entries, one per image, in write order::

    uint32 K, K bytes UTF-8 JSON axes ({"time": 0, "channel": "DAPI", ...})
    uint32 N, N bytes UTF-8 file name (relative, in the index's folder)
    uint32 pixel_offset, width, height, pixel_type, pixel_compression,
           metadata_offset, metadata_length, metadata_compression

It is written in the native byte order of the acquisition machine (in practice
little-endian). Micro-Manager pre-allocates the index with zeros and truncates it
when the acquisition finishes, so the index of a running or crashed acquisition
ends with zero padding: an entry whose ``K`` is 0 ends the valid entries.
"""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from scitiff_readers.backend import is_remote, load_json
from scitiff_readers.errors import CorruptFileError, ScitiffReadersWarning

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "PIXEL_TYPES",
    "IndexTable",
    "NDTiffIndexWarning",
    "parse_index",
]


class NDTiffIndexWarning(ScitiffReadersWarning):
    """The index ends early: the acquisition is still running or it crashed."""


#: pixel_type code -> (name, bits per sample, bytes per pixel, samples per pixel).
PIXEL_TYPES: Mapping[int, tuple[str, int, int, int]] = {
    0: ("8-bit", 8, 1, 1),
    1: ("16-bit", 16, 2, 1),
    2: ("8-bit RGB", 8, 3, 3),
    3: ("10-bit", 10, 2, 1),
    4: ("12-bit", 12, 2, 1),
    5: ("14-bit", 14, 2, 1),
    6: ("11-bit", 11, 2, 1),
}

# A plausible upper bound for one entry's axes JSON and file name: anything larger
# is garbage, not a Micro-Manager index.
_MAX_TEXT = 1 << 20


# A NamedTuple, not a dataclass: cheaper to import (see mosaic.Mosaic).
class IndexTable(NamedTuple):
    """The parsed entries of one ``NDTiff.index`` (duplicates resolved: last wins).

    Entries keep the order in which their axes were first written, so string axis
    values can be listed in acquisition order.
    """

    path: Path
    byteorder: str
    axes: tuple[dict[str, Any], ...]
    file_names: tuple[str, ...]
    file_id: np.ndarray
    pixel_offset: np.ndarray
    width: np.ndarray
    height: np.ndarray
    pixel_type: np.ndarray
    metadata_offset: np.ndarray
    metadata_length: np.ndarray
    complete: bool

    @property
    def image_count(self) -> int:
        """The number of images (entries after duplicates are resolved)."""
        return len(self.axes)

    def image_nbytes(self) -> np.ndarray:
        """Bytes of pixels of every entry (int64)."""
        bpp = np.array([PIXEL_TYPES[int(t)][2] for t in range(len(PIXEL_TYPES))], dtype=np.int64)
        nbytes: np.ndarray = self.width * self.height * bpp[self.pixel_type]
        return nbytes


def _byteorder(data: bytes) -> str:
    """Guess the index byte order from its first entry (native order of the writer)."""
    if len(data) < 5:
        return "<"
    little = struct.unpack_from("<I", data, 0)[0]
    big = struct.unpack_from(">I", data, 0)[0]
    if 0 < little <= len(data) - 4 and data[4:5] == b"{":
        return "<"
    if 0 < big <= len(data) - 4 and data[4:5] == b"{":
        return ">"
    return "<"


def _decode_one(path: Path, raw: bytes, start: int) -> dict[str, Any]:
    """Decode one entry's axes, raising a clear error when it is not a JSON object."""
    try:
        axes = load_json(raw.decode("utf-8"), path, f"index entry at byte {start}")
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError(
            f"{path}: the index entry at byte {start} is not valid UTF-8 JSON ({exc}); the index is corrupt"
        ) from exc
    if not isinstance(axes, dict):
        raise CorruptFileError(
            f"{path}: the index entry at byte {start} has axes {raw[:80]!r}, not a JSON object "
            "of axis names; the index is corrupt"
        )
    return axes


def _clean(axes: dict[str, Any]) -> dict[str, Any]:
    """Axis values are ints or strings; anything else (floats, booleans ...) becomes a string."""
    return {a: v if type(v) is int or type(v) is str else json.dumps(v) for a, v in axes.items()}


def parse_index(path: Path, data: bytes | None = None) -> IndexTable:
    """Parse the ``NDTiff.index`` at ``path`` (or its bytes ``data``).

    Raises
    ------
    CorruptFileError
        If an entry is malformed (bad JSON, unknown pixel type, compression).

    Warns
    -----
    NDTiffIndexWarning
        If the index ends with zero padding or a partial entry: the entries before
        it are returned.
    """
    if data is None:
        data = path.read_bytes() if is_remote(path) else Path(path).read_bytes()
    order = _byteorder(data)
    u32 = struct.Struct(order + "I")
    tail = struct.Struct(order + "8I")
    size = len(data)
    raw_axes: list[bytes] = []
    raw_names: list[bytes] = []
    starts: list[int] = []
    tails: list[tuple[int, ...]] = []
    pos = 0
    complete = True
    problem = ""
    # Pass 1: cut the entries (no decoding); stop at padding or a partial entry.
    while pos < size:
        if pos + 4 > size:
            complete, problem = False, f"a partial entry of {size - pos} bytes"
            break
        (k,) = u32.unpack_from(data, pos)
        if k == 0:
            complete = False
            problem = (
                f"{size - pos} bytes of zero padding"
                if not any(data[pos : pos + 4096])
                else "an entry of length 0"
            )
            break
        if k > _MAX_TEXT or pos + 4 + k + 4 > size:
            complete, problem = False, f"a partial entry at byte {pos}"
            break
        (n,) = u32.unpack_from(data, pos + 4 + k)
        end = pos + 8 + k + n
        if n > _MAX_TEXT or end + tail.size > size:
            complete, problem = False, f"a partial entry at byte {pos}"
            break
        starts.append(pos)
        raw_axes.append(data[pos + 4 : pos + 4 + k])
        raw_names.append(data[pos + 8 + k : end])
        tails.append(tail.unpack_from(data, end))
        pos = end + tail.size
    # Pass 2: decode every axes JSON in one call (fast), per entry only on error.
    try:
        all_axes = load_json(b"[" + b",".join(raw_axes) + b"]", path, "index entries") if raw_axes else []
        if len(all_axes) != len(raw_axes):
            raise ValueError("entry count mismatch")
    except (UnicodeDecodeError, ValueError):
        all_axes = [_decode_one(path, raw, start) for raw, start in zip(raw_axes, starts, strict=True)]
    by_key: dict[frozenset[tuple[str, Any]], int] = {}
    axes_list: list[dict[str, Any]] = []
    names: dict[bytes, int] = {}
    rows: list[tuple[int, ...]] = []
    for i, axes in enumerate(all_axes):
        if not isinstance(axes, dict):
            _decode_one(path, raw_axes[i], starts[i])  # raises with a clear message
        for v in axes.values():
            if type(v) is not int and type(v) is not str:
                axes = _clean(axes)
                break
        offset, width, height, ptype, compression, md_offset, md_length, md_compression = tails[i]
        if ptype not in PIXEL_TYPES:
            raise CorruptFileError(
                f"{path}: the index entry {axes} has pixel type {ptype}, which the NDTiff format "
                f"does not define (known: {sorted(PIXEL_TYPES)}); the index is corrupt"
            )
        if compression != 0 or md_compression != 0:
            raise CorruptFileError(
                f"{path}: the index entry {axes} says its pixels or metadata are compressed "
                f"(codes {compression}, {md_compression}); NDTiff defines uncompressed data only"
            )
        name = raw_names[i]
        file_id = names.get(name)
        if file_id is None:
            file_id = names[name] = len(names)
        row = (file_id, offset, width, height, ptype, md_offset, md_length)
        # JSON key order differs between entries (the python writer serialises a
        # frozenset), so an image's identity is the set of its items.
        key = frozenset(axes.items())
        where = by_key.get(key)
        if where is None:
            by_key[key] = len(rows)
            rows.append(row)
            axes_list.append(axes)
        else:
            rows[where] = row  # the last entry for the same axes wins
    file_names = []
    for raw_name in names:
        try:
            text = raw_name.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptFileError(
                f"{path}: a file name in the index is not UTF-8: {raw_name[:80]!r}"
            ) from exc
        if not text:
            raise CorruptFileError(f"{path}: an index entry names no file; the index is corrupt")
        file_names.append(text)
    if not complete:
        warnings.warn(
            f"{path}: the index ends with {problem} after {len(rows)} complete image entries; "
            "the acquisition is still running or it stopped without finishing the dataset. "
            f"Reading the {len(rows)} images written so far.",
            NDTiffIndexWarning,
            stacklevel=3,
        )
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 7)
    return IndexTable(
        path=path if is_remote(path) else Path(path),
        byteorder=order,
        axes=tuple(axes_list),
        file_names=tuple(file_names),
        file_id=table[:, 0].copy(),
        pixel_offset=table[:, 1].copy(),
        width=table[:, 2].copy(),
        height=table[:, 3].copy(),
        pixel_type=table[:, 4].copy(),
        metadata_offset=table[:, 5].copy(),
        metadata_length=table[:, 6].copy(),
        complete=complete,
    )
