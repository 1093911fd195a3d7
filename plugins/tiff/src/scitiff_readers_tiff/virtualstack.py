"""ImageJ hyperstacks whose planes lie back to back, found from the IFDs read by hand (no tifffile).

tifffile reads an ImageJ file as a *virtual* stack -- every plane at the first page's
data offset plus a multiple of the plane size, without looking at the other pages --
when the first page is stored in final form (uncompressed, contiguous, no predictor)
and the planes the ImageJ description counts end before the second IFD (or the end of
the file). :func:`virtual_stack` takes the same decision from
:class:`~scitiff_readers.backend.IfdChain` alone, so a SciTiff or ImageJ file of that
kind (what ``tifffile.imwrite(..., imagej=True)`` and ``scitiff`` write) opens without
importing tifffile. Anything it is not sure tifffile would read that way gives
``None`` and the caller asks tifffile; the differential tests compare both paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scitiff_readers.errors import CorruptFileError

from .finalpages import is_final, local_chain, page_nbytes

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["VirtualStack", "imagej_counts", "virtual_stack"]

#: Tags of flavours tifffile shapes before (or instead of) ImageJ: Micro-Manager.
_OTHER_FLAVOURS = frozenset({51123})
#: ImageDescription lines longer than this are not ImageJ's counts (a hostile file).
_MAX_DESCRIPTION = 1 << 20


@dataclass(frozen=True)
class VirtualStack:
    """The first page of an ImageJ virtual stack and where its planes are.

    ``page`` is an :class:`~scitiff_readers.backend.IfdPage`; ``images`` how many planes
    tifffile's ImageJ series counts; ``dataoffset`` where plane 0 starts.
    """

    page: Any
    images: int
    dataoffset: int


def imagej_counts(description: str) -> dict[str, int] | None:
    """``images``, ``frames``, ``slices`` and ``channels`` of an ImageJ description (1 if absent).

    ``None`` when the description is not ImageJ's or a count is not a positive integer
    (tifffile then decides what the file is).
    """
    if not description.startswith("ImageJ=") or len(description) > _MAX_DESCRIPTION:
        return None
    counts = {"images": 1, "frames": 1, "slices": 1, "channels": 1}
    for line in description.split("\n"):
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and key in counts:
            try:
                counts[key] = int(value.strip())
            except ValueError:
                return None
    if min(counts.values()) < 1:
        return None
    return counts


def virtual_stack(path: Path) -> VirtualStack | None:
    """How tifffile would read ``path`` as an ImageJ virtual stack, or ``None`` if not surely so.

    Mirrors tifffile's ``TiffFile._series_imagej`` for single-sample pages: the image
    count from ``frames``, ``slices`` and ``channels``; virtual when the first page is
    final (one strip, or contiguous strips, uncompressed, no predictor) and the
    ``images`` planes fit before the second IFD (single-page files: before the end of
    the file). Local files only.
    """
    chain = local_chain(path)
    if chain is None:
        return None
    try:
        entries = chain.entries(0)
        if sum(1 for tag, _ in entries if tag == 270) != 1:
            return None  # tifffile's own shape description (or none): not ImageJ's series
        if any(tag in _OTHER_FLAVOURS for tag, _ in entries):
            return None
        page = chain.page(0)
        if page is None or page.samplesperpixel != 1 or page.is_tiled:
            return None
        counts = imagej_counts(page.description)
        if counts is None:
            return None
        if not is_final(page):
            return None
        nbytes = page_nbytes(page)
        offsets = page.dataoffsets
        channels = counts["channels"]
        images = counts["frames"] * counts["slices"] * (1 if channels == 1 else channels)
        try:
            second: int | None = chain.offset(1)
        except IndexError:
            second = None
        if images == 1 and second is not None:
            return None  # tifffile counts the pages then
        start = offsets[0]
        end = start + images * nbytes
        if end > chain.size or (second is not None and end > second):
            return None  # tifffile reads the page list (or refuses the series)
        return VirtualStack(page, images, start)
    except (CorruptFileError, OSError, IndexError, ValueError):
        return None  # damage: tifffile reads what it can and reports it
    finally:
        chain.close()
