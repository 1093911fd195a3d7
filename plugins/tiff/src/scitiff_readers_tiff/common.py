"""Small helpers shared by the TIFF readers: content sniffing, levels, units."""

from __future__ import annotations

import logging
import threading
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from scitiff_readers.backend import (
    FirstIfd,
    guard_ifd_chain,
    location_size,
    normalize_unit,
    open_tifffile,
    read_head,
    tiff_head,
    tifffile_errors,
    to_micrometre_factor,
)
from scitiff_readers.errors import (
    CorruptFileError,
    CorruptFileWarning,
    SceneIndexError,
    ScitiffReadersWarning,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

__all__ = [
    "TIFF_MAGICS",
    "TiffTagWarning",
    "damage_reported",
    "guard_ifd_chain",
    "has_pages",
    "level_factor",
    "looks_like_tiff",
    "open_tiff",
    "sniff_head",
    "sniff_tiff",
    "time_factor",
    "unit_factor",
]

#: Classic TIFF and BigTIFF headers, both byte orders.
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def looks_like_tiff(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular, non-empty file starting with a TIFF header."""
    head = read_head(path, 8)
    return len(head) == 8 and head[:4] in TIFF_MAGICS


def open_tiff(path: Path, omexml: str | None = None, **flags: Any) -> Any:
    """``tifffile.TiffFile(path)`` through :func:`scitiff_readers.backend.open_tifffile`, with pages.

    ``omexml`` replaces the file's own OME-XML (companion files), as tifffile allows;
    ``flags`` override tifffile's format flags (``is_ome=False``: pages without OME).
    Errors are typed (:class:`CorruptFileError` naming the file) and the IFD chain is guarded.
    """
    tif = open_tifffile(path, omexml=omexml, **flags)
    try:
        with tifffile_errors(path, what="reading the format flags"):
            remake = tif.is_mmstack and flags.get("is_ome", True) is not False and tif.is_ome
    except BaseException:
        tif.close()
        raise
    if remake:
        # Micro-Manager files carry OME-XML: their OME images (one per position)
        # are the truth, not tifffile's MMStack series that stacks positions as an axis.
        tif.close()
        tif = open_tifffile(path, omexml=omexml, is_mmstack=False, **flags)
    if not has_pages(tif):
        tif.close()
        raise CorruptFileError(f"{path}: the TIFF file has no image pages")
    return tif


class TiffTagWarning(ScitiffReadersWarning):
    """tifffile could not decode the value of a metadata tag; pixels and shape are unaffected.

    Vendor tags with values their own specification forbids (a MetaMorph date of day 0, a
    ``GDAL_NODATA`` that is not a number) are not damage: nothing is missing, and
    the pixels read are tifffile's. Damage says :class:`~scitiff_readers.errors.CorruptFileWarning`.
    """


#: What tifffile logs when it cannot decode one metadata tag's value (its messages name
#: the decoder). Pages and pixels are read as without the tag: not damage to the file.
_TAG_VALUE_REPORTS = (
    "<tifffile.read_uic_tag>",
    "<tifffile.read_uic1tag>",
    " STK Datetime",
    "<imagej_metadata> raised",
    "<tifffile.imagej_metadata> raised",
    "<fluoview_metadata> raised",
    "parsing GDAL_NODATA tag raised",
    "<get_resolution> raised",
    "<nuvu_tags> raised",
    "<andor_tags> raised",
    "<epics_tags> raised",
    "<ndpi_tags> raised",
    "GeoKeyDirectoryTag",
    "eer_xml_metadata failed",
    "<tifffile.read_utf8>",
    "<tifffile.read_json>",
    "<tifffile.read_colormap>",
    "<tifffile.olympus_ini_metadata>",
    "<tifffile.scanimage_artist_metadata>",
)


class _TifffileReports(logging.Handler):
    """Collects what tifffile logs (warnings and errors) in one thread: damage, and tag values it cannot decode."""

    def __init__(self, thread: int) -> None:
        super().__init__(logging.WARNING)
        self.thread = thread
        self.problems: list[str] = []
        self.tag_values: list[str] = []
        self._missing_first = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        message = record.getMessage()
        # Missing files of a multi-file set are the reader's to report (MissingOmeFileError);
        # a member that is present but unreadable (truncated, not a TIFF) is damage.
        if "FileNotFoundError" in message or "No such file" in message:
            self._missing_first = not self.problems
            return
        # tifffile logs the first failing member of an OME set, then "failed to read N files":
        # when that first member was missing, the count is about missing files too, not damage.
        if self._missing_first and "OME series failed to read" in message and message.endswith(" files"):
            return
        found = self.tag_values if any(marker in message for marker in _TAG_VALUE_REPORTS) else self.problems
        if message not in found:
            found.append(message)


@contextmanager
def damage_reported(path: Path, stacklevel: int = 4) -> Iterator[None]:
    """Warn with :class:`~scitiff_readers.errors.CorruptFileWarning` about what tifffile finds broken.

    Exceptions raised in the block by tifffile (or by code reading its results)
    become :class:`~scitiff_readers.errors.CorruptFileError` naming the file (see
    :func:`scitiff_readers.backend.tifffile_errors`).

    tifffile does not raise on a truncated or damaged file: it logs what it skips (an
    IFD chain pointing beyond the end of the file, a tag value out of the file) and
    returns the pages it could read. Those reports, made in this thread while the
    block runs, become one warning naming the file, so missing planes never pass
    silently.
    """
    handler = _TifffileReports(threading.get_ident())
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)
    try:
        # The one place the TIFF readers call tifffile from: whatever it raises on a
        # damaged file (TiffFileError, struct.error, IndexError, "incompatible
        # keyframe" ...) becomes a typed error naming the file.
        with tifffile_errors(path):
            yield
    finally:
        logger.removeHandler(handler)
    if handler.tag_values:
        warnings.warn(
            f"{path}: tifffile could not decode some metadata tags (ignored; the pixels are read as "
            "tifffile reads them): " + _first_four(handler.tag_values),
            TiffTagWarning,
            stacklevel=stacklevel,
        )
    problems = handler.problems
    if problems:
        size = location_size(path) or 0
        warnings.warn(
            f"{path}: the file is damaged or truncated ({size} bytes); pages or metadata beyond the "
            f"damage are missing and only what tifffile could read is returned. tifffile reports: "
            + _first_four(problems),
            CorruptFileWarning,
            stacklevel=stacklevel,
        )


def _first_four(messages: list[str]) -> str:
    return "; ".join(messages[:4]) + (f" (and {len(messages) - 4} more)" if len(messages) > 4 else "")


def sniff_head(
    path: str | os.PathLike[str], accept_head: Callable[[FirstIfd], bool], accept_tif: Callable[[Any], bool]
) -> bool:
    """Whether ``path`` is a TIFF with an image whose first IFD the backend accepts.

    The first IFD comes from :func:`scitiff_readers.backend.tiff_head`, parsed once
    per file and shared by every TIFF backend's sniff (no tifffile open per sniff).
    Only when that quick parser cannot read a file that starts like a TIFF does this
    fall back to tifffile and ``accept_tif(tifffile.TiffFile)``. Never raises.
    """
    try:
        head = tiff_head(path)
        if head is not None:
            return head.has_image and bool(accept_head(head))
    except Exception:  # noqa: BLE001 - a sniff never raises for foreign files
        return False
    return sniff_tiff(path, accept_tif)


def sniff_tiff(path: str | os.PathLike[str], accept: Callable[[Any], bool]) -> bool:
    """Whether ``path`` is a TIFF with image pages that ``accept(tifffile.TiffFile)`` approves.

    Never raises: anything tifffile cannot parse is simply not ours.
    """
    if not looks_like_tiff(path):
        return False
    try:
        with open_tifffile(path) as tif:
            return has_pages(tif) and bool(accept(tif))
    except Exception:  # noqa: BLE001 - a sniff never raises for foreign files
        return False


def has_pages(tif: Any) -> bool:
    """Whether the file has a first page (``len(tif.pages)`` would walk every IFD)."""
    try:
        return tif.pages.first is not None
    except (IndexError, ValueError, OSError):
        return False


def level_factor(base: int, level: int) -> float:
    """Downsampling factor of a pyramid level along one dim.

    Levels made by halving odd sizes (475 -> 238, then 119) have an exact ratio just
    off the intended integer factor; that integer is the true pixel-size ratio. It is
    recognised when the level's size is within one pixel of ``base / factor`` (each
    halving rounds by at most half a pixel).
    """
    if level <= 0 or base == level:
        return 1.0
    ratio = base / level
    nearest = round(ratio)
    if nearest >= 1 and abs(base - nearest * level) < nearest:
        return float(nearest)
    return ratio


def unit_factor(from_unit: str | None, to_unit: str | None) -> float | None:
    """Factor converting a length in ``from_unit`` to ``to_unit`` (``None`` if unknown).

    A missing ``from_unit`` is taken to be ``to_unit``.
    """
    if from_unit is None or normalize_unit(from_unit) == normalize_unit(to_unit):
        return 1.0
    a, b = to_micrometre_factor(from_unit), to_micrometre_factor(to_unit)
    if a is None or b is None:
        return None
    return a / b


_TIME_S = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0, "ps": 1e-12}


def time_factor(from_unit: str | None, to_unit: str | None) -> float | None:
    """Factor converting a time in ``from_unit`` to ``to_unit`` (``None`` if unknown)."""
    a, b = normalize_unit(from_unit) or "s", normalize_unit(to_unit) or "s"
    if a == b:
        return 1.0
    fa, fb = _TIME_S.get(a), _TIME_S.get(b)
    if fa is None or fb is None:
        return None
    return fa / fb


class TiffScenes:
    """Scene bookkeeping shared by the TIFF readers (mixed in before ``Reader``).

    ``_names`` are the scene names, ``_sources`` the pixel source of each level of
    each scene, and ``_errors`` an error per scene that could not be set up: it is
    raised when that scene is used, so one broken scene does not stop the others.
    """

    _path: Path
    _names: list[str]
    _sources: list[list[Any]]
    _errors: dict[int, Exception]

    def _scene_names(self) -> Sequence[str]:
        return self._names

    def _level_count(self, scene: int) -> int:
        return max(1, len(self._sources[scene]))

    def _level_sources(self, scene: int, level: int) -> tuple[Any, Any]:
        """The source of ``level`` and of full resolution (level 0) for ``scene``."""
        if scene in self._errors:
            raise self._errors[scene]
        levels = self._sources[scene]
        if not 0 <= level < len(levels):
            raise SceneIndexError(f"{self._path}: scene {scene} has no resolution level {level}")
        return levels[level], levels[0]
