"""Hostile TIFF files: reads stay in the folder, errors are typed, chains and sizes are checked."""

from __future__ import annotations

import os
import shutil
import struct
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile

from scitiff_readers import Reader
from scitiff_readers.errors import (
    CorruptFileError,
    CorruptFileWarning,
    ImageTooLargeError,
    MetadataError,
    ScitiffReadersError,
)
from scitiff_readers.testing.fuzz.mutators import tiff_ifds

if TYPE_CHECKING:
    from pathlib import Path

UUIDS = ["urn:uuid:11111111-1111-1111-1111-111111111111", "urn:uuid:22222222-2222-2222-2222-222222222222"]
NAMES = ["set_z0.ome.tif", "set_z1.ome.tif"]


def _xml(uuid: str, tiffdata: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        f'UUID="{uuid}"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" '
        'SizeX="24" SizeY="16" SizeZ="2" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f"{tiffdata}</Pixels></Image></OME>"
    )


def _tiffdata(names: list[str], tag: str = "UUID") -> str:
    return "".join(
        f'<TiffData FirstZ="{z}" IFD="0" PlaneCount="1"><{tag} FileName="{n}">{UUIDS[z]}</{tag}></TiffData>'
        for z, n in enumerate(names)
    )


def _plane(z: int) -> np.ndarray:
    return np.arange(16 * 24, dtype=np.uint16).reshape(16, 24) + 100 * z


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A TIFF outside the dataset folder whose pixels (7777) must never be read."""
    folder = tmp_path / "outside"
    folder.mkdir()
    tifffile.imwrite(folder / "secret.tif", np.full((16, 24), 7777, np.uint16))
    return folder / "secret.tif"


def _multi(folder: Path, names: list[str], tag: str = "UUID") -> Path:
    folder.mkdir()
    for z in range(2):
        desc = (
            _xml(UUIDS[z], _tiffdata(names, tag))
            if z == 0
            else (
                '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
                f'UUID="{UUIDS[1]}"><BinaryOnly MetadataFile="{NAMES[0]}" UUID="{UUIDS[0]}"/></OME>'
            )
        )
        tifffile.imwrite(folder / NAMES[z], _plane(z), description=desc, metadata=None)
    return folder / NAMES[0]


def _never_read(outside: Path, array: np.ndarray) -> None:
    assert not (array == 7777).any()


@pytest.mark.parametrize("tag", ["XUUID", "MyUUID"])
def test_tag_ending_in_uuid_with_a_name_out_of_the_folder_is_refused(
    tmp_path: Path, outside: Path, tag: str
) -> None:
    """tifffile opens the FileName of any TiffData child whose tag ends in UUID: all are checked."""
    root = tmp_path / "data"
    root.mkdir()
    for z in range(2):
        tifffile.imwrite(root / NAMES[z], _plane(z), metadata=None)
    companion = root / "set.companion.ome"
    companion.write_text(_xml("urn:uuid:3", _tiffdata([NAMES[0], "../outside/secret.tif"], tag)))
    with pytest.raises(
        CorruptFileError, match=r"'\.\./outside/secret\.tif' found in the dataset points outside"
    ):
        Reader(companion)


@pytest.mark.parametrize("how", ["relative", "absolute", "symlink"])
def test_plain_reader_on_a_multi_file_ome_tiff_reads_only_its_own_pages(
    tmp_path: Path, outside: Path, how: str
) -> None:
    names = {
        "relative": [NAMES[0], "../outside/secret.tif"],
        "absolute": [NAMES[0], str(outside)],
        "symlink": NAMES,
    }[how]
    first = _multi(tmp_path / "data", names)
    if how == "symlink":
        (tmp_path / "data" / NAMES[1]).unlink()
        os.symlink(outside, tmp_path / "data" / NAMES[1])
    with Reader(first, reader="tiff") as r:
        data = r.get_image_data()
    _never_read(outside, data)
    np.testing.assert_array_equal(data.reshape(16, 24), tifffile.imread(first, is_ome=False))


def test_ome_reader_refuses_a_member_linked_out_of_the_folder(tmp_path: Path, outside: Path) -> None:
    first = _multi(tmp_path / "data", NAMES)
    (tmp_path / "data" / NAMES[1]).unlink()
    os.symlink(outside, tmp_path / "data" / NAMES[1])
    with pytest.raises(CorruptFileError, match="points outside the dataset folder"):
        Reader(first)


def test_a_link_to_a_whole_multi_file_set_is_followed(tmp_path: Path) -> None:
    first = _multi(tmp_path / "data", NAMES)
    (tmp_path / "mine").symlink_to(tmp_path / "data")
    with Reader(tmp_path / "mine" / first.name) as r:
        np.testing.assert_array_equal(r.get_image_data("ZYX"), np.stack([_plane(0), _plane(1)]))


@pytest.mark.parametrize("keep", [0, 100, 500])
def test_truncated_member_of_a_multi_file_set_never_reads_as_zeros(tmp_path: Path, keep: int) -> None:
    first = _multi(tmp_path / "data", NAMES)
    member = tmp_path / "data" / NAMES[1]
    member.write_bytes(member.read_bytes()[:keep])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Reader(first) as r:
                data = r.get_image_data("ZYX")
        except ScitiffReadersError:
            return
    # Read: then it must have said so, and never pass zeros off as the plane.
    assert any(issubclass(w.category, CorruptFileWarning) for w in caught)
    np.testing.assert_array_equal(data[0], _plane(0))


def _pages(path: Path, n: int = 6) -> bytes:
    with tifffile.TiffWriter(path) as w:
        for i in range(n):
            w.write(np.full((16, 16), i + 1, np.uint8), contiguous=False)
    return path.read_bytes()


def _loop(data: bytes, k: int, j: int) -> bytes:
    bo, big, ifds = tiff_ifds(data)
    out = bytearray(data)
    struct.pack_into(bo + ("Q" if big else "I"), out, ifds[k].next_at, ifds[j].offset)
    return bytes(out)


def _ome(path: Path) -> bytes:
    data = (np.arange(2 * 3 * 16 * 16) % 251).astype(np.uint8).reshape(2, 3, 16, 16)
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "CZYX"})
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["plain", "ome"])
def test_ifd_chain_looping_back_warns_or_raises_never_repeats_pages(tmp_path: Path, kind: str) -> None:
    src = tmp_path / f"src.{kind}.tif"
    data = _pages(src) if kind == "plain" else _ome(src)
    reference = tifffile.imread(src)
    n = len(tiff_ifds(data)[2])
    for k in range(n):
        for j in range(k + 1):
            path = tmp_path / f"loop-{k}-{j}.{kind}.tif"
            path.write_bytes(_loop(data, k, j))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    with Reader(path) as r:
                        got = r.get_image_data()
                except ScitiffReadersError:
                    continue
            same = got.size == reference.size and (got.reshape(reference.shape) == reference).all()
            assert same or any(issubclass(w.category, CorruptFileWarning) for w in caught), (k, j)


def test_file_cut_inside_its_ifd_chain_is_refused_or_reported(tmp_path: Path) -> None:
    data = _pages(tmp_path / "src.tif")
    _, _, ifds = tiff_ifds(data)
    for cut in range(ifds[3].offset - 4, ifds[3].offset + 40):
        path = tmp_path / "cut.tif"
        path.write_bytes(data[:cut])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with Reader(path) as r:
                    shape = r.shape
            except ScitiffReadersError:
                continue
        assert shape[2] == 6 or any(issubclass(w.category, CorruptFileWarning) for w in caught), cut


@pytest.mark.parametrize(("tag", "value"), [(256, 2**32 - 1), (257, 2**32 - 1), (257, 2**31 - 1)])
def test_hostile_image_size_in_a_one_strip_tiff_is_typed(tmp_path: Path, tag: int, value: int) -> None:
    """A few hundred bytes declaring gigapixels: never an untyped MemoryError."""
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, np.zeros((16, 16), np.uint16))
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        entry = tif.pages.first.tags[tag].offset
    struct.pack_into("<I", data, entry + 8, value)
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptFileWarning)
        try:
            reader = Reader(path)
        except ScitiffReadersError:
            return
        with reader, pytest.raises((CorruptFileError, ImageTooLargeError)):
            reader.get_image_data()


def test_huge_ome_plane_count_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "planes.ome.tif"
    tifffile.imwrite(path, np.zeros((2, 8, 8), np.uint8), ome=True, metadata={"axes": "ZYX"})
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata.replace('SizeZ="2"', 'SizeZ="100000000"')
    big = tmp_path / "big.ome.tif"
    tifffile.imwrite(big, np.zeros((2, 8, 8), np.uint8), description=xml, metadata=None)
    with pytest.raises(ScitiffReadersError, match="declares 100000000 planes"):
        Reader(big)


@pytest.mark.parametrize("companion", [False, True])
def test_huge_declared_plane_size_is_refused_before_tifffile_lists_pages(
    tmp_path: Path, companion: bool
) -> None:
    """SizeX of 2**31 - 1 over 24 x 16 pages: tifffile would list 179 million pages (seconds, 1.4 GB)."""
    import time

    first = _multi(tmp_path / "data", NAMES)
    xml = _xml(UUIDS[0], _tiffdata(NAMES)).replace('SizeX="24"', 'SizeX="2147483647"')
    if companion:
        path = tmp_path / "data" / "set.companion.ome"
        path.write_text(
            xml.replace(UUIDS[0], "urn:uuid:33333333-3333-3333-3333-333333333333"), encoding="utf-8"
        )
    else:
        tifffile.imwrite(first, _plane(0), description=xml, metadata=None)
        path = first
    start = time.perf_counter()
    with pytest.raises(
        MetadataError, match=r"declares images .* of 178956970 pages .* more than the dataset has bytes"
    ):
        Reader(path)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("order", ["ZYXCT", "XYZCTT", ""])
def test_invalid_dimension_order_is_typed_or_warned(tmp_path: Path, order: str) -> None:
    path = tmp_path / "order.ome.tif"
    tifffile.imwrite(path, np.zeros((2, 8, 8), np.uint8), ome=True, metadata={"axes": "ZYX"})
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata.replace('DimensionOrder="XYZCT"', f'DimensionOrder="{order}"')
    tifffile.imwrite(path, np.zeros((2, 8, 8), np.uint8), description=xml, metadata=None)
    try:
        with Reader(path) as r:
            assert r.get_image_data().shape[-2:] == (8, 8)
    except ScitiffReadersError:
        pass


def test_file_name_of_5000_characters_is_typed(tmp_path: Path) -> None:
    first = _multi(tmp_path / "data", [NAMES[0], "x" * 5000 + ".tif"])
    message = ""
    try:
        with Reader(first) as r:
            r.get_image_data()
    except ScitiffReadersError as exc:
        message = str(exc)
    assert len(message) < 6000


def test_copy_of_the_dataset_reads_like_the_original(tmp_path: Path) -> None:
    first = _multi(tmp_path / "data", NAMES)
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    with Reader(first) as a, Reader(tmp_path / "copy" / first.name) as b:
        np.testing.assert_array_equal(a.get_image_data(), b.get_image_data())
