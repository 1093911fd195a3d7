"""Re-opening an unchanged OME-TIFF re-uses its parse; a changed file is always parsed again."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
from scitiff_readers_tiff.lazypages import fast_open_cache
from scitiff_readers_tiff.omexml import OmeXmlWarning

from scitiff_readers import Reader
from scitiff_readers.backend import MISSING
from scitiff_readers.testing import let_files_age, open_handles_under, short_cache_window

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def _short_racy_window() -> Iterator[None]:
    with short_cache_window():
        yield


_age = let_files_age


def _write_ome(path: Path, data: np.ndarray, size_x: float, names: list[str]) -> None:
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            "axes": "TCZYX",
            "PhysicalSizeX": size_x,
            "PhysicalSizeXUnit": "µm",
            "Channel": {"Name": names},
        },
    )


def test_rewritten_in_place_gives_the_new_pixels_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    rng = np.random.default_rng(0)
    first = rng.integers(0, 4000, (2, 2, 5, 16, 24), dtype=np.uint16)
    _write_ome(path, first, 0.5, ["a", "b"])
    _age()
    with Reader(path) as reader:
        np.testing.assert_array_equal(reader.get_image_data("YX", T=1, C=1, Z=3), first[1, 1, 3])
    assert fast_open_cache.get(path) is not MISSING  # the unchanged file's parse is kept ...
    with Reader(path) as reader:  # ... and re-used
        np.testing.assert_array_equal(reader.get_image_data("ZYX", T=0, C=1), first[0, 1])
    # Same path, same size, new pixels and metadata, written right away.
    second = rng.integers(0, 4000, first.shape, dtype=np.uint16)
    _write_ome(path, second, 0.75, ["c", "d"])
    with tifffile.TiffFile(path) as tif:
        assert path.stat().st_size == tif.filehandle.size
    for _ in range(2):  # just written (not cacheable), then aged (parsed once more, then cached)
        with Reader(path) as reader:
            assert reader.reader_name == "ome-tiff"
            assert reader.channel_names == ["c", "d"]
            assert reader.physical_pixel_sizes.X == pytest.approx(0.75)
            np.testing.assert_array_equal(reader.get_image_data("YX", T=1, C=1, Z=3), second[1, 1, 3])
            with tifffile.TiffFile(path) as tif:
                np.testing.assert_array_equal(reader.get_image_data("TCZYX"), tif.series[0].asarray())
        _age()


def test_rewritten_as_another_kind_of_tiff_selects_the_right_reader(tmp_path: Path) -> None:
    path = tmp_path / "x.tif"
    ome = np.arange(2 * 3 * 8 * 10, dtype=np.uint16).reshape(1, 2, 3, 8, 10)
    _write_ome(path, ome, 1.0, ["a", "b"])
    _age()
    assert Reader(path).reader_name == "ome-tiff"
    assert Reader(path).reader_name == "ome-tiff"  # from the cached sniff
    imagej = np.arange(3 * 8 * 10, dtype=np.uint8).reshape(3, 8, 10)
    tifffile.imwrite(path, imagej, imagej=True, metadata={"axes": "ZYX"})
    with Reader(path) as reader:
        assert reader.reader_name == "tiff"
        np.testing.assert_array_equal(reader.get_image_data("ZYX"), imagej)
    _age()
    assert Reader(path).reader_name == "tiff"
    _write_ome(path, ome, 1.0, ["a", "b"])
    with Reader(path) as reader:
        assert reader.reader_name == "ome-tiff"
        np.testing.assert_array_equal(reader.get_image_data("CZYX"), ome[0])


def test_readers_sharing_a_cached_parse_read_correct_planes(tmp_path: Path) -> None:
    path = tmp_path / "many.ome.tif"
    data = np.arange(40 * 6 * 7, dtype=np.uint16).reshape(1, 1, 40, 6, 7)
    _write_ome(path, data, 1.0, ["a"])
    _age()
    a, b = Reader(path), Reader(path)
    with tifffile.TiffFile(path) as tif:
        for z in (7, 31, 0):
            np.testing.assert_array_equal(a.get_image_data("YX", Z=z), tif.pages[z].asarray())
            np.testing.assert_array_equal(b.get_image_data("YX", Z=z + 1), tif.pages[z + 1].asarray())
    # A reader opened later re-uses the page offsets found so far; a pickled one looks
    # pages up on its own.
    c = Reader(path)
    restored = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(c.get_image_data("ZYX"), data[0, 0])
    np.testing.assert_array_equal(restored.get_image_data("YX", Z=39), data[0, 0, 39])
    np.testing.assert_array_equal(restored.xarray_dask_data.compute().values, data)
    for reader in (a, b, c, restored):
        reader.close()


def test_ome_xml_problems_are_warned_at_every_open(tmp_path: Path) -> None:
    path = tmp_path / "odd.ome.tif"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        '<Image ID="Image:0" Name="odd"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="8" '
        'SizeY="6" SizeZ="1" SizeC="1" SizeT="1" PhysicalSizeX="abc">'
        '<Channel ID="Channel:0:0" Name="only" SamplesPerPixel="1"/><TiffData IFD="0" PlaneCount="1"/>'
        "</Pixels></Image></OME>"
    )
    tifffile.imwrite(path, np.full((6, 8), 3, np.uint8), description=xml, metadata=None)
    _age()
    for _ in range(2):  # the second open re-uses the parse and still warns
        with pytest.warns(OmeXmlWarning, match="PhysicalSizeX"):
            reader = Reader(path)
        with reader:
            assert reader.channel_names == ["only"]
            assert reader.get_image_data("YX").max() == 3
    assert fast_open_cache.get(path) is not MISSING


def test_tiff_handed_to_the_first_page_lookup_is_closed_with_the_reader(tmp_path: Path) -> None:
    """Open keeps its TiffFile open for the first read; close (or garbage collection) releases it."""
    import gc

    from scitiff_readers.testing import open_handles_under

    data = (np.arange(4 * 32 * 48) % 251).astype(np.uint16).reshape(4, 32, 48)
    path = tmp_path / "handover.ome.tif"
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "ZYX"})
    # Opened but never read, then closed: nothing stays open.
    reader = Reader(path)
    assert open_handles_under(tmp_path) == [str(path.resolve())]
    reader.close()
    assert open_handles_under(tmp_path) == []
    # Never read, never closed: garbage collection releases it.
    reader = Reader(path)
    del reader
    gc.collect()
    assert open_handles_under(tmp_path) == []
    # Read, never closed, its parse dropped from the cache: the page look-up's handle goes too.
    reader = Reader(path)
    np.testing.assert_array_equal(reader.get_image_data("YX", Z=1), data[1])
    assert open_handles_under(tmp_path) != []
    del reader
    fast_open_cache.clear()
    gc.collect()
    assert open_handles_under(tmp_path) == []
    # Read after close: the look-up re-opens the file, and the planes are right.
    with Reader(path) as reader:
        reader.close()
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=2), data[2])
        np.testing.assert_array_equal(reader.get_image_data("ZYX"), data)
    assert open_handles_under(tmp_path) == []
    # Two readers share the cached parse: closing the first leaves the second readable.
    let_files_age()
    first = Reader(path)
    second = Reader(path)
    # The second reader re-uses the first one's parse, page look-up included.
    assert second.image().source._lookup is first.image().source._lookup
    first.close()
    np.testing.assert_array_equal(second.get_image_data("YX", Z=3), data[3])
    second.close()
    assert open_handles_under(tmp_path) == []


def test_reading_plane_after_plane_neither_reparses_nor_reopens_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    import tifffile.tifffile as tifffile_module

    data = (np.arange(6 * 16 * 24) % 251).astype(np.uint16).reshape(6, 16, 24)
    path = tmp_path / "planes.ome.tif"
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "ZYX"})
    calls = {"open": 0, "parse": 0}
    real_init = tifffile.TiffFile.__init__

    def counting_open(*args: Any, **kwargs: Any) -> Any:  # tifffile's open() of the file
        calls["open"] += 1
        return builtins.open(*args, **kwargs)

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        calls["parse"] += 1
        real_init(self, *args, **kwargs)

    from scitiff_readers import backend as ifd

    real_chain = ifd.IfdChain.__init__
    real_handle = ifd.IfdChain._handle

    def counting_chain(self: Any, *args: Any, **kwargs: Any) -> None:
        calls["chain"] += 1
        real_chain(self, *args, **kwargs)

    def counting_handle(self: Any) -> int:
        calls["fd"] += self._fd is None  # an os.open of the file
        return real_handle(self)

    calls.update(chain=0, fd=0)
    monkeypatch.setattr(tifffile_module, "open", counting_open, raising=False)
    monkeypatch.setattr(tifffile.TiffFile, "__init__", counting_init)
    monkeypatch.setattr(ifd.IfdChain, "__init__", counting_chain)
    monkeypatch.setattr(ifd.IfdChain, "_handle", counting_handle)
    # The OME-TIFF open reads the IFDs itself, no TiffFile: it continues the chain the
    # sniff of the same Reader() call read the first IFD with (handed over, still open:
    # see scitiff_readers._handoff), so the open itself builds no chain and opens no handle.
    # The sniff parses the first IFD with the same parser (a chain and a handle of its
    # own per parse; parsed again per backend while the new file is too young to cache).
    # Only the sniff lists a first IFD's raw entries (the open parses pages).
    real_entries = ifd.IfdChain.entries

    def counting_sniff(self: Any, index: int) -> Any:
        calls["chain"] -= 1
        calls["fd"] -= 1
        return real_entries(self, index)

    monkeypatch.setattr(ifd.IfdChain, "entries", counting_sniff)
    opened = {"open": 0, "parse": 0, "chain": 0, "fd": 0}
    with Reader(path) as reader:
        assert calls == opened  # the open itself
        for z in range(6):  # each plane's page is looked up on its first read
            np.testing.assert_array_equal(reader.get_image_data("YX", Z=z), data[z])
        assert calls == opened
        assert str(path.resolve()) in open_handles_under(tmp_path)
    assert open_handles_under(tmp_path) == []


@pytest.mark.parametrize("tile", [None, (16, 16)], ids=["strips", "tiles-narrower-than-the-image"])
def test_pages_looked_up_by_another_reader_are_judged_before_reading(tmp_path: Path, tile: Any) -> None:
    # Two readers of one unchanged file share the page offsets found so far; a page the
    # other reader looked up must still go through the one raw-path decision.
    path = tmp_path / "a.ome.tif"
    data = np.random.default_rng(3).integers(0, 4000, (1, 1, 6, 32, 48), dtype=np.uint16)
    tifffile.imwrite(path, data, ome=True, tile=tile, metadata={"axes": "TCZYX"})
    _age()
    a, b = Reader(path), Reader(path)
    np.testing.assert_array_equal(b.get_image_data("YX", Z=0), data[0, 0, 0])  # b judges what it knows
    np.testing.assert_array_equal(a.get_image_data("YX", Z=4), data[0, 0, 4])  # a looks page 4 up
    np.testing.assert_array_equal(b.get_image_data("YX", Z=4), data[0, 0, 4])
    np.testing.assert_array_equal(b.get_image_data("ZYX", Z=[4, 2]), data[0, 0, [4, 2]])
    np.testing.assert_array_equal(b.data, data)
    a.close()
    b.close()


def test_graph_name_is_made_on_first_use_and_names_the_file_as_parsed(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    data = np.arange(2 * 3 * 8 * 8, dtype=np.uint16).reshape(2, 1, 3, 8, 8)
    _write_ome(path, data, 0.5, ["a"])
    _age()
    st = path.stat()
    with Reader(path) as reader:
        np.testing.assert_array_equal(reader.get_image_data("YX", T=1, Z=2), data[1, 0, 2])
        source = reader.image().source
        assert source.__dict__.get("_token") is None  # a plane read names no graph
        token = source.token
        # Path, modification time and size of the file as it was parsed (os.stat's, not ours).
        assert f"-{st.st_mtime_ns}-{st.st_size}-" in token
        assert str(path) in token
        clone = pickle.loads(pickle.dumps(source))
        assert clone.token == token
        np.testing.assert_array_equal(reader.dask_data.compute(), tifffile.imread(path).reshape(data.shape))
        name = reader.dask_data.name
    with Reader(path) as again:  # the cached parse: the same names
        assert again.image().source.token == token
        assert again.dask_data.name == name
    _write_ome(path, data[:, :, :2].copy(), 0.5, ["a"])  # rewritten: another size, another name
    _age()
    with Reader(path) as rewritten:
        assert rewritten.image().source.token != token
        assert rewritten.dask_data.name != name
