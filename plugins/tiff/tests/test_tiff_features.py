"""OME-TIFF / TIFF behaviour beyond the conformance suite: errors, lenient XML, the shared page API."""

from __future__ import annotations

import gc
import pickle
import uuid
import warnings
from pathlib import Path

import numpy as np
import ome_types
import pytest
import tifffile
from scitiff_readers_tiff.calibration import imagej_info
from scitiff_readers_tiff.omexml import OmeXmlWarning
from scitiff_readers_tiff.series import hyperstack_source
from scitiff_readers_tiff.source import TiffPageSource

from scitiff_readers import Reader
from scitiff_readers.errors import CorruptFileError, CorruptFileWarning, MetadataError
from scitiff_readers.testing import open_handles_under


def _multifile(folder: Path, second_name: str) -> Path:
    u0, u1 = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    master = folder / "master.ome.tif"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        f'UUID="{u0}"><Image ID="Image:0" Name="m"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" '
        'SizeX="8" SizeY="6" SizeZ="2" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f'<TiffData FirstZ="0" IFD="0" PlaneCount="1"><UUID FileName="master.ome.tif">{u0}</UUID></TiffData>'
        f'<TiffData FirstZ="1" IFD="0" PlaneCount="1"><UUID FileName="{second_name}">{u1}</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    tifffile.imwrite(master, np.ones((6, 8), np.uint8), description=xml, metadata=None)
    return master


def test_missing_multifile_part_is_a_clear_error(tmp_path: Path) -> None:
    master = _multifile(tmp_path, "part2.ome.tif")
    with Reader(master) as reader:
        assert reader.scenes == ("m",)  # metadata is still available
        with pytest.raises(FileNotFoundError, match=r"part2\.ome\.tif"):
            _ = reader.dims
    # Once the file is there, the dataset reads.
    tifffile.imwrite(tmp_path / "part2.ome.tif", np.full((6, 8), 7, np.uint8), metadata=None)
    with Reader(master) as reader:
        data = reader.get_image_data("ZYX")
        assert data[0].min() == 1
        assert data[1].min() == 7


def test_multifile_name_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    tifffile.imwrite(tmp_path / "outside.ome.tif", np.zeros((6, 8), np.uint8), metadata=None)
    master = _multifile(inner, "../outside.ome.tif")
    with pytest.raises(CorruptFileError, match="outside"):
        Reader(master)


def test_malformed_ome_xml_warns_and_reads_pixels(tmp_path: Path) -> None:
    path = tmp_path / "broken.ome.tif"
    data = np.arange(3 * 6 * 8, dtype=np.uint16).reshape(3, 6, 8)
    broken = '<?xml version="1.0"?><OME><Image ID="Image:0"><Pixels SizeX="8"></Image></OME>'
    tifffile.imwrite(path, data, description=broken, metadata=None, photometric="minisblack")
    with (
        pytest.warns(CorruptFileWarning, match=r"broken\.ome\.tif: .*OME series raised ParseError"),
        pytest.warns(OmeXmlWarning, match="broken.ome.tif"),
    ):
        reader = Reader(path)
    with reader:
        assert reader.reader_name == "ome-tiff"
        np.testing.assert_array_equal(reader.get_image_data("ZYX"), tifffile.imread(path))
        assert reader.ome_xml == broken
        with pytest.warns(OmeXmlWarning):
            ome = reader.ome_metadata
        assert ome is not None


def test_non_conforming_values_warn_and_keep_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "odd.ome.tif"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        '<Image ID="Image:0" Name="odd"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="8" '
        'SizeY="6" SizeZ="1" SizeC="1" SizeT="1" PhysicalSizeX="abc" PhysicalSizeY="0.5">'
        '<Channel ID="Channel:0:0" Name="only" SamplesPerPixel="1"/><TiffData IFD="0" PlaneCount="1"/>'
        "</Pixels></Image></OME>"
    )
    tifffile.imwrite(path, np.zeros((6, 8), np.uint8), description=xml, metadata=None)
    with pytest.warns(OmeXmlWarning, match="PhysicalSizeX"):
        reader = Reader(path)
    with reader:
        assert reader.physical_pixel_sizes.X is None
        assert reader.physical_pixel_sizes.Y == 0.5
        assert reader.channel_names == ["only"]


@pytest.mark.parametrize("bad", ["\x01", "\x0b", "\x1f"])
def test_control_characters_in_the_ome_xml_are_dropped(tmp_path: Path, bad: str) -> None:
    # Some writers leave control characters (never well-formed XML) in names; the rest is kept.
    path = tmp_path / "ctl.ome.tif"
    clean = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        '<Image ID="Image:0" Name="ctl"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="8" '
        'SizeY="6" SizeZ="3" SizeC="2" SizeT="1" PhysicalSizeX="0.25">'
        '<Channel ID="Channel:0:0" Name="DAPI" SamplesPerPixel="1"/>'
        '<Channel ID="Channel:0:1" Name="GFP" SamplesPerPixel="1"/><TiffData IFD="0" PlaneCount="6"/>'
        "</Pixels></Image></OME>"
    )
    dirty = clean.replace('Name="GFP"', f'Name="G{bad}FP"').replace("<Image", f"{bad}<Image")
    data = np.arange(6 * 6 * 8, dtype=np.uint8).reshape(6, 6, 8)
    tifffile.imwrite(path, data, description=dirty, metadata=None, photometric="minisblack")
    expected = ome_types.from_xml(clean, validate=False).images[0].pixels  # the reference reads the clean XML
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptFileWarning)  # tifffile's own view of the XML
        reader = Reader(path, reader="ome-tiff")
    with reader:
        assert reader.channel_names == [c.name for c in expected.channels]
        assert reader.physical_pixel_sizes.X == expected.physical_size_x
        assert reader.dims.order == "TCZYX"
        assert (reader.dims.C, reader.dims.Z) == (expected.size_c, expected.size_z)
        # XYZCT: page = z + 3 * c
        np.testing.assert_array_equal(reader.get_image_data("YX", C=1, Z=2), data[5])
        assert reader.ome_xml == dirty


def test_ome_metadata_is_an_ome_types_model(tmp_path: Path) -> None:
    path = tmp_path / "m.ome.tif"
    tifffile.imwrite(
        path,
        np.zeros((2, 6, 8), np.uint8),
        ome=True,
        metadata={"axes": "CYX", "Channel": {"Name": ["a", "b"]}, "PhysicalSizeX": 0.3},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Reader(path) as reader:
            ome = reader.ome_metadata
            assert type(ome).__name__ == "OME"
            assert [c.name for c in ome.images[0].pixels.channels] == ["a", "b"]
            assert ome.images[0].pixels.physical_size_x == pytest.approx(0.3)
            assert reader.scene_ids == ("Image:0",)


def test_pyramid_levels_scale_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "pyr.ome.tif"
    data = np.arange(64 * 96, dtype=np.uint16).reshape(64, 96)
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(data, subifds=2, metadata={"axes": "YX", "PhysicalSizeX": 0.4, "PhysicalSizeY": 0.4})
        tw.write(data[::2, ::2], subfiletype=1)
        tw.write(data[::4, ::4], subfiletype=1)
    with Reader(path) as reader:
        assert reader.resolution_levels == (0, 1, 2)
        reader.set_resolution_level(2)
        assert reader.shape == (1, 1, 1, 16, 24)
        assert reader.physical_pixel_sizes.X == pytest.approx(1.6)
        np.testing.assert_allclose(reader.coords["X"].values, np.arange(24) * 1.6)
        np.testing.assert_array_equal(reader.get_image_data("YX"), data[::4, ::4])


def test_truncated_file_raises_corrupt_file_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.ome.tif"
    tifffile.imwrite(path, np.ones((4, 64, 64), np.uint16), ome=True, metadata={"axes": "ZYX"})
    with tifffile.TiffFile(path) as tif:
        last = tif.pages[-1].dataoffsets[0]
    with Reader(path) as reader:
        # The file shrinks after it was opened (overwritten / partially copied).
        with open(path, "r+b") as fh:
            fh.truncate(last + 100)
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=0), 1)
        with pytest.raises(CorruptFileError, match=r"cut\.ome\.tif.*(truncated|end of the file)"):
            reader.get_image_data("ZYX")


def test_corrupt_compressed_tile_raises_corrupt_file_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.ome.tif"
    tifffile.imwrite(
        path,
        np.arange(64 * 64, dtype=np.uint16).reshape(64, 64),
        ome=True,
        tile=(32, 32),
        compression="zlib",
        metadata={"axes": "YX"},
    )
    with tifffile.TiffFile(path) as tif:
        offset, count = tif.pages[0].dataoffsets[3], tif.pages[0].databytecounts[3]
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xff" * count)
    with Reader(path) as reader:
        np.testing.assert_array_equal(
            reader.get_image_data("YX", Y=slice(0, 32)),
            np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)[:32],
        )
        with pytest.raises(CorruptFileError, match=r"bad\.ome\.tif.*tile 3"):
            reader.get_image_data("YX")


def test_dim_order_and_channel_names_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, np.zeros((4, 6, 8), np.uint8), metadata=None, photometric="minisblack")
    with pytest.raises(MetadataError, match="dim_order"):
        Reader(path, reader="tiff", dim_order="TZYX")
    with Reader(path, reader="tiff", dim_order="TYX") as reader:
        assert reader.dims.T == 4
        assert reader.dims.Z == 1
        assert reader.reader_options["dim_order"] == "TYX"
    with (
        Reader(path, reader="tiff", channel_names=["a", "b"]) as reader,
        pytest.raises(MetadataError, match="2 names"),
    ):
        _ = reader.channel_names


def test_hyperstack_source_api(tmp_path: Path) -> None:
    """The shared entry point the SciTiff backend uses: ImageJ TZC page order, zero-copy, picklable."""
    path = tmp_path / "hs.tif"
    data = np.arange(2 * 3 * 4 * 16 * 20, dtype=np.float32).reshape(2, 3, 4, 16, 20)  # T Z C Y X
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZCYX", "spacing": 1.5})
    source = hyperstack_source(path, (2, 4, 3, 16, 20), page_order="TZC")
    assert isinstance(source, TiffPageSource)
    assert source.is_strided
    assert source.storage_chunks == (1, 1, 1, 16, 20)
    full = tuple(slice(0, n) for n in source.shape)
    np.testing.assert_array_equal(source.read(full), data.transpose(0, 2, 1, 3, 4))
    clone = pickle.loads(pickle.dumps(source))
    assert len(pickle.dumps(source)) < 4000
    region = (slice(1, 2), slice(2, 4), slice(0, 3), slice(3, 9), slice(5, 17))
    np.testing.assert_array_equal(clone.read(region), data.transpose(0, 2, 1, 3, 4)[tuple(region)])
    out = np.zeros((1, 2, 3, 6, 12), np.float32)
    clone.read_into(out, region)
    np.testing.assert_array_equal(out, data.transpose(0, 2, 1, 3, 4)[tuple(region)])
    clone.close()
    source.close()
    meta, description = imagej_info(path)
    assert meta is not None
    assert meta["spacing"] == 1.5
    assert description.startswith("ImageJ=")
    with pytest.raises(MetadataError):
        hyperstack_source(path, (2, 4, 3, 16, 21))


def test_big_regions_are_copy_on_write_views_that_release_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.ome.tif"
    data = np.arange(6 * 512 * 512, dtype=np.uint16).reshape(6, 512, 512)  # 3 MiB
    tifffile.imwrite(path, np.stack([data, data]), ome=True, metadata={"axes": "CZYX"})  # 6 MiB
    with Reader(path) as reader:
        source = reader.image().source
        block = source.read(tuple(slice(0, n) for n in source.shape))
        assert not block.flags.owndata, "a big strided region should be a view, not a copy"
        assert block.flags.writeable
        block[0, 0, 0, 0, 0] = 12345  # private copy-on-write: the file is unchanged
        assert tifffile.imread(path)[0, 0, 0, 0] == 0
        np.testing.assert_array_equal(block[0, 1], data)
        del block
        gc.collect()
    assert open_handles_under(path) == []


def test_compressed_sub_plane_reads_decode_only_needed_tiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tiles.ome.tif"
    data = np.arange(128 * 128, dtype=np.uint16).reshape(128, 128)
    tifffile.imwrite(path, data, ome=True, tile=(32, 32), compression="zstd", metadata={"axes": "YX"})
    with Reader(path) as reader:
        source = reader.image().source
        calls: list[int] = []
        original = source.files[0].pread

        def counting(offset: int, length: int) -> bytes:
            calls.append(offset)
            return original(offset, length)

        monkeypatch.setattr(source.files[0], "pread", counting)
        part = reader.get_image_data("YX", Y=slice(40, 60), X=slice(60, 90))
        np.testing.assert_array_equal(part, data[40:60, 60:90])
        assert len(calls) == 1 * 2  # one tile row (32..64) x two tile columns (32..64, 64..96)


def test_plain_tiff_pyramid_levels(tmp_path: Path) -> None:
    """A non-OME tifffile pyramid (SubIFDs) is read by the generic reader with its levels."""
    data = np.arange(64 * 96, dtype=np.uint16).reshape(64, 96)
    path = tmp_path / "pyr.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(data, subifds=1, tile=(32, 32), metadata=None)
        tw.write(data[::2, ::2], subfiletype=1, tile=(32, 32))
    with Reader(path) as reader:
        assert reader.reader_name == "tiff"
        assert reader.resolution_levels == (0, 1)
        reader.set_resolution_level(1)
        np.testing.assert_array_equal(reader.get_image_data("YX"), data[::2, ::2])


def test_single_file_ome_opens_from_the_xml_and_looks_pages_up_lazily(tmp_path: Path) -> None:
    from scitiff_readers_tiff.lazypages import LazyPageSource

    path = tmp_path / "lazy.ome.tif"
    data = np.arange(50 * 8 * 6, dtype=np.uint16).reshape(50, 8, 6)
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "ZYX"})
    with Reader(path) as reader:
        source = reader.image().source
        assert isinstance(source, LazyPageSource)
        assert not source.resolved.any(), "opening must not read every IFD"
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=37), data[37])
        assert source.resolved.sum() == 1
        clone = pickle.loads(pickle.dumps(source))  # a worker looks pages up itself
        np.testing.assert_array_equal(clone.read_plane(0, 0, 12, slice(0, 8), slice(0, 6)), data[12])
        clone.close()
        np.testing.assert_array_equal(reader.get_image_data("ZYX"), data)
        assert source.resolved.all()
        assert source.is_strided


def test_ome_coordinates_are_derived_when_first_asked_for(tmp_path: Path) -> None:
    """Opening and reading a plane derive no coordinates; asking gives the OME-XML's values."""
    from scitiff_readers.backend import LazyCoords

    path = tmp_path / "coords.ome.tif"
    data = np.arange(3 * 2 * 8 * 6, dtype=np.uint16).reshape(3, 2, 8, 6)
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={"axes": "ZCYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0},
    )
    with Reader(path) as reader:
        coords = reader.image().coords
        assert isinstance(coords, LazyCoords)
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=2, C=1), data[2, 1])
        assert not coords.built
        pixels = ome_types.from_tiff(path).images[0].pixels
        np.testing.assert_allclose(reader.coords["X"].values, np.arange(6) * pixels.physical_size_x)
        np.testing.assert_allclose(reader.coords["Y"].values, np.arange(8) * pixels.physical_size_y)
        np.testing.assert_allclose(reader.coords["Z"].values, np.arange(3) * pixels.physical_size_z)
        assert coords.built


def test_dims_and_a_plane_read_build_no_image_and_leave_no_file_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dims, shape, dtype and a plane come from the pixel source: no Image (sizes, names) is built."""
    from scitiff_readers_tiff.ome import OmeTiffReader

    path = tmp_path / "plane.ome.tif"
    data = np.arange(2 * 3 * 4 * 8 * 6, dtype=np.uint16).reshape(2, 3, 4, 8, 6)
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "TZCYX", "PhysicalSizeX": 0.25})
    built: list[tuple[int, int]] = []
    image = OmeTiffReader._image

    def counting(self: OmeTiffReader, scene: int, level: int) -> object:
        built.append((scene, level))
        return image(self, scene, level)

    monkeypatch.setattr(OmeTiffReader, "_image", counting)
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        shape, dtype = series.shape, series.dtype
    with Reader(path, reader="ome-tiff") as reader:
        tczyx = (shape[0], shape[2], shape[1], *shape[3:])  # from tifffile's TZCYX
        assert (reader.dims.order, reader.dims.shape) == ("TCZYX", tczyx)
        assert reader.shape == tczyx
        assert reader.dtype == dtype
        np.testing.assert_array_equal(reader.get_image_data("YX", T=1, C=3, Z=2), data[1, 2, 3])
        assert built == []
        # Asked for later, the Image holds the very source the plane was read from.
        assert reader.physical_pixel_sizes.X == 0.25
        np.testing.assert_array_equal(
            reader.image().source.read_plane(1, 3, 2, slice(0, 8), slice(0, 6)), data[1, 2, 3]
        )
        assert built == [(0, 0)]
    assert open_handles_under(path) == []
    with Reader(path, reader="ome-tiff") as reader:  # closed without an Image ever built
        np.testing.assert_array_equal(reader.get_image_data("YX", T=0, C=1, Z=0), data[0, 0, 1])
    assert open_handles_under(path) == []
    assert built == [(0, 0)]


def test_tiffdata_blocks_map_planes_like_tifffile(tmp_path: Path) -> None:
    """Planes stored out of order, mapped by TiffData FirstC/FirstZ/IFD: same pixels as tifffile."""
    path = tmp_path / "shuffled.ome.tif"
    pages = np.stack([np.full((4, 5), v, np.uint8) for v in (11, 22, 33, 44)])
    blocks = [(0, 1, 1), (1, 0, 0), (2, 1, 0), (3, 0, 1)]  # (IFD, FirstZ, FirstC)
    tiffdata = "".join(
        f'<TiffData IFD="{i}" FirstZ="{z}" FirstC="{c}" PlaneCount="1"/>' for i, z, c in blocks
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        '<Image ID="Image:0" Name="s"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="5" '
        'SizeY="4" SizeZ="2" SizeC="2" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f'<Channel ID="Channel:0:1" SamplesPerPixel="1"/>{tiffdata}</Pixels></Image></OME>'
    )
    tifffile.imwrite(path, pages, description=xml, metadata=None, photometric="minisblack")
    with Reader(path) as reader:
        got = reader.get_image_data("CZYX")
    reference = tifffile.imread(path)  # tifffile's OME series: axes 'CZYX'
    np.testing.assert_array_equal(got, reference)
    assert got[1, 1, 0, 0] == 11
    assert got[0, 0, 0, 0] == 22
    assert got[0, 1, 0, 0] == 33
    assert got[1, 0, 0, 0] == 44


def test_scene_whose_file_is_missing_stays_a_scene_and_raises_clearly(tmp_path: Path) -> None:
    u0, u1 = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    master = tmp_path / "two.ome.tif"
    pixels = (
        '<Pixels ID="Pixels:{i}" DimensionOrder="XYZCT" Type="uint8" SizeX="8" SizeY="6" SizeZ="1" SizeC="1" '
        'SizeT="1"><Channel ID="Channel:{i}:0" SamplesPerPixel="1"/>'
        '<TiffData IFD="0" PlaneCount="1"><UUID FileName="{name}">{u}</UUID></TiffData></Pixels>'
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        f'UUID="{u0}"><Image ID="Image:0" Name="here">{pixels.format(i=0, name=master.name, u=u0)}</Image>'
        f'<Image ID="Image:1" Name="gone">{pixels.format(i=1, name="gone.ome.tif", u=u1)}</Image></OME>'
    )
    tifffile.imwrite(master, np.full((6, 8), 5, np.uint8), description=xml, metadata=None)
    with Reader(master) as reader:
        assert reader.scenes == ("here", "gone")
        assert reader.get_image_data("YX").min() == 5
        reader.set_scene("gone")
        with pytest.raises(FileNotFoundError, match=r"gone\.ome\.tif"):
            reader.get_image_data("YX")


def test_plain_tiff_reduced_pages_are_levels(tmp_path: Path) -> None:
    """Older pyramids: reduced-resolution pages after the base page (no SubIFDs)."""
    data = np.arange(128 * 96, dtype=np.uint16).reshape(128, 96)
    path = tmp_path / "levels.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(data, metadata=None)
        tw.write(data[::2, ::2], metadata=None, subfiletype=1)
        tw.write(data[::4, ::4], metadata=None, subfiletype=1)
    with Reader(path) as reader:
        assert reader.reader_name == "tiff"
        assert reader.resolution_levels == (0, 1, 2)
        reader.set_resolution_level(2)
        assert reader.shape == (1, 1, 1, 32, 24)
        np.testing.assert_array_equal(reader.get_image_data("YX"), data[::4, ::4])


@pytest.mark.parametrize(
    "tile", [(80, 96), (64, 96), (32, 96)], ids=["one-padded-tile", "one-tile-row", "tile-rows"]
)
def test_uncompressed_tiles_wider_than_the_image(tmp_path: Path, tile: tuple[int, int]) -> None:
    """One padded tile bigger than a small image is not a run of image rows (a read-path regression)."""
    path = tmp_path / "wide.ome.tif"
    data = np.arange(70 * 90, dtype=np.uint16).reshape(70, 90)
    tifffile.imwrite(path, data, tile=tile, ome=True, metadata={"axes": "YX"})
    with Reader(path) as reader:
        np.testing.assert_array_equal(reader.get_image_data("YX"), tifffile.imread(path))
        np.testing.assert_array_equal(
            reader.get_image_data("YX", Y=slice(5, 60), X=slice(3, 80)), data[5:60, 3:80]
        )
        np.testing.assert_array_equal(reader.xarray_dask_data.values[0, 0, 0], data)


def _write_with_tiffdata(path: Path, data: np.ndarray, tiffdata: str, size_z: int) -> None:
    """Pages of ``data`` under a hand-written OME-XML whose one image has ``size_z`` planes."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        f'<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="{data.shape[2]}" '
        f'SizeY="{data.shape[1]}" SizeZ="{size_z}" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f"{tiffdata}</Pixels></Image></OME>"
    )
    with tifffile.TiffWriter(path) as tw:
        for k, page in enumerate(data):
            tw.write(page, metadata=None, description=xml.encode() if k == 0 else None)


@pytest.mark.parametrize(
    ("tiffdata", "planes"),
    [('<TiffData IFD="1" PlaneCount="3"/>', [1, 2, 3]), ("<TiffData/>", [0, 1, 2])],
    ids=["offset-block", "bare-block"],
)
def test_one_tiffdata_block_maps_planes_from_its_ifd(
    tmp_path: Path, tiffdata: str, planes: list[int]
) -> None:
    data = (np.arange(4 * 8 * 10) % 251).astype(np.uint16).reshape(4, 8, 10)
    path = tmp_path / "block.ome.tif"
    _write_with_tiffdata(path, data, tiffdata, size_z=3)
    with Reader(path) as reader:
        np.testing.assert_array_equal(reader.get_image_data("ZYX"), data[planes])
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=2), data[planes[2]])


@pytest.mark.parametrize(
    "tiffdata",
    ['<TiffData IFD="x"/>', '<TiffData IFD="-1" PlaneCount="3"/>', '<TiffData IFD="0" PlaneCount="-3"/>'],
    ids=["not-a-number", "negative-ifd", "negative-count"],
)
def test_tiffdata_numbers_that_are_not_counts_warn_and_read_the_pages(tmp_path: Path, tiffdata: str) -> None:
    """Never a page counted from the end, never tifffile's bare ValueError: a warning, and the pages."""
    data = (np.arange(4 * 8 * 10) % 251).astype(np.uint16).reshape(4, 8, 10)
    path = tmp_path / "bad.ome.tif"
    _write_with_tiffdata(path, data, tiffdata, size_z=3)
    with pytest.warns(OmeXmlWarning, match=r"bad\.ome\.tif: the OME-XML's TiffData of Image:0 has"):
        reader = Reader(path)
    with reader:
        assert reader.reader_name == "ome-tiff"
        np.testing.assert_array_equal(reader.get_image_data("ZYX"), data)


def test_tiffdata_beyond_the_last_page_is_a_corrupt_file(tmp_path: Path) -> None:
    data = (np.arange(4 * 8 * 10) % 251).astype(np.uint16).reshape(4, 8, 10)
    path = tmp_path / "short.ome.tif"
    _write_with_tiffdata(path, data, '<TiffData IFD="2" PlaneCount="3"/>', size_z=3)
    with Reader(path) as reader:
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=1), data[3])
        with pytest.raises(CorruptFileError, match=r"short\.ome\.tif: the OME-XML puts a plane in IFD 4"):
            reader.get_image_data("YX", Z=2)


# ------------------------------------------------------------------ issue cases
def test_uncompressed_tiles_that_divide_the_image_read_like_tifffile(tmp_path: Path) -> None:
    # Stored tile by tile, the bytes are contiguous but not row-major: no raw fast path.
    path = tmp_path / "tiled.tif"
    a = np.arange(256 * 320, dtype="uint16").reshape(256, 320)
    tifffile.imwrite(path, a, tile=(64, 64), photometric="minisblack")
    stack = tmp_path / "tiled_stack.tif"
    b = np.arange(3 * 256 * 320, dtype="uint16").reshape(3, 256, 320)
    tifffile.imwrite(stack, b, tile=(64, 64), photometric="minisblack")
    with Reader(path) as r:
        np.testing.assert_array_equal(r.data[0, 0, 0], tifffile.imread(path))
        np.testing.assert_array_equal(r.xarray_dask_data.values[0, 0, 0], tifffile.imread(path))
    with Reader(stack) as r:
        np.testing.assert_array_equal(r.get_image_data("YX", Z=1), tifffile.imread(stack, key=1))
        np.testing.assert_array_equal(r.data[0, 0], tifffile.imread(stack))


def _truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def test_undecodable_tag_value_is_not_called_damage(tmp_path: Path) -> None:
    """An intact file with a tag value tifffile cannot decode: a TiffTagWarning, tifffile's pixels, no damage claimed."""
    from scitiff_readers_tiff.common import TiffTagWarning

    path = tmp_path / "nodata.tif"
    data = np.arange(64, dtype=np.uint16).reshape(8, 8)
    tifffile.imwrite(path, data, extratags=[(42113, "s", 0, "not a number", True)])  # GDAL_NODATA
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Reader(path) as reader:
            pixels = reader.get_image_data("YX")
    kinds = [w.category for w in caught]
    assert kinds == [TiffTagWarning], [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert message.startswith(f"{path}: tifffile could not decode some metadata tags")
    assert "GDAL_NODATA" in message
    np.testing.assert_array_equal(pixels, tifffile.imread(path))


@pytest.mark.parametrize(
    ("writer", "fraction"), [("bio-formats", 1 / 3), ("tifffile", 1 / 3), ("tifffile", 0.9)]
)
def test_truncated_ome_tiff_warns_and_reads_what_tifffile_reads(
    tmp_path: Path, writer: str, fraction: float
) -> None:
    # Bio-Formats and tifffile both write the OME-XML after the pixels: cut, the file is
    # a few plain pages. That must never pass silently.
    if writer == "bio-formats":
        src = Path(__file__).parents[3].parent / "shared/data/corpus/tlnagy+exampletiffs/4D-series.ome.tif"
        if not src.exists():
            pytest.skip(f"shared corpus not found at {src.parent}")
    else:
        src = tmp_path / "full.ome.tif"
        tifffile.imwrite(
            src,
            np.arange(35 * 40 * 50, dtype="uint16").reshape(7, 5, 40, 50),
            ome=True,
            metadata={"axes": "TZYX"},
        )
    path = _truncate(src, tmp_path / "cut.ome.tif", fraction)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = Reader(path)
    messages = [str(w.message) for w in caught if issubclass(w.category, CorruptFileWarning)]
    assert any("truncated" in m and str(path) in m for m in messages), messages
    with tifffile.TiffFile(path) as tif:
        pages = tif.series[0].pages
        assert r.dims.Z == len(pages)
        size = path.stat().st_size
        readable = [
            k
            for k, p in enumerate(pages)
            if all(o + c <= size for o, c in zip(p.dataoffsets, p.databytecounts, strict=True))
        ]
        for k in readable:
            np.testing.assert_array_equal(r.get_image_data("YX", Z=k), pages[k].asarray())
    if len(readable) < len(pages):  # a page whose pixels are cut off is a typed error
        with pytest.raises(CorruptFileError, match="beyond the end of the file"):
            r.data  # noqa: B018


@pytest.mark.parametrize(
    ("resolution", "unit", "um"),
    [
        (300.0, "INCH", 25400 / 300),
        (72.0, "INCH", 25400 / 72),
        (2000.0, "CENTIMETER", 1e4 / 2000),
        (5.0, "NONE", None),
    ],
)
def test_resolution_tags_one_rule(tmp_path: Path, resolution: float, unit: str, um: float | None) -> None:
    path = tmp_path / "res.tif"
    tifffile.imwrite(
        path,
        np.zeros((4, 6), np.uint8),
        resolution=(resolution, resolution),
        resolutionunit=unit,
        metadata=None,
    )
    with tifffile.TiffFile(path) as tif:  # the tags as written, read back by tifffile
        assert tif.pages.first.tags["ResolutionUnit"].value == getattr(tifffile.RESUNIT, unit)
    with Reader(path) as r:
        pps = r.physical_pixel_sizes
        if um is None:
            assert (pps.Y, pps.X) == (None, None)
        else:
            assert pps.X == pytest.approx(um)
            assert pps.Y == pytest.approx(um)
            assert r.xarray_dask_data.coords["X"].attrs["units"] == "µm"


def test_micromanager_positions_are_ome_scenes(tmp_path: Path) -> None:
    src = (
        Path(__file__).parents[3].parent
        / "shared/data/corpus/tlnagy+exampletiffs/ometiff_testdata/singles"
        / "181003_multi_pos_time_course_1_MMStack.ome.tif"
    )
    if not src.exists():
        pytest.skip(f"shared corpus not found at {src.parent}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "could not map the OME-XML" warning
        r = Reader(src)
    with tifffile.TiffFile(src, is_mmstack=False) as tif:
        series = [s for s in tif.series if s.kind == "ome"]
        assert len(r.scenes) == len(series) == 2
        for i, s in enumerate(series):
            r.set_scene(i)
            assert r.channel_names == ["Default"]
            assert r.physical_pixel_sizes.X == pytest.approx(5.2304)
            np.testing.assert_array_equal(r.get_image_data("TYX"), s.asarray())


def test_truncated_planar_samples_named_as_channels_warn(tmp_path: Path) -> None:
    # One page, three planar samples the writer calls C: cutting the file cuts channel 2 only.
    full = tmp_path / "full.tif"
    data = np.arange(3 * 64 * 80, dtype="uint16").reshape(3, 64, 80)
    tifffile.imwrite(
        full,
        data,
        photometric="minisblack",
        planarconfig="separate",
        compression="zlib",
        metadata={"axes": "CYX"},
    )
    with tifffile.TiffFile(full) as tif:
        page = tif.pages.first
        cut = page.dataoffsets[-1] + page.databytecounts[-1] // 2  # inside the last sample's strip
        assert max(page.dataoffsets[:-1]) < cut
    path = _truncate(full, tmp_path / "cut.tif", cut / full.stat().st_size)
    with pytest.warns(CorruptFileWarning, match=r"pixels of 1 of 1 pages lie beyond its end"):
        r = Reader(path)
    assert r.dims.C == 3
    np.testing.assert_array_equal(r.get_image_data("YX", C=0), data[0])
    with pytest.raises(CorruptFileError, match=r"cut\.tif"):
        r.get_image_data("YX", C=2)


def test_truncated_part_of_a_multifile_dataset_warns(tmp_path: Path) -> None:
    master = _multifile(tmp_path, "part2.ome.tif")
    part = tmp_path / "part2.ome.tif"
    tifffile.imwrite(part, np.full((6, 8), 7, np.uint8), metadata=None)
    with tifffile.TiffFile(part) as tif:
        end = tif.pages.first.dataoffsets[0] + tif.pages.first.databytecounts[0]
        assert end == part.stat().st_size or tif.pages.first.offset < tif.pages.first.dataoffsets[0]
    data = part.read_bytes()
    part.write_bytes(data[: tif.pages.first.dataoffsets[0] + 10])  # the IFD stays, the pixels are cut
    with (
        pytest.warns(CorruptFileWarning, match=r"master\.ome\.tif: the file is damaged or truncated"),
        pytest.warns(CorruptFileWarning, match=r"pixels of 1 of 2 pages lie beyond its end"),
    ):
        r = Reader(master)
    np.testing.assert_array_equal(r.get_image_data("YX", Z=0), 1)
    with pytest.raises(CorruptFileError, match=r"part2\.ome\.tif"):
        r.get_image_data("YX", Z=1)


def test_size_tag_the_tiles_cannot_hold_is_a_corrupt_file_not_an_allocation(tmp_path: Path) -> None:
    # A hostile ImageDepth of 2e9 on an 8-deep volume: refused before any grid is built.
    path = tmp_path / "vol.tif"
    tifffile.imwrite(path, np.zeros((8, 64, 64), np.uint8), tile=(4, 32, 32), volumetric=True)
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages.first.tags["ImageDepth"].valueoffset
    data = bytearray(path.read_bytes())
    data[offset : offset + 4] = (2_000_000_000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(
        CorruptFileError, match=r"vol\.tif: .* needs 2000000000 of them, but the file lists 8"
    ):
        Reader(path)


def test_own_uuid_wins_over_a_stale_file_name_even_one_leading_outside(tmp_path: Path) -> None:
    # The UUID names this file; a stale FileName (here one that would leave the folder) is ignored.
    own = f"urn:uuid:{uuid.uuid4()}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        f'UUID="{own}"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" '
        'SizeX="8" SizeY="6" SizeZ="2" SizeC="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f'<TiffData IFD="0" PlaneCount="2"><UUID FileName="../old/name.ome.tif">{own}</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    data = np.arange(2 * 6 * 8, dtype=np.uint8).reshape(2, 6, 8)
    path = tmp_path / "renamed.ome.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(data[0], description=xml, metadata=None)
        tw.write(data[1], metadata=None)
    with tifffile.TiffFile(path) as tif:
        reference = tif.series[0].asarray()
    with Reader(path) as r:
        assert r.dims.Z == 2
        np.testing.assert_array_equal(r.get_image_data("ZYX"), reference)


def test_corrupt_volumetric_tile_is_a_corrupt_file_error(tmp_path: Path) -> None:
    path = tmp_path / "vol.tif"
    data = np.arange(8 * 64 * 64, dtype=np.uint16).reshape(8, 64, 64)
    tifffile.imwrite(path, data, tile=(4, 32, 32), volumetric=True, compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages.first.dataoffsets[5]  # second depth block
    raw = bytearray(path.read_bytes())
    raw[offset : offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(raw))
    with Reader(path) as r:
        np.testing.assert_array_equal(r.get_image_data("YX", Z=1), data[1])  # first depth block intact
        with pytest.raises(CorruptFileError, match=r"vol\.tif: cannot decode strip/tile 5"):
            r.get_image_data("YX", Z=6)
