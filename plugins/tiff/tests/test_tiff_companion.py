"""OME companion files: BinaryOnly OME-TIFFs and ``*.companion.ome`` opened directly."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile
from scitiff_readers_tiff.ome import MissingOmeFileError

from scitiff_readers import Reader
from scitiff_readers.errors import CorruptFileError, ScitiffReadersError

if TYPE_CHECKING:
    from pathlib import Path

NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


def _binary_only(own_uuid: str, companion: str, companion_uuid: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="{own_uuid}">'
        f'<BinaryOnly MetadataFile="{companion}" UUID="{companion_uuid}"/></OME>'
    )


def _dataset(folder: Path, companion_name: str = "exp.companion.ome") -> dict[str, object]:
    """Two TIFFs holding Z 0-1 and Z 2-3 of a 2-channel image, plus a second image; XML in a companion.

    File a: image 0, C0 Z0..3 (4 pages). File b: image 0, C1 Z0..3, then image 1 (1 page, 6 x 5).
    """
    rng = np.random.default_rng(3)
    img0 = rng.integers(0, 4000, size=(2, 4, 12, 10), dtype=np.uint16)  # C Z Y X
    img1 = rng.integers(0, 255, size=(6, 5), dtype=np.uint16)
    companion_uuid = f"urn:uuid:{uuid.uuid4()}"
    ua, ub = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    tifffile.imwrite(
        folder / "a.ome.tif",
        img0[0],
        description=_binary_only(ua, companion_name, companion_uuid),
        metadata=None,
        photometric="minisblack",
    )
    with tifffile.TiffWriter(folder / "b.ome.tif") as tw:
        tw.write(
            img0[1],
            description=_binary_only(ub, companion_name, companion_uuid),
            metadata=None,
            photometric="minisblack",
        )
        tw.write(img1, metadata=None, photometric="minisblack")  # page 4: a page of another shape
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="{companion_uuid}">'
        '<Image ID="Image:0" Name="stack"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" '
        'SizeX="10" SizeY="12" SizeZ="4" SizeC="2" SizeT="1" PhysicalSizeX="0.25" PhysicalSizeXUnit="µm" '
        'PhysicalSizeY="0.25" PhysicalSizeYUnit="µm" PhysicalSizeZ="1.5" PhysicalSizeZUnit="µm">'
        '<Channel ID="Channel:0:0" Name="DAPI" SamplesPerPixel="1"/>'
        '<Channel ID="Channel:0:1" Name="GFP" SamplesPerPixel="1"/>'
        f'<TiffData FirstC="0" FirstZ="0" IFD="0" PlaneCount="4"><UUID FileName="a.ome.tif">{ua}</UUID></TiffData>'
        f'<TiffData FirstC="1" FirstZ="0" IFD="0" PlaneCount="4"><UUID FileName="b.ome.tif">{ub}</UUID></TiffData>'
        "</Pixels></Image>"
        '<Image ID="Image:1" Name="overview"><Pixels ID="Pixels:1" DimensionOrder="XYZCT" Type="uint16" '
        'SizeX="5" SizeY="6" SizeZ="1" SizeC="1" SizeT="1"><Channel ID="Channel:1:0" SamplesPerPixel="1"/>'
        f'<TiffData IFD="4" PlaneCount="1"><UUID FileName="b.ome.tif">{ub}</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    (folder / companion_name).write_text(xml, encoding="utf-8")
    return {"img0": img0, "img1": img1, "xml": xml}


def _tifffile_reference(folder: Path, xml: str) -> list[np.ndarray]:
    """tifffile's own reading of the dataset: image 0 through the companion's XML, image 1 as its page.

    (tifffile, told the XML, reads image 0 across both files; it fails on an image lying
    wholly in the second file, so that one is read as a plain page.)
    """
    with tifffile.TiffFile(folder / "a.ome.tif", omexml=xml) as tif:
        first = tif.series[0].asarray()
    with tifffile.TiffFile(folder / "b.ome.tif") as tif:
        second = tif.pages[4].asarray()
    return [first, second]


@pytest.mark.parametrize("entry", ["a.ome.tif", "b.ome.tif", "exp.companion.ome"])
def test_companion_metadata_is_used_from_any_entry_point(tmp_path: Path, entry: str) -> None:
    ds = _dataset(tmp_path)
    reference = _tifffile_reference(tmp_path, ds["xml"])  # type: ignore[arg-type]
    np.testing.assert_array_equal(reference[0], ds["img0"])
    with Reader(tmp_path / entry) as reader:
        assert reader.reader_name == "ome-tiff"
        assert reader.companion_file == tmp_path / "exp.companion.ome"
        assert reader.ome_xml == ds["xml"]
        assert reader.scenes == ("stack", "overview")
        assert reader.dims.C == 2
        assert reader.dims.Z == 4
        np.testing.assert_array_equal(reader.get_image_data("CZYX"), reference[0])
        assert reader.channel_names == ["DAPI", "GFP"]
        np.testing.assert_allclose(reader.coords["Z"].values, np.arange(4) * 1.5)
        np.testing.assert_allclose(reader.coords["X"].values, np.arange(10) * 0.25)
        assert reader.coords["Z"].attrs["units"] == "µm"
        assert reader.physical_pixel_sizes.Y == pytest.approx(0.25)
        assert [im.name for im in reader.ome_metadata.images] == ["stack", "overview"]
        reader.set_scene("overview")
        np.testing.assert_array_equal(reader.get_image_data("YX"), reference[1])
        np.testing.assert_array_equal(reader.get_image_data("YX"), ds["img1"])


def test_missing_companion_is_a_typed_error_naming_both_files(tmp_path: Path) -> None:
    _dataset(tmp_path)
    (tmp_path / "exp.companion.ome").unlink()
    with pytest.raises(MissingOmeFileError, match=r"a\.ome\.tif.*exp\.companion\.ome") as info:
        Reader(tmp_path / "a.ome.tif")
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, ScitiffReadersError)
    # The pages are still readable without OME metadata, as the message says.
    with Reader(tmp_path / "a.ome.tif", reader="tiff") as plain:
        np.testing.assert_array_equal(plain.get_image_data("ZYX"), tifffile.imread(tmp_path / "a.ome.tif"))


def test_companion_outside_the_folder_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    _dataset(inner, companion_name="../exp.companion.ome")
    with pytest.raises(CorruptFileError, match="outside"):
        Reader(inner / "a.ome.tif")


def test_companion_with_a_missing_tiff_keeps_metadata_and_names_the_file(tmp_path: Path) -> None:
    _dataset(tmp_path)
    (tmp_path / "b.ome.tif").unlink()
    with Reader(tmp_path / "exp.companion.ome") as reader:
        assert reader.scenes == ("stack", "overview")
        with pytest.raises(FileNotFoundError, match=r"b\.ome\.tif"):
            reader.get_image_data("CZYX")
    (tmp_path / "a.ome.tif").unlink()
    with pytest.raises(MissingOmeFileError, match=r"exp\.companion\.ome.*a\.ome\.tif"):
        Reader(tmp_path / "exp.companion.ome")


def test_xml_files_that_are_not_companions_are_not_claimed(tmp_path: Path) -> None:
    from scitiff_readers_tiff.ome import OmeTiffReader

    other = tmp_path / "notes.ome"
    other.write_text("<?xml version='1.0'?><notes>not OME</notes>", encoding="utf-8")
    assert not OmeTiffReader.can_open(other)
    ds = _dataset(tmp_path)
    assert OmeTiffReader.can_open(tmp_path / "exp.companion.ome")
    assert ds["xml"]


def test_single_tiff_with_companion_takes_calibration_from_it(tmp_path: Path) -> None:
    data = (np.arange(3 * 2 * 8 * 9) % 97).astype(np.uint8).reshape(3, 2, 8, 9)  # T C Y X
    own, comp = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    tifffile.imwrite(
        tmp_path / "one.ome.tif",
        data.reshape(6, 8, 9),
        description=_binary_only(own, "one.companion.ome", comp),
        metadata=None,
        photometric="minisblack",
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="{comp}"><Image ID="Image:0" Name="tl">'
        '<Pixels ID="Pixels:0" DimensionOrder="XYCTZ" Type="uint8" SizeX="9" SizeY="8" SizeZ="1" SizeC="2" '
        'SizeT="3" TimeIncrement="30" TimeIncrementUnit="s" PhysicalSizeX="2" PhysicalSizeXUnit="nm">'
        '<Channel ID="Channel:0:0" Name="a" SamplesPerPixel="1"/><Channel ID="Channel:0:1" Name="b" '
        f'SamplesPerPixel="1"/><TiffData IFD="0" PlaneCount="6"><UUID FileName="one.ome.tif">{own}</UUID>'
        "</TiffData></Pixels></Image></OME>"
    )
    (tmp_path / "one.companion.ome").write_text(xml, encoding="utf-8")
    with tifffile.TiffFile(tmp_path / "one.ome.tif", omexml=xml) as tif:
        reference = tif.series[0].asarray()  # tifffile told the companion's XML: axes 'TCYX'
    with Reader(tmp_path / "one.ome.tif") as reader:
        np.testing.assert_array_equal(reader.get_image_data("TCYX"), reference)
        np.testing.assert_array_equal(reader.get_image_data("TCYX"), data)
        np.testing.assert_allclose(reader.coords["T"].values, [0.0, 30.0, 60.0])
        np.testing.assert_allclose(reader.coords["X"].values, np.arange(9) * 2.0)
        assert reader.coords["X"].attrs["units"] == "nm"
        assert reader.channel_names == ["a", "b"]


def test_truncated_companion_warns_and_leaves_the_pages_readable(tmp_path: Path) -> None:
    from scitiff_readers_tiff.omexml import OmeXmlWarning

    from scitiff_readers.errors import MetadataError

    ds = _dataset(tmp_path)
    xml = str(ds["xml"])
    (tmp_path / "exp.companion.ome").write_text(xml[: len(xml) // 2], encoding="utf-8")
    with (
        pytest.warns(OmeXmlWarning, match=r"a\.ome\.tif: tifffile could not map the OME-XML to pages"),
        pytest.warns(OmeXmlWarning, match=r"exp\.companion\.ome: the OME-XML is not well-formed"),
    ):
        reader = Reader(tmp_path / "a.ome.tif")
    with reader:
        assert reader.companion_file == tmp_path / "exp.companion.ome"
        np.testing.assert_array_equal(reader.get_image_data("ZYX"), tifffile.imread(tmp_path / "a.ome.tif"))
    with (
        pytest.warns(OmeXmlWarning),
        pytest.raises(MetadataError, match=r"exp\.companion\.ome: the OME companion file describes no"),
    ):
        Reader(tmp_path / "exp.companion.ome")


@pytest.mark.parametrize("entry", ["a.ome.tif", "exp.companion.ome"])
def test_companion_naming_files_outside_the_folder_is_refused(tmp_path: Path, entry: str) -> None:
    ds = _dataset(tmp_path)
    hostile = str(ds["xml"]).replace('FileName="b.ome.tif"', 'FileName="../../etc/passwd"')
    (tmp_path / "exp.companion.ome").write_text(hostile, encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"'\.\./\.\./etc/passwd'.*outside the dataset folder"):
        Reader(tmp_path / entry)


def test_binary_only_naming_a_master_tiff_reads_the_dataset(tmp_path: Path) -> None:
    # Bio-Formats' layout: every file but the master is BinaryOnly and names the master TIFF.
    rng = np.random.default_rng(5)
    planes = rng.integers(0, 4000, size=(2, 8, 6), dtype=np.uint16)
    um, ub = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="{um}">'
        '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="6" SizeY="8" '
        'SizeZ="2" SizeC="1" SizeT="1" PhysicalSizeX="0.5">'
        '<Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f'<TiffData FirstZ="0" IFD="0" PlaneCount="1"><UUID FileName="master.ome.tif">{um}</UUID></TiffData>'
        f'<TiffData FirstZ="1" IFD="0" PlaneCount="1"><UUID FileName="part.ome.tif">{ub}</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    tifffile.imwrite(tmp_path / "master.ome.tif", planes[0], description=xml, metadata=None)
    tifffile.imwrite(
        tmp_path / "part.ome.tif",
        planes[1],
        description=_binary_only(ub, "master.ome.tif", um),
        metadata=None,
    )
    with tifffile.TiffFile(tmp_path / "master.ome.tif") as tif:  # tifffile follows the UUIDs from the master
        reference = tif.series[0].asarray()
    np.testing.assert_array_equal(reference, planes)
    for entry in ("master.ome.tif", "part.ome.tif"):
        with Reader(tmp_path / entry) as reader:
            assert reader.dims.Z == 2
            assert reader.physical_pixel_sizes.X == 0.5
            np.testing.assert_array_equal(reader.get_image_data("ZYX"), reference)


def test_binary_only_naming_a_tiff_without_ome_xml_is_a_clear_error(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((4, 4), np.uint8), metadata=None)
    tifffile.imwrite(
        tmp_path / "a.ome.tif",
        np.zeros((4, 4), np.uint8),
        description=_binary_only(f"urn:uuid:{uuid.uuid4()}", "plain.tif", f"urn:uuid:{uuid.uuid4()}"),
        metadata=None,
    )
    with pytest.raises(CorruptFileError, match=r"plain\.tif: .*holds no OME-XML.*reader='tiff'"):
        Reader(tmp_path / "a.ome.tif")
