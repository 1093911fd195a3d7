"""The hand-written IFD reader (:class:`scitiff_readers.backend.IfdChain`, in core) against tifffile's parse.

Every page the reader accepts must describe exactly what tifffile's page says: the
same :class:`~scitiff_readers_tiff.layout.PageLayout` (shape, dtype and byte order,
strips or tiles, compression, raw or not), the same strip / tile offsets and byte
counts, the same IFD offset and ImageDescription. Checked on a matrix of generated
layouts, on every page of the shared corpus, and (through
``test_tiff_differential.check_file``) on every file of the differential matrix and its
hypothesis variant. The OME-TIFF open that uses it is checked pixel for pixel against
tifffile by ``check_file`` here, over the layouts it takes, with the proof that it took
them (its page look-up is the hand-written one). Hostile chains give typed errors.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from scitiff_readers_tiff.layout import page_layout
from scitiff_readers_tiff.lazypages import IfdLookup, PageLookup

from scitiff_readers import Reader
from scitiff_readers.backend import IfdChain, read_first_ifd
from scitiff_readers.errors import CorruptFileError

CORPUS = Path(os.path.normpath(Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "corpus"))

#: Pages compared per file (plus the last): enough for every structure a file mixes.
_PAGES = 40


def _plain_kind(page: Any) -> bool:
    """Whether tifffile's page is of the kinds the hand-written reader must accept (not ``None``)."""
    return (
        page.compression in (1, 5, 8, 32773, 32946, 50000)
        and page.photometric in (0, 1, 2)
        and not page.subifds
        and page.imagedepth == 1
        and page.fillorder == 1
        and page.dtype is not None
        and page.dtype.kind in "uif"
        and isinstance(page.bitspersample, int)
        and page.bitspersample in (8, 16, 32, 64)
        and not (page.parent.is_lsm or page.parent.is_stk or page.parent.is_ndpi)
    )


def assert_first_ifd_matches(path: Path, tif: Any) -> None:
    """The sniff's :func:`read_first_ifd` (built on :class:`IfdChain`) against tifffile's first page."""
    head = read_first_ifd(path)
    page = tif.pages.first

    def first_value(tag: int) -> int:
        value = page.tags[tag].value if tag in page.tags else 1
        return int(value[0] if isinstance(value, tuple) else value)

    assert head.width == page.imagewidth, path
    assert head.height == page.imagelength, path
    assert head.bits_per_sample == first_value(258), path
    assert head.sample_format == first_value(339), path
    assert head.samples_per_pixel == page.samplesperpixel, path
    assert head.compression == page.compression, path
    assert head.bigtiff == tif.is_bigtiff, path
    assert head.byteorder == tif.byteorder, path
    assert head.is_ome == bool(tif.is_ome), path
    texts = [t.value for t in page.tags.getall(270) or () if isinstance(t.value, str)]
    assert len(head.descriptions) >= len(texts), path
    if texts:
        assert head.descriptions[0].decode("utf-8", "replace").strip() == texts[0].strip(), path


def assert_ifd_parse_matches(path: Path) -> int:
    """Compare :class:`IfdChain` with tifffile on the pages of ``path``; return how many it accepted."""
    accepted = 0
    with tifffile.TiffFile(path) as tif:
        if tif.filehandle.is_file is False or tif.is_ndpi:
            return 0
        assert_first_ifd_matches(path, tif)
        pages = tif.pages
        count = len(pages)
        chain = IfdChain(path)
        try:
            for i in sorted({*range(min(count, _PAGES)), count - 1}):
                page = pages[i]
                assert chain.offset(i) == page.offset, (path, i)
                offsets, counts = chain.segments(i, len(page.dataoffsets))
                assert tuple(offsets) == tuple(page.dataoffsets), (path, i)
                assert tuple(counts) == tuple(page.databytecounts), (path, i)
                ours = chain.page(i)
                if ours is None:
                    assert not _plain_kind(page), (path, i, "a plain page was left to tifffile")
                    continue
                accepted += 1
                assert page_layout(ours, 0) == page_layout(page, 0), (path, i)
                assert ours.shaped == tuple(page.shaped), (path, i)
                assert np.dtype(ours.dtype) == page.dtype, (path, i)
                assert ours.description == (page.description or ""), (path, i)
                assert ours.is_ome == (i == 0 and bool(tif.is_ome)), (path, i)
                for name in (
                    "imagewidth",
                    "imagelength",
                    "samplesperpixel",
                    "compression",
                    "predictor",
                    "planarconfig",
                    "photometric",
                    "tilewidth",
                    "tilelength",
                    "is_tiled",
                ):
                    assert getattr(ours, name) == getattr(page, name), (path, i, name)
                if not ours.is_tiled:
                    assert ours.rowsperstrip == page.rowsperstrip, (path, i)
            with pytest.raises(IndexError):
                chain.offset(count)
        finally:
            chain.close()
    return accepted


# ------------------------------------------------------------------ generated layouts

_LAYOUTS = {
    "strip1": {"rowsperstrip": 1},
    "strip7": {"rowsperstrip": 7},
    "stripall": {},
    "tile-aligned": {"tile": (32, 32)},
    "tile-unaligned": {"tile": (16, 48)},
}
_CODECS: dict[str, dict[str, Any]] = {
    "none": {},
    "zlib": {"compression": "zlib"},
    "lzw-pred2": {"compression": "lzw", "predictor": 2},
    "jpeg": {"compression": "jpeg"},
}
_SAMPLES = {
    "gray": {"photometric": "minisblack"},
    "rgb": {"photometric": "rgb"},
    "rgb-separate": {"photometric": "rgb", "planarconfig": "separate"},
}


def _data(dtype: str, samples: str, pages: int) -> np.ndarray:
    shape: tuple[int, ...] = (64, 96)
    if samples == "rgb":
        shape = (*shape, 3)
    elif samples == "rgb-separate":
        shape = (3, *shape)
    rng = np.random.default_rng(5)
    data = (rng.random((pages, *shape)) * 200).astype(dtype)
    return data if pages > 1 else data[0]


@pytest.mark.parametrize("flavour", ["ome", "plain"])
@pytest.mark.parametrize("samples", list(_SAMPLES))
@pytest.mark.parametrize("codec", list(_CODECS))
@pytest.mark.parametrize("storage", list(_LAYOUTS))
def test_ifd_parse_equals_tifffile(
    tmp_path: Path, storage: str, codec: str, samples: str, flavour: str
) -> None:
    if codec == "jpeg" and samples == "rgb-separate":
        pytest.skip("tifffile writes no planar-separate JPEG")
    path = tmp_path / ("a.ome.tif" if flavour == "ome" else "a.tif")
    kwargs = {**_LAYOUTS[storage], **_CODECS[codec], **_SAMPLES[samples]}
    tifffile.imwrite(path, _data("uint8", samples, 3), ome=flavour == "ome", **kwargs)
    accepted = assert_ifd_parse_matches(path)
    assert accepted == (0 if codec == "jpeg" else 3)


@pytest.mark.parametrize("bigtiff", [False, True])
@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize(
    "dtype",
    [
        "uint8",
        "int8",
        "uint16",
        "int16",
        "uint32",
        "int32",
        "uint64",
        "int64",
        "float16",
        "float32",
        "float64",
        "bool",
        "complex64",
    ],
)
def test_ifd_parse_dtypes(tmp_path: Path, dtype: str, byteorder: str, bigtiff: bool) -> None:
    path = tmp_path / "a.tif"  # shaped: OME-XML has no 64-bit integer type
    data = np.zeros((2, 20, 30), dtype=dtype)
    tifffile.imwrite(
        path, data, byteorder=byteorder, bigtiff=bigtiff, rowsperstrip=6, photometric="minisblack"
    )
    accepted = assert_ifd_parse_matches(path)
    assert accepted == (0 if dtype in ("bool", "complex64") else 2)


# ---------------------------------------------------------- the OME open that uses it

_MORE_CODECS = {**_CODECS, "zstd": {"compression": "zstd"}, "packbits": {"compression": "packbits"}}
_OME_CASES = [
    ("strip7", "none", "gray", "uint16", "<", False),
    ("stripall", "none", "gray", "float32", ">", True),
    ("strip1", "zlib", "gray", "int16", "<", True),
    ("tile-aligned", "none", "gray", "uint16", "<", False),
    ("tile-unaligned", "zstd", "gray", "uint8", ">", False),
    ("tile-aligned", "lzw-pred2", "rgb", "uint8", "<", False),
    ("strip7", "none", "rgb", "uint16", ">", False),
    ("strip7", "packbits", "rgb-separate", "uint8", "<", True),
    ("tile-unaligned", "none", "rgb-separate", "uint16", "<", False),
]


@pytest.mark.parametrize(
    ("storage", "codec", "samples", "dtype", "byteorder", "bigtiff"),
    _OME_CASES,
    ids=["-".join(map(str, c)) for c in _OME_CASES],
)
def test_ome_open_without_tifffile_reads_like_tifffile(
    tmp_path: Path, storage: str, codec: str, samples: str, dtype: str, byteorder: str, bigtiff: bool
) -> None:
    from .test_tiff_differential import check_file

    path = tmp_path / "a.ome.tif"
    data = _data(dtype, samples, 1)
    data = np.stack([data + k for k in range(6)]).reshape(2, 3, *data.shape)
    axes = "TZYXS" if samples == "rgb" else ("TZSYX" if samples == "rgb-separate" else "TZYX")
    tifffile.imwrite(
        path,
        data,
        ome=True,
        byteorder=byteorder,
        bigtiff=bigtiff,
        metadata={"axes": axes},
        **_LAYOUTS[storage],
        **_MORE_CODECS[codec],
        **_SAMPLES[samples],
    )
    with Reader(path) as r:
        lookups = r._lookups  # type: ignore[attr-defined]
        assert lookups
        assert all(isinstance(lookup, IfdLookup) for lookup in lookups)
    check_file(path)


def test_ome_open_leaves_unusual_pages_to_tifffile(tmp_path: Path) -> None:
    # JPEG (its colour space shapes the page): the open goes through tifffile.
    path = tmp_path / "a.ome.tif"
    tifffile.imwrite(path, _data("uint8", "rgb", 2), ome=True, compression="jpeg", photometric="rgb")
    with Reader(path) as r:
        assert all(isinstance(lookup, PageLookup) for lookup in r._lookups)  # type: ignore[attr-defined]
    from .test_tiff_differential import check_file

    check_file(path)


# ------------------------------------------------------------------------ real files


def _corpus_tiffs() -> list[Any]:
    manifest = CORPUS / "manifest.json"
    if not manifest.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not found at {CORPUS}"))]
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    paths = [CORPUS / e["path"] for e in entries if e["format"].startswith("tiff")]
    return [
        pytest.param(p, id=str(p.relative_to(CORPUS)))
        for p in paths
        if p.is_file() and p.read_bytes()[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    ]


@pytest.mark.parametrize("path", _corpus_tiffs())
def test_ifd_parse_equals_tifffile_on_the_corpus(path: Path) -> None:
    assert_ifd_parse_matches(path)


# ---------------------------------------------------------------------- hostile files


def _two_pages(tmp_path: Path) -> tuple[Path, list[int]]:
    path = tmp_path / "a.ome.tif"
    tifffile.imwrite(
        path,
        np.arange(3 * 8 * 8, dtype="uint16").reshape(3, 8, 8),
        ome=True,
        photometric="minisblack",
        metadata={"axes": "ZYX"},
    )
    with tifffile.TiffFile(path) as tif:
        return path, [p.offset for p in tif.pages]


def _next_pointer_at(path: Path, ifd: int) -> int:
    with open(path, "rb") as fh:
        fh.seek(ifd)
        count = struct.unpack("<H", fh.read(2))[0]
    return ifd + 2 + 12 * count


def test_a_looping_chain_raises_corrupt_file_error(tmp_path: Path) -> None:
    path, offsets = _two_pages(tmp_path)
    with open(path, "r+b") as fh:  # IFD 1 points back to IFD 0
        fh.seek(_next_pointer_at(path, offsets[1]))
        fh.write(struct.pack("<I", offsets[0]))
    chain = IfdChain(path)
    with pytest.raises(CorruptFileError, match="IFD 2 points back to IFD 0"):
        chain.offset(2)
    chain.close()
    with Reader(path) as r:
        np.testing.assert_array_equal(r.get_image_data("YX", Z=1), tifffile.imread(path, key=1))
        with pytest.raises(CorruptFileError, match=r"a\.ome\.tif.*loops"):
            r.get_image_data("ZYX")


def test_a_chain_leaving_the_file_ends_it(tmp_path: Path) -> None:
    path, offsets = _two_pages(tmp_path)
    with open(path, "r+b") as fh:
        fh.seek(_next_pointer_at(path, offsets[1]))
        fh.write(struct.pack("<I", 2**31))
    chain = IfdChain(path)
    assert chain.offset(1) == offsets[1]
    with pytest.raises(IndexError):
        chain.offset(2)
    chain.close()
    with Reader(path) as r:
        np.testing.assert_array_equal(r.get_image_data("YX", Z=1), tifffile.imread(path, key=1))
        with pytest.raises(CorruptFileError, match="IFD 2, which the file does not have"):
            r.get_image_data("ZYX")


def test_an_ifd_claiming_too_many_tags_raises(tmp_path: Path) -> None:
    path, offsets = _two_pages(tmp_path)
    with open(path, "r+b") as fh:
        fh.seek(offsets[1])
        fh.write(struct.pack("<H", 60000))
    chain = IfdChain(path)
    with pytest.raises(CorruptFileError, match="claims 60000 tags"):
        chain.segments(1, 1)
    chain.close()


def test_values_beyond_the_end_leave_the_page_to_tifffile(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    tifffile.imwrite(path, np.zeros((40, 8), "uint8"), ome=True, rowsperstrip=1)
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags[273]
    with open(path, "r+b") as fh:  # the 40 strip offsets now "lie" far beyond the file
        fh.seek(tag.offset + 8)
        fh.write(struct.pack("<I", 2**31))
    chain = IfdChain(path)
    assert chain.page(0) is None
    with pytest.raises(CorruptFileError, match="no readable strip or tile offsets"):
        chain.segments(0, 40)
    chain.close()


def test_not_a_tiff_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "x.tif"
    path.write_bytes(b"GIF89a" + bytes(20))
    with pytest.raises(ValueError, match="not a TIFF"):
        IfdChain(path)


def test_a_first_ifd_outside_the_file_is_left_to_tifffile(tmp_path: Path) -> None:
    path, _ = _two_pages(tmp_path)
    with open(path, "r+b") as fh:
        fh.seek(4)
        fh.write(struct.pack("<I", 2**31))
    chain = IfdChain(path)
    with pytest.raises(IndexError):
        chain.page(0)
    chain.close()
    with pytest.raises(CorruptFileError, match=r"a\.ome\.tif"):  # what the tifffile open says
        Reader(path, reader="ome-tiff")


def test_a_hostile_offset_count_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    tifffile.imwrite(path, np.zeros((40, 8), "uint8"), ome=True, rowsperstrip=1)
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags[273]
    with open(path, "r+b") as fh:  # StripOffsets claims 2**31 values
        fh.seek(tag.offset + 4)
        fh.write(struct.pack("<I", 2**31))
    chain = IfdChain(path)
    assert chain.page(0) is None  # left to tifffile
    with pytest.raises(CorruptFileError, match="2147483648 values where at most 40"):
        chain.segments(0, 40)
    chain.close()


# ---------------------------------------------------------------- the walk
# IfdChain.offset checks IFDs lying at one stride a run at a time (numpy over one read).
# It must find exactly what stepping IFD by IFD finds -- the same offsets, the same end,
# the same error at the same IFD -- and, on intact files, tifffile's page offsets.


def _write_chain(path: Path, sizes: list[int], bigtiff: bool, byteorder: str, contiguous: bool) -> None:
    """Pages of ``sizes`` rows (one size: a regular chain; several: an irregular one)."""
    with tifffile.TiffWriter(path, bigtiff=bigtiff, byteorder=byteorder) as tw:
        if contiguous and len(set(sizes)) == 1:  # one shaped series: IFDs back to back after the data
            tw.write(np.zeros((len(sizes), sizes[0], 5), "uint8"), photometric="minisblack", contiguous=True)
            return
        for i, rows in enumerate(sizes):
            tw.write(np.full((rows, 5), i % 256, "uint8"), contiguous=False, description=f"page {i}")


def _damage(path: Path, offsets: list[int], damage: str, at: int, bigtiff: bool, byteorder: str) -> None:
    """Rewrite the next pointer (or the tag count) of IFD ``at``."""
    cs, es, pfmt = (8, 20, "Q") if bigtiff else (2, 12, "I")
    with open(path, "r+b") as fh:
        fh.seek(offsets[at])
        count = struct.unpack(byteorder + ("Q" if bigtiff else "H"), fh.read(cs))[0]
        pointer = offsets[at] + cs + count * es
        if damage == "count":
            fh.seek(offsets[at])
            fh.write(struct.pack(byteorder + ("Q" if bigtiff else "H"), 60000))
            return
        target = {"loop": offsets[at // 2], "beyond": os.path.getsize(path) + 64, "end": 0}[damage]
        fh.seek(pointer)
        fh.write(struct.pack(byteorder + pfmt, target))


def _walk(chain: IfdChain) -> tuple[list[int], str | None]:
    try:
        chain.offset(1 << 40)
    except IndexError:
        return list(chain.offsets), None
    except CorruptFileError as exc:
        return list(chain.offsets), str(exc)
    finally:
        chain.close()
    raise AssertionError("unreachable")


def _step_walk(path: Path) -> tuple[list[int], str | None]:
    """The IFD-by-IFD walk (a chain read through a read function never takes runs)."""
    data = path.read_bytes()
    return _walk(
        IfdChain(path, read_at=lambda offset, length: data[offset : offset + length], size=len(data))
    )


def _check_walk(path: Path, damaged: bool) -> None:
    fast, slow = _walk(IfdChain(path)), _step_walk(path)
    assert fast == slow
    if not damaged:
        with tifffile.TiffFile(path) as tif:
            assert fast[0] == [page.offset for page in tif.pages]
    # A walk in pieces (look-ups of growing indices) ends the same way.
    chain = IfdChain(path)
    try:
        for k in range(0, len(fast[0]) + 3, 37):
            try:
                assert chain.offset(k) == fast[0][k]
            except (IndexError, CorruptFileError):
                break
    finally:
        chain.close()


@pytest.mark.parametrize("bigtiff", [False, True])
@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("damage", ["none", "loop", "beyond", "end", "count"])
def test_the_walk_finds_what_stepping_and_tifffile_find(
    tmp_path: Path, bigtiff: bool, byteorder: str, contiguous: bool, damage: str
) -> None:
    path = tmp_path / "chain.tif"
    _write_chain(path, [3] * 700, bigtiff, byteorder, contiguous)
    with tifffile.TiffFile(path) as tif:
        offsets = [page.offset for page in tif.pages]
    if damage != "none":
        _damage(path, offsets, damage, 500, bigtiff, byteorder)
    fast, slow = _walk(IfdChain(path)), _step_walk(path)
    assert fast == slow
    expected = {"none": 700, "loop": 501, "beyond": 501, "end": 501, "count": 501}[damage]
    assert len(fast[0]) == expected
    if damage in ("loop", "count"):
        assert fast[1] is not None
        assert "corrupt" in fast[1]
    _check_walk(path, damaged=damage != "none")


def test_irregular_chains_walk_like_stepping(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        sizes=st.lists(st.sampled_from([1, 2, 3, 40]), min_size=1, max_size=300),
        bigtiff=st.booleans(),
        byteorder=st.sampled_from("<>"),
        damage=st.sampled_from(["none", "loop", "beyond", "end", "count"]),
        at=st.floats(0, 1),
    )
    def run(sizes: list[int], bigtiff: bool, byteorder: str, damage: str, at: float) -> None:
        path = tmp_path / "irregular.tif"
        _write_chain(path, sizes, bigtiff, byteorder, contiguous=False)
        with tifffile.TiffFile(path) as tif:
            offsets = [page.offset for page in tif.pages]
        if damage != "none":
            _damage(path, offsets, damage, int(at * (len(offsets) - 1)), bigtiff, byteorder)
        _check_walk(path, damaged=damage != "none")

    run()


def test_a_run_never_reads_more_than_its_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "chain.tif"
    _write_chain(path, [1] * 20000, False, "<", True)
    lengths: list[int] = []
    real = os.pread

    def pread(fd: int, length: int, offset: int) -> bytes:
        lengths.append(length)
        return real(fd, length, offset)

    monkeypatch.setattr(os, "pread", pread)
    chain = IfdChain(path)
    assert chain.count() == 20000
    assert chain.intact
    chain.close()
    assert max(lengths) <= (1 << 20) + 256
    assert len(lengths) < 100  # runs, not 20,000 steps
