"""The header and first IFD of a TIFF file: enough to sniff a TIFF cheaply and only once.

Every TIFF-based backend (OME-TIFF, SciTiff, NDTiff, plain TIFF) claims ``.tif``,
so selecting a reader used to open the file once per backend. :func:`tiff_head`
reads the TIFF header, the first image file directory and its ImageDescription
(tag 270, where OME-XML and ImageJ metadata live) in two or three small reads with
``struct`` -- no tifffile import, no walk of the page chain, no pixels -- and keeps
the result in a :class:`~scitiff_readers.backend.FileCache`, so the backends'
sniffs share one parse per file (re-parsed whenever the file changes).

The IFD itself is parsed by :class:`~scitiff_readers._ifd.IfdChain`, the one IFD
parser the TIFF backends share.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _handoff
from ._byteaccess import is_remote, open_bytes
from ._filecache import MISSING, FileCache, cacheable, file_stamp
from ._ifd import TIFF_INT_FORMATS, TIFF_TYPE_SIZES, IfdChain, IfdEntry

__all__ = [
    "TIFF_INT_FORMATS",
    "TIFF_TYPE_SIZES",
    "FirstIfd",
    "read_first_ifd",
    "take_sniffed_chain",
    "tiff_head",
]

#: The description may be long (coordinates of many bins) but never gigabytes.
_MAX_DESCRIPTION = 256 * 2**20


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


#: More values than a scalar tag (width, bits per sample of every sample ...) has: damage.
_SCALAR_VALUES = 4096


def read_first_ifd(path: str | os.PathLike[str]) -> FirstIfd:
    """Parse the header and first IFD of ``path``.

    Raises
    ------
    ValueError
        If the file is not a TIFF or its first IFD is truncated.
    OSError
        If it cannot be read.
    """
    chain = _open_chain(path)
    try:
        return _first_ifd(chain, path)
    finally:
        chain.close()


def _open_chain(path: str | os.PathLike[str]) -> IfdChain:
    if is_remote(path):
        remote = open_bytes(path)
        return IfdChain(path, read_at=remote.read_at_most, size=remote.size)  # type: ignore[arg-type]  # a RemotePath stands for a Path
    return IfdChain(Path(path))


def _first_ifd(chain: IfdChain, path: str | os.PathLike[str]) -> FirstIfd:
    try:
        entries = chain.entries(0)
    except IndexError:
        raise ValueError(f"{path}: the first IFD offset is outside the file ({chain.size} bytes)") from None
    if not entries:
        raise ValueError(f"{path}: the first IFD has no tags")
    tags: dict[int, IfdEntry] = {}
    for tag, entry in entries:
        tags.setdefault(tag, entry)

    def scalar(tag: int, default: int | None = None) -> int | None:
        entry = tags.get(tag)
        if entry is None or entry[0] not in TIFF_INT_FORMATS or entry[1] < 1:
            return default
        # Values stored elsewhere (e.g. BitsPerSample of RGB): the first one.
        return int(chain.values(entry, _SCALAR_VALUES)[0])

    description = b""
    texts: list[bytes] = []
    # tifffile may add a second description (its JSON shape) after ImageJ's.
    for tag, entry in entries:
        if tag != 270 or entry[0] not in (1, 2, 7) or entry[1] == 0:
            continue
        if entry[1] > _MAX_DESCRIPTION:
            raise ValueError(f"{path}: ImageDescription of {entry[1]} bytes is implausibly large")
        text = chain.raw(entry, _MAX_DESCRIPTION).rstrip(b"\x00")
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
        bigtiff=chain.bigtiff,
        byteorder=chain.byteorder,
        descriptions=tuple(texts),
        head=chain.head,
    )


_heads = FileCache("TIFF first IFD")


def tiff_head(path: str | os.PathLike[str]) -> FirstIfd | None:
    """The first IFD of ``path``, or ``None`` if it is not a TIFF this parser can read.

    Cached per file while the file is unchanged (see :mod:`scitiff_readers._filecache`),
    so every TIFF backend's ``can_open`` can call it: the file is parsed once per
    selection. Never raises. ``None`` also for exotic files (a first IFD with more
    than 4096 tags, a truncated IFD): callers that want to be lenient fall back to
    tifffile then.

    Inside a ``Reader()`` call (see :mod:`scitiff_readers._handoff`), the parse of a
    local file also leaves its :class:`~scitiff_readers._ifd.IfdChain` -- still open,
    its first IFD and description remembered -- for the open to take with
    :func:`take_sniffed_chain`.
    """
    stamp = file_stamp(path)
    identity = cacheable(stamp)
    cached = _heads.get(path, identity) if identity is not None else MISSING
    if cached is not MISSING:
        return cached  # type: ignore[return-value]  # the cache holds only what this function stored: FirstIfd or None
    chain = None
    try:
        chain = _open_chain(path)
        result: FirstIfd | None = _first_ifd(chain, path)
    except (OSError, ValueError, struct.error):
        result = None
    except BaseException:
        if chain is not None:
            chain.close()
        raise
    if chain is not None:
        keep = result is not None and not is_remote(path) and _handoff.active()
        if not (keep and _handoff.offer(_CHAIN, os.fspath(path), stamp, chain)):
            chain.close()
    size = sum(len(d) for d in result.descriptions) if result is not None else 0
    _heads.put(path, identity, result, nbytes=size + 256)
    return result


#: The kind of :mod:`._handoff` offer: the sniff's open chain.
_CHAIN = "tiff-ifd-chain"


def take_sniffed_chain(path: str | os.PathLike[str], stamp: Any) -> IfdChain | None:
    """The open :class:`~scitiff_readers._ifd.IfdChain` this ``Reader()`` call's sniff read ``path`` with.

    ``None`` when there is none (no sniff parsed the file in this call, the parse was
    cached, a remote file) or the file's stamp is no longer ``stamp``. The caller owns
    the chain (closes it); its first IFD and description are not read again.
    """
    chain: IfdChain | None = _handoff.take(_CHAIN, os.fspath(path), stamp)
    return chain
