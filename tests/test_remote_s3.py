"""Reading from S3: moto's S3 server in server mode on 127.0.0.1, reached through s3fs.

Every format is uploaded as written by its reference writer (tifffile, NDTiff
samples from Micro-Manager, OME-Zarr from ome-zarr-py) and must read from
``s3://`` exactly as from the local copy: dims, pixels, coordinates.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from scitiff_readers import Reader

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest.importorskip("s3fs")
pytest.importorskip("boto3")
pytest.importorskip("moto.server")
tifffile = pytest.importorskip("tifffile")

from scitiff_readers.testing.s3server import BUCKET, S3Server  # noqa: E402 - after the skips

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


def _assert_same(remote: Any, local: Any) -> None:
    assert remote.reader_name == local.reader_name
    assert remote.scenes == local.scenes
    assert remote.dims == local.dims
    got, want = remote.xarray_dask_data, local.xarray_dask_data
    for name in want.coords:
        np.testing.assert_array_equal(got.coords[name].values, want.coords[name].values, err_msg=name)
        assert got.coords[name].attrs == want.coords[name].attrs
    np.testing.assert_array_equal(got.values, want.values)


def _samples(tmp: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    pyramid = tmp / "pyramid.ome.tif"
    data = rng.integers(0, 4000, (3, 256, 256), dtype=np.uint16)
    with tifffile.TiffWriter(pyramid) as tif:
        tif.write(
            data,
            subifds=1,
            metadata={"axes": "CYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5},
            tile=(128, 128),
            compression="zlib",
        )
        tif.write(data[:, ::2, ::2], subfiletype=1, tile=(128, 128), compression="zlib")
    imagej = tmp / "hyperstack.tif"
    tifffile.imwrite(
        imagej,
        rng.integers(0, 255, (2, 3, 32, 32), dtype=np.uint8),
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "ZCYX", "spacing": 1.5, "unit": "um"},
    )
    out = {"ome-tiff pyramid": pyramid, "imagej": imagej}
    shared = {
        "ndtiff v3": SHARED / "ndtiff" / "v3" / "ndtiffv3.0_test",
        "scitiff": SHARED / "scitiff" / "scitiff-26.1.0.tiff",
        "ome-zarr": SHARED
        / "corpus"
        / "hms-dbmi+viv"
        / "packages"
        / "loaders"
        / "tests"
        / "fixtures"
        / "ome-zarr"
        / "blobs_image_v04.ome.zarr",
        "visor": SHARED / "visor" / "VISOR001.vsr",
    }
    out.update({k: v for k, v in shared.items() if v.exists()})
    return out


def test_every_format_reads_from_s3_as_locally(s3: S3Server, tmp_path: Path) -> None:
    samples = _samples(tmp_path)
    assert {"ome-tiff pyramid", "imagej"} <= set(samples)
    for i, (what, local_path) in enumerate(samples.items()):
        url = s3.upload(local_path, f"s{i}")
        with Reader(url, storage_options=s3.options) as remote, Reader(local_path) as local:
            _assert_same(remote, local)
            if local.resolution_levels != (0,):
                remote.set_resolution_level(1)
                local.set_resolution_level(1)
                np.testing.assert_array_equal(remote.data, local.data, err_msg=f"{what} level 1")


def test_pickled_s3_reader_finds_credentials_in_the_environment(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets are not pickled: the copy finds them where s3fs looks (here the environment)."""
    path = tmp_path / "small.tif"
    tifffile.imwrite(path, np.arange(256, dtype=np.uint16).reshape(16, 16))
    url = s3.upload(path, "pickle")
    with Reader(url, storage_options=s3.options) as remote:
        blob = pickle.dumps(remote)
        graph = pickle.dumps(remote.dask_data)
    assert b"testing" not in blob
    assert b"testing" not in graph
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from scitiff_readers._byteaccess import forget_remote_state

    forget_remote_state()
    clone = pickle.loads(blob)
    np.testing.assert_array_equal(clone.get_image_data("YX"), tifffile.imread(path))
    np.testing.assert_array_equal(pickle.loads(graph).compute()[0, 0, 0], tifffile.imread(path))


def test_missing_s3_key_is_file_not_found(s3: S3Server) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.tif"):
        Reader(f"s3://{BUCKET}/nothing.tif", storage_options=s3.options)


def test_readers_and_graphs_compute_on_a_process_cluster_from_s3(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every format from ``s3://`` on a LocalCluster of two worker processes.

    The workers get the credentials from their environment (secrets are never
    pickled); the reader and its dask graph travel to them and read from moto. The
    scheduler (in this process) unpickles the submitted reader, which re-opens its
    file: it finds the credentials in this process's environment.
    """
    pytest.importorskip("distributed")
    from scitiff_readers.testing.conformance import _shared_client

    dask_client = _shared_client()
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    for name, value in creds.items():
        monkeypatch.setenv(name, value)
    # Functions defined here travel by value (a bound method of os.environ would carry a copy).
    dask_client.run(lambda values: __import__("os").environ.update(values), creds)
    try:
        # One sample per backend family that reads bytes differently (TIFF ranges, NDTiff index, zarr store).
        chosen = {
            k: v for k, v in _samples(tmp_path).items() if k in ("ome-tiff pyramid", "ndtiff v3", "ome-zarr")
        }
        for i, (what, local_path) in enumerate(chosen.items()):
            url = s3.upload(local_path, f"cluster{i}")
            with Reader(url, storage_options=s3.options) as remote, Reader(local_path) as local:
                expected = local.data
                np.testing.assert_array_equal(
                    dask_client.compute(remote.dask_data).result(), expected, err_msg=f"{what}: dask graph"
                )
                clone = dask_client.submit(lambda r: r.get_image_data(), remote)
                np.testing.assert_array_equal(clone.result(), expected, err_msg=f"{what}: pickled reader")
    finally:
        dask_client.run(lambda names: [__import__("os").environ.pop(n, None) for n in names], list(creds))
