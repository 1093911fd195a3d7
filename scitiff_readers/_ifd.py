"""TIFF image file directories read by hand: the project's one IFD parser (no tifffile).

Sniffing a TIFF (:mod:`._tiffhead`) and opening a single-file TIFF of plain pages
(the TIFF backend's fast open) need little of the file: the first IFD (the page
structure and the ImageDescription) and, when pixels are read, the strip or tile
offsets of the pages read. Building a ``tifffile.TiffFile`` for that (importing
tifffile, its file handle, its page and tag objects) cost more than the rest of the
open. :class:`IfdChain` reads IFDs with positioned reads and :mod:`struct` alone, from
a local file or through a remote file's read function; backends reach it through
:mod:`scitiff_readers.backend`.

It is deliberately narrow. :meth:`IfdChain.page` parses a page completely only when
it is of the kinds tifffile interprets without any vendor quirk (see
:func:`_simple_reason`): anything else gives ``None`` and the caller uses tifffile.
The attributes of :class:`IfdPage` have tifffile's names and meanings, so
 the TIFF backend's ``layout.page_layout`` describes both alike; the differential tests
compare them with tifffile's on every layout of the matrix and on the corpus.

Hostile files: every offset and count is checked against the file's size before it
is read or allocated, and a chain of IFDs that loops raises
:class:`~scitiff_readers.errors.CorruptFileError` (like the TIFF backend's
``guard_ifd_chain`` for tifffile).
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ._byteaccess import positioned_read
from .errors import CorruptFileError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["TIFF_INT_FORMATS", "TIFF_TYPE_SIZES", "IfdChain", "IfdEntry", "IfdPage"]

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

#: One IFD entry: ``(field type, value count, the entry's value or offset field)``.
IfdEntry = tuple[int, int, bytes]


#: Compressions tifffile decodes the same way whatever else the page says (no JPEG:
#: its colour space changes the page's shape).
_SIMPLE_COMPRESSIONS = frozenset({1, 5, 8, 32773, 32946, 50000})
#: Tags of structures or vendor formats whose pages tifffile interprets specially.
_SPECIAL_TAGS = frozenset(
    {
        330,  # SubIFDs (pyramids)
        513,  # JPEGInterchangeFormat (old JPEG)
        33628,  # MetaMorph STK
        34412,  # Zeiss LSM
        65426,  # Hamamatsu NDPI McuStarts
    }
)
#: tifffile's dtypes by ``(SampleFormat, BitsPerSample)`` for the kinds read here.
_DTYPES = {
    (1, 8): "u1",
    (1, 16): "u2",
    (1, 32): "u4",
    (1, 64): "u8",
    (2, 8): "i1",
    (2, 16): "i2",
    (2, 32): "i4",
    (2, 64): "i8",
    (3, 16): "f2",
    (3, 32): "f4",
    (3, 64): "f8",
}
#: More tags in one IFD than any writer uses: treated as damage.
_MAX_TAGS = 4096
#: Bytes read at an IFD's offset in one go: the whole IFD of every usual page.
_IFD_READ = 1024
#: Bytes read to step over an IFD: its count and next pointer for up to 20 tags.
_WALK_READ = 256
#: Bytes read at once while walking the chain: IFDs of pages this close share one read.
_WALK_BLOCK = 16384
#: IFDs first checked at once when they lie at a fixed stride (doubling while the run
#: holds, up to :data:`_RUN_BYTES` a read), and steps walked one by one after a run breaks.
_RUN_FIRST = 32
#: IFDs still to find below which stepping beats a run's numpy set-up (~0.7 us a step
#: against ~12 us a run, measured on the 2000-page OME-TIFF).
_RUN_LEAST = 20
#: Bytes of one read of a run of IFDs at a fixed stride: a bound on what is read (and
#: viewed, never copied) whatever the file claims.
_RUN_BYTES = 1 << 20


@dataclass(frozen=True)
class IfdPage:
    """One page's structure, with tifffile's attribute names (``TiffPage``'s meanings).

    Only pages that :func:`_simple_reason` accepts are built; ``description`` is the
    first ImageDescription when it is ASCII text (tifffile's ``TiffPage.description``).
    """

    parent: Any
    offset: int
    imagewidth: int
    imagelength: int
    samplesperpixel: int
    bitspersample: int
    sampleformat: int
    compression: int
    predictor: int
    fillorder: int
    planarconfig: int
    photometric: int
    rowsperstrip: int
    tilewidth: int
    tilelength: int
    dataoffsets: tuple[int, ...]
    databytecounts: tuple[int, ...]
    description: str
    keyframe: None = None
    subifds: None = None
    tiledepth: int = 1
    imagedepth: int = 1

    @property
    def is_tiled(self) -> bool:
        """Whether the pixels are stored in tiles (else strips)."""
        return self.tilewidth > 0

    @property
    def dtype(self) -> str:
        """The samples' numpy dtype without byte order (tifffile's ``TiffPage.dtype``)."""
        return _DTYPES[(self.sampleformat, self.bitspersample)]

    @property
    def shaped(self) -> tuple[int, int, int, int, int]:
        """``(separate samples, depth, length, width, contiguous samples)``, as tifffile's."""
        spp = self.samplesperpixel
        if self.photometric == 2 or spp > 1:
            if self.planarconfig == 1:
                return (1, 1, self.imagelength, self.imagewidth, spp)
            return (spp, 1, self.imagelength, self.imagewidth, 1)
        return (1, 1, self.imagelength, self.imagewidth, 1)

    @property
    def is_ome(self) -> bool:
        """Tifffile's rule: the ImageDescription of the first page ends with ``OME>``."""
        return bool(self.description) and self.description[-10:].strip().endswith("OME>")


class IfdChain:
    """The IFDs of one TIFF file, found by following the chain of next-IFD pointers.

    The offsets found so far are kept, so walking to IFD ``k`` again costs nothing and
    walking further continues where the last walk stopped. A local file is opened on
    first use and kept open until :meth:`close` (the next use re-opens it).

    Parameters
    ----------
    path
        The file (used in messages, and opened when ``read_at`` is not given).
    read_at
        For a file that is not local: a function giving up to ``length`` bytes at
        ``offset`` (fewer at the end of the file), e.g. a remote file's
        ``read_at_most``; ``size`` is then the file's size.
    size
        The file's size in bytes, with ``read_at``.

    Raises
    ------
    ValueError
        From the constructor, if the file is not a TIFF (no header).
    """

    def __init__(
        self, path: Path, read_at: Callable[[int, int], bytes] | None = None, size: int | None = None
    ) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._read_at = read_at
        head = self._pread(16, 0)
        if len(head) < 8 or head[:2] not in (b"II", b"MM"):
            raise ValueError(f"{path}: not a TIFF file (no II/MM byte-order mark)")
        self.byteorder = "<" if head[:2] == b"II" else ">"
        #: The file's first 16 bytes (fewer in a smaller file).
        self.head = bytes(head)
        magic = struct.unpack(self.byteorder + "H", head[2:4])[0]
        if magic == 42:
            self.bigtiff = False
            first = struct.unpack(self.byteorder + "I", head[4:8])[0]
        elif magic == 43 and len(head) == 16:
            self.bigtiff = True
            first = struct.unpack(self.byteorder + "Q", head[8:16])[0]
        else:
            raise ValueError(f"{path}: not a TIFF file (magic number {magic})")
        bo = self.byteorder
        self._count, self._entry, self._pointer, self._inline_one = _formats(bo, self.bigtiff)
        if read_at is not None:
            if size is None:
                raise TypeError("IfdChain: read_at needs the file's size")
            self.size = size
        else:
            self.size = os.fstat(self._handle()).st_size
        # tifffile's page objects reach the byte order as ``page.parent.byteorder``.
        self.parent = SimpleNamespace(byteorder=bo, filehandle=SimpleNamespace(path=str(path)))
        self.offsets: list[int] = []
        self._seen: set[int] = set()
        #: The largest IFD offset found so far (a run at one stride goes beyond it).
        self._top = 0
        self._broken = False
        self._ended = False
        self._next: dict[int, int] = {}
        self._pages: dict[int, IfdPage | None] = {}
        # The last IFD table and the last description read: a sniff's parse of the first
        # IFD, handed to the open (see scitiff_readers._handoff), is not read again.
        self._last_table: tuple[int, bytes, int] | None = None
        self._last_text: tuple[int, int, bytes] | None = None
        self._add(first, 0)

    # ------------------------------------------------------------------ file
    def _handle(self) -> int:
        if self._fd is None:
            self._fd = os.open(os.fspath(self.path), os.O_RDONLY | getattr(os, "O_BINARY", 0))
        return self._fd

    def _pread(self, length: int, offset: int) -> bytes:
        if self._read_at is not None:
            return self._read_at(offset, length)
        # ``os.pread`` where the OS has it; elsewhere seek + read under the lock.
        return positioned_read(self._handle(), length, offset, self._lock)

    def close(self) -> None:
        """Close the file handle (the next read re-opens it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    # ----------------------------------------------------------------- chain
    def _add(self, offset: int, index: int) -> None:
        if offset == 0:
            self._ended = True
            return
        if not 8 <= offset < self.size:
            # tifffile logs and stops here: the pages beyond are missing.
            self._ended = self._broken = True
            return
        if offset in self._seen:
            raise CorruptFileError(
                f"{self.path}: the TIFF's IFD chain loops: IFD {index} points back to IFD "
                f"{self.offsets.index(offset)} (offset {offset}); the file is corrupt"
            )
        self._seen.add(offset)
        self.offsets.append(offset)
        self._top = max(self._top, offset)

    def _tag_count(self, data: bytes, offset: int) -> int:
        """The tag count at the start of ``data`` (read at ``offset``), checked."""
        if len(data) < self._count.size:
            raise CorruptFileError(
                f"{self.path}: the IFD at offset {offset} is cut off by the end of the file"
            )
        count = int(self._count.unpack_from(data)[0])
        if count > _MAX_TAGS:
            raise CorruptFileError(
                f"{self.path}: the IFD at offset {offset} claims {count} tags; it is corrupt"
            )
        return count

    def forget(self) -> None:
        """Drop the remembered last IFD table and description (their bytes)."""
        self._last_table = self._last_text = None

    def _table(self, offset: int) -> tuple[bytes, int]:
        """The raw entries of the IFD at ``offset`` and its next-IFD pointer."""
        last = self._last_table
        if last is not None and last[0] == offset:
            return last[1], last[2]
        data = self._pread(_IFD_READ, offset)
        cs = self._count.size
        count = self._tag_count(data, offset)
        end = cs + count * self._entry.size + self._pointer.size
        if len(data) < end:
            data = self._pread(end, offset)
            if len(data) < end:
                raise CorruptFileError(
                    f"{self.path}: the IFD at offset {offset} is cut off by the end of the file"
                )
        nxt = self._pointer.unpack_from(data, end - self._pointer.size)[0]
        self._next[offset] = nxt
        table = data[cs : end - self._pointer.size]
        self._last_table = (offset, table, nxt)
        return table, nxt

    def offset(self, index: int) -> int:
        """File offset of IFD ``index``.

        Raises
        ------
        IndexError
            When the chain ends (or leaves the file) before IFD ``index``.
        CorruptFileError
            When the chain loops or an IFD is cut off by the end of the file.
        """
        offsets = self.offsets
        if index < len(offsets):
            return offsets[index]
        # The hot loop of a look-up far into a big file (one IFD per page): kept tight.
        known, seen, size = self._next, self._seen, self.size
        # Looked up per walk (tests hide it); a remote file steps IFD by IFD.
        pread = getattr(os, "pread", None) if self._read_at is None else None
        fd = self._handle() if pread is not None else -1
        count_of, pointer_at = self._count.unpack_from, self._pointer.unpack_from
        cs, es, ps = self._count.size, self._entry.size, self._pointer.size
        # Small pages lie close together: one read of a block serves the IFDs inside it
        # (what tifffile's buffered reads do), as bytes indexed relative to ``start``.
        block, start, gap = b"", 0, 0
        # IFDs written back to back at one stride (tifffile, ImageJ, most writers) are
        # checked a run at a time (:meth:`_stride_run`); ``wait`` steps after a run broke.
        run, wait = _RUN_FIRST, 0
        while len(offsets) <= index and not self._ended:
            last = offsets[-1]
            nxt = known.get(last)
            if nxt is None:
                want = index + 1 - len(offsets)
                if pread is not None and 0 < gap <= _WALK_BLOCK // 4 and want >= _RUN_LEAST:
                    if wait:
                        wait -= 1
                    else:
                        found = self._stride_run(fd, last, gap, min(want, run))
                        if found == min(want, run):
                            run = min(2 * run, max(_RUN_BYTES // gap, 1))
                            continue
                        run, wait = _RUN_FIRST, _RUN_FIRST
                        if found:
                            continue
                rel = last - start
                if not 0 <= rel <= len(block) - _WALK_READ:
                    # A block only while IFDs come close together; far apart, just the IFD.
                    length = _WALK_BLOCK if 0 < gap <= _WALK_BLOCK // 4 else _WALK_READ
                    block = pread(fd, length, last) if pread is not None else b""
                    start, rel = last, 0
                at = rel + cs + count_of(block, rel)[0] * es if len(block) - rel >= cs else -1
                if rel <= at <= len(block) - ps:
                    nxt = int(pointer_at(block, at)[0])
                    known[last] = nxt
                else:  # a long IFD, the end of the file, or no pread: the careful way
                    nxt = self._next_pointer(last)
            if 8 <= nxt < size and nxt not in seen:
                gap = nxt - last
                seen.add(nxt)
                offsets.append(nxt)
                if nxt > self._top:
                    self._top = nxt
            else:
                self._add(nxt, len(offsets))  # the end of the chain, or damage
        if index >= len(offsets):
            raise IndexError(f"{self.path} has {len(self.offsets)} IFDs, not {index + 1}")
        return self.offsets[index]

    def count(self) -> int:
        """The number of IFDs in the file (walks the whole chain once).

        Raises
        ------
        CorruptFileError
            As :meth:`offset`.
        """
        if not self._ended:
            with contextlib.suppress(IndexError):  # the chain's end: what is counted
                self.offset(1 << 62)
        return len(self.offsets)

    @property
    def intact(self) -> bool:
        """Whether the chain walked so far ends (if it does) on a zero pointer, not one out of the file."""
        return not self._broken

    def _stride_run(self, fd: int, last: int, stride: int, most: int) -> int:
        """Follow up to ``most`` IFDs from ``last`` (the last known) that lie ``stride`` bytes apart.

        One read covers the run; numpy checks at once that every IFD in it has the tag
        count of the first and points to the next one ``stride`` bytes on -- exactly
        what stepping IFD by IFD would read. The offsets that hold are added to the
        chain; the count added is returned (0 when the first does not hold: the
        caller steps). Offsets only ever grow here, so a run is taken only when no
        IFD seen so far lies beyond ``last`` (no loop can hide in it).
        """
        if self._top > last:
            return 0
        import numpy as np

        cs, es, ps = self._count.size, self._entry.size, self._pointer.size
        block = os.pread(fd, min(most * stride + _WALK_READ, _RUN_BYTES + _WALK_READ), last)
        if len(block) < cs:
            return 0
        count = int(self._count.unpack_from(block)[0])
        record = cs + count * es + ps
        if count > _MAX_TAGS or record > stride or len(block) < record:
            return 0
        # IFDs of the run whose count and pointer lie inside the block, and whose
        # successor (the offset the pointer gives) lies inside the file.
        n = min(most, (len(block) - record) // stride + 1, (self.size - 1 - last) // stride)
        if n < 1:
            return 0
        bo = self.byteorder
        counts = np.ndarray((n,), bo + ("u8" if self.bigtiff else "u2"), block, 0, (stride,))
        pointers = np.ndarray((n,), bo + ("u8" if self.bigtiff else "u4"), block, cs + count * es, (stride,))
        expected = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(stride) + np.uint64(last)
        broken = np.flatnonzero((counts != count) | (pointers != expected))
        found = int(broken[0]) if broken.size else n
        if found:
            new = range(last + stride, last + found * stride + 1, stride)
            self.offsets.extend(new)
            self._seen.update(new)
            self._top = new[-1]
        return found

    def _next_pointer(self, offset: int) -> int:
        # One read finds the tag count and, in every usual IFD, the pointer after the tags.
        raw = self._pread(_WALK_READ, offset)
        cs, ps = self._count.size, self._pointer.size
        count = self._tag_count(raw, offset)
        at = cs + count * self._entry.size
        if len(raw) < at + ps:
            raw = self._pread(ps, offset + at)
            at = 0
            if len(raw) < ps:
                raise CorruptFileError(
                    f"{self.path}: the IFD at offset {offset} is cut off by the end of the file"
                )
        nxt = int(self._pointer.unpack_from(raw, at)[0])
        self._next[offset] = nxt
        return nxt

    # ----------------------------------------------------------------- pages
    def entries(self, index: int) -> list[tuple[int, IfdEntry]]:
        """Every ``(tag, entry)`` of IFD ``index``, in file order (repeated tags included).

        Raises
        ------
        IndexError, CorruptFileError
            As :meth:`offset`.
        """
        table, _ = self._table(self.offset(index))
        return [(tag, (typ, count, value)) for tag, typ, count, value in self._entry.iter_unpack(table)]

    def values(self, entry: IfdEntry, limit: int) -> tuple[int, ...]:
        """An integer tag's values (see :meth:`_values`).

        Raises
        ------
        ValueError
            For a type that is not an integer, more than ``limit`` values, or values
            outside the file.
        """
        return self._values(entry, limit)

    def raw(self, entry: IfdEntry, limit: int) -> bytes:
        """The bytes of a tag's values (read from where the entry points when they do not fit in it).

        Raises
        ------
        ValueError
            When they are more than ``limit`` bytes or lie outside the file.
        """
        typ, count, value = entry
        nbytes = count * TIFF_TYPE_SIZES.get(typ, 1)
        if nbytes > limit:
            raise ValueError(f"{nbytes} bytes of tag values where at most {limit} make sense")
        if nbytes <= len(value):
            return value[:nbytes]
        at = self._pointer.unpack(value)[0]
        if at + nbytes > self.size:
            raise ValueError(
                f"{nbytes} bytes at offset {at} lie beyond the end of the file ({self.size} bytes)"
            )
        data = self._pread(nbytes, at)
        if len(data) < nbytes:
            raise ValueError("tag values cut off by the end of the file")
        if typ == 2:  # a text (the description): its page's parse may need it again
            self._last_text = (at, nbytes, data)
        return data

    def _entries(self, offset: int, wanted: frozenset[int] | None) -> dict[int, tuple[int, int, bytes]]:
        table, _ = self._table(offset)
        entries: dict[int, tuple[int, int, bytes]] = {}
        for tag, typ, count, value in self._entry.iter_unpack(table):
            if (wanted is None or tag in wanted) and tag not in entries:
                entries[tag] = (typ, count, value)
        return entries

    def _values(self, entry: tuple[int, int, bytes], limit: int) -> tuple[int, ...]:
        """An integer tag's values (read from where the entry points when they do not fit in it).

        More than ``limit`` values is damage (a count field claiming millions of values
        of a scalar tag): ``ValueError`` before anything proportional to it is read.
        """
        typ, count, _ = entry
        code = TIFF_INT_FORMATS.get(typ)
        if code is None:
            raise ValueError(f"type {typ} is not an integer type")
        if count > limit:
            raise ValueError(f"{count} values where at most {limit} make sense")
        data = self.raw(entry, count * TIFF_TYPE_SIZES[typ])
        return struct.unpack_from(f"{self.byteorder}{count}{code}", data)

    def _text(self, entry: tuple[int, int, bytes]) -> str | None:
        typ, count, value = entry
        if typ != 2:
            return None  # tifffile keeps only ASCII descriptions
        if count > len(value):
            at = self._pointer.unpack(value)[0]
            if at + count > self.size:
                raise ValueError("the ImageDescription lies beyond the end of the file")
            last = self._last_text
            if last is not None and last[0] == at and last[1] == count:
                value = last[2]
            else:
                value = self._pread(count, at)
                self._last_text = (at, count, value)
        raw = value[:count].rstrip(b"\x00")
        try:
            return raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="strict").strip()

    def page(self, index: int) -> IfdPage | None:
        """The structure of IFD ``index``, or ``None`` when tifffile should interpret it.

        ``None`` for pages outside :func:`_simple_reason`'s kinds and for pages whose
        tags are damaged (values outside the file, wrong types): tifffile then decides
        what to read and what to report.

        Raises
        ------
        IndexError, CorruptFileError
            As :meth:`offset`.
        """
        offset = self.offset(index)
        if offset in self._pages:
            return self._pages[offset]
        entries = self._entries(offset, None)
        try:
            page = self._page(offset, entries)
        except (ValueError, KeyError, struct.error, UnicodeDecodeError):
            page = None
        self._pages[offset] = page
        return page

    def _page(self, offset: int, entries: dict[int, tuple[int, int, bytes]]) -> IfdPage | None:
        inline = self._inline_one

        def one(tag: int, default: int) -> int:
            entry = entries.get(tag)
            if entry is None:
                return default
            if entry[1] == 1:  # the common case: one value, in the entry (what _values reads)
                fmt = inline.get(entry[0])
                if fmt is not None:
                    return int(fmt.unpack_from(entry[2])[0])
            values = self._values(entry, _SCALAR_VALUES)
            return int(values[0]) if values else default

        def uniform(tag: int, default: int, spp: int) -> int | None:
            if tag not in entries:
                return default
            values = self._values(entries[tag], max(spp, _SCALAR_VALUES))[:spp]
            if not values or any(v != values[0] for v in values):
                return None
            return int(values[0])

        if _SPECIAL_TAGS & entries.keys() or 256 not in entries or 257 not in entries or 262 not in entries:
            return None
        spp = one(277, 1)
        bps = uniform(258, 1, spp)
        fmt = uniform(339, 1, spp)
        tiled = 322 in entries
        description = self._text(entries[270]) if 270 in entries else None
        offsets_tag, counts_tag = (324, 325) if tiled else (273, 279)
        if offsets_tag not in entries or counts_tag not in entries:
            return None
        # Read the offsets only when their number is the one the size tags need (no
        # allocation for a hostile count; tifffile corrects and reports mismatches).
        width, length, planar = one(256, 0), one(257, 0), one(284, 1)
        sep = spp if planar == 2 else 1
        tw, tl = one(322, 0), one(323, 0)
        rows = 0
        if tiled:
            segments = sep * -(-length // tl) * -(-width // tw) if tw > 0 and tl > 0 else -1
        else:
            rows = _rows_per_strip(entries, one)
            segments = sep * -(-length // rows) if rows > 0 else -1
        if segments <= 0 or entries[offsets_tag][1] != segments or entries[counts_tag][1] != segments:
            return None
        # Each tag read once (this runs for the first page of every open).
        page = IfdPage(
            parent=self.parent,
            offset=offset,
            imagewidth=width,
            imagelength=length,
            samplesperpixel=spp,
            bitspersample=bps or 0,
            sampleformat=fmt or 0,
            compression=one(259, 1),
            predictor=one(317, 1),
            fillorder=one(266, 1),
            planarconfig=planar,
            photometric=one(262, 0),
            rowsperstrip=rows,
            tilewidth=tw,
            tilelength=tl,
            dataoffsets=self._values(entries[offsets_tag], segments),
            databytecounts=self._values(entries[counts_tag], segments),
            description=description or "",
            tiledepth=one(32998, 1),
            imagedepth=one(32997, 1),
        )
        return page if _simple_reason(page) is None else None

    def segments(self, index: int, expected: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Offsets and byte counts of the ``expected`` strips or tiles of IFD ``index``.

        Raises
        ------
        IndexError
            As :meth:`offset`.
        CorruptFileError
            When the IFD is damaged (no, unreadable or not ``expected`` offsets, a loop
            in the chain).
        """
        offset = self.offset(index)
        entries = self._entries(offset, _SEGMENT_TAGS)
        keys = (324, 325) if 324 in entries else (273, 279)
        try:
            offsets = self._values(entries[keys[0]], expected)
            counts = self._values(entries[keys[1]], expected)
        except (KeyError, ValueError, struct.error) as exc:
            raise CorruptFileError(
                f"{self.path}: IFD {index} (offset {offset}) has no readable strip or tile offsets ({exc})"
            ) from exc
        return offsets, counts


_Formats = tuple[struct.Struct, struct.Struct, struct.Struct, dict[int, struct.Struct]]


def _formats(byteorder: str, bigtiff: bool) -> _Formats:
    """The tag count, entry and pointer ``Struct`` of a kind of TIFF, and its inline ones.

    The inline ones, one per integer field type: one value stored in the entry itself
    (width, compression ...).
    """
    formats = _FORMATS.get((byteorder, bigtiff))
    if formats is None:
        count, entry, pointer = ("Q", "HHQ8s", "Q") if bigtiff else ("H", "HHI4s", "I")
        room = 8 if bigtiff else 4  # the entry's value field
        inline = {
            typ: struct.Struct(byteorder + code)
            for typ, code in TIFF_INT_FORMATS.items()
            if TIFF_TYPE_SIZES[typ] <= room
        }
        formats = _FORMATS[(byteorder, bigtiff)] = (
            struct.Struct(byteorder + count),
            struct.Struct(byteorder + entry),
            struct.Struct(byteorder + pointer),
            inline,
        )
    return formats


#: :func:`_formats` of the four kinds of TIFF (byte order, BigTIFF), made once each.
_FORMATS: dict[tuple[str, bool], _Formats] = {}


_SEGMENT_TAGS = frozenset({273, 279, 324, 325})
#: Values of a tag read as one number (width, compression ...): more is damage.
_SCALAR_VALUES = 16


def _rows_per_strip(entries: dict[int, tuple[int, int, bytes]], one: Any) -> int:
    """Tifffile's ``rowsperstrip``: the whole image unless one RowsPerStrip value says fewer."""
    length = int(one(257, 0))
    if 278 not in entries or entries[278][1] != 1:
        return length
    return min(int(one(278, length)), length)


def _simple_reason(page: IfdPage) -> str | None:
    """Why tifffile might interpret ``page`` differently from its plain tags, or ``None``."""
    if page.imagewidth <= 0 or page.imagelength <= 0:
        return "no image"
    if (page.sampleformat, page.bitspersample) not in _DTYPES:
        return "sample type"
    if page.compression not in _SIMPLE_COMPRESSIONS or page.fillorder != 1:
        return "compression"
    if page.photometric not in (0, 1, 2) or page.planarconfig not in (1, 2):
        return "photometric"
    if page.imagedepth != 1 or page.tiledepth != 1:
        return "volumetric"
    if page.is_tiled and page.tilelength <= 0:
        return "tiles"
    if not page.dataoffsets or len(page.dataoffsets) != len(page.databytecounts):
        return "segments"
    if not page.is_tiled:
        if page.rowsperstrip <= 0:
            return "rows per strip"
        strips = -(-page.imagelength // page.rowsperstrip)
        if page.planarconfig == 2 and page.shaped[0] > 1:
            strips *= page.samplesperpixel
        if strips != len(page.dataoffsets):
            return "strip count"  # tifffile corrects (and logs) these
    return None
