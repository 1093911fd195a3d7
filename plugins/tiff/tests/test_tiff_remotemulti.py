"""Multi-file OME-TIFF datasets over a loopback HTTP server (:mod:`scitiff_readers_tiff.remotemulti`).

Pixels must equal tifffile's reading of the same dataset from the local disk (tifffile
maps multi-file datasets itself, locally); coordinates and scenes equal the local read.
Names in the OME-XML that lead out of the dataset folder are refused before any
request, also when percent-encoded (a server decodes ``%2E%2E`` to ``..``).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scitiff_readers_tiff.ome import MissingOmeFileError

from scitiff_readers import Reader
from scitiff_readers.errors import CorruptFileError

pytest.importorskip("aiohttp")
from typing import TYPE_CHECKING

from scitiff_readers.testing.httpserver import RangeServer

if TYPE_CHECKING:
    from collections.abc import Iterator

MULTIPLES = (
    Path(__file__).resolve().parents[3].parent
    / "shared"
    / "data"
    / "corpus"
    / "tlnagy+exampletiffs"
    / "ometiff_testdata"
    / "multiples"
)
NS = "http://www.openmicroscopy.org/Schemas/OME/2016-06"


@pytest.fixture(scope="module")
def corpus_server() -> Iterator[RangeServer]:
    if not MULTIPLES.exists():
        pytest.skip("../shared/data is not beside the repository")
    with RangeServer(MULTIPLES) as server:
        yield server


def _assert_same(remote: Reader, local: Reader, want: np.ndarray) -> None:
    assert remote.scenes == local.scenes
    assert remote.dims == local.dims
    got = remote.xarray_dask_data
    for name, coord in local.xarray_dask_data.coords.items():
        np.testing.assert_array_equal(got.coords[name].values, coord.values, err_msg=name)
        assert got.coords[name].attrs == coord.attrs
    np.testing.assert_array_equal(got.values.reshape(want.shape), want)
    np.testing.assert_array_equal(remote.get_image_data("YX", Z=3), want.reshape(-1, *want.shape[-2:])[3])


@pytest.mark.parametrize(
    "entry",
    [
        "master/multifile-Z1.ome.tiff",
        "master/multifile-Z4.ome.tiff",
        "companion/multifile.companion.ome",
        "companion/multifile-Z2.ome.tiff",
    ],
)
def test_multi_file_dataset_reads_from_a_url_as_tifffile_reads_it_locally(
    entry: str, corpus_server: RangeServer
) -> None:
    folder = MULTIPLES / entry.split("/")[0]
    first = folder / "multifile-Z1.ome.tiff"
    if entry.startswith("companion/"):  # BinaryOnly TIFFs: the XML is in the companion file
        xml = (folder / "multifile.companion.ome").read_text(encoding="utf-8")
        with tifffile.TiffFile(first, omexml=xml) as tif:
            want = tif.series[0].asarray()
    else:
        with tifffile.TiffFile(first) as tif:
            want = tif.series[0].asarray()
    assert want.shape[0] == 5  # the dataset's five planes, one per file
    with Reader(corpus_server.url(entry)) as remote, Reader(MULTIPLES / entry) as local:
        assert remote.reader_name == "ome-tiff"
        _assert_same(remote, local, want)


def _dataset(folder: Path, second: str) -> np.ndarray:
    """``m.ome.tif`` holds T=0 and names ``second`` for T=1; the data of both planes is returned."""
    data = np.arange(2 * 16 * 20, dtype=np.uint16).reshape(2, 16, 20)
    u0, u1 = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="{u0}"><Image ID="Image:0">'
        '<Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SizeX="20" SizeY="16" SizeZ="1" '
        'SizeC="1" SizeT="2"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f'<TiffData FirstT="0" IFD="0" PlaneCount="1"><UUID FileName="m.ome.tif">{u0}</UUID></TiffData>'
        f'<TiffData FirstT="1" IFD="0" PlaneCount="1"><UUID FileName="{second}">{u1}</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    tifffile.imwrite(folder / "m.ome.tif", data[0], description=xml, metadata=None)
    return data


@pytest.mark.parametrize(
    "name",
    ["../outside.ome.tif", "%2E%2E/outside.ome.tif", "%2e%2e%2Foutside.ome.tif", "sub/../../outside.ome.tif"],
)
def test_names_leading_out_of_the_dataset_folder_are_refused(name: str, tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    data = _dataset(tmp_path / "ds", name)
    # The file the name points at exists and is served: only the check keeps it out.
    tifffile.imwrite(tmp_path / "outside.ome.tif", data[1], metadata=None)
    with RangeServer(tmp_path) as server, pytest.raises(CorruptFileError, match="outside the dataset folder"):
        Reader(server.url("ds/m.ome.tif"))


def test_missing_file_of_a_remote_dataset_is_named(tmp_path: Path) -> None:
    data = _dataset(tmp_path, "gone.ome.tif")
    with (
        RangeServer(tmp_path) as server,
        Reader(server.url("m.ome.tif")) as reader,
        pytest.raises(MissingOmeFileError, match=r"gone\.ome\.tif"),
    ):
        reader.get_image_data("YX", T=1)
    tifffile.imwrite(tmp_path / "gone.ome.tif", data[1], metadata=None)
    with RangeServer(tmp_path) as server, Reader(server.url("m.ome.tif")) as reader:
        np.testing.assert_array_equal(reader.get_image_data("TYX"), data)


def _pyramid_dataset(folder: Path) -> np.ndarray:
    """Two files, one plane each (T=0, T=1), each with two SubIFD levels (tifffile writes them)."""
    rng = np.random.default_rng(7)
    data = rng.integers(0, 60000, (2, 64, 96), dtype=np.uint16)
    uuids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(2)]
    names = ["p0.ome.tif", "p1.ome.tif"]
    blocks = "".join(
        f'<TiffData FirstT="{t}" IFD="0" PlaneCount="1"><UUID FileName="{names[t]}">{uuids[t]}</UUID></TiffData>'
        for t in range(2)
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{NS}" UUID="{uuids[0]}"><Image ID="Image:0">'
        '<Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SizeX="96" SizeY="64" SizeZ="1" '
        'SizeC="1" SizeT="2" PhysicalSizeX="0.5" PhysicalSizeY="0.25"><Channel ID="Channel:0:0" SamplesPerPixel="1"/>'
        f"{blocks}</Pixels></Image></OME>"
    )
    for t, name in enumerate(names):
        with tifffile.TiffWriter(folder / name) as tw:
            opts = {"tile": (16, 16), "compression": "zlib", "metadata": None}
            tw.write(data[t], subifds=2, description=xml if t == 0 else None, **opts)
            tw.write(data[t, ::2, ::2], subfiletype=1, **opts)
            tw.write(data[t, ::4, ::4], subfiletype=1, **opts)
    return data


def test_subifd_levels_of_a_multi_file_dataset_read_from_a_url_as_tifffile_reads_them_locally(
    tmp_path: Path,
) -> None:
    _pyramid_dataset(tmp_path)
    with tifffile.TiffFile(tmp_path / "p0.ome.tif") as tif:
        want = [level.asarray() for level in tif.series[0].levels]
    assert [w.shape for w in want] == [(2, 64, 96), (2, 32, 48), (2, 16, 24)]
    with (
        RangeServer(tmp_path) as server,
        Reader(server.url("p0.ome.tif")) as remote,
        Reader(tmp_path / "p0.ome.tif") as local,
    ):
        assert remote.resolution_levels == local.resolution_levels == (0, 1, 2)
        for level, expected in enumerate(want):
            remote.set_resolution_level(level)
            local.set_resolution_level(level)
            assert remote.dims == local.dims
            assert remote.shape == (2, 1, 1, *expected.shape[1:])
            got = remote.xarray_dask_data
            for name, coord in local.xarray_dask_data.coords.items():
                np.testing.assert_array_equal(got.coords[name].values, coord.values, err_msg=name)
                assert got.coords[name].attrs == coord.attrs
            np.testing.assert_array_equal(got.values.reshape(expected.shape), expected)
            np.testing.assert_array_equal(remote.get_image_data("YX", T=1), expected[1])
