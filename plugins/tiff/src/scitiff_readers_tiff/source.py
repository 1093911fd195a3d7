"""Step 3 of the TIFF pipeline: pixels of TIFF pages as a ``TCZYX(S)`` pixel source.

Every TIFF-based reader of the project (OME-TIFF, ImageJ hyperstacks, plain and
shaped TIFF, SciTiff) reads pixels through :class:`TiffPageSource`. Step 2 (the
series mapping, :mod:`.series` and :mod:`.omeplan`) decides which page -- and which
depth slice and sample of it -- holds each ``(t, c, z)`` plane; this module only
reads them. The source keeps an index (paths, strip / tile offsets and byte counts,
one :class:`~.layout.PageLayout` per page structure), so it pickles small and
re-opens nothing until it reads.

How a plane is read:

* **General path** (every layout): only the strips / tiles that intersect the
  requested rows and columns are read, one ``pread`` each, decoded by tifffile's own
  segment decoder (imagecodecs) and copied into the output buffer.
* **Raw fast path**: where :func:`.layout.row_major_starts` proves a page's pixels
  are one uncompressed row-major run, its rows are read straight into the output
  (one ``preadv``). When every plane is such a run at regular strides in one file
  (what tifffile, ImageJ and most writers produce), regions are strided views of the
  file: big dask blocks are zero-copy views of a private copy-on-write memory map.
"""

from __future__ import annotations

import functools
import math
import mmap
import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import (
    PlaneSource,
    Region,
    as_location,
    file_token,
    is_remote,
    open_bytes,
    page_decoder,
)
from scitiff_readers.errors import CorruptFileError, FileObjectError, MetadataError, RemoteAccessError

from .layout import PageLayout, merge_layouts, page_layout, row_major_starts

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["TiffPageSource", "tiff_token"]

#: Regions at least this large are returned by ``read`` as copy-on-write memory-map
#: views (no copy here; dask's concatenation makes the one copy). Smaller regions are
#: plain arrays, so small results never keep a mapping of the file alive.
VIEW_MIN_BYTES = 4 * 2**20


class _Decoder:
    """tifffile's segment decoder for one page structure, rebuilt lazily per process."""

    __slots__ = ("decode", "jpegtables")

    def __init__(self, path: Path, ifd_offset: int) -> None:
        # The decode closure captures the page's properties, not the file handle.
        self.decode, self.jpegtables = page_decoder(path, ifd_offset)


class TiffPageSource(PlaneSource):
    """Pixels of TIFF pages arranged on a ``(T, C, Z)`` grid, as ``TCZYX(S)``.

    Build it with :meth:`from_pages` or the functions of :mod:`.series` rather than
    directly.

    Parameters
    ----------
    files
        The files holding the pages (OME multi-file datasets have several).
    layouts
        Page structures (:class:`~.layout.PageLayout`), referenced by index.
    grid
        ``int64`` array of shape ``(T, C, Z)``: the plane number of each ``(t, c, z)``
        or ``-1`` for a missing plane (read as ``fill_value``).
    plane_layout, plane_first, plane_count
        Per plane: its page's layout index and its slice of ``seg_offsets`` /
        ``seg_counts`` (planes cut from one page share the slice).
    seg_offsets, seg_counts
        File offsets and byte counts of every strip / tile of every page.
    shape
        The canonical shape, ``(T, C, Z, Y, X)`` or ``(T, C, Z, Y, X, S)``.
    token
        A stable name for dask graphs (see :func:`tiff_token`).
    fill_value
        Value of missing planes and of missing (zero-length) strips or tiles.
    plane_depth, plane_sample
        Per plane, when a page holds several planes: the depth slice of a volumetric
        page, and the one sample of the page this plane is (``-1``: all samples, the
        trailing ``S`` dim). ``None``: depth 0 and all samples for every plane.
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
        plane_depth: np.ndarray | None = None,
        plane_sample: np.ndarray | None = None,
    ) -> None:
        if not layouts:
            raise MetadataError("a TIFF page source needs at least one page")
        dtype = np.dtype(layouts[0].dtype).newbyteorder("=")
        first = layouts[0]
        super().__init__(shape, dtype, tile=first.segment[1:], fill_value=fill_value)
        if tuple(grid.shape) != self.shape[:3]:
            raise MetadataError(f"page grid {grid.shape} does not match shape {self.shape}")
        picks_samples = plane_sample is not None and bool((np.asarray(plane_sample) >= 0).any())
        for lay in layouts:
            samples_ok = lay.samples == self._samples or (picks_samples and self._samples == 1)
            if (lay.shaped[2], lay.shaped[3]) != self.shape[3:5] or not samples_ok:
                raise MetadataError(
                    f"{files[lay.file]}: page shape {lay.shaped} does not match the image shape {self.shape}"
                )
        # Local files or remote ones (scitiff_readers.backend): only how bytes are fetched differs.
        self.files = tuple(open_bytes(p) for p in files)
        self.layouts = tuple(layouts)
        self.grid = np.ascontiguousarray(grid, dtype=np.int64)
        # Index arrays are kept as given when they have the right dtype (broadcast views
        # from back_to_back, arrays shared with other sources of one file): never copied.
        self.plane_layout = _index_array(plane_layout, np.int32)
        self.plane_first = _index_array(plane_first, np.int64)
        self.plane_count = _index_array(plane_count, np.int32)
        self.seg_offsets = _index_array(seg_offsets, np.int64)
        self.seg_counts = _index_array(seg_counts, np.int64)
        n = len(self.plane_first)
        # ``None`` when every plane is a whole page (no depth slice, all samples): most files.
        self.plane_depth = None if plane_depth is None else np.ascontiguousarray(plane_depth, dtype=np.int32)
        self.plane_sample = (
            None if plane_sample is None else np.ascontiguousarray(plane_sample, dtype=np.int32)
        )
        if (self.plane_depth is not None and len(self.plane_depth) != n) or (
            self.plane_sample is not None and len(self.plane_sample) != n
        ):
            raise MetadataError("plane_depth and plane_sample need one value per plane")
        self.__dict__["_token"] = token
        self._init_runtime()

    #: Decided on first use by :meth:`_find_fast_paths`, not at open: opening a stack of
    #: 10^5 back-to-back frames does no per-page work beyond building its index arrays.
    _FAST_PATH_ATTRIBUTES = frozenset({"_raw_start", "_strided"})

    def __getattr__(self, name: str) -> Any:
        if name in type(self)._FAST_PATH_ATTRIBUTES and "plane_first" in self.__dict__:
            self._find_fast_paths()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
        """Whether all planes are uncompressed row-major runs at regular strides in one file."""
        return self._strided is not None

    def _find_fast_paths(self) -> None:
        """Decide, once, where the raw fast paths apply (see :func:`.layout.row_major_starts`).

        ``_raw_start[plane]`` is the file offset of a whole plane read without
        decoding, ``-1`` where the plane must be decoded; ``_strided`` is
        ``(file, base offset, byte strides of TCZYX(S))`` when every plane qualifies
        and the planes sit at regular strides in one file.
        """
        self._raw_start = np.full(len(self.plane_first), -1, dtype=np.int64)
        self._note_planes(np.arange(len(self.plane_first)))
        self._strided = self._strided_layout(self._raw_start)

    def _note_planes(self, planes: np.ndarray) -> None:
        """Set ``_raw_start`` of ``planes`` from their (known) segment offsets."""
        whole = None  # every plane is a whole page
        if self.plane_depth is not None:
            whole = self.plane_depth[planes] == 0
        if self.plane_sample is not None:
            picks = self.plane_sample[planes] < 0
            whole = picks if whole is None else whole & picks
        for li, lay in enumerate(self.layouts):
            if _native(lay.dtype) != self.dtype:
                continue
            if len(self.layouts) == 1:
                mine = planes if whole is None else planes[whole]
            else:
                mask = self.plane_layout[planes] == li
                mine = planes[mask if whole is None else mask & whole]
            if mine.size:
                self._raw_start[mine] = row_major_starts(
                    lay, self.seg_offsets, self.seg_counts, self.plane_first[mine], self.plane_count[mine]
                )

    def _strided_layout(self, starts: np.ndarray) -> tuple[int, int, tuple[int, ...]] | None:
        if len(self.layouts) != 1 or self.grid.size == 0 or (self.grid < 0).any():
            return None
        if (starts < 0).any():
            return None
        lay = self.layouts[0]
        if np.dtype(lay.dtype) != self.dtype:  # views and runs cannot swap bytes
            return None
        grid_offs = starts[self.grid]
        base = int(grid_offs[0, 0, 0])
        strides = []
        for axis in range(3):
            if grid_offs.shape[axis] > 1:
                idx = [0, 0, 0]
                idx[axis] = 1
                strides.append(int(grid_offs[tuple(idx)]) - base)
            else:
                strides.append(0)
        nt, nc, nz = self.grid.shape
        expected = (
            base
            + np.arange(nt, dtype=np.int64)[:, None, None] * strides[0]
            + np.arange(nc, dtype=np.int64)[None, :, None] * strides[1]
            + np.arange(nz, dtype=np.int64)[None, None, :] * strides[2]
        )
        if min(strides) < 0 or not np.array_equal(grid_offs, expected):
            return None
        y, x, s = lay.plane_strides()
        all_strides = (*strides, y, x) + ((s,) if len(self.shape) > 5 else ())
        return (lay.file, base, all_strides)

    def pages_beyond_end(self) -> tuple[int, int]:
        """``(pages with pixel data beyond the end of their file, pages)``; ``(0, 0)`` when none."""
        if not len(self.seg_offsets):
            return 0, 0
        ends = self.seg_offsets + self.seg_counts
        sizes = [_size_or_zero(f) for f in self.files]
        if int(ends.max()) <= min(sizes):  # the common case, without per-page work
            return 0, 0
        if len(sizes) == 1:
            over = ends > sizes[0]
        else:
            # Pages own consecutive runs of segments (planes cut from one page share a run).
            _, index = np.unique(self.plane_first, return_index=True)
            files = np.array([self.layouts[i].file for i in self.plane_layout[index]], dtype=np.int64)
            over = ends > np.repeat(np.asarray(sizes, dtype=np.int64)[files], self.plane_count[index])
        beyond = np.concatenate(([0], np.cumsum(over)))
        firsts, index = np.unique(self.plane_first, return_index=True)  # one run per page
        bad = beyond[firsts + self.plane_count[index]] - beyond[firsts] > 0
        return int(np.count_nonzero(bad)), len(firsts)

    def _strided_view(self, buffer: Any, start: int, region: Region) -> np.ndarray:
        """View of ``region`` in ``buffer`` (which maps the file from byte ``start``)."""
        _, base, strides = self._strided  # type: ignore[misc]  # only called when _strided is set (checked by the callers)
        offset = base - start + sum(s.start * st for s, st in zip(region, strides, strict=True))
        shape = tuple(s.stop - s.start for s in region)
        return np.ndarray(shape, dtype=self.dtype, buffer=buffer, offset=offset, strides=strides)

    def _region_span(self, region: Region) -> tuple[int, int]:
        """First and one-past-last byte of ``region`` in the file (strided layout)."""
        _, base, strides = self._strided  # type: ignore[misc]  # only called when _strided is set (checked by the callers)
        lo = base + sum(s.start * st for s, st in zip(region, strides, strict=True))
        hi = (
            base + sum((s.stop - 1) * st for s, st in zip(region, strides, strict=True)) + self.dtype.itemsize
        )
        return lo, hi

    # ------------------------------------------------------------------- reading
    def read(self, region: Region) -> np.ndarray:
        """Pixels of ``region``; big strided regions are zero-copy copy-on-write views."""
        nbytes = math.prod(s.stop - s.start for s in region) * self.dtype.itemsize
        if self._strided is not None and nbytes >= VIEW_MIN_BYTES and self.files[self._strided[0]].mappable:
            return self._map_region(region)
        return super().read(region)

    def _map_region(self, region: Region) -> np.ndarray:
        """Zero-copy view of a big region through a private copy-on-write mapping.

        The mapping belongs to the returned array alone (released with it), so the
        reader's ``close()`` never has to wait for arrays handed to users, and the
        array is writeable without touching the file.
        """
        file_index = self._strided[0]  # type: ignore[index]  # only called when _strided is set (see read_into)
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
        ss = region[5] if len(region) > 5 else None
        for i, t in enumerate(range(rt.start, rt.stop)):
            for j, c in enumerate(range(rc.start, rc.stop)):
                for k, z in enumerate(range(rz.start, rz.stop)):
                    view = out[i, j, k]
                    plane = int(self.grid[t, c, z])
                    if plane < 0:
                        view[...] = self.fill_value
                    else:
                        self._plane_into(view, plane, ys, xs, ss)

    def _read_runs(self, out: np.ndarray, region: Region) -> bool:
        """Whole planes stored back to back along Z: one ``preadv`` per ``(t, c)`` run.

        Returns False (nothing read) when the region or ``out`` does not allow it.
        """
        file_index, base, strides = self._strided  # type: ignore[misc]  # only called when _strided is set (checked by the callers)
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
        for i, t in enumerate(range(rt.start, rt.stop)):
            for j, c in enumerate(range(rc.start, rc.stop)):
                start = base + t * strides[0] + c * strides[1] + rz.start * strides[2]
                shared.readinto(start, out[i, j])
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
        """Read plane ``plane`` cropped to ``ys``/``xs`` (and samples ``ss``) into ``out``."""
        lay = self.layouts[int(self.plane_layout[plane])]
        start = int(self._raw_start[plane])
        if start >= 0 and lay.shaped[0] > 1:
            self._raw_planar_into(out, lay, start, ys, xs, ss)
        elif start >= 0:
            self._raw_into(out, lay, start, ys, xs, ss)
        else:
            self._decode_into(out, lay, plane, ys, xs, ss)

    def _raw_into(
        self, out: np.ndarray, lay: PageLayout, offset: int, ys: slice, xs: slice, ss: slice | None
    ) -> None:
        """A row-major uncompressed chunky page: read the needed rows straight into ``out``."""
        shared = self.files[lay.file]
        stored = np.dtype(lay.dtype)
        width, samples = lay.shaped[3], lay.shaped[4]
        row_bytes = width * samples * stored.itemsize
        start = offset + ys.start * row_bytes
        nbytes = (ys.stop - ys.start) * row_bytes
        full_width = xs.start == 0 and xs.stop == width and (ss is None or ss == slice(0, samples))
        if full_width and out.flags.c_contiguous and out.nbytes == nbytes:
            # One system call, straight into the caller's buffer: no temporary.
            shared.readinto(start, out)
            if stored != self.dtype:
                out.byteswap(inplace=True)
            return
        rows = np.frombuffer(shared.pread(start, nbytes), dtype=stored)
        rows = rows.reshape((ys.stop - ys.start, width) + ((samples,) if len(self.shape) > 5 else ()))
        block = rows[:, xs.start : xs.stop]
        if ss is not None:
            block = block[..., ss]
        out[...] = block

    def _raw_planar_into(
        self, out: np.ndarray, lay: PageLayout, offset: int, ys: slice, xs: slice, ss: slice | None
    ) -> None:
        """A row-major uncompressed planar page (``S, Y, X``): the needed rows of each sample."""
        shared = self.files[lay.file]
        stored = np.dtype(lay.dtype)
        sep, _, length, width, _ = lay.shaped
        row_bytes = width * stored.itemsize
        nrows = ys.stop - ys.start
        wanted = range(sep)[ss] if ss is not None else range(sep)
        for k, s in enumerate(wanted):
            start = offset + (s * length + ys.start) * row_bytes
            rows = np.frombuffer(shared.pread(start, nrows * row_bytes), dtype=stored).reshape(nrows, width)
            out[..., k] = rows[:, xs.start : xs.stop]

    def _decoder(self, layout_index: int) -> _Decoder:
        dec = self._decoders.get(layout_index)
        if dec is None:
            with self._lock:
                dec = self._decoders.get(layout_index)
                if dec is None:
                    lay = self.layouts[layout_index]
                    try:
                        dec = _Decoder(self.files[lay.file].path, lay.ifd_offset)
                    except (FileNotFoundError, RemoteAccessError, FileObjectError, PermissionError):
                        raise  # the file cannot be reached: not damage
                    except Exception as exc:
                        raise CorruptFileError(
                            f"{self.files[lay.file].path}: cannot rebuild the page decoder from the IFD at "
                            f"offset {lay.ifd_offset}: {exc}"
                        ) from exc
                    self._decoders[layout_index] = dec
        return dec

    def _decode_into(
        self, out: np.ndarray, lay: PageLayout, plane: int, ys: slice, xs: slice, ss: slice | None
    ) -> None:
        """Decode only the strips / tiles that intersect ``ys`` x ``xs``, with tifffile's decoder.

        ``out`` is ``(rows, columns)`` or ``(rows, columns, samples)``. Segments are
        numbered as tifffile numbers them: separate sample, depth, row, column.
        """
        dec = self._decoder(int(self.plane_layout[plane]))
        shared = self.files[lay.file]
        first = int(self.plane_first[plane])
        count = int(self.plane_count[plane])
        sep, _, length, width, _ = lay.shaped
        _, n_depth, n_rows, n_cols = lay.segment_grid
        if count < lay.segments:
            raise CorruptFileError(
                f"{shared.path}: a page has {count} strips/tiles, its structure needs {lay.segments}"
            )
        sd, sl, sw = lay.segment
        depth = int(self.plane_depth[plane]) if self.plane_depth is not None else 0
        pick = int(self.plane_sample[plane]) if self.plane_sample is not None else -1
        # Samples wanted, as indices over all of the page's samples.
        if pick >= 0:
            wanted = [pick]
        elif len(self.shape) > 5:
            wanted = list(range(lay.samples))[ss if ss is not None else slice(None)]
        else:
            wanted = [0]
        keep_s = pick < 0 and len(self.shape) > 5
        # Separate samples live in their own segments; contiguous ones inside each segment.
        if sep > 1:
            jobs: list[tuple[int, list[int], int | None]] = [(s, [0], k) for k, s in enumerate(wanted)]
        else:
            jobs = [(0, wanted, None)]
        # First every intersecting segment, then their bytes in one batch (one request for a
        # remote file's nearby segments, see byteaccess.RemoteFile.read_ranges), then decode.
        todo: list[tuple[Any, int, int, int, int, int, int, int, list[int], int | None]] = []
        for s_plane, contig_sel, out_s in jobs:
            for r in range(ys.start // sl, (ys.stop - 1) // sl + 1):
                for q in range(xs.start // sw, (xs.stop - 1) // sw + 1):
                    index = ((s_plane * n_depth + depth // sd) * n_rows + r) * n_cols + q
                    y0, x0 = r * sl, q * sw
                    oy0, oy1 = max(ys.start, y0), min(ys.stop, y0 + sl, length)
                    ox0, ox1 = max(xs.start, x0), min(xs.stop, x0 + sw, width)
                    target = out[oy0 - ys.start : oy1 - ys.start, ox0 - xs.start : ox1 - xs.start]
                    if out_s is not None and keep_s:
                        target = target[..., out_s]
                    nbytes = int(self.seg_counts[first + index])
                    if nbytes == 0:
                        target[...] = self.fill_value
                        continue
                    todo.append(
                        (
                            target,
                            index,
                            int(self.seg_offsets[first + index]),
                            nbytes,
                            y0,
                            x0,
                            oy0,
                            oy1,
                            contig_sel,
                            out_s,
                        )
                    )
        datas = shared.read_ranges([(job[2], job[3]) for job in todo]) if todo else []
        for (target, index, offset, _, y0, x0, oy0, oy1, contig_sel, out_s), data in zip(
            todo, datas, strict=True
        ):
            ox0 = max(xs.start, x0)
            ox1 = min(xs.stop, x0 + sw, width)
            try:
                seg, _, _ = dec.decode(data, index, jpegtables=dec.jpegtables)
            except Exception as exc:
                raise CorruptFileError(
                    f"{shared.path}: cannot decode strip/tile {index} of a page at offset "
                    f"{offset}: {type(exc).__name__}: {exc}"
                ) from exc
            # (depth, rows, columns, contiguous samples) of this segment
            block = seg[depth % sd, oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0]  # type: ignore[index]  # imagecodecs returns an array, or raises (caught above)
            if keep_s and out_s is None:
                target[...] = block[..., contig_sel]
            else:
                target[...] = block[..., contig_sel[0]]

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
        depth: np.ndarray | None = None,
        sample: np.ndarray | None = None,
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
        fill_value
            Value of missing planes.
        depth, sample
            Arrays shaped like ``pages``: the depth slice of a volumetric page and the
            one sample (``-1``: all, as the ``S`` dim) that each plane is.
        """
        files: list[Path] = []
        file_index: dict[str, int] = {}
        layouts: list[PageLayout] = []
        layout_index: dict[tuple[int, int], int] = {}
        flat = pages.ravel()
        flat_depth = depth.ravel() if depth is not None else None
        flat_sample = sample.ravel() if sample is not None else None
        grid = np.full(len(flat), -1, dtype=np.int64)
        plane_layout: list[int] = []
        plane_first: list[int] = []
        plane_count: list[int] = []
        plane_depth: list[int] = []
        plane_sample: list[int] = []
        offs: list[Any] = []
        cnts: list[Any] = []
        total = 0
        # Where each page's segments are: planes cut from one page share them.
        segments_of: dict[int, tuple[int, int, int]] = {}
        seen: dict[tuple[int, int, int], int] = {}
        for n, page in enumerate(flat):
            if page is None:
                continue
            d = int(flat_depth[n]) if flat_depth is not None else 0
            s = int(flat_sample[n]) if flat_sample is not None else -1
            known = seen.get((id(page), d, s))
            if known is not None:
                grid[n] = known
                continue
            segs = segments_of.get(id(page))
            if segs is None:
                path = str(page.parent.filehandle.path)
                fi = file_index.get(path)
                if fi is None:
                    fi = file_index[path] = len(files)
                    files.append(as_location(path))
                key = page.keyframe if page.keyframe is not None else page
                lk = (fi, id(key))
                li = layout_index.get(lk)
                if li is None:
                    li = layout_index[lk] = len(layouts)
                    layouts.append(page_layout(page, fi))
                o, c = page.dataoffsets, page.databytecounts
                segs = segments_of[id(page)] = (li, total, len(o))
                offs.append(o)
                cnts.append(c)
                total += len(o)
            plane = len(plane_first)
            seen[(id(page), d, s)] = plane
            grid[n] = plane
            plane_layout.append(segs[0])
            plane_first.append(segs[1])
            plane_count.append(segs[2])
            plane_depth.append(d)
            plane_sample.append(s)
        layouts = merge_layouts(layouts, plane_layout)
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
            plane_depth=np.asarray(plane_depth, dtype=np.int32) if depth is not None else None,
            plane_sample=np.asarray(plane_sample, dtype=np.int32) if sample is not None else None,
        )

    @classmethod
    def back_to_back(
        cls,
        path: Path,
        lay: PageLayout,
        grid: np.ndarray,
        offset: int,
        nplanes: int,
        shape: Sequence[int],
        token: str,
    ) -> TiffPageSource:
        """``nplanes`` uncompressed chunky pages of layout ``lay`` stored one after another from ``offset``.

        What tifffile reports as a series' ``dataoffset`` (ImageJ files over 4 GB
        have IFDs for the first page only). The pages are described as single
        strips, so :func:`.layout.row_major_starts` proves them row-major only for
        layouts that can be.
        """
        numbers = np.arange(nplanes, dtype=np.int64)
        return cls(
            [path],
            [lay],
            grid,
            np.broadcast_to(np.int32(0), (nplanes,)),
            numbers,
            np.broadcast_to(np.int32(1), (nplanes,)),
            offset + numbers * lay.plane_bytes,
            np.broadcast_to(np.int64(lay.plane_bytes), (nplanes,)),
            shape,
            token,
        )


def _size_or_zero(file: Any) -> int:
    try:
        # A local size from stat: asking the SharedFile would open (and keep) a descriptor.
        return int(file.size) if is_remote(file.path) else os.path.getsize(file.path)
    except OSError:
        return 0


@functools.lru_cache(maxsize=64)
def _native(dtype: str) -> np.dtype[Any]:
    """The stored dtype ``dtype`` in native byte order (remembered: asked at every first read)."""
    return np.dtype(dtype).newbyteorder("=")


def _index_array(values: Any, dtype: Any) -> np.ndarray:
    array = np.asarray(values)
    return array if array.dtype == dtype and array.ndim == 1 else np.ascontiguousarray(array, dtype=dtype)


def tiff_token(path: Path, *parts: Any, stamp: Any = None) -> str:
    """A stable dask name for a TIFF source: absolute path, mtime, size and ``parts``.

    ``stamp``: the file's :func:`~scitiff_readers.backend.file_stamp` if the caller has it.
    """
    return file_token("tiff", path, *parts, mtime_size=None if stamp is None else (stamp[3], stamp[2]))
