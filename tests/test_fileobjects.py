"""File objects as input: ``open(p, "rb")``, ``io.BytesIO``, fsspec ``OpenFile`` and fsspec's own files.

Every single-file format is read from each kind of object and must give the pixels
its reference library reads from the file (tifffile, numpy) and the coordinates of
the same file read by path; the HTTP cases use a real range-capable server on
loopback. What a file object cannot hold (folder formats, other files of a
dataset) and objects that cannot be read fail with typed errors that say so.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from scitiff_readers import Reader
from scitiff_readers._fileobjects import FileObjectError
from scitiff_readers.errors import ScitiffReadersError, UnsupportedFormatError

tifffile = pytest.importorskip("tifffile")
fsspec = pytest.importorskip("fsspec")
pytest.importorskip("aiohttp")

from scitiff_readers.testing.httpserver import RangeServer  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SERVED: list[Path] = []  # the folder the module's server serves


def _write_samples(folder: Path) -> dict[str, tuple[Path, Callable[[], np.ndarray], str | None]]:
    """One file per single-file format: its reference reading, and the dims of that reading.

    SciTiff's reference is the same file read by path (its own suite checks that
    against scitiff's reader): here only how the bytes arrive differs.
    """
    rng = np.random.default_rng(5)
    data = rng.integers(0, 4000, (2, 3, 16, 20), dtype=np.uint16)  # Z C Y X
    ome = folder / "x.ome.tif"
    tifffile.imwrite(
        ome, data, metadata={"axes": "ZCYX", "PhysicalSizeX": 0.5}, tile=(16, 16), compression="zlib"
    )
    imagej = folder / "hyper.tif"
    tifffile.imwrite(
        imagej,
        data.astype(np.uint8),
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "ZCYX", "spacing": 1.5, "unit": "um"},
    )
    plain = folder / "plain.tif"
    tifffile.imwrite(plain, data[0, 0], photometric="minisblack")
    npy = folder / "a.npy"
    np.save(npy, data[None])
    out: dict[str, tuple[Path, Callable[[], np.ndarray], str | None]] = {
        "ome-tiff": (ome, lambda: tifffile.imread(ome), "ZCYX"),
        "imagej": (imagej, lambda: tifffile.imread(imagej), "ZCYX"),
        "plain": (plain, lambda: tifffile.imread(plain), "YX"),
        "npy": (npy, lambda: np.load(npy), "TCZYX"),
    }
    scitiff = SHARED / "scitiff" / "scitiff-26.1.0.tiff"
    if scitiff.exists():
        out["scitiff"] = (scitiff, lambda: Reader(scitiff).data, None)
    return out


@pytest.fixture(scope="module")
def samples(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, Callable[[], np.ndarray], str | None]]:
    return _write_samples(tmp_path_factory.mktemp("fileobjects"))


@pytest.fixture(scope="module")
def server(samples: dict[str, tuple[Path, Any]]) -> Iterator[RangeServer]:
    folder = samples["ome-tiff"][0].parent
    SERVED[:] = [folder]
    with RangeServer(folder) as srv:
        yield srv


KINDS = ["open", "bytesio", "fsspec-local", "fsspec-http", "fsspec-http-file"]
FORMATS = ["ome-tiff", "imagej", "plain", "npy", "scitiff"]


def _object(kind: str, path: Path, server: RangeServer) -> Any:
    if kind == "open":
        return open(path, "rb")
    if kind == "bytesio":
        return io.BytesIO(path.read_bytes())
    if kind == "fsspec-local":
        return fsspec.open(str(path))
    if path.parent != SERVED[0]:
        pytest.skip("the sample is not in the served folder")
    if kind == "fsspec-http":
        return fsspec.open(server.url(path.name))
    return fsspec.open(server.url(path.name)).open()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_file_object_reads_as_the_file(
    fmt: str, kind: str, samples: dict[str, Any], server: RangeServer
) -> None:
    if fmt not in samples:
        pytest.skip(f"no {fmt} sample (../shared/data missing)")
    path, reference, order = samples[fmt]
    obj = _object(kind, path, server)
    if hasattr(obj, "seek"):
        obj.seek(3)  # the caller's position must survive the reads
    try:
        with Reader(obj) as got, Reader(path) as by_path:
            assert got.reader_name == by_path.reader_name
            assert got.dims == by_path.dims
            assert got.dtype == by_path.dtype
            want = reference()
            read = got.get_image_data(order) if order else got.data
            np.testing.assert_array_equal(read, want)
            lazy = got.xarray_dask_data
            for name, coord in by_path.xarray_dask_data.coords.items():
                np.testing.assert_array_equal(lazy.coords[name].values, coord.values, err_msg=name)
                assert lazy.coords[name].attrs == coord.attrs
            lazy_read = got.get_image_dask_data(order).compute() if order else lazy.values
            np.testing.assert_array_equal(lazy_read, want)
        if hasattr(obj, "tell"):
            assert obj.tell() == 3
    finally:
        if hasattr(obj, "close"):
            obj.close()


def test_file_object_location_names_the_file(samples: dict[str, Any]) -> None:
    path = samples["ome-tiff"][0]
    with open(path, "rb") as fh, Reader(fh) as reader:
        assert reader.reader_name == "ome-tiff"
        assert str(reader._path).endswith("/x.ome.tif")
        assert "x.ome.tif" in repr(reader)


def test_text_closed_and_unseekable_objects_are_refused(samples: dict[str, Any]) -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

    path = samples["plain"][0]
    closed = open(path, "rb")  # noqa: SIM115
    closed.close()
    with open(path, encoding="latin-1") as text:
        for bad, message in [(text, "binary"), (closed, "closed"), (Pipe(), "seekable")]:
            with pytest.raises(FileObjectError, match=message) as info:
                Reader(bad)
            assert isinstance(info.value, (ScitiffReadersError, ValueError))


@pytest.mark.parametrize("reader", ["ndtiff", "ome-zarr", "visor"])
def test_folder_formats_from_a_file_object_say_why(reader: str, samples: dict[str, Any]) -> None:
    pytest.importorskip(f"scitiff_readers_{'ndtiff' if reader == 'ndtiff' else 'zarr'}")
    data = samples["ome-tiff"][0].read_bytes()
    with pytest.raises(UnsupportedFormatError, match="file object"):
        Reader(io.BytesIO(data), reader=reader)


def test_unknown_bytes_from_a_file_object_say_what_cannot_work() -> None:
    with pytest.raises(UnsupportedFormatError, match="file object: formats stored as folders"):
        Reader(io.BytesIO(b"not an image " * 10))


def test_multi_file_ome_tiff_from_a_file_object_names_the_limit() -> None:
    master = (
        SHARED
        / "corpus"
        / "tlnagy+exampletiffs"
        / "ometiff_testdata"
        / "multiples"
        / "master"
        / "multifile-Z1.ome.tiff"
    )
    if not master.exists():
        pytest.skip("../shared/data missing")
    from scitiff_readers_tiff.ome import MissingOmeFileError

    with (
        open(master, "rb") as fh,
        Reader(fh) as reader,
        pytest.raises(MissingOmeFileError, match=r"multifile-Z2\.ome\.tiff.*need a path or URL"),
    ):
        reader.get_image_data("YX", Z=1)


def test_reader_of_a_file_object_pickles_within_the_process_only(samples: dict[str, Any]) -> None:
    path, reference, _ = samples["plain"]
    with Reader(io.BytesIO(path.read_bytes())) as reader:
        blob = pickle.dumps(reader)
        np.testing.assert_array_equal(pickle.loads(blob).get_image_data("YX"), reference())
    code = "import pickle, sys; pickle.loads(sys.stdin.buffer.read()).get_image_data('YX')"
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, timeout=120)
    assert out.returncode != 0
    assert b"FileObjectError" in out.stderr
    assert b"cannot be sent to other processes" in out.stderr
