"""scitiff_readers._tifffile: the one guarded entry point into tifffile (open, IFD chain, errors, decoder)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

from scitiff_readers.backend import open_tifffile, page_decoder, tifffile_errors  # noqa: E402
from scitiff_readers.errors import CorruptFileError  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path


def _pages(path: Path, n: int = 4) -> list[int]:
    """Write ``n`` one-strip pages with tifffile; return their IFD offsets as tifffile reads them."""
    with tifffile.TiffWriter(path) as w:
        for i in range(n):
            w.write(np.full((8, 8), i + 1, np.uint8), contiguous=False)
    with tifffile.TiffFile(path) as tif:
        return [int(p.offset) for p in tif.pages]


@pytest.mark.parametrize(
    ("damage", "raised"),
    [
        (lambda data: data[:6], struct.error),  # header cut inside the first-IFD offset
        (lambda data: b"GIF89a" + data[6:], tifffile.TiffFileError),  # not a TIFF header
    ],
)
def test_a_file_tifffile_refuses_is_a_corrupt_file_error_naming_it(tmp_path: Path, damage, raised) -> None:
    path = tmp_path / "bad.tif"
    _pages(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(raised):  # the reference refuses it, with its own exception
        tifffile.TiffFile(path)
    with pytest.raises(CorruptFileError, match=r"bad\.tif: not a readable TIFF file") as info:
        open_tifffile(path)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value.__cause__, raised)


def test_missing_files_stay_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_tifffile(tmp_path / "absent.tif")


def test_an_ifd_chain_looping_back_raises_instead_of_spinning(tmp_path: Path) -> None:
    path = tmp_path / "loop.tif"
    offsets = _pages(path)
    data = bytearray(path.read_bytes())
    # Classic little-endian TIFF: the next-IFD pointer follows the entry count and the 12-byte entries.
    (count,) = struct.unpack_from("<H", data, offsets[-1])
    struct.pack_into("<I", data, offsets[-1] + 2 + 12 * count, offsets[1])
    path.write_bytes(bytes(data))
    with tifffile.TiffFile(path) as tif:  # the reference alone: "page 5" of 4 is page 2 again
        assert tif.pages[5].offset == offsets[2]
    loops = r"loop\.tif: the TIFF's IFD chain loops: IFD 4 points back to IFD 1"
    with open_tifffile(path) as tif, pytest.raises(CorruptFileError, match=loops):
        tif.pages[5]
    with open_tifffile(path) as tif, pytest.raises(CorruptFileError, match=loops):
        for _ in tif.pages:  # tifffile alone walks this chain forever
            pass


def test_an_intact_chain_reads_as_tifffile_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "ok.tif"
    _pages(path)
    with open_tifffile(path) as tif:
        got = [p.asarray() for p in tif.pages]
    np.testing.assert_array_equal(np.stack(got), tifffile.imread(path, key=range(4)))


def test_errors_in_the_block_name_file_and_page(tmp_path: Path) -> None:
    path = tmp_path / "x.tif"
    _pages(path, 2)
    with open_tifffile(path) as tif:
        with (
            pytest.raises(
                CorruptFileError, match=r"x\.tif: page 5: parsing the TIFF structure: .*IndexError"
            ),
            tifffile_errors(path, page=5),
        ):
            tif.pages[5]  # tifffile's own IndexError for a page the file lacks
        with (
            pytest.raises(CorruptFileError, match=r"x\.tif: page 0: reading the strip offsets: .*error"),
            tifffile_errors(path, page=0, what="reading the strip offsets"),
        ):
            struct.unpack("<I", b"\x00")


def test_page_decoder_decodes_as_tifffile(tmp_path: Path) -> None:
    path = tmp_path / "dec.tif"
    image = (np.arange(32 * 16) % 251).astype(np.uint16).reshape(32, 16)
    tifffile.imwrite(path, image, compression="zlib", rowsperstrip=8)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        offset, first_strip = int(page.offset), int(page.dataoffsets[0])
        nbytes = int(page.databytecounts[0])
    decode, jpegtables = page_decoder(path, offset)
    assert jpegtables is None
    with path.open("rb") as fh:
        fh.seek(first_strip)
        strip, _, _ = decode(fh.read(nbytes), 0)
    np.testing.assert_array_equal(strip.reshape(8, 16), image[:8])
