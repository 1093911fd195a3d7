"""ImageJ virtual stacks found without tifffile (:mod:`scitiff_readers_tiff.virtualstack`) against tifffile.

Whenever :func:`virtual_stack` takes a file for a virtual stack, tifffile must read it
the same way (its ImageJ series, the same data offset and plane count), and the
source :func:`hyperstack_source` builds from it must give tifffile's pixels. Files
tifffile reads otherwise (compressed, tiled, truncated, an ImageJ count beyond the
data) must be left to tifffile (``None``).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
from scitiff_readers_tiff.series import hyperstack_source
from scitiff_readers_tiff.virtualstack import imagej_counts, virtual_stack
from tifffile.tifffile import imagej_description_metadata

if TYPE_CHECKING:
    from pathlib import Path


def _tifffile_view(path: Path) -> tuple[str, int | None, int, np.ndarray]:
    """tifffile's series kind, data offset, plane count and pixels (planes first)."""
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        planes = math.prod(series.shape[: -2 if series.shape[-1] != 1 or len(series.shape) < 3 else -3])
        pixels = series.asarray().reshape(-1, *series.keyframe.shape[-2:])
        return series.kind, series.dataoffset, planes, pixels


def _assert_like_tifffile(path: Path, shape_tzc: tuple[int, int, int]) -> bool:
    """Compare the decision and the pixels with tifffile's; return whether it was taken."""
    stack = virtual_stack(path)
    kind, dataoffset, planes, pixels = _tifffile_view(path)
    if stack is None:
        return False
    assert kind == "imagej", path
    assert stack.dataoffset == dataoffset, path
    assert stack.images == planes == pixels.shape[0], path
    t, z, c = shape_tzc
    y, x = pixels.shape[1:]
    source = hyperstack_source(path, (t, c, z, y, x), page_order="TZC")
    try:
        ours = source.read(tuple(slice(0, n) for n in source.shape))
    finally:
        source.close()
    expected = pixels.reshape(t, z, c, y, x).transpose(0, 2, 1, 3, 4)
    np.testing.assert_array_equal(ours, expected)
    return True


_SHAPES: dict[str, tuple[tuple[int, ...], str, tuple[int, int, int]]] = {
    "one-page": ((16, 20), "YX", (1, 1, 1)),
    "t-stack": ((5, 16, 20), "TYX", (5, 1, 1)),
    "tzc": ((2, 3, 4, 16, 20), "TZCYX", (2, 3, 4)),
    "channels": ((3, 16, 20), "CYX", (1, 1, 3)),
}


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("rowsperstrip", [None, 3])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("shape", list(_SHAPES))
def test_uncompressed_imagej_is_virtual_like_tifffile(
    tmp_path: Path, shape: str, dtype: str, rowsperstrip: int | None, byteorder: str
) -> None:
    dims, axes, tzc = _SHAPES[shape]
    data = (np.arange(math.prod(dims)) % 251).astype(dtype).reshape(dims)
    path = tmp_path / "a.tif"
    extra: dict[str, Any] = {} if rowsperstrip is None else {"rowsperstrip": rowsperstrip}
    tifffile.imwrite(path, data, imagej=True, byteorder=byteorder, metadata={"axes": axes}, **extra)
    assert _assert_like_tifffile(path, tzc), "tifffile's virtual stack was left to tifffile"


@pytest.mark.parametrize(
    "kwargs",
    [{"compression": "zlib"}, {"tile": (16, 16)}, {"compression": "lzw", "predictor": 2}],
    ids=["zlib", "tiled", "lzw-predictor"],
)
def test_other_storage_is_left_to_tifffile(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    path = tmp_path / "a.tif"
    data = np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TYX"}, **kwargs)
    assert virtual_stack(path) is None
    source = hyperstack_source(path, (4, 1, 1, 32, 32), page_order="TZC")
    try:
        full = (slice(0, 4), slice(0, 1), slice(0, 1), slice(0, 32), slice(0, 32))
        np.testing.assert_array_equal(source.read(full)[:, 0, 0], data)
    finally:
        source.close()


def test_truncated_or_overcounting_files_are_left_to_tifffile(tmp_path: Path) -> None:
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.ones((6, 16, 16), np.uint16), imagej=True, metadata={"axes": "TYX"})
    whole = path.read_bytes()
    # The last planes and every IFD after the first cut off: the counted planes do not fit.
    stack = virtual_stack(path)
    assert stack is not None
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole[: stack.dataoffset + 3 * 16 * 16 * 2])
    assert virtual_stack(cut) is None
    # An ImageJ count of more planes than lie before the second IFD.
    description = b"frames=6"
    assert whole.count(description) == 1
    over = tmp_path / "over.tif"
    over.write_bytes(whole.replace(description, b"frames=9"))
    assert virtual_stack(over) is None
    with tifffile.TiffFile(over) as tif:  # tifffile reads the page list then: 6 planes
        assert len(tif.series[0].pages) == 6


def test_other_flavours_are_left_to_tifffile(tmp_path: Path) -> None:
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(
        plain, np.ones((3, 16, 16), np.uint8), photometric="minisblack"
    )  # tifffile's shaped JSON, no ImageJ
    assert virtual_stack(plain) is None
    rgb = tmp_path / "rgb.tif"
    tifffile.imwrite(rgb, np.ones((2, 16, 16, 3), np.uint8), imagej=True, photometric="rgb")
    assert virtual_stack(rgb) is None


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "ImageJ=1.11a\nimages=6\nframes=3\nslices=2\n",
            {"images": 6, "frames": 3, "slices": 2, "channels": 1},
        ),
        (
            "ImageJ=1.11a\nchannels=2\nhyperstack=true\nmode=grayscale\n",
            {"images": 1, "frames": 1, "slices": 1, "channels": 2},
        ),
        ("ImageJ=1.11a\nframes=x\n", None),
        ("ImageJ=1.11a\nframes=0\n", None),
        ('{"shape": [3, 16, 16]}', None),
    ],
)
def test_imagej_counts_like_tifffile(description: str, expected: dict[str, int] | None) -> None:
    assert imagej_counts(description) == expected
    if expected is not None:
        theirs = imagej_description_metadata(description)
        for key, value in expected.items():
            assert theirs.get(key, 1) == value


def test_scitiff_plane_without_tifffile(tmp_path: Path) -> None:
    """An uncompressed ImageJ hyperstack: open and one plane import no tifffile (cold start, issue 18)."""
    path = tmp_path / "a.tif"
    data = np.arange(4 * 16 * 20, dtype=np.uint16).reshape(4, 16, 20)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TYX"})
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from scitiff_readers_tiff.series import hyperstack_source\n"
        f"s = hyperstack_source(Path({str(path)!r}), (4, 1, 1, 16, 20))\n"
        "plane = s.read((slice(2, 3), slice(0, 1), slice(0, 1), slice(0, 16), slice(0, 20)))\n"
        "print(int(plane.sum()), 'tifffile' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    total, imported = out.stdout.split()
    assert int(total) == int(data[2].sum())
    assert imported == "False"
