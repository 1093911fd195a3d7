"""The zarr-free chunk reader against zarr-python (differential), its refusals, and its cold-start effect.

Arrays are written by zarr-python in every layout :mod:`directchunks` claims (v2 and v3,
sharded or not, no / zstd / blosc compression, both byte orders, integer, float and
bool dtypes, fill values, missing chunks and inner chunks, partial edge chunks, both
key separators) and read back over random regions by both; layouts it does not claim
(F order, filters, other codecs) must be left to zarr.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
pytest.importorskip("imagecodecs")
numcodecs = pytest.importorskip("numcodecs")

from scitiff_readers_zarr.directchunks import DirectReader, direct_layout  # noqa: E402
from zarr.codecs import BloscCodec, BytesCodec, ZstdCodec  # noqa: E402

from scitiff_readers.errors import CorruptFileError  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path


def _metadata(folder: Path) -> dict[str, Any]:
    v3 = folder / "zarr.json"
    doc: dict[str, Any] = json.loads((v3 if v3.exists() else folder / ".zarray").read_text())
    return doc


def _data(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    kind = np.dtype(dtype).kind
    if kind == "b":
        return rng.random(shape) > 0.5
    if kind == "f":
        out = rng.normal(size=shape).astype(dtype)
        out.flat[:: max(1, out.size // 7)] = np.nan
        return out
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def _write(folder: Path, rng: np.random.Generator, case: dict[str, Any]) -> np.ndarray:
    shape, dtype = case["shape"], case["dtype"]
    fmt = case["format"]
    kwargs: dict[str, Any] = {
        "shape": shape,
        "dtype": dtype,
        "chunks": case["chunks"],
        "zarr_format": fmt,
        "fill_value": case["fill"],
    }
    codec = case["codec"]
    if fmt == 2:
        kwargs["compressors"] = {
            "none": None,
            "zstd": numcodecs.Zstd(level=1),
            "blosc": numcodecs.Blosc(cname="lz4", shuffle=1),
        }[codec]
        kwargs["filters"] = None
        kwargs["chunk_key_encoding"] = {"name": "v2", "separator": case["separator"]}
    else:
        kwargs["compressors"] = {
            "none": None,
            "zstd": ZstdCodec(level=1),
            "blosc": BloscCodec(cname="zstd", clevel=1, shuffle="shuffle"),
        }[codec]
        kwargs["serializer"] = BytesCodec(endian=case["endian"]) if np.dtype(dtype).itemsize > 1 else "auto"
        kwargs["chunk_key_encoding"] = {"name": case["encoding"], "separator": case["separator"]}
        if case["shards"] is not None:
            kwargs["shards"] = case["shards"]
    array = zarr.create_array(str(folder), **kwargs)
    data = _data(rng, shape, dtype)
    # Leave some chunks unwritten: they read as the fill value.
    grid = case["shards"] or case["chunks"]
    for cell in np.ndindex(*(-(-s // g) for s, g in zip(shape, grid, strict=True))):
        if rng.random() < 0.25:
            continue
        part = tuple(slice(c * g, min((c + 1) * g, s)) for c, g, s in zip(cell, grid, shape, strict=True))
        array[part] = data[part]
    return np.asarray(array[...])


def _cases(n: int) -> list[dict[str, Any]]:
    rnd = random.Random(2026)
    cases = []
    for i in range(n):
        fmt = 2 if i % 3 == 0 else 3
        ndim = rnd.choice((2, 3, 5))
        shape = tuple(rnd.randint(1, 9) if d < ndim - 2 else rnd.randint(3, 40) for d in range(ndim))
        chunks = tuple(rnd.randint(1, s) for s in shape)
        sharded = fmt == 3 and rnd.random() < 0.4
        shards = tuple(c * rnd.randint(1, 3) for c in chunks) if sharded else None
        dtype = rnd.choice(("uint8", "uint16", "int16", "int32", "uint64", "float32", "float64", "bool"))
        fill: Any = rnd.choice((0, 1, 7)) if dtype != "bool" else rnd.choice((False, True))
        if dtype.startswith("float") and rnd.random() < 0.3:
            fill = rnd.choice((float("nan"), -2.5))
        cases.append(
            {
                "format": fmt,
                "shape": shape,
                "chunks": chunks,
                "shards": shards,
                "dtype": dtype,
                "fill": fill,
                "codec": rnd.choice(("none", "zstd", "blosc")),
                "separator": rnd.choice((".", "/")),
                "encoding": rnd.choice(("default", "v2")),
                "endian": rnd.choice(("little", "big")),
            }
        )
    return cases


@pytest.mark.parametrize(
    "case",
    _cases(60),
    ids=lambda c: f"v{c['format']}-{c['codec']}-{c['dtype']}" + ("-sharded" if c["shards"] else ""),
)
def test_reads_like_zarr(tmp_path: Path, case: dict[str, Any]) -> None:
    rng = np.random.default_rng(abs(hash(json.dumps(case, default=str))) % 2**32)
    expected = _write(tmp_path / "a.zarr", rng, case)
    layout = direct_layout(_metadata(tmp_path / "a.zarr"))
    assert layout is not None, "a layout this module claims was left to zarr"
    reader = DirectReader(tmp_path / "a.zarr", layout)
    regions = [tuple(slice(0, s) for s in case["shape"])]
    for _ in range(6):
        region = []
        for s in case["shape"]:
            lo = int(rng.integers(0, s))
            region.append(slice(lo, int(rng.integers(lo + 1, s + 1))))
        regions.append(tuple(region))
    for region in regions:
        out = np.empty(tuple(r.stop - r.start for r in region), dtype=np.dtype(case["dtype"]))
        reader.read_into(out, region)
        np.testing.assert_array_equal(out, expected[region], err_msg=str(region))


def test_layouts_it_does_not_claim_are_left_to_zarr(tmp_path: Path) -> None:
    made = {
        "f-order": {"zarr_format": 2, "order": "F", "compressors": None, "filters": None},
        "v2-filters": {"zarr_format": 2, "filters": [numcodecs.Delta(dtype="u2")], "compressors": None},
        "v2-zlib": {"zarr_format": 2, "compressors": numcodecs.Zlib(), "filters": None},
        "v3-gzip": {"zarr_format": 3, "compressors": zarr.codecs.GzipCodec()},
        "v3-transpose": {
            "zarr_format": 3,
            "filters": [zarr.codecs.TransposeCodec(order=(1, 0))],
            "compressors": None,
        },
    }
    for name, kwargs in made.items():
        zarr.create_array(str(tmp_path / name), shape=(8, 8), chunks=(4, 4), dtype="uint16", **kwargs)
        assert direct_layout(_metadata(tmp_path / name)) is None, name


def _one_chunk_array(tmp_path: Path, codec: Any) -> tuple[Path, DirectReader]:
    folder = tmp_path / "c.zarr"
    array = zarr.create_array(str(folder), shape=(16, 16), chunks=(16, 16), dtype="uint16", compressors=codec)
    array[...] = np.arange(256, dtype=np.uint16).reshape(16, 16)
    layout = direct_layout(_metadata(folder))
    assert layout is not None
    return folder / "c" / "0" / "0", DirectReader(folder, layout)


@pytest.mark.parametrize(
    "codec", [ZstdCodec(level=1), BloscCodec(cname="lz4"), None], ids=["zstd", "blosc", "raw"]
)
def test_truncated_chunks_are_corrupt_file_errors_naming_the_file(tmp_path: Path, codec: Any) -> None:
    chunk, reader = _one_chunk_array(tmp_path, codec)
    chunk.write_bytes(chunk.read_bytes()[:-7])
    with pytest.raises(CorruptFileError, match=str(chunk)):
        reader.read_into(np.empty((16, 16), np.uint16), (slice(0, 16), slice(0, 16)))


def test_a_damaged_shard_index_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "s.zarr"
    array = zarr.create_array(str(folder), shape=(16, 16), chunks=(4, 4), shards=(16, 16), dtype="uint16")
    array[...] = 5
    shard = folder / "c" / "0" / "0"
    raw = bytearray(shard.read_bytes())
    raw[-10] ^= 0xFF  # inside the index, before its checksum
    shard.write_bytes(bytes(raw))
    layout = direct_layout(_metadata(folder))
    assert layout is not None
    with pytest.raises(CorruptFileError, match="crc32c"):
        DirectReader(folder, layout).read_into(np.empty((16, 16), np.uint16), (slice(0, 16), slice(0, 16)))


def test_a_chunk_linking_out_of_the_array_is_refused(tmp_path: Path) -> None:
    chunk, reader = _one_chunk_array(tmp_path, None)
    outside = tmp_path / "outside"
    outside.write_bytes(chunk.read_bytes())
    chunk.unlink()
    chunk.symlink_to(outside)
    with pytest.raises(CorruptFileError):
        reader.read_into(np.empty((16, 16), np.uint16), (slice(0, 16), slice(0, 16)))


def test_a_plane_of_a_fresh_process_imports_no_zarr(tmp_path: Path) -> None:
    from scitiff_readers import write

    xr = pytest.importorskip("xarray")
    data = np.arange(2 * 3 * 32 * 32, dtype=np.uint16).reshape(2, 1, 3, 32, 32)
    path = write(xr.DataArray(data, dims=tuple("TCZYX")), tmp_path / "x.ome.zarr")
    program = (
        "import sys\nfrom scitiff_readers import Reader\n"
        f"r = Reader({str(path)!r})\n"
        "plane = r.get_image_data('YX', T=1, Z=2)\n"
        "print(int(plane.sum()), 'zarr' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(int(data[1, 0, 2].sum())), "False"]
