"""Page offsets of single-file OME-TIFF looked up on first read, and the per-process open cache.

The sources of :mod:`.omeplan`'s plans know which IFD holds each plane but not yet
where its strips or tiles are: a :class:`PageLookup` finds them through tifffile when
pixels are first read (one page for a one-plane read, all pages in one pass for
anything larger), re-using the ``TiffFile`` parsed at open, kept open until the reader
is closed. What the open derived from the file (:class:`FastOpen`: OME-XML, plans,
page offsets found so far) is kept per process in a
:class:`~scitiff_readers.backend.FileCache`, so opening the unchanged file again
skips the parse; any change to the file invalidates it.
"""

from __future__ import annotations

import functools
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import MISSING, FileCache, IfdChain, file_stamp, open_tifffile
from scitiff_readers.errors import CorruptFileError

from .source import TiffPageSource

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from .omeplan import ImagePlan
    from .omexml import OmeImageInfo

__all__ = [
    "FastOpen",
    "IfdLookup",
    "LazyPageSource",
    "PageLookup",
    "SharedPages",
    "cached_fast_open",
    "fast_open_cache",
]

#: ``_raw_start`` of a page whose offsets this source has not judged yet.
_UNJUDGED = -2


class PageLookup:
    """Looks up pages of one TIFF file through one ``TiffFile``, kept between look-ups.

    The ``TiffFile`` parsed when the reader opened the file is handed over, still
    open, so no pixel read parses (or even opens) the file again, and later look-ups
    find the IFD offsets tifffile already walked. Its handle stays open between
    look-ups (reading plane after plane of a big file looks up one page per plane)
    until :meth:`release`, which every reader using this look-up calls when it is
    closed or garbage collected; the next look-up re-opens it. Without a ``TiffFile``
    (after unpickling), one is opened on first use.

    Parameters
    ----------
    path
        The TIFF file.
    tif
        An already parsed ``tifffile.TiffFile`` of ``path`` (open or closed), or ``None``.
    stamp
        The file's :func:`~scitiff_readers.backend.file_stamp` taken before ``tif``
        was parsed; ``tif`` is not used once the file's stamp differs.
    """

    def __init__(self, path: Path, tif: Any = None, stamp: Any = None) -> None:
        self.path = path
        self._tif: Any = None
        self._stamp: Any = None
        #: Held while page offsets of this file are looked up and stored.
        self.lock = threading.Lock()
        # The kept TiffFile is used only while the file still has the stamp
        # (:func:`scitiff_readers.backend.file_stamp`) taken before it was parsed.
        if tif is not None and stamp is not None:
            self._keep(tif, stamp)

    def _keep(self, tif: Any, stamp: Any) -> None:
        self._tif, self._stamp = tif, stamp
        # Whoever drops the last reference without release(): close the file then.
        weakref.finalize(self, tif.close)

    @property
    def keeps_tiff(self) -> bool:
        """Whether a parsed ``TiffFile`` is kept for the next look-up."""
        return self._tif is not None

    def release(self) -> None:
        """Close the kept ``TiffFile``'s handle if it is open (the next look-up re-opens it)."""
        with self.lock:
            if self._tif is not None:
                self._tif.filehandle.close()

    @contextmanager
    def segment_reader(self, keyframe: int, expected: int) -> Iterator[Callable[[int], tuple[Any, Any]]]:
        """A function giving the strip / tile offsets and byte counts of an IFD (by number).

        Pages of the image have ``expected`` strips or tiles (the caller checks). Call
        with :attr:`lock` held. The function raises ``IndexError`` for an IFD the
        file does not have; tifffile's errors on a damaged file become
        :class:`~scitiff_readers.errors.CorruptFileError`.
        """
        import tifffile

        try:
            with self.pages(keyframe) as pages:

                def segments(ifd: int) -> tuple[Any, Any]:
                    page = pages[ifd]
                    return page.dataoffsets, page.databytecounts

                yield segments
        except (tifffile.TiffFileError, RuntimeError, ValueError) as exc:
            raise CorruptFileError(f"{self.path}: cannot read the page index: {exc}") from exc

    @contextmanager
    def pages(self, keyframe: int) -> Iterator[Any]:
        """``tifffile.TiffPages`` of the file, reading frames against page ``keyframe``.

        Call with :attr:`lock` held. The file's handle stays open afterwards, until
        :meth:`release`.
        """
        tif = self._tif
        if tif is not None and file_stamp(self.path) != self._stamp:
            # The file changed since it was parsed (rewritten, truncated): parse it again.
            tif.close()
            tif = self._tif = None
        if tif is None:
            stamp = file_stamp(self.path)
            tif = open_tifffile(self.path)
            self._keep(tif, stamp)
        else:
            tif.filehandle.open()
        pages = tif.pages
        pages.useframes = True  # frames: only the offsets, not every tag
        # Frames are read against a keyframe of the same structure: the image's first page.
        pages.set_keyframe(keyframe)
        yield pages


class IfdLookup:
    """Looks up pages of one TIFF file by reading their IFDs by hand (:class:`~scitiff_readers.backend.IfdChain`): no tifffile.

    The lookup of the open that built no ``TiffFile``; the same interface as
    :class:`PageLookup`. The IFD offsets walked so far are kept (until the file
    changes), and the handle stays open until :meth:`release`.
    """

    keeps_tiff = False

    def __init__(self, path: Path, chain: IfdChain | None = None, stamp: Any = None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._chain = chain if stamp is not None else None
        self._stamp = stamp
        if chain is not None and self._chain is None:
            chain.close()  # no stamp: the walk cannot be trusted later

    def __del__(self) -> None:
        # Whoever drops the last reference without release(): close the file then
        # (a method, not a weakref.finalize per look-up: nothing to set up at every open).
        chain = self.__dict__.get("_chain")
        if chain is not None:
            try:  # noqa: SIM105 - cheaper than contextlib.suppress, at every dropped look-up
                chain.close()
            except OSError:  # never raise from a finaliser
                pass

    def release(self) -> None:
        """Close the file handle if it is open (the next look-up re-opens it)."""
        with self.lock:
            if self._chain is not None:
                self._chain.close()

    @contextmanager
    def segment_reader(self, keyframe: int, expected: int) -> Iterator[Callable[[int], tuple[Any, Any]]]:
        """As :meth:`PageLookup.segment_reader` (``keyframe`` is not needed here).

        An IFD listing other than ``expected`` strips or tiles raises
        :class:`~scitiff_readers.errors.CorruptFileError` before its values are read.
        """
        chain = self._current_chain()

        def segments(ifd: int) -> tuple[Any, Any]:
            return chain.segments(ifd, expected)

        yield segments

    def segments(self, ifd: int, expected: int) -> tuple[Any, Any]:
        """One IFD's ``segment_reader(...)(ifd)``, without the context (a one-plane read)."""
        return self._current_chain().segments(ifd, expected)

    def _current_chain(self) -> IfdChain:
        """The chain walked so far, or a new one if the file changed since. Call with :attr:`lock` held."""
        chain = self._chain
        stamp = file_stamp(self.path)
        if chain is not None and stamp != self._stamp:
            # The file changed since its chain was walked (rewritten, truncated): walk it again.
            chain.close()
            chain = None
        if chain is None:
            try:
                chain = IfdChain(self.path)
            except ValueError as exc:
                raise CorruptFileError(f"{self.path}: cannot read the page index: {exc}") from exc
            self._chain, self._stamp = chain, stamp
        return chain


@dataclass(frozen=True)
class SharedPages:
    """Page offsets of one OME image, shared by every source of that image (filled lazily)."""

    seg_offsets: np.ndarray
    seg_counts: np.ndarray
    resolved: np.ndarray
    lookup: PageLookup | IfdLookup

    @classmethod
    def empty(cls, plan: ImagePlan, lookup: PageLookup | IfdLookup) -> SharedPages:
        """Nothing looked up yet."""
        n = plan.planes
        nseg = max(1, plan.segments)
        return cls(
            np.zeros(n * nseg, dtype=np.int64),
            np.zeros(n * nseg, dtype=np.int64),
            np.zeros(n, dtype=bool),
            lookup,
        )


@dataclass(frozen=True)
class FastOpen:
    """What opening a single-file OME-TIFF derived from the file (never anything outside it).

    ``notes`` are the OME-XML problems, warned again at each open.
    """

    xml: str
    infos: tuple[OmeImageInfo, ...]
    notes: tuple[str, ...]
    plans: tuple[ImagePlan, ...]
    #: Each image's graph name, made on first use (see :attr:`LazyPageSource.token`).
    tokens: tuple[Callable[[], str], ...]
    pages: tuple[SharedPages, ...]

    @property
    def nbytes(self) -> int:
        """Rough size, for the cache's budget."""
        # Offsets arrays, plus the IFD offsets the kept TiffFile remembers (a Python int each).
        per_image = sum(p.seg_offsets.nbytes * 2 + p.resolved.size * 41 for p in self.pages)
        return len(self.xml) + per_image + 4096


#: Parsed single-file OME-TIFFs of this process, re-used while the file is unchanged.
fast_open_cache = FileCache("OME-TIFF fast open", max_entries=32)


def cached_fast_open(path: Path, identity: Any) -> FastOpen | None:
    """The :class:`FastOpen` of ``path`` if it was opened before and has not changed since."""
    if identity is None:
        return None
    state = fast_open_cache.get(path, identity)
    return None if state is MISSING else state


class LazyPageSource(TiffPageSource):
    """A :class:`TiffPageSource` whose page offsets are looked up on first read.

    Parameters
    ----------
    path
        The OME-TIFF file.
    plan
        Which IFD holds each plane, and the pages' shared layout.
    token
        Stable graph name, or a function making it when first asked for (a plane
        read needs none).
    shared
        Page offsets shared with the other sources of this image of the unchanged file
        (from the open cache); by default, this source's own.
    """

    def __init__(
        self, path: Path, plan: ImagePlan, token: str | Callable[[], str], shared: SharedPages | None = None
    ) -> None:
        grid_ifd = plan.ifd_grid
        n = plan.planes
        if n == grid_ifd.size:  # every plane present (most files): plane i is the i-th
            grid = np.arange(n, dtype=np.int64)
            plane_ifd = grid_ifd.ravel().copy()
        else:
            present = grid_ifd.ravel() >= 0
            grid = np.full(grid_ifd.size, -1, dtype=np.int64)
            grid[present] = np.arange(n, dtype=np.int64)
            plane_ifd = grid_ifd.ravel()[present].copy()
        nseg = max(1, plan.segments)
        if shared is None:
            shared = SharedPages.empty(plan, PageLookup(path))
        # Set before the base class decides its fast paths (see _find_fast_paths).
        self.resolved = shared.resolved
        self._lookup = shared.lookup
        # Unpickled, the source looks pages up the same way (a class pickles by name).
        self._lookup_class: type[PageLookup | IfdLookup] = type(shared.lookup)
        # The offsets arrays are the shared ones (not copies): a page looked up through
        # any reader of this unchanged file is known to all of them.
        super().__init__(
            [path],
            [plan.layout],
            grid.reshape(grid_ifd.shape),
            np.zeros(n, dtype=np.int32),
            np.arange(n, dtype=np.int64) * nseg,
            np.full(n, nseg, dtype=np.int32),
            shared.seg_offsets,
            shared.seg_counts,
            plan.shape,
            token if isinstance(token, str) else "",
        )
        if not isinstance(token, str):
            self.__dict__["_token"] = None
            self._make_token = token
        self.plane_ifd = plane_ifd

    @property
    def token(self) -> str:
        """The stable graph name (made on first use when the open gave a function for it)."""
        tok = self.__dict__.get("_token")
        if tok is None:
            tok = self.__dict__["_token"] = self._make_token()
        return str(tok)

    def _init_runtime(self) -> None:
        super()._init_runtime()
        if "_lookup" not in self.__dict__:  # unpickled: a look-up of our own
            self._lookup = self._lookup_class(self.files[0].path)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_lookup", None)
        return state

    _FAST_PATH_ATTRIBUTES = frozenset({"_raw_start", "_strided", "_strided_known"})

    def _find_fast_paths(self) -> None:
        # Offsets not looked up yet (zeros) say nothing: only the pages already looked up
        # (by any reader of this unchanged file) are judged now; the others are judged as
        # this source looks them up (_resolve) or first reads them (_plane_into).
        self._raw_start = np.full(len(self.plane_first), _UNJUDGED, dtype=np.int64)
        known = np.flatnonzero(self.resolved)
        if known.size:  # a never-opened file has none: nothing to judge yet
            self._note_planes(known)
        self._strided_known = bool(self.resolved.all())
        self._strided = self._strided_layout(self._raw_start) if self._strided_known else None

    # ---------------------------------------------------------------- resolving
    def _planes_in(self, region: Any) -> np.ndarray:
        planes: np.ndarray = self.grid[region[0], region[1], region[2]].ravel()
        present: np.ndarray = planes[planes >= 0]
        return present

    def _ensure(self, planes: np.ndarray) -> None:
        if planes.size and not self.resolved[planes].all():
            with self._lookup.lock:
                # One plane: look up just that page. More: look up every page in one
                # pass (tifffile walks the IFD chain once), so later reads find them.
                todo = planes if planes.size == 1 else np.arange(len(self.resolved))
                todo = todo[~self.resolved[todo]]
                if todo.size:
                    self._resolve(todo)
                    if "_raw_start" in self.__dict__:  # else judged with the others on first use
                        self._note_planes(todo)
        if planes.size > 1 and not self._strided_known and self.resolved.all():
            # Every page is known: decide the whole-source strided path once.
            self._note_planes(np.flatnonzero(self._raw_start == _UNJUDGED))
            self._strided = self._strided_layout(self._raw_start)
            self._strided_known = True

    def _plane_into(self, out: np.ndarray, plane: int, ys: slice, xs: slice, ss: slice | None) -> None:
        starts = self.__dict__.get("_raw_start")
        if starts is None:
            # The first read is of single planes: judge them one by one as they come
            # (the whole-source strided path is decided on the first larger read).
            starts = self._raw_start = np.full(len(self.plane_first), _UNJUDGED, dtype=np.int64)
        if starts[plane] == _UNJUDGED:  # not judged yet (or looked up by another reader of the file)
            self._note_planes(np.array([plane]))
        super()._plane_into(out, plane, ys, xs, ss)

    def _resolve(self, planes: np.ndarray) -> None:
        nseg = int(self.plane_count[0]) if len(self.plane_count) else 1
        with self._lookup.segment_reader(int(self.plane_ifd.min()), nseg) as segments_of:
            # In IFD order: one walk of the chain.
            ordered = (
                planes if planes.size == 1 else planes[np.argsort(self.plane_ifd[planes], kind="stable")]
            )
            for p in ordered:
                self._store(int(p), segments_of, nseg)

    def _resolve_one(self, plane: int) -> None:
        """:meth:`_resolve` of one plane (a plane read): its page alone, no sorting."""
        nseg = int(self.plane_count[plane])
        lookup = self._lookup
        if isinstance(lookup, IfdLookup):  # no keyframe, no context: the IFD alone
            self._store(plane, functools.partial(lookup.segments, expected=nseg), nseg)
        else:
            self._resolve(np.array([plane]))

    def _store(self, plane: int, segments_of: Callable[[int], tuple[Any, Any]], nseg: int) -> None:
        """Look up the strips / tiles of ``plane``'s page and mark it resolved."""
        ifd = int(self.plane_ifd[plane])
        try:
            offsets, counts = segments_of(ifd)
        except IndexError as exc:
            raise CorruptFileError(
                f"{self.files[0].path}: the OME-XML puts a plane in IFD {ifd}, which the file does not have "
                "(the file is truncated or its OME-XML is wrong)"
            ) from exc
        if len(offsets) != nseg or len(counts) != nseg:
            raise CorruptFileError(
                f"{self.files[0].path}: IFD {ifd} has {len(offsets)} strips/tiles, the image's first page "
                f"{nseg}; pages of one OME image must share their structure"
            )
        first = int(self.plane_first[plane])
        self.seg_offsets[first : first + nseg] = offsets
        self.seg_counts[first : first + nseg] = counts
        # Set last: other threads and readers trust a plane's offsets once it is resolved.
        self.resolved[plane] = True

    # ------------------------------------------------------------------ reading
    def read(self, region: Any) -> np.ndarray:
        """Like :meth:`TiffPageSource.read`, looking up page offsets first if needed."""
        self._ensure(self._planes_in(region))
        return super().read(region)

    def read_into(self, out: np.ndarray, region: Any) -> None:
        """Like :meth:`TiffPageSource.read_into`, looking up page offsets first if needed."""
        rt, rc, rz = region[0], region[1], region[2]
        if rt.stop - rt.start == 1 and rc.stop - rc.start == 1 and rz.stop - rz.start == 1:
            # One plane (get_image_data of a plane): look up, judge and read that page alone.
            plane = int(self.grid[rt.start, rc.start, rz.start])
            if plane >= 0:
                if not self.resolved[plane]:
                    with self._lookup.lock:
                        if not self.resolved[plane]:
                            self._resolve_one(plane)
                self._plane_into(
                    out[0, 0, 0], plane, region[3], region[4], region[5] if len(region) > 5 else None
                )
                return
        self._ensure(self._planes_in(region))
        super().read_into(out, region)

    def read_plane(self, t: int, c: int, z: int, ys: slice, xs: slice) -> np.ndarray | None:
        """Like :meth:`TiffPageSource.read_plane`, looking up the page's offsets first if needed."""
        self._ensure(self._planes_in((slice(t, t + 1), slice(c, c + 1), slice(z, z + 1))))
        return super().read_plane(t, c, z, ys, xs)

    @property
    def is_strided(self) -> bool:
        """Whether the pixels form one strided array (known once every page was looked up)."""
        self._ensure(np.arange(len(self.resolved)))
        return self._strided is not None
