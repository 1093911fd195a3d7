"""The header and first IFD of a TIFF file: enough to sniff a TIFF cheaply and only once.

Every TIFF-based backend (OME-TIFF, SciTiff, NDTiff, plain TIFF) claims ``.tif``,
so selecting a reader used to open the file once per backend. :func:`tiff_head`
reads the TIFF header, the first image file directory and its ImageDescription
(tag 270, where OME-XML and ImageJ metadata live) in two or three small reads with
``struct`` -- no tifffile import, no walk of the page chain, no pixels -- and keeps
the result in a :class:`~scitiff_readers.backend.FileCache`, so the backends'
sniffs share one parse per file (re-parsed whenever the file changes).

The backends still use tifffile for everything beyond sniffing.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any

from ._byteaccess import is_remote, open_bytes, positioned_read
from ._filecache import MISSING, FileCache, file_identity

__all__ = ["TIFF_INT_FORMATS", "TIFF_TYPE_SIZES", "FirstIfd", "read_first_ifd", "tiff_head"]

#: The description may be long (coordinates of many bins) but never gigabytes.
_MAX_DESCRIPTION = 256 * 2**20

#: Byte sizes of the TIFF field types (1 BYTE ... 18 IFD8).
TIFF_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}
#: struct codes of the integer TIFF field types.
TIFF_INT_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 17: "q", 18: "Q"}


@dataclass(frozen=True)
class FirstIfd:
    """What the first IFD says (``None`` where the tag is absent).

    ``description`` is the ImageJ description when there is one (tifffile may add a
    second description after ImageJ's), else the first; ``descriptions`` holds every
    ImageDescription in file order; ``head`` the file's first 16 bytes.
    """

    description: bytes
    width: int | None
    height: int | None
    bits_per_sample: int | None
    sample_format: int
    samples_per_pixel: int
    compression: int
    bigtiff: bool
    byteorder: str
    descriptions: tuple[bytes, ...] = ()
    head: bytes = b""

    @property
    def is_ome(self) -> bool:
        """Whether the first ImageDescription is OME-XML (tifffile's ``TiffPage.is_ome`` rule)."""
        if not self.descriptions:
            return False
        return self.descriptions[0][-10:].strip().endswith(b"OME>")

    @property
    def has_image(self) -> bool:
        """Whether the first IFD describes an image (non-zero width and height)."""
        return bool(self.width) and bool(self.height)

    @property
    def numpy_dtype(self) -> str | None:
        """The pixel dtype as a numpy string (``"<f4"``), or ``None`` if unusual."""
        kind = {1: "u", 2: "i", 3: "f"}.get(self.sample_format)
        if kind is None or self.bits_per_sample not in (8, 16, 32, 64):
            return None
        return f"{self.byteorder}{kind}{self.bits_per_sample // 8}"


def _read_at(fd: Any, offset: int, length: int) -> bytes:
    # ``fd``: a descriptor, or a remote file's ``read_at_most`` (read-ahead blocks).
    data = fd(offset, length) if callable(fd) else positioned_read(fd, length, offset)
    if len(data) != length:
        raise ValueError(f"truncated TIFF: wanted {length} bytes at {offset}, got {len(data)}")
    return data


def read_first_ifd(path: str | os.PathLike[str]) -> FirstIfd:
    """Parse the header and first IFD of ``path``.

    Raises
    ------
    ValueError
        If the file is not a TIFF or its first IFD is truncated.
    OSError
        If it cannot be read.
    """
    fd: Any
    if is_remote(path):
        remote = open_bytes(path)
        fd, size = remote.read_at_most, remote.size
    else:
        fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_BINARY", 0))
        size = os.fstat(fd).st_size
    try:
        head = fd(0, 16) if callable(fd) else positioned_read(fd, 16, 0)
        if len(head) < 8 or head[:2] not in (b"II", b"MM"):
            raise ValueError("not a TIFF file (no II/MM byte-order mark)")
        bo = "<" if head[:2] == b"II" else ">"
        magic = struct.unpack(bo + "H", head[2:4])[0]
        if magic == 42:
            bigtiff = False
            ifd_offset = struct.unpack(bo + "I", head[4:8])[0]
            count_fmt, count_size, entry_size, value_size = "H", 2, 12, 4
        elif magic == 43 and len(head) >= 16:
            bigtiff = True
            ifd_offset = struct.unpack(bo + "Q", head[8:16])[0]
            count_fmt, count_size, entry_size, value_size = "Q", 8, 20, 8
        else:
            raise ValueError(f"not a TIFF file (magic number {magic})")
        if not 8 <= ifd_offset < size:
            raise ValueError(f"first IFD offset {ifd_offset} is outside the file ({size} bytes)")
        count = struct.unpack(bo + count_fmt, _read_at(fd, ifd_offset, count_size))[0]
        if count == 0 or count > 4096:
            raise ValueError(f"implausible number of tags in the first IFD: {count}")
        table = _read_at(fd, ifd_offset + count_size, count * entry_size)
        tags: dict[int, tuple[int, int, bytes]] = {}
        descriptions: list[tuple[int, int, bytes]] = []
        for i in range(count):
            entry = table[i * entry_size : (i + 1) * entry_size]
            tag, typ = struct.unpack(bo + "HH", entry[:4])
            n = struct.unpack(bo + ("I" if not bigtiff else "Q"), entry[4 : 4 + (4 if not bigtiff else 8)])[0]
            tags.setdefault(tag, (typ, n, entry[-value_size:]))
            if tag == 270:
                # tifffile may add a second description (its JSON shape) after ImageJ's.
                descriptions.append((typ, n, entry[-value_size:]))

        def scalar(tag: int, default: int | None = None) -> int | None:
            if tag not in tags:
                return default
            typ, n, raw = tags[tag]
            fmt = TIFF_INT_FORMATS.get(typ)
            if fmt is None or n < 1:
                return default
            width = TIFF_TYPE_SIZES[typ]
            if width * n > value_size:
                # Values stored elsewhere (e.g. BitsPerSample of RGB): read the first one.
                offset = struct.unpack(bo + ("I" if not bigtiff else "Q"), raw)[0]
                raw = _read_at(fd, offset, width)
            return int(struct.unpack(bo + fmt, raw[:width])[0])

        description = b""
        texts: list[bytes] = []
        for typ, n, raw in descriptions:
            if typ not in (1, 2, 7) or n == 0:
                continue
            if n > _MAX_DESCRIPTION:
                raise ValueError(f"ImageDescription of {n} bytes is implausibly large")
            if n <= value_size:
                text = raw[:n]
            else:
                offset = struct.unpack(bo + ("I" if not bigtiff else "Q"), raw)[0]
                text = _read_at(fd, offset, n)
            text = text.rstrip(b"\x00")
            texts.append(text)
            if not description.startswith(b"ImageJ=") and (not description or text.startswith(b"ImageJ=")):
                description = text
        return FirstIfd(
            description=description,
            width=scalar(256),
            height=scalar(257),
            bits_per_sample=scalar(258, 1),
            sample_format=scalar(339, 1) or 1,
            samples_per_pixel=scalar(277, 1) or 1,
            compression=scalar(259, 1) or 1,
            bigtiff=bigtiff,
            byteorder=bo,
            descriptions=tuple(texts),
            head=bytes(head),
        )
    finally:
        if not callable(fd):
            os.close(fd)


_heads = FileCache("TIFF first IFD")


def tiff_head(path: str | os.PathLike[str]) -> FirstIfd | None:
    """The first IFD of ``path``, or ``None`` if it is not a TIFF this parser can read.

    Cached per file while the file is unchanged (see :mod:`scitiff_readers._filecache`),
    so every TIFF backend's ``can_open`` can call it: the file is parsed once per
    selection. Never raises. ``None`` also for exotic files (a first IFD with more
    than 4096 tags, a truncated IFD): callers that want to be lenient fall back to
    tifffile then.
    """
    identity = file_identity(path)
    cached = _heads.get(path, identity) if identity is not None else MISSING
    if cached is not MISSING:
        return cached  # type: ignore[return-value]  # the cache holds only what this function stored: FirstIfd or None
    try:
        result: FirstIfd | None = read_first_ifd(path)
    except (OSError, ValueError, struct.error):
        result = None
    size = sum(len(d) for d in result.descriptions) if result is not None else 0
    _heads.put(path, identity, result, nbytes=size + 256)
    return result
