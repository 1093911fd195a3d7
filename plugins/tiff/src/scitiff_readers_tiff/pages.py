"""The one TIFF pixel path: pages of tifffile series as ``TCZYX(S)`` pixel sources.

Every TIFF-based reader of the project (OME-TIFF, ImageJ hyperstacks, plain TIFF and
SciTiff) reads pixels through :class:`TiffPageSource`. tifffile parses the TIFF
structure once at open (IFDs, strip / tile offsets, compression); the source keeps
only that index (paths, offsets, byte counts and a small layout description per
page structure), so it pickles small and re-opens nothing until it reads.

Reading a plane costs one ``pread`` per strip or tile plus tifffile's own segment
decoder (imagecodecs), or, for uncompressed contiguous pages, one ``preadv`` straight
into the caller's buffer. When all planes of a source are uncompressed and laid out
at regular strides in one file (what tifffile, ImageJ and most writers produce), big
dask blocks are zero-copy views of a private copy-on-write memory map, so a full
``compute()`` costs the one copy dask's concatenation makes anyway.

Public API (stable, used by the SciTiff backend):

* :func:`hyperstack_source` -- a series whose pages loop over T, Z and C in a known
  order (ImageJ: ``"TZC"``).
* :func:`series_source` -- a tifffile series with its own axes mapped to TCZYX(S).
* :meth:`TiffPageSource.from_pages` -- any ``(T, C, Z)`` grid of tifffile pages,
  possibly from several files, ``None`` for missing planes (OME multi-file).
* :func:`imagej_info` -- the ImageJ metadata dict and description of a file, cheaply.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.errors import CorruptFileError, MetadataError, UnsupportedFormatError
from scitiff_readers.files import SharedFile
from scitiff_readers.sources import PlaneSource, Region

if TYPE_CHECKING:
    import tifffile

__all__ = [
    "PageLayout",
    "TiffPageSource",
    "hyperstack_source",
    "imagej_info",
    "series_source",
    "tiff_token",
]

#: Regions at least this large are returned by ``read`` as copy-on-write memory-map
#: views (no copy here; dask's concatenation makes the one copy). Smaller regions are
#: plain arrays, so small results never keep a mapping of the file alive.
VIEW_MIN_BYTES = 4 * 2**20


@dataclass(frozen=True)
class PageLayout:
    """Structure shared by a group of pages (one keyframe of one file).

    Attributes
    ----------
    file
        Index into :attr:`TiffPageSource.files`.
    ifd_offset
        File offset of a page with this structure, to rebuild tifffile's decoder in
        a new process without re-parsing the file.
    shaped
        tifffile's normalised page shape ``(separate samples, depth, length, width,
        contiguous samples)``.
    dtype
        Stored dtype string including byte order, e.g. ``"<u2"``.
    tile
        ``(tile_length, tile_width)`` for tiled pages, else ``None``.
    rowsperstrip
        Rows per strip for stripped pages.
    raw
        Pixels are stored uncompressed as plain numbers (no predictor, no bit
        packing or fill order): they can be read or mapped without decoding.
    """

    file: int
    ifd_offset: int
    shaped: tuple[int, int, int, int, int]
    dtype: str
    tile: tuple[int, int] | None
    rowsperstrip: int
    raw: bool
    compression: int = 1

    @property
    def samples(self) -> int:
        """Samples per pixel."""
        return self.shaped[0] * self.shaped[4]

    @property
    def plane_bytes(self) -> int:
        """Bytes of one uncompressed page."""
        return math.prod(self.shaped) * np.dtype(self.dtype).itemsize

    def plane_strides(self) -> tuple[int, int, int]:
        """Byte strides of ``(Y, X, S)`` of an uncompressed page in memory order."""
        item = np.dtype(self.dtype).itemsize
        sep, _, length, width, contig = self.shaped
        if sep > 1:  # planar configuration "separate": S, Y, X
            return (width * item, item, length * width * item)
        return (width * contig * item, contig * item, item)


def _layout_of(page: Any, file_index: int) -> PageLayout:
    """Describe the structure of a tifffile page or frame (its keyframe's)."""
    key = page.keyframe if page.keyframe is not None else page
    shaped = tuple(int(v) for v in key.shaped)
    if shaped[1] != 1:
        raise UnsupportedFormatError(
            f"{page.parent.filehandle.path}: volumetric TIFF tiles (ImageDepth {shaped[1]}) are not supported"
        )
    dtype = np.dtype(key.parent.byteorder + np.dtype(key.dtype).char)
    raw = (
        key.compression == 1
        and key.predictor == 1
        and key.fillorder == 1
        and key.bitspersample in (8, 16, 32, 64)
        and key.sampleformat != 5
        and dtype.itemsize * 8 == key.bitspersample
    )
    tile = (int(key.tilelength), int(key.tilewidth)) if key.is_tiled else None
    rows = int(key.rowsperstrip) if not key.is_tiled else int(key.tilelength)
    return PageLayout(
        file=file_index,
        ifd_offset=int(key.offset),
        shaped=shaped,  # type: ignore[arg-type]
        dtype=dtype.str,
        tile=tile,
        rowsperstrip=max(1, min(rows, shaped[2])),
        raw=bool(raw),
        compression=int(key.compression),
    )


class _Decoder:
    """tifffile's segment decoder for one page structure, rebuilt lazily per process."""

    __slots__ = ("decode", "jpegtables")

    def __init__(self, path: Path, ifd_offset: int) -> None:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            tif.filehandle.seek(ifd_offset)
            page = tifffile.TiffPage(tif, index=0)
            # The decode closure captures the page's properties, not the file handle.
            self.decode = page.decode
            self.jpegtables = page.jpegtables


class TiffPageSource(PlaneSource):
    """Pixels of TIFF pages arranged on a ``(T, C, Z)`` grid, as ``TCZYX(S)``.

    Build it with :meth:`from_pages`, :func:`series_source` or
    :func:`hyperstack_source` rather than directly.

    Parameters
    ----------
    files
        The files holding the pages (OME multi-file datasets have several).
    layouts
        Page structures (:class:`PageLayout`), referenced by index from ``planes``.
    grid
        ``int64`` array of shape ``(T, C, Z)``: the plane number of each ``(t, c, z)``
        or ``-1`` for a missing plane (read as ``fill_value``).
    plane_layout, plane_first, plane_count
        Per plane: its layout index and its slice of ``seg_offsets`` / ``seg_counts``.
    seg_offsets, seg_counts
        File offsets and byte counts of every strip / tile of every plane.
    shape
        The canonical shape, ``(T, C, Z, Y, X)`` or ``(T, C, Z, Y, X, S)``.
    token
        A stable name for dask graphs (see :func:`tiff_token`).
    """

    def __init__(
        self,
        files: Sequence[Path],
        layouts: Sequence[PageLayout],
        grid: np.ndarray,
        plane_layout: np.ndarray,
        plane_first: np.ndarray,
        plane_count: np.ndarray,
        seg_offsets: np.ndarray,
        seg_counts: np.ndarray,
        shape: Sequence[int],
        token: str,
        fill_value: float = 0,
    ) -> None:
        if not layouts:
            raise MetadataError("a TIFF page source needs at least one page")
        dtype = np.dtype(layouts[0].dtype).newbyteorder("=")
        first = layouts[0]
        tile = first.tile or (first.rowsperstrip, first.shaped[3])
        super().__init__(shape, dtype, tile=tile, fill_value=fill_value)
        if tuple(grid.shape) != self.shape[:3]:
            raise MetadataError(f"page grid {grid.shape} does not match shape {self.shape}")
        for lay in layouts:
            if (lay.shaped[2], lay.shaped[3]) != self.shape[3:5] or lay.samples != self._samples:
                raise MetadataError(
                    f"{files[lay.file]}: page shape {lay.shaped} does not match the image shape {self.shape}"
                )
        self.files = tuple(SharedFile(p) for p in files)
        self.layouts = tuple(layouts)
        self.grid = np.ascontiguousarray(grid, dtype=np.int64)
        self.plane_layout = np.ascontiguousarray(plane_layout, dtype=np.int32)
        self.plane_first = np.ascontiguousarray(plane_first, dtype=np.int64)
        self.plane_count = np.ascontiguousarray(plane_count, dtype=np.int32)
        self.seg_offsets = np.ascontiguousarray(seg_offsets, dtype=np.int64)
        self.seg_counts = np.ascontiguousarray(seg_counts, dtype=np.int64)
        self.__dict__["_token"] = token
        self._strided = self._find_strided()
        self._init_runtime()

    # ------------------------------------------------------------------ pickling
    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._decoders: dict[int, _Decoder] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lock", None)
        state.pop("_decoders", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    # ---------------------------------------------------------------- structure
    @property
    def _samples(self) -> int:
        return self.shape[5] if len(self.shape) > 5 else 1

    @property
    def paths(self) -> tuple[Path, ...]:
        """The files this source reads."""
        return tuple(f.path for f in self.files)

    @property
    def is_strided(self) -> bool:
        """Whether all planes are uncompressed at regular strides in one file (zero-copy)."""
        return self._strided is not None

    def _find_strided(self) -> tuple[int, int, tuple[int, ...]] | None:
        """``(file, base offset, byte strides of TCZYX(S))`` if the pixels form one strided array."""
        if len(self.layouts) != 1 or (self.grid < 0).any() or self.grid.size == 0:
            return None
        lay = self.layouts[0]
        if not lay.raw or np.dtype(lay.dtype) != self.dtype:
            return None
        planes = self.grid.ravel()
        counts = self.plane_count[planes]
        firsts = self.plane_first[planes]
        offs = self.seg_offsets[firsts]
        # Every plane must be one contiguous run of plane_bytes bytes (vectorised:
        # files with thousands of pages are checked in microseconds).
        if not np.all(counts >= 1) or len(self.seg_offsets) != int(self.plane_count.sum()):
            return None
        if not np.all(np.add.reduceat(self.seg_counts, self.plane_first) == lay.plane_bytes):
            return None
        follows = self.seg_offsets[:-1] + self.seg_counts[:-1] == self.seg_offsets[1:]
        last = np.zeros(len(self.seg_offsets), dtype=bool)
        last[self.plane_first + self.plane_count - 1] = True
        if not np.all(follows | last[:-1]):
            return None
        grid_offs = offs.reshape(self.grid.shape)
        base = int(grid_offs[0, 0, 0])
        strides = []
        for axis in range(3):
            n = int(grid_offs.shape[axis])
            if n > 1:
                idx = [0, 0, 0]
                idx[axis] = 1
                strides.append(int(grid_offs[tuple(idx)]) - base)
            else:
                strides.append(0)
        t, c, z = np.indices(self.grid.shape, dtype=np.int64)
        if not np.array_equal(grid_offs, base + t * strides[0] + c * strides[1] + z * strides[2]):
            return None
        if min(strides) < 0:
            return None
        y, x, s = lay.plane_strides()
        all_strides = (*strides, y, x) + ((s,) if len(self.shape) > 5 else ())
        return (lay.file, base, all_strides)

    def _strided_view(self, buffer: Any, start: int, region: Region) -> np.ndarray:
        """View of ``region`` in ``buffer`` (which maps the file from byte ``start``)."""
        _, base, strides = self._strided  # type: ignore[misc]
        offset = base - start + sum(s.start * st for s, st in zip(region, strides, strict=True))
        shape = tuple(s.stop - s.start for s in region)
        return np.ndarray(shape, dtype=self.dtype, buffer=buffer, offset=offset, strides=strides)

    def _region_span(self, region: Region) -> tuple[int, int]:
        """First and one-past-last byte of ``region`` in the file (strided layout)."""
        _, base, strides = self._strided  # type: ignore[misc]
        lo = base + sum(s.start * st for s, st in zip(region, strides, strict=True))
        hi = (
            base + sum((s.stop - 1) * st for s, st in zip(region, strides, strict=True)) + self.dtype.itemsize
        )
        return lo, hi

    # ------------------------------------------------------------------- reading
    def read(self, region: Region) -> np.ndarray:
        """Pixels of ``region``; big strided regions are zero-copy copy-on-write views."""
        nbytes = math.prod(s.stop - s.start for s in region) * self.dtype.itemsize
        if self._strided is not None and nbytes >= VIEW_MIN_BYTES:
            return self._map_region(region)
        return super().read(region)

    def _map_region(self, region: Region) -> np.ndarray:
        """Zero-copy view of a big region through a private copy-on-write mapping.

        The mapping belongs to the returned array alone (released with it), so the
        reader's ``close()`` never has to wait for arrays handed to users, and the
        array is writeable without touching the file.
        """
        file_index = self._strided[0]  # type: ignore[index]
        shared = self.files[file_index]
        lo, hi = self._region_span(region)
        if hi > shared.size:
            raise CorruptFileError(
                f"{shared.path}: pixel data up to byte {hi} goes beyond the end of the file "
                f"({shared.size} bytes); the file is truncated"
            )
        start = lo - lo % mmap.ALLOCATIONGRANULARITY
        fd = shared.fileno()
        mapped = mmap.mmap(fd, hi - start, access=mmap.ACCESS_COPY, offset=start)
        return self._strided_view(mapped, start, region)

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Decode / read ``region`` straight into ``out`` (no temporaries for raw pages)."""
        rt, rc, rz, ys, xs = region[:5]
        if self._strided is not None and self._read_runs(out, region):
            return
        for i, t in enumerate(range(rt.start, rt.stop)):
            for j, c in enumerate(range(rc.start, rc.stop)):
                for k, z in enumerate(range(rz.start, rz.stop)):
                    view = out[i, j, k]
                    plane = int(self.grid[t, c, z])
                    if plane < 0:
                        view[...] = self.fill_value
                    else:
                        self._plane_into(view, plane, ys, xs, region[5] if len(region) > 5 else None)

    def _read_runs(self, out: np.ndarray, region: Region) -> bool:
        """Whole planes stored back to back along Z: one ``preadv`` per ``(t, c)`` run.

        Returns False (nothing read) when the region or ``out`` does not allow it.
        """
        file_index, base, strides = self._strided  # type: ignore[misc]
        lay = self.layouts[0]
        rt, rc, rz, ys, xs = region[:5]
        full = ys == slice(0, self.shape[3]) and xs == slice(0, self.shape[4])
        if len(region) > 5:
            full = full and region[5] == slice(0, self.shape[5])
        plane_bytes = lay.plane_bytes
        if not full or lay.shaped[0] != 1 or (rz.stop - rz.start > 1 and strides[2] != plane_bytes):
            return False
        if not out.flags.c_contiguous:
            return False
        shared = self.files[file_index]
        fd = shared.fileno()
        for i, t in enumerate(range(rt.start, rt.stop)):
            for j, c in enumerate(range(rc.start, rc.stop)):
                start = base + t * strides[0] + c * strides[1] + rz.start * strides[2]
                nbytes = (rz.stop - rz.start) * plane_bytes
                if start + nbytes > shared.size:
                    raise CorruptFileError(
                        f"{shared.path}: pixels (bytes {start} to {start + nbytes}) go beyond the end of "
                        f"the file ({shared.size} bytes); the file is truncated"
                    )
                target = out[i, j]
                got = os.preadv(fd, [memoryview(target).cast("B")], start)  # type: ignore[arg-type]
                if got != nbytes:
                    raise CorruptFileError(f"{shared.path}: short read of pixels at offset {start}")
        return True

    def read_plane(self, t: int, c: int, z: int, ys: slice, xs: slice) -> np.ndarray | None:
        """Plane ``(t, c, z)`` cropped to ``ys``/``xs``; ``None`` if the file lacks it."""
        plane = int(self.grid[t, c, z])
        if plane < 0:
            return None
        shape = (ys.stop - ys.start, xs.stop - xs.start, *tuple(self.shape[5:]))
        out = np.empty(shape, dtype=self.dtype)
        self._plane_into(out, plane, ys, xs, None)
        return out

    def _plane_into(self, out: np.ndarray, plane: int, ys: slice, xs: slice, ss: slice | None) -> None:
        """Decode plane ``plane`` cropped to ``ys``/``xs`` (and samples ``ss``) into ``out``."""
        lay = self.layouts[int(self.plane_layout[plane])]
        first = int(self.plane_first[plane])
        count = int(self.plane_count[plane])
        offsets = self.seg_offsets[first : first + count]
        counts = self.seg_counts[first : first + count]
        if lay.raw and lay.shaped[0] == 1 and count >= 1 and self._contiguous(offsets, counts, lay):
            self._raw_into(out, lay, int(offsets[0]), ys, xs, ss)
            return
        self._decode_into(out, lay, plane, offsets, counts, ys, xs, ss)

    @staticmethod
    def _contiguous(offsets: np.ndarray, counts: np.ndarray, lay: PageLayout) -> bool:
        """Whether the page's segments hold its rows back to back, as one stripped page would."""
        if lay.tile is not None and lay.tile[1] != lay.shaped[3]:
            # Tiles narrower or wider than the image (one padded tile bigger than a small
            # image, too) do not store whole rows at the image's row stride.
            return False
        if len(offsets) == 1:
            return int(counts[0]) >= lay.plane_bytes
        return int(counts.sum()) == lay.plane_bytes and bool(
            np.all(offsets[:-1] + counts[:-1] == offsets[1:])
        )

    def _raw_into(
        self, out: np.ndarray, lay: PageLayout, offset: int, ys: slice, xs: slice, ss: slice | None
    ) -> None:
        """Uncompressed chunky page: read the needed rows straight into ``out`` if possible."""
        shared = self.files[lay.file]
        stored = np.dtype(lay.dtype)
        width, samples = lay.shaped[3], lay.shaped[4]
        row_bytes = width * samples * stored.itemsize
        start = offset + ys.start * row_bytes
        nbytes = (ys.stop - ys.start) * row_bytes
        if start + nbytes > shared.size:
            raise CorruptFileError(
                f"{shared.path}: a page's pixels (bytes {start} to {start + nbytes}) go beyond the end "
                f"of the file ({shared.size} bytes); the file is truncated"
            )
        full_width = xs.start == 0 and xs.stop == width and (ss is None or ss == slice(0, samples))
        if full_width and out.flags.c_contiguous and out.nbytes == nbytes:
            # One system call, straight into the caller's buffer: no temporary.
            got = os.preadv(shared.fileno(), [memoryview(out).cast("B")], start)  # type: ignore[arg-type]
            if got != nbytes:
                raise CorruptFileError(f"{shared.path}: short read of page pixels at offset {start}")
            if stored != self.dtype:
                out.byteswap(inplace=True)
            return
        rows = np.frombuffer(shared.pread(start, nbytes), dtype=stored)
        rows = rows.reshape((ys.stop - ys.start, width) + ((samples,) if len(self.shape) > 5 else ()))
        block = rows[:, xs.start : xs.stop]
        if ss is not None:
            block = block[..., ss]
        out[...] = block

    def _decoder(self, layout_index: int) -> _Decoder:
        dec = self._decoders.get(layout_index)
        if dec is None:
            with self._lock:
                dec = self._decoders.get(layout_index)
                if dec is None:
                    lay = self.layouts[layout_index]
                    try:
                        dec = _Decoder(self.files[lay.file].path, lay.ifd_offset)
                    except FileNotFoundError:
                        raise
                    except Exception as exc:
                        raise CorruptFileError(
                            f"{self.files[lay.file].path}: cannot rebuild the page decoder from the IFD at "
                            f"offset {lay.ifd_offset}: {exc}"
                        ) from exc
                    self._decoders[layout_index] = dec
        return dec

    def _decode_into(
        self,
        out: np.ndarray,
        lay: PageLayout,
        plane: int,
        offsets: np.ndarray,
        counts: np.ndarray,
        ys: slice,
        xs: slice,
        ss: slice | None,
    ) -> None:
        """Decode only the strips / tiles that intersect ``ys`` x ``xs``, with tifffile's decoder."""
        dec = self._decoder(int(self.plane_layout[plane]))
        shared = self.files[lay.file]
        sep, _, length, width, _ = lay.shaped
        if lay.tile is not None:
            th, tw = lay.tile
            rows_n, cols_n = math.ceil(length / th), math.ceil(width / tw)
        else:
            th, tw = lay.rowsperstrip, width
            rows_n, cols_n = math.ceil(length / th), 1
        per_sample = rows_n * cols_n
        if len(offsets) < per_sample * sep:
            raise CorruptFileError(
                f"{shared.path}: a page has {len(offsets)} strips/tiles, expected {per_sample * sep}"
            )
        has_s = len(self.shape) > 5
        s_sel = range(sep) if sep > 1 else range(1)
        if sep > 1 and ss is not None:
            s_sel = range(ss.start, ss.stop)
        for s in s_sel:
            for r in range(ys.start // th, (ys.stop - 1) // th + 1):
                for q in range(xs.start // tw, (xs.stop - 1) // tw + 1):
                    index = s * per_sample + r * cols_n + q
                    y0, x0 = r * th, q * tw
                    oy0, oy1 = max(ys.start, y0), min(ys.stop, y0 + th, length)
                    ox0, ox1 = max(xs.start, x0), min(xs.stop, x0 + tw, width)
                    target = out[oy0 - ys.start : oy1 - ys.start, ox0 - xs.start : ox1 - xs.start]
                    if sep > 1:
                        target = target[..., s - (ss.start if ss is not None else 0)]
                    nbytes = int(counts[index])
                    if nbytes == 0:
                        target[...] = self.fill_value
                        continue
                    data = shared.pread(int(offsets[index]), nbytes)
                    try:
                        seg, _, _ = dec.decode(data, index, jpegtables=dec.jpegtables)
                    except Exception as exc:
                        raise CorruptFileError(
                            f"{shared.path}: cannot decode strip/tile {index} of a page at offset "
                            f"{int(offsets[index])}: {type(exc).__name__}: {exc}"
                        ) from exc
                    seg = seg[0]  # type: ignore[index]  # (length, width, contiguous samples)
                    block = seg[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0]
                    if sep > 1 or not has_s:
                        block = block[..., 0]
                    elif ss is not None:
                        block = block[..., ss]
                    target[...] = block

    def close(self) -> None:
        """Close the files' descriptors and maps (they re-open on the next read)."""
        for f in self.files:
            f.close()

    def __del__(self) -> None:
        # Copies made by unpickling (dask graphs, pickled readers) are never closed
        # explicitly, and SharedFile keeps a raw descriptor: release it with the copy.
        try:
            for f in self.__dict__.get("files", ()):
                if f.is_open:
                    f.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    # -------------------------------------------------------------- constructors
    @classmethod
    def from_pages(
        cls,
        pages: np.ndarray,
        shape: Sequence[int],
        token: str,
        fill_value: float = 0,
    ) -> TiffPageSource:
        """Build a source from a ``(T, C, Z)`` object array of tifffile pages.

        Parameters
        ----------
        pages
            ``TiffPage`` / ``TiffFrame`` objects (from one or several open
            ``TiffFile``), or ``None`` for missing planes.
        shape
            The canonical ``TCZYX`` / ``TCZYXS`` shape; ``shape[:3]`` must equal
            ``pages.shape``.
        token
            Stable graph name (see :func:`tiff_token`).
        """
        files: list[Path] = []
        file_index: dict[str, int] = {}
        layouts: list[PageLayout] = []
        layout_index: dict[tuple[int, int], int] = {}
        flat = pages.ravel()
        grid = np.full(len(flat), -1, dtype=np.int64)
        plane_layout: list[int] = []
        plane_first: list[int] = []
        plane_count: list[int] = []
        offs: list[Iterable[int]] = []
        cnts: list[Iterable[int]] = []
        total = 0
        seen: dict[int, int] = {}
        for n, page in enumerate(flat):
            if page is None:
                continue
            known = seen.get(id(page))
            if known is not None:
                grid[n] = known
                continue
            path = str(page.parent.filehandle.path)
            fi = file_index.get(path)
            if fi is None:
                fi = file_index[path] = len(files)
                files.append(Path(path))
            key = page.keyframe if page.keyframe is not None else page
            lk = (fi, id(key))
            li = layout_index.get(lk)
            if li is None:
                li = layout_index[lk] = len(layouts)
                layouts.append(_layout_of(page, fi))
            o, c = page.dataoffsets, page.databytecounts
            plane = len(plane_first)
            seen[id(page)] = plane
            grid[n] = plane
            plane_layout.append(li)
            plane_first.append(total)
            plane_count.append(len(o))
            offs.append(o)
            cnts.append(c)
            total += len(o)
        layouts = _merge_layouts(layouts, plane_layout)
        return cls(
            files,
            layouts,
            grid.reshape(pages.shape),
            np.asarray(plane_layout, dtype=np.int32),
            np.asarray(plane_first, dtype=np.int64),
            np.asarray(plane_count, dtype=np.int32),
            np.fromiter((v for o in offs for v in o), dtype=np.int64, count=total),
            np.fromiter((v for c in cnts for v in c), dtype=np.int64, count=total),
            shape,
            token,
            fill_value,
        )

    @classmethod
    def contiguous(
        cls,
        path: Path,
        keyframe: Any,
        offset: int,
        loop_shape: Sequence[int],
        loop_axes: str,
        shape: Sequence[int],
        token: str,
    ) -> TiffPageSource:
        """A source for planes stored back to back from ``offset`` (tifffile ``series.dataoffset``).

        ``loop_axes`` names the page loops from slowest to fastest with letters of
        ``TCZ`` (``loop_shape`` their sizes); this also covers ImageJ files over 4 GB
        whose later pages have no IFD.
        """
        lay = _layout_of(keyframe, 0)
        if not lay.raw:
            raise MetadataError(f"{path}: contiguous series must be uncompressed")
        grid = _loop_grid(loop_axes, loop_shape, shape)
        return cls._back_to_back(path, lay, grid, offset, math.prod(loop_shape), shape, token)

    @classmethod
    def _back_to_back(cls, path: Path, lay: Any, grid: np.ndarray, offset: int, nplanes: int,
                      shape: Sequence[int], token: str) -> TiffPageSource:
        """``nplanes`` uncompressed planes of layout ``lay`` stored one after another from ``offset``."""
        return cls(
            [path],
            [lay],
            grid,
            np.zeros(nplanes, dtype=np.int32),
            np.arange(nplanes, dtype=np.int64),
            np.ones(nplanes, dtype=np.int32),
            offset + np.arange(nplanes, dtype=np.int64) * lay.plane_bytes,
            np.full(nplanes, lay.plane_bytes, dtype=np.int64),
            shape,
            token,
        )


_JPEG_LIKE = frozenset({6, 7, 33007, 34892})


def _merge_layouts(layouts: list[PageLayout], plane_layout: list[int]) -> list[PageLayout]:
    """Collapse layouts of equal structure (tifffile loads ImageJ pages as separate keyframes)."""
    if len(layouts) <= 1:
        return layouts
    unique: dict[tuple[Any, ...], int] = {}
    merged: list[PageLayout] = []
    remap = []
    for lay in layouts:
        key: tuple[Any, ...] = (lay.file, lay.shaped, lay.dtype, lay.tile, lay.rowsperstrip, lay.raw,
                                lay.compression)
        if lay.compression in _JPEG_LIKE:
            key += (lay.ifd_offset,)  # each page may carry its own JPEGTables
        if key not in unique:
            unique[key] = len(merged)
            merged.append(lay)
        remap.append(unique[key])
    plane_layout[:] = [remap[i] for i in plane_layout]
    return merged


def _loop_grid(loop_axes: str, loop_shape: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """``(T, C, Z)`` grid of plane numbers for pages looping over ``loop_axes`` (slowest first)."""
    sizes = dict(zip(loop_axes, loop_shape, strict=True))
    for d, n in zip("TCZ", shape[:3], strict=True):
        if sizes.get(d, 1) != n:
            raise MetadataError(
                f"page loops {loop_axes}={tuple(loop_shape)} do not match shape {tuple(shape)}"
            )
    numbers = np.arange(math.prod(loop_shape), dtype=np.int64).reshape(tuple(loop_shape))
    perm = [loop_axes.index(d) for d in "TCZ" if d in loop_axes]
    grid = numbers.transpose(perm) if perm else numbers
    return grid.reshape(tuple(shape[:3]))


# ---------------------------------------------------------------------------- helpers
def tiff_token(path: Path, *parts: Any) -> str:
    """A stable dask name for a TIFF source: absolute path, mtime, size and ``parts``."""
    try:
        st = os.stat(path)
        stamp = f"{st.st_mtime_ns}-{st.st_size}"
    except OSError:
        stamp = "missing"
    # abspath, not realpath: resolving symbolic links costs more than the rest of a
    # small file's open, and two names for one file only cost dask a shared graph.
    return "-".join(["tiff", os.path.abspath(path), stamp, *map(str, parts)])


_CANONICAL = "TCZ"


def _split_axes(axes: str) -> int:
    """Index where the trailing run of plane axes (``Y``, ``X``, ``S``) starts."""
    i = len(axes)
    while i > 0 and axes[i - 1] in "YXS":
        i -= 1
    return i


def series_source(
    series: tifffile.TiffPageSeries,
    path: Path,
    token: str,
    axes_map: dict[str, str] | None = None,
) -> tuple[TiffPageSource, dict[str, str]]:
    """A source over a tifffile series, mapping its unsqueezed axes to ``TCZYX(S)``.

    Parameters
    ----------
    series
        An open tifffile series (or pyramid level); its pages are read now.
    path
        The main file (for messages).
    token
        Stable graph name.
    axes_map
        tifffile axis letter -> one of ``T``, ``C``, ``Z`` for the page loop axes.
        Default: ``T``, ``C``, ``Z`` map to themselves; other letters go to the first
        of ``Z``, ``T``, ``C`` not otherwise used (several letters mapped to one
        dim are merged, slowest first). Loop axes of size 1 are dropped.

    Returns
    -------
    source, mapping
        The source and the mapping actually used.
    """
    axes = series.get_axes(False)
    shape = tuple(int(n) for n in series.get_shape(False))
    split = _split_axes(axes)
    loop_axes, loop_shape = axes[:split], shape[:split]
    plane_axes = axes[split:]
    keyframe = series.keyframe
    lay0 = _layout_of(keyframe, 0)
    samples = lay0.samples
    ylen, xlen = lay0.shaped[2], lay0.shaped[3]
    sizes = dict(zip(plane_axes, shape[split:], strict=True))
    if sizes.get("Y", ylen) != ylen or sizes.get("X", xlen) != xlen:
        raise MetadataError(
            f"{path}: series axes {axes} {shape} do not match the page shape {keyframe.shape}"
        )
    mapping = _default_axes_map(loop_axes, loop_shape) if axes_map is None else dict(axes_map)
    groups: dict[str, list[int]] = {d: [] for d in _CANONICAL}
    for i, (a, n) in enumerate(zip(loop_axes, loop_shape, strict=True)):
        target = mapping.get(a)
        if target is None:
            if n == 1:
                continue
            raise MetadataError(
                f"{path}: series axis {a!r} (size {n}) has no place in TCZYX; map it with dim_order="
            )
        groups[target].append(i)
    canon = tuple(math.prod(loop_shape[i] for i in groups[d]) for d in _CANONICAL)
    full_shape = (*canon, ylen, xlen) + ((samples,) if samples > 1 else ())
    nplanes = math.prod(loop_shape)
    # plane number (page order) for every (t, c, z): transpose the loop shape into
    # canonical groups, then merge each group's axes.
    numbers = np.arange(nplanes, dtype=np.int64).reshape(loop_shape)
    order = [i for d in _CANONICAL for i in groups[d]]
    dropped = [i for i in range(len(loop_shape)) if i not in order]
    numbers = numbers.transpose(order + dropped).reshape((*canon, -1))[..., 0] if nplanes else numbers
    grid_numbers = numbers.reshape(canon)
    dataoffset = series.dataoffset
    if dataoffset is not None and lay0.raw and lay0.shaped[0] == 1:
        source = TiffPageSource._back_to_back(Path(keyframe.parent.filehandle.path), lay0, grid_numbers,
                                              dataoffset, nplanes, full_shape, token)
        return source, mapping
    pages = list(series.pages)
    if len(pages) != nplanes and lay0.shaped[0] > 1 and "S" not in plane_axes:
        raise MetadataError(
            f"{path}: tifffile shapes the series as {axes} {shape} but stores part of it as the "
            f"{lay0.shaped[0]} separate sample planes of each page; this layout is not supported"
        )
    if len(pages) != nplanes:
        raise CorruptFileError(
            f"{path}: the series describes {nplanes} planes but {len(pages)} pages were found"
        )
    grid = np.empty(canon, dtype=object)
    flat_pages = np.empty(nplanes, dtype=object)
    flat_pages[:] = pages
    grid[...] = flat_pages[grid_numbers]
    return TiffPageSource.from_pages(grid, full_shape, token), mapping


def _default_axes_map(loop_axes: str, loop_shape: Sequence[int]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    used = {a for a in loop_axes if a in _CANONICAL}
    for a in loop_axes:
        if a in _CANONICAL:
            mapping[a] = a
    for a, n in zip(loop_axes, loop_shape, strict=True):
        if a in mapping or n == 1:
            continue
        free = [d for d in "ZTC" if d not in used]
        if free:
            mapping[a] = free[0]
            used.add(free[0])
        else:  # more non-singleton axes than T, C, Z: merge into Z (slowest first)
            mapping[a] = "Z"
    return mapping


def hyperstack_source(
    path: Path,
    shape: tuple[int, ...],
    page_order: str = "TZC",
    series: int = 0,
    level: int = 0,
) -> TiffPageSource:
    """Pixels of a TIFF whose pages loop over T, Z and C in ``page_order``, as ``TCZYX(S)``.

    Parameters
    ----------
    path
        The TIFF file.
    shape
        Canonical ``(T, C, Z, Y, X)`` or ``(T, C, Z, Y, X, S)`` shape of the result.
    page_order
        The page loops from slowest to fastest; ImageJ hyperstacks are ``"TZC"``
        (page = ``(t * Z + z) * C + c``).
    series, level
        tifffile series index and pyramid level.

    Returns
    -------
    TiffPageSource
        Thread-safe and picklable; uncompressed contiguous files are read zero-copy,
        ImageJ files over 4 GB (a single IFD) included.

    Raises
    ------
    MetadataError
        If the file's pages do not fit ``shape``.
    """
    import tifffile

    path = Path(path)
    shape = tuple(int(v) for v in shape)
    if sorted(page_order) != sorted("TZC"):
        raise ValueError(f"page_order must be a permutation of 'TZC', got {page_order!r}")
    loop_shape = tuple(shape["TCZ".index(d)] for d in page_order)
    nplanes = math.prod(loop_shape)
    token = tiff_token(path, series, level, page_order, shape)
    try:
        tif = tifffile.TiffFile(path)
    except tifffile.TiffFileError as exc:
        raise CorruptFileError(f"{path}: not a readable TIFF file: {exc}") from exc
    with tif:
        try:
            ser = tif.series[series]
        except IndexError as exc:
            raise MetadataError(f"{path}: the file has no TIFF series {series}") from exc
        if level:
            ser = ser.levels[level]
        key = ser.keyframe
        lay = _layout_of(key, 0)
        plane = (lay.shaped[2], lay.shaped[3]) + ((lay.samples,) if lay.samples > 1 else ())
        if tuple(shape[3:]) != plane:
            raise MetadataError(f"{path}: pages are {plane} (Y, X[, S]) but the image shape is {shape}")
        if ser.dataoffset is not None and lay.raw and lay.shaped[0] == 1:
            return TiffPageSource.contiguous(
                path, key, int(ser.dataoffset), loop_shape, page_order, shape, token
            )
        pages = [p for p in ser.pages]
        if len(pages) < nplanes:
            # tifffile's series may be shorter than the file (e.g. it trusted a
            # description); fall back to the file's own page list.
            pages = list(tif.pages) if len(tif.pages) >= nplanes else pages
        if len(pages) < nplanes:
            raise MetadataError(f"{path}: the image needs {nplanes} pages but the file has {len(pages)}")
        grid_numbers = _loop_grid(page_order, loop_shape, shape)
        flat = np.empty(nplanes, dtype=object)
        flat[:] = pages[:nplanes]
        return TiffPageSource.from_pages(flat[grid_numbers], shape, token)


def imagej_info(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The ImageJ metadata dict and the raw ImageDescription of the first page.

    Cheap: only the first IFD (and the IJMetadata tags) are read. Returns
    ``(None, None)`` if the file is not an ImageJ TIFF.
    """
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        desc = page.description if isinstance(page.description, str) else None
        if not tif.is_imagej:
            return None, None
        return tif.imagej_metadata, desc
