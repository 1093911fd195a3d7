"""The ``ome-tiff`` reader: OME-TIFF files as scenes of ``TCZYX(S)`` data with coordinates.

tifffile parses the TIFF structure and maps OME ``TiffData`` to pages (including
multi-file datasets and SubIFD pyramids); :mod:`.omexml` reads the coordinates'
facts quickly; ome-types builds the full model only on demand (:attr:`ome_metadata`).
Pages are mapped by :mod:`.omeplan` (or tifffile's series, :mod:`.series`) and read
through :mod:`.source`.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from scitiff_readers.backend import (
    IfdChain,
    Image,
    LazyCoords,
    PhysicalPixelSizes,
    Reader,
    ReaderOptions,
    cacheable,
    file_stamp,
    is_remote,
    library_errors,
    resolve_inside,
    take_sniffed_chain,
)
from scitiff_readers.errors import CorruptFileError, MetadataError, UnsupportedFormatError

from .common import (
    TiffScenes,
    damage_reported,
    level_factor,
    looks_like_tiff,
    open_tiff,
    sniff_head,
)

# Imported here, not in the open: a function-level import costs microseconds at every open.
from .companion import COMPANION_SUFFIX, binary_only_target
from .lazypages import FastOpen, IfdLookup, LazyPageSource, SharedPages, cached_fast_open, fast_open_cache
from .omecoords import pixel_size, space_coordinate, time_coordinate
from .omeplan import plan_pages
from .omexml import OmeImageInfo, OmeXmlWarning, parse_ome_xml
from .source import tiff_token

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from scitiff_readers.backend import ChannelDisplay


__all__ = ["MissingOmeFileError", "OmeTiffReader"]


class MissingOmeFileError(CorruptFileError, FileNotFoundError):
    """A multi-file OME-TIFF refers to a file that is not present."""


@dataclass(frozen=True)
class OmeTiffOptions(ReaderOptions):
    """Options of :class:`OmeTiffReader` (see its docstring)."""

    series_levels: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect_flag("series_levels")


class OmeTiffReader(TiffScenes, Reader):
    """Read OME-TIFF files: every OME ``Image`` is a scene, pyramids are resolution levels.

    Scenes are named by ``Image@Name`` (by ``Image@ID`` when unnamed);
    :meth:`~scitiff_readers.Reader.set_scene` also accepts every ``Image@ID``
    (``"Image:0"``), as aicsimageio and bioio do. :attr:`metadata` is the
    ``ome_types.OME`` model (parsed on first access), :attr:`ome_xml` the raw XML.

    Coordinates: ``C`` holds the channel names (the channel's ``ID`` when unnamed, as bioio);
    ``Z``, ``Y`` and ``X`` are ``origin + index * PhysicalSize`` with the size's unit
    (the origin is the first plane's ``Position``, when given); ``T`` holds the
    per-plane ``DeltaT`` when every time point has one, else ``index *
    TimeIncrement``, with its unit. RGB images have a trailing ``S`` dim.
    """

    name: ClassVar[str] = "ome-tiff"
    suffixes: ClassVar[tuple[str, ...]] = (
        ".ome.tif",
        ".ome.tiff",
        ".ome.btf",
        ".companion.ome",
        ".tif",
        ".tiff",
        ".btf",
    )
    priority: ClassVar[int] = 50
    description: ClassVar[str] = "OME-TIFF (tifffile + ome-types): scenes, pyramids, multi-file, coordinates"
    #: ``series_levels``: present OME images that form a pyramid stored as separate
    #: images (consecutive, same T/C/Z and dtype, Y and X shrinking by one factor) as
    #: resolution levels of one scene (default ``True``); ``False`` keeps every OME
    #: ``Image`` a scene of its own.
    Options = OmeTiffOptions
    _opts: OmeTiffOptions

    @classmethod
    def can_open(cls, path: str | os.PathLike[str]) -> bool:
        """A TIFF whose first page's ImageDescription is OME-XML, or an OME companion file."""
        from .companion import is_companion_file

        return sniff_head(path, lambda head: head.is_ome, lambda tif: tif.is_ome) or is_companion_file(path)

    # ------------------------------------------------------------------ parsing
    def _open(self) -> None:
        self._lookups: tuple[Any, ...] = ()
        # Taken before reading, so a file changed while it is parsed is never cached as new.
        stamp = file_stamp(self._path)
        identity = cacheable(stamp)
        state = cached_fast_open(self._path, identity)
        if state is not None:
            _warn_notes(state.notes)
            self._companion: Path | None = None
            self._use_fast(state)
            return
        # The open without tifffile has no tifffile log to watch (damage_reported's
        # handler costs more than the rest of a small file's open): only its errors
        # typed, by the context entered when it fails (not around every open).
        try:
            if self._open_own_parse(stamp, identity):
                return
        except Exception:
            with library_errors(self._path, "parsing the TIFF structure"):
                raise
        with damage_reported(self._path):
            self._open_pages(stamp, identity)

    def _open_pages(self, stamp: Any, identity: Any) -> None:
        from .series import series_source
        from .source import tiff_token

        tif, infos, notes = self._open_with_metadata()
        kept = False
        try:
            problem = _tiffdata_problem(infos)
            # A companion file can change on its own, so nothing read with one is cached.
            cache_as = identity if self._companion is None else None
            if problem is None and self._open_fast(tif, infos, notes, stamp, cache_as):
                # The page look-up keeps the TiffFile (unless the file had no stamp).
                lookups: tuple[Any, ...] = self._lookups
                kept = any(lookup.keeps_tiff for lookup in lookups)
                return
            if problem is None and infos and is_remote(self._path):
                from .remotemulti import is_multifile

                if is_multifile(infos, os.path.basename(str(tif.filehandle.path))):
                    # tifffile opens a dataset's other files by local path only.
                    self._open_remote_multifile(tif, infos)
                    return
            if problem is None:
                try:
                    all_series = list(tif.series)
                except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                    problem = f"tifffile cannot map the OME-XML to pages ({type(exc).__name__}: {exc})"
            if problem is not None:
                # Best effort: the pages without their OME interpretation.
                tif.close()
                tif = open_tiff(self._path, is_ome=False)
                all_series = list(tif.series)
            ome_series = [s for s in all_series if s.kind == "ome"] if problem is None else []
            if not ome_series:
                warnings.warn(
                    f"{self._path}: {problem or 'tifffile could not map the OME-XML to pages'}; reading "
                    "the pages as tifffile shapes them, without OME coordinates",
                    OmeXmlWarning,
                    stacklevel=2,
                )
                ome_series = all_series
                infos = None
            matched = self._match(ome_series, infos)
            self._infos: list[OmeImageInfo | None] = [info for info, _ in matched]
            self._sources: list[list[Any]] = []
            self._errors: dict[int, Exception] = {}
            for i, (info, series) in enumerate(matched):
                missing = self._missing_files.get(info.id) if info is not None else None
                if missing:
                    self._errors[i] = self._missing_error(i, info, missing)
                    self._sources.append([])
                    continue
                if series is None:
                    self._errors[i] = MetadataError(
                        f"{self._path}: the OME image {info.id if info else i} has no pixel data in the file"
                    )
                    self._sources.append([])
                    continue
                levels = []
                try:
                    for k, level in enumerate(series.levels):
                        source, _ = series_source(level, self._path, tiff_token(self._path, "ome", i, k))
                        levels.append(source)
                except (MetadataError, CorruptFileError, UnsupportedFormatError) as exc:
                    self._errors[i] = exc
                self._sources.append(levels)
            self._finish_scenes([s.name if s is not None else None for _, s in matched])
        finally:
            if not kept:
                tif.close()

    def _missing_error(
        self, i: int, info: OmeImageInfo | None, missing: Sequence[str]
    ) -> MissingOmeFileError:
        from scitiff_readers.backend import FILE_OBJECT_LIMITS, is_file_object_location

        advice = (
            FILE_OBJECT_LIMITS
            if is_file_object_location(self._path)
            else ("copy the whole multi-file OME-TIFF dataset into one folder")
        )
        return MissingOmeFileError(
            f"{self._path}: scene {i} ({info.id if info else ''}) has planes in "
            f"{', '.join(map(repr, missing))}, which is not in {self._path.parent}; {advice}"
        )

    def _open_remote_multifile(self, tif: Any, infos: list[OmeImageInfo]) -> None:
        """A multi-file dataset behind a URL: every image mapped by :mod:`.remotemulti`."""
        from .remotemulti import DatasetFiles, image_sources
        from .source import tiff_token

        self._infos = list(infos)
        self._sources = []
        self._errors = {}
        files = DatasetFiles(self._path.parent, tif)
        try:
            for i, info in enumerate(infos):
                missing = self._missing_files.get(info.id)
                if missing:
                    self._errors[i] = self._missing_error(i, info, missing)
                    self._sources.append([])
                    continue
                try:
                    tokens = functools.partial(tiff_token, self._path, "ome", i)
                    self._sources.append(image_sources(info, files, tokens, self._path))
                except (MetadataError, CorruptFileError, UnsupportedFormatError) as exc:
                    self._errors[i] = exc
                    self._sources.append([])
        finally:
            files.close()
        self._finish_scenes([None] * len(infos))

    def _open_with_metadata(self) -> tuple[Any, list[OmeImageInfo] | None, list[str]]:
        """The open ``TiffFile`` (told the OME-XML to use), the parsed images and their warnings.

        Three cases: an OME-TIFF with its OME-XML inside; a ``BinaryOnly`` OME-TIFF
        whose OME-XML is in a companion file; the companion file itself, opened
        through the first of its TIFF files that is present.
        """
        from .companion import (
            COMPANION_SUFFIX,
            binary_only_target,
            first_present_file,
            read_companion,
            resolve_companion,
        )

        self._companion = None
        notes: list[str] = []
        if self._path.name.lower().endswith(COMPANION_SUFFIX) and not looks_like_tiff(self._path):
            self._companion = self._path
            self._xml: str = read_companion(self._path)
            infos = parse_ome_xml(self._xml, str(self._path), notes)
            _warn_notes(notes)
            if not infos:
                raise MetadataError(f"{self._path}: the OME companion file describes no readable images")
            self._check_referenced_files(infos)
            first = first_present_file(self._path.parent, infos)
            if first is None:
                names = sorted({n for info in infos for n in info.files})
                raise MissingOmeFileError(
                    f"{self._path}: none of the TIFF files of this OME companion file is in "
                    f"{self._path.parent} ({', '.join(map(repr, names)) or 'it names none'}); "
                    "copy the whole dataset into one folder"
                )
            tif = open_tiff(first, omexml=self._xml)
            try:
                self._check_frames(tif, infos)
            except BaseException:
                tif.close()
                raise
            return tif, infos, notes
        tif = open_tiff(self._path)
        xml = tif.ome_metadata if tif.is_ome else None
        if not xml:
            tif.close()
            raise UnsupportedFormatError(f"{self._path}: not an OME-TIFF (no OME-XML in the first page)")
        target = binary_only_target(xml)
        if target is not None:
            tif.close()
            companion = resolve_companion(self._path, target)
            if not companion.is_file():
                raise MissingOmeFileError(
                    f"{self._path}: this OME-TIFF keeps its metadata in the companion file {target!r}, "
                    f"which is not in {self._path.parent}; copy it beside the TIFF (or open the pages "
                    "without OME metadata with reader='tiff')"
                )
            self._companion = companion
            xml = read_companion(companion)
        # The file whose OME-XML this is: this TIFF, a companion file or a master TIFF.
        holder = self._companion or self._path
        own = holder.name if holder is self._path or looks_like_tiff(holder) else None
        infos = parse_ome_xml(xml, str(holder), notes, own_name=own)
        _warn_notes(notes)
        if self._companion is not None:
            # tifffile refuses OME-XML it cannot parse; an unreadable companion (warned
            # about above) leaves the pages readable as tifffile shapes them.
            if infos is None:
                tif = open_tiff(self._path)
            elif looks_like_tiff(self._companion):
                # A master TIFF: tifffile takes the XML's own UUID for the file it opened,
                # so it must open the master itself to put the master's planes right.
                tif = open_tiff(self._companion)
            else:
                tif = open_tiff(self._path, omexml=xml)
        self._xml = xml
        try:
            self._check_referenced_files(infos or [])
            self._check_frames(tif, infos or [])
        except BaseException:
            tif.close()
            raise
        return tif, infos, notes

    @property
    def companion_file(self) -> Path | None:
        """The OME companion file the metadata comes from (``None`` if it is in the TIFF)."""
        return self._companion

    def _open_fast(
        self, tif: Any, infos: list[OmeImageInfo] | None, notes: Sequence[str], stamp: Any, identity: Any
    ) -> bool:
        """Single-file OME-TIFF: index pages from the OME-XML, not by reading every IFD."""
        from .lazypages import PageLookup
        from .omeplan import plan_images

        if infos is None or any(info.files and info.files != [self._path.name] for info in infos):
            return False
        plans = plan_images(tif, infos, self._path)
        if plans is None:
            return False
        # Page look-ups re-use this TiffFile, still open, instead of parsing (or even
        # opening) the file again; closing the reader closes its handle.
        lookup = PageLookup(self._path, tif, stamp)
        state = FastOpen(
            xml=self._xml,
            infos=tuple(infos),
            notes=tuple(notes),
            plans=tuple(plans),
            tokens=_lazy_tokens(self._path, len(plans), stamp),
            pages=tuple(SharedPages.empty(plan, lookup) for plan in plans),
        )
        # Everything in the state comes from this one file (no sibling files: single-file
        # only), so it stays valid exactly as long as the file's identity does.
        fast_open_cache.put(self._path, identity, state, state.nbytes)
        self._use_fast(state)
        return True

    def _open_own_parse(self, stamp: Any, identity: Any) -> bool:
        """The single-file fast open from IFDs read by hand (:class:`~scitiff_readers.backend.IfdChain`): no ``TiffFile`` built.

        For the common OME-TIFF -- a local file, its OME-XML in the first page, every
        plane in this file, pages of the plain kinds the IFD parser reads -- this is all
        an open does: the first IFD, the OME-XML, the plan. Anything else returns
        ``False`` before any warning or state, and the open goes through tifffile.
        """
        path = self._path
        if is_remote(path) or path.name.lower().endswith(COMPANION_SUFFIX):
            return False
        # The chain the sniff of this Reader() call read the first IFD with, if the file is unchanged.
        chain = take_sniffed_chain(path, stamp)
        if chain is None:
            try:
                chain = IfdChain(path)
            except (ValueError, OSError):
                return False  # tifffile's open says what is wrong
        taken = False
        try:
            first = chain.page(0)
            if first is None or not first.is_ome or binary_only_target(first.description) is not None:
                return False
            # tifffile reads NDTiff files (which carry OME-XML) their own way.
            if os.path.exists(os.path.join(os.path.dirname(path), "NDTiff.index")):
                return False
            xml = first.description
            notes: list[str] = []
            infos = parse_ome_xml(xml, str(path), notes, own_name=path.name)
            if not infos or _tiffdata_problem(infos) is not None:
                return False
            if any(info.files and info.files != [path.name] for info in infos):
                return False
            plans = plan_pages(chain.page, infos, path)
            if plans is None:
                return False
            chain.forget()  # the description's bytes: parsed, no longer needed
            taken = True
        except (CorruptFileError, OSError, IndexError):
            return False  # a damaged chain: tifffile reads what it can and reports the damage
        finally:
            if not taken:
                chain.close()
        self._companion = None
        self._xml = xml
        # Later page look-ups continue this chain walk (unless the file changes), through
        # its handle, kept open until the reader is closed.
        lookup = IfdLookup(path, chain, stamp)
        try:
            self._check_referenced_files(infos, chain.size)
        except BaseException:
            lookup.release()
            raise
        _warn_notes(notes)
        state = FastOpen(
            xml=xml,
            infos=tuple(infos),
            notes=tuple(notes),
            plans=tuple(plans),
            tokens=_lazy_tokens(path, len(plans), stamp),
            pages=tuple(SharedPages.empty(plan, lookup) for plan in plans),
        )
        if identity is not None:
            fast_open_cache.put(path, identity, state, state.nbytes)
        self._use_fast(state)
        return True

    def _use_fast(self, state: Any) -> None:
        self._xml = state.xml
        self._infos = list(state.infos)
        self._missing_files: dict[str, list[str]] = {}
        self._errors = {}
        self._sources = [
            [LazyPageSource(self._path, plan, token, pages)]
            for plan, token, pages in zip(state.plans, state.tokens, state.pages, strict=True)
        ]
        # Page look-ups keep the file open between reads; close it with this reader
        # (by close(), or by __del__ if it is dropped unclosed).
        self._lookups = tuple({id(p.lookup): p.lookup for p in state.pages}.values())
        self._finish_scenes([None] * len(state.plans))

    def _finish_scenes(self, series_names: Sequence[str | None]) -> None:
        """Merge pyramids stored as separate OME images into scenes, then name the scenes.

        Before: one entry of ``_infos`` / ``_sources`` / ``_errors`` per OME image.
        After: one per scene; ``_level_ids`` keeps the OME image id of every level.
        """
        self._image_infos: list[OmeImageInfo | None] = list(self._infos)
        self._level_ids: list[list[str | None]]
        if len(self._infos) == 1:  # the common case: nothing to group
            self._level_ids = [[self._infos[0].id if self._infos[0] is not None else None]]
            self._names = self._scene_labels(series_names)
            return
        from .levels import LevelCandidate, series_level_groups

        if self._opts.series_levels:
            pixels = [
                LevelCandidate(tuple(levels[0].shape), levels[0].dtype, has_levels=len(levels) > 1)
                if levels and i not in self._errors
                else None
                for i, levels in enumerate(self._sources)
            ]
            groups = series_level_groups(self._infos, pixels)
        else:
            groups = [[i] for i in range(len(self._infos))]
        self._level_ids = [
            [info.id if (info := self._infos[k]) is not None else None for k in g] for g in groups
        ]
        if any(len(g) > 1 for g in groups):
            errors = self._errors
            self._infos = [self._infos[g[0]] for g in groups]
            self._sources = [[s for k in g for s in self._sources[k]] for g in groups]
            self._errors = {n: errors[g[0]] for n, g in enumerate(groups) if g[0] in errors}
            series_names = [series_names[g[0]] for g in groups]
        self._names = self._scene_labels(series_names)

    def _check_referenced_files(self, infos: Sequence[OmeImageInfo], own_size: int | None = None) -> None:
        """Refuse paths escaping the folder and plane counts no file could hold; note missing files.

        ``own_size``: this file's size when the caller knows it (no ``stat`` then).
        """
        self._missing_files = {}
        own = self._path.name
        backing = own_size if own_size is not None else self._path.stat().st_size
        for info in infos:
            for name in info.files:
                if name == own:
                    continue
                real = resolve_inside(self._path.parent, name, what="OME TiffData UUID FileName")
                if not real.is_file():
                    self._missing_files.setdefault(info.id, []).append(name)
                    continue
                if not looks_like_tiff(real):
                    # tifffile would log and read its planes as zeros.
                    raise CorruptFileError(
                        f"{self._path}: {name!r}, a file of this multi-file OME-TIFF, is not a TIFF "
                        f"({real.stat().st_size} bytes): it is truncated or damaged"
                    )
                backing += real.stat().st_size
        # Every plane present costs at least a byte of some file: a grid of more planes
        # than the dataset has bytes is a hostile SizeZ x SizeC x SizeT, refused before
        # tifffile or the plane plan allocate (and loop over) it.
        self._backing = backing  # bytes of the dataset's files, for _check_frames
        planes = sum(math.prod(info.size[d] for d in "ZCT") for info in infos)
        if planes > max(backing, 1 << 16):
            raise MetadataError(
                f"{self._path}: the OME-XML declares {planes} planes (SizeZ x SizeC x SizeT) but the dataset's "
                f"files hold only {backing} bytes; the metadata is corrupt"
            )

    def _check_frames(self, tif: Any, infos: Sequence[OmeImageInfo]) -> None:
        """Refuse sizes that make tifffile count more pages than the dataset has bytes.

        tifffile sizes an OME series' page list as the declared pixels over the first
        page's: a hostile ``SizeX`` (2**31 - 1 over a 24 x 16 page) makes it build a list
        of hundreds of millions of entries before it notices the shapes disagree. Every
        page costs at least a byte, so a count above the dataset's bytes is corrupt.
        """
        try:
            page_pixels = max(1, math.prod(tif.pages.first.shape))
        except Exception:  # noqa: BLE001 - no readable first page: open_tiff and the series report it
            return
        backing = self._backing
        frames = sum(math.prod(info.size.get(d, 1) for d in "XYZCT") // page_pixels for info in infos)
        if frames > max(backing, 1 << 16) and frames > sum(
            math.prod(info.size.get(d, 1) for d in "ZCT") for info in infos
        ):
            raise MetadataError(
                f"{self._path}: the OME-XML declares images (SizeX x SizeY x SizeZ x SizeC x SizeT) of "
                f"{frames} pages of the size stored ({page_pixels} pixels), more than the dataset has bytes "
                f"({backing}); the metadata is corrupt"
            )

    def _match(
        self, series: Sequence[Any], infos: list[OmeImageInfo] | None
    ) -> list[tuple[OmeImageInfo | None, Any]]:
        """Pair OME images with tifffile series; every OME image is a scene.

        tifffile makes a series for each image that has pixel data, in order; images
        without TiffData, or whose files are all missing, have none (their scene then
        raises a clear error when its pixels are needed).
        """
        if infos is None:
            return [(None, s) for s in series]
        expected = []
        for info in infos:
            missing = self._missing_files.get(info.id, [])
            others = [f for f in info.files if f != self._path.name]
            has_data = bool(info.tiff_data) and not (
                others and set(others) <= set(missing) and self._path.name not in info.files
            )
            expected.append(has_data)
        if sum(expected) == len(series):
            it = iter(series)
            return [(info, next(it) if has else None) for info, has in zip(infos, expected, strict=True)]
        if len(infos) == len(series):
            return list(zip(infos, series, strict=True))
        pool = list(series)
        out: list[tuple[OmeImageInfo | None, Any]] = []
        for info in infos:
            match = next((s for s in pool if (s.name or "") == (info.name or "")), None)
            if match is not None:
                pool.remove(match)
            out.append((info, match))
        return out

    def _scene_labels(self, series_names: Sequence[str | None]) -> list[str]:
        names = []
        for i, series_name in enumerate(series_names):
            info = self._infos[i]
            names.append(
                (info.name if info and info.name else None)
                or (info.id if info else series_name)
                or f"Image:{i}"
            )
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            names = [
                f"{n} [{getattr(self._infos[i], 'id', i)}]" if n in dupes else n for i, n in enumerate(names)
            ]
        return names

    # ------------------------------------------------------------------- scenes
    @property
    def scene_ids(self) -> tuple[str, ...]:
        """The OME ``Image`` IDs of the scenes (stable identifiers, e.g. ``"Image:0"``)."""
        return tuple(info.id if info else f"Image:{i}" for i, info in enumerate(self._infos))

    def _scene_ids(self) -> Sequence[str]:
        return self.scene_ids

    def _image(self, scene: int, level: int) -> Image:
        source, base = self._level_sources(scene, level)
        info = self._infos[scene]
        sizes: dict[str, float | None] = {"Z": None, "Y": None, "X": None}
        units: dict[str, str | None] = {"Z": None, "Y": None, "X": None}
        names = None
        factors = {"Z": 1.0, "Y": 1.0, "X": 1.0}
        if info is not None:
            for d in "ZYX":
                axis = "TCZYX".index(d)
                factors[d] = level_factor(base.shape[axis], source.shape[axis])
                sizes[d], units[d] = pixel_size(info, d, factors[d])
            if info.channel_names and len(info.channel_names) == source.shape[1]:
                # Unnamed channels are called by their OME ID, as bioio does (C<i> without one).
                ids = info.channel_ids + [None] * (len(info.channel_names) - len(info.channel_ids))
                names = [
                    n or cid or f"C{i}"
                    for i, (n, cid) in enumerate(zip(info.channel_names, ids, strict=True))
                ]
        pps = PhysicalPixelSizes(sizes["Z"], sizes["Y"], sizes["X"], (units["Z"], units["Y"], units["X"]))
        level_id = self._level_ids[scene][level] if level < len(self._level_ids[scene]) else None
        attrs = {"ome_image_id": level_id or info.id} if info is not None else {}
        shape = source.shape
        # Reading pixels needs no coordinates: they are derived when first asked for.
        coords = LazyCoords(functools.partial(_coordinates, info, shape, factors)) if info is not None else {}
        return Image(
            source=source,
            coords=coords,
            channel_names=names,
            physical_pixel_sizes=pps,
            attrs=attrs,
            name=self._names[scene],
        )

    def _pixels(self, scene: int, level: int) -> Any:
        # The source _image puts in its Image: a plane read needs no sizes, names or units.
        return self._level_sources(scene, level)[0]

    def _close(self) -> None:
        _release_lookups(self._lookups)

    def __del__(self) -> None:
        # A reader dropped without close(): its page look-ups' file handles close with it
        # (a method, not a weakref.finalize per reader: nothing to set up at every open).
        try:  # noqa: SIM105 - cheaper than contextlib.suppress, at every dropped reader
            _release_lookups(self.__dict__.get("_lookups", ()))
        except OSError:  # never raise from a finaliser
            pass

    # ---------------------------------------------------------------- metadata
    @property
    def metadata(self) -> Any:
        """The OME-XML as an ``ome_types.OME`` model, as aicsimageio and bioio give (see :attr:`ome_metadata`).

        The raw XML string is :attr:`ome_xml`.
        """
        return self.ome_metadata

    @property
    def ome_xml(self) -> str:
        """The raw OME-XML string of the file (or of its companion file)."""
        return self._xml

    @property
    def ome_metadata(self) -> Any:
        """The OME-XML as an :class:`ome_types.OME` model (built on first use).

        Invalid or non-conforming XML gives an :class:`OmeXmlWarning` and a model
        with the images, sizes and channels that could be read. No schema is fetched.
        """
        cached = self.__dict__.get("_ome")
        if cached is None:
            cached = self.__dict__["_ome"] = _ome_model(self._xml, self._image_infos, self._path)
        return cached

    def channel_display(self) -> list[ChannelDisplay] | None:
        """Channel ``Color`` (when the XML gives one) and ``EmissionWavelength`` in nm of the current scene."""
        from scitiff_readers.backend import ChannelDisplay

        info = self._infos[self.current_scene_index]
        images = self.ome_metadata.images if info is not None else []
        image = next((im for im in images if im.id == info.id), None) if info is not None else None
        if image is None or len(image.pixels.channels) != self.dims.C:
            return None
        out = []
        for channel in image.pixels.channels:
            color = None
            if "color" in channel.model_fields_set and channel.color is not None:
                r, g, b = channel.color.as_rgb_tuple(alpha=False)
                color = (r / 255, g / 255, b / 255)
            wave = channel.emission_wavelength
            unit = getattr(channel.emission_wavelength_unit, "value", None)
            out.append(
                ChannelDisplay(
                    color=color, wavelength_nm=float(wave) if wave is not None and unit == "nm" else None
                )
            )
        return out

    @classmethod
    def demo_sample(cls, folder: Path) -> Path:
        """A small calibrated 5-D OME-TIFF written by tifffile."""
        import tifffile

        path = folder / "sample.ome.tif"
        data = (np.arange(2 * 2 * 3 * 32 * 40) % 4093).astype(np.uint16).reshape(2, 2, 3, 32, 40)
        tifffile.imwrite(
            path,
            data,
            ome=True,
            metadata={
                "axes": "TCZYX",
                "PhysicalSizeX": 0.65,
                "PhysicalSizeXUnit": "µm",
                "PhysicalSizeY": 0.65,
                "PhysicalSizeYUnit": "µm",
                "PhysicalSizeZ": 2.0,
                "PhysicalSizeZUnit": "µm",
                "TimeIncrement": 1.5,
                "TimeIncrementUnit": "s",
                "Channel": {"Name": ["DAPI", "GFP"]},
            },
        )
        return path


def _coordinates(info: OmeImageInfo, shape: Sequence[int], factors: dict[str, float]) -> dict[str, Any]:
    """The ``Z``, ``Y``, ``X`` and ``T`` coordinate specs of an image of ``shape`` (TCZYX)."""
    coords: dict[str, Any] = {}
    for d in "ZYX":
        var, _, _ = space_coordinate(info, d, shape["TCZYX".index(d)], factors[d])
        if var is not None:
            coords[d] = var
    t = time_coordinate(info, shape[0])
    if t is not None:
        coords["T"] = t
    return coords


def _lazy_tokens(path: Path, count: int, stamp: Any) -> tuple[Callable[[], str], ...]:
    """The graph names of ``count`` OME images of ``path``, each made when a dask graph first needs it.

    A plane read needs none; the file's ``stamp`` (taken before it was parsed) makes
    the name the same whenever it is made, in this process or after pickling.
    """
    return tuple(functools.partial(tiff_token, path, "ome", i, 0, stamp=stamp) for i in range(count))


def _tiffdata_problem(infos: Sequence[OmeImageInfo] | None) -> str | None:
    """What is wrong with the ``TiffData`` attributes (numbers that are not counts), if anything.

    tifffile would fail on a non-number, and read a negative IFD as a page counted from
    the end: both leave the pages to be read without the OME mapping.
    """
    for info in infos or ():
        for block in info.tiff_data:
            for key in ("IFD", "PlaneCount", "NumPlanes", "FirstT", "FirstC", "FirstZ"):
                value = block.get(key)
                if value is None:
                    continue
                try:
                    number = int(value)
                except ValueError:
                    number = -1
                if number < 0:
                    return f"the OME-XML's TiffData of {info.id} has {key}={value!r}, not a count"
    return None


def _release_lookups(lookups: Sequence[Any]) -> None:
    for lookup in lookups:
        lookup.release()


def _warn_notes(notes: Sequence[str]) -> None:
    for note in notes:
        warnings.warn(note, OmeXmlWarning, stacklevel=4)


def _ome_model(xml: str, infos: Sequence[OmeImageInfo | None], path: Path) -> Any:
    """``ome_types.from_xml`` without validation; a minimal model if the XML is not conforming."""
    import ome_types

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ome_types.from_xml(xml, validate=False)
    except Exception as exc:  # noqa: BLE001 - any parser failure means best effort
        warnings.warn(
            f"{path}: ome-types cannot read the OME-XML ({type(exc).__name__}: {exc}); "
            "ome_metadata holds only the images, sizes and channels read leniently",
            OmeXmlWarning,
            stacklevel=3,
        )
    from ome_types import model

    images = []
    for i, info in enumerate(infos):
        if info is None:
            continue
        try:
            pixel_type = model.PixelType(info.pixel_type) if info.pixel_type else model.PixelType.UINT8
        except ValueError:
            pixel_type = model.PixelType.UINT8
        channels = [model.Channel(id=f"Channel:{i}:{k}", name=n) for k, n in enumerate(info.channel_names)]
        pixels = model.Pixels(
            id=f"Pixels:{i}",
            dimension_order=model.Pixels_DimensionOrder(info.dimension_order),
            size_x=info.size.get("X", 1),
            size_y=info.size.get("Y", 1),
            size_z=info.size.get("Z", 1),
            size_c=info.size.get("C", 1),
            size_t=info.size.get("T", 1),
            type=pixel_type,
            channels=channels,
            metadata_only=model.MetadataOnly(),
        )
        image_id = info.id if info.id.startswith("Image:") else f"Image:{i}"
        images.append(model.Image(id=image_id, name=info.name, pixels=pixels))
    return ome_types.OME(images=images)
