"""OME companion files: OME-XML kept beside the TIFF files instead of inside them.

A multi-file OME-TIFF dataset may keep its full OME-XML in a ``*.companion.ome`` file;
each TIFF then carries only ``<OME UUID=...><BinaryOnly MetadataFile="x.companion.ome"
UUID="..."/></OME>`` in its ImageDescription. The companion's ``TiffData`` elements
name the TIFF files (``UUID/@FileName``), relative to the companion's folder.

tifffile does not follow ``BinaryOnly`` itself (it falls back to its generic series),
but it maps an externally supplied OME-XML to pages: ``TiffFile(path, omexml=xml)``.
This module finds and reads the companion; the reader hands its XML to tifffile.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from scitiff_readers.backend import as_location, read_head, resolve_inside
from scitiff_readers.errors import CorruptFileError

from .common import looks_like_tiff
from .omexml import OmeImageInfo

__all__ = ["binary_only_target", "first_present_file", "is_companion_file", "read_companion"]

#: Suffix of companion files (Bio-Formats' convention); ``.ome`` in general.
COMPANION_SUFFIX = ".ome"
_HEAD_BYTES = 4096
_BINARY_ONLY = re.compile(r"<(?:\w+:)?BinaryOnly\b[^>]*?\bMetadataFile\s*=\s*(['\"])(.*?)\1", re.S)
_OME_ROOT = re.compile(rb"<(?:\w+:)?OME[\s>]")


def binary_only_target(xml: str) -> str | None:
    """The ``MetadataFile`` of a ``BinaryOnly`` OME-XML (the TIFF holds no metadata), else ``None``."""
    if "BinaryOnly" not in xml:
        return None
    match = _BINARY_ONLY.search(xml)
    if match is None:
        return None
    from xml.sax.saxutils import unescape

    return unescape(match.group(2), {"&quot;": '"', "&apos;": "'"})


def is_companion_file(path: str | os.PathLike[str]) -> bool:
    """A ``*.ome`` text file starting with an OME-XML root element (cheap: reads 4 KB)."""
    p = as_location(path)
    if not p.name.lower().endswith(COMPANION_SUFFIX) or not p.is_file() or looks_like_tiff(p):
        return False
    head = read_head(p, _HEAD_BYTES)
    return _OME_ROOT.search(head) is not None


def read_companion(path: Path) -> str:
    """The companion's OME-XML text (UTF-8, a byte-order mark tolerated).

    ``BinaryOnly`` may also name a *master* TIFF of the dataset (Bio-Formats writes
    such sets): its OME-XML is then that file's first ImageDescription.
    """
    if looks_like_tiff(path):
        return _master_xml(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorruptFileError(f"{path}: cannot read the OME companion file ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old writers used Latin-1 for µ; any byte decodes, the XML parser judges the rest.
        return data.decode("latin-1")


def _master_xml(path: Path) -> str:
    """The OME-XML of a master OME-TIFF (the dataset's metadata file)."""
    from .common import open_tiff

    tif = open_tiff(path)
    with tif:
        xml = tif.ome_metadata if tif.is_ome else None
    if not xml or binary_only_target(xml) is not None:
        raise CorruptFileError(
            f"{path}: this TIFF is named as the dataset's OME metadata file (BinaryOnly MetadataFile) but "
            "holds no OME-XML; open the pages without OME metadata with reader='tiff'"
        )
    return str(xml)


def resolve_companion(tiff: Path, name: str) -> Path:
    """The companion named by a TIFF's ``BinaryOnly``, refused if it leads outside the folder."""
    return resolve_inside(tiff.parent, name, what="OME BinaryOnly MetadataFile")


def first_present_file(folder: Path, infos: list[OmeImageInfo]) -> Path | None:
    """The first TIFF the companion's images name that is present in ``folder``."""
    for info in infos:
        for name in info.files:
            real = resolve_inside(folder, name, what="OME TiffData UUID FileName")
            if real.is_file() and looks_like_tiff(real):
                return real
    return None
