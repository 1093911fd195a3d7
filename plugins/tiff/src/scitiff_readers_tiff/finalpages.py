"""Pages tifffile stores "in final form", judged from IFDs read by hand (no tifffile).

tifffile reads a series without its page list (ImageJ virtual stacks, "shaped" series)
when the first page's pixels are *final*: uncompressed, no predictor, fill order 1, in
one strip or in strips that follow each other. :mod:`.virtualstack` and
:mod:`.shapedseries` take that decision from :class:`~scitiff_readers.backend.IfdChain`
with the rules here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scitiff_readers.backend import IfdChain, is_remote

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["is_final", "local_chain", "page_nbytes"]


def local_chain(path: Path) -> IfdChain | None:
    """The IFD chain of a local TIFF file, or ``None`` (remote, not a TIFF, unreadable)."""
    if is_remote(path):
        return None
    try:
        return IfdChain(path)
    except (ValueError, OSError):
        return None


def page_nbytes(page: Any) -> int:
    """Bytes of one page's pixels (tifffile's ``TiffPage.nbytes``) of an untiled page read by hand."""
    return int(page.imagewidth * page.imagelength * page.samplesperpixel * (page.bitspersample // 8))


def is_final(page: Any) -> bool:
    """Whether tifffile's ``TiffPage.is_final`` holds, for an untiled :class:`~scitiff_readers.backend.IfdPage`.

    Tiled pages are ``False`` (tifffile's rule for them is not mirrored).
    """
    if page.compression != 1 or page.predictor != 1 or page.fillorder != 1 or page.is_tiled:
        return False
    if page.bitspersample not in (8, 16, 32, 64):
        return False
    offsets, counts = page.dataoffsets, page.databytecounts
    if len(offsets) == 1:
        return True
    return sum(counts) == page_nbytes(page) and all(
        counts[i] != 0 and offsets[i] + counts[i] == offsets[i + 1] for i in range(len(offsets) - 1)
    )
