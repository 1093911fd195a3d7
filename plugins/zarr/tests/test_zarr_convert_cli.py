"""``scitiff-readers convert`` to OME-Zarr: options, scenes, progress, exit codes, Ctrl-C."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import tifffile
import zarr

from scitiff_readers import Reader
from scitiff_readers.cli import main
from scitiff_readers.testing.interrupt import interrupt_while_writing

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def two_scenes(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    src = tmp_path / "two.ome.tif"
    a = np.random.default_rng(0).integers(0, 60000, (3, 2, 40, 36), dtype=np.uint16)
    b = np.random.default_rng(1).integers(0, 60000, (5, 24, 20), dtype=np.uint16)
    with tifffile.TiffWriter(src, ome=True) as tw:
        tw.write(
            a,
            metadata={
                "axes": "ZCYX",
                "Name": "cells",
                "PhysicalSizeX": 0.2,
                "PhysicalSizeXUnit": "µm",
                "PhysicalSizeY": 0.2,
                "PhysicalSizeYUnit": "µm",
                "Channel": {"Name": ["dapi", "gfp"]},
            },
        )
        tw.write(b, metadata={"axes": "ZYX", "Name": "beads"})
    return src, a, b


def test_convert_with_options(
    two_scenes: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, a, _ = two_scenes
    dst = tmp_path / "cells.ome.zarr"
    assert (
        main(
            [
                "convert",
                str(src),
                str(dst),
                "--scene",
                "cells",
                "--levels",
                "1",
                "--chunks",
                "2,16,16",
                "--shards",
                "auto",
                "--compression",
                "zstd:5",
                "--no-progress",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == str(dst)
    group = zarr.open_group(str(dst), mode="r")
    np.testing.assert_array_equal(group["0"][0], a.transpose(1, 0, 2, 3))
    meta = json.loads((dst / "0" / "zarr.json").read_text())
    assert meta["codecs"][0]["configuration"]["chunk_shape"] == [1, 1, 2, 16, 16]
    ome = dict(group.attrs)["ome"]
    assert [c["label"] for c in ome["omero"]["channels"]] == ["dapi", "gfp"]
    assert ome["multiscales"][0]["axes"][4] == {"name": "x", "type": "space", "unit": "micrometer"}
    with Reader(dst) as r:
        assert r.resolution_levels == (0, 1)
        assert r.physical_pixel_sizes.X == pytest.approx(0.2)
        assert r.physical_pixel_sizes.units.X == "µm"


def test_convert_all_scenes_and_by_index(
    two_scenes: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _, b = two_scenes
    both = tmp_path / "both.ome.zarr"
    assert main(["convert", str(src), str(both), "--ngff-version", "0.4"]) == 0
    with Reader(both) as r:
        assert len(r.scenes) == 2
        r.set_scene(1)
        np.testing.assert_array_equal(r.get_image_data("ZYX"), b)
    second = tmp_path / "second.ome.tif"
    assert main(["convert", str(src), str(second), "--scene", "1"]) == 0
    np.testing.assert_array_equal(tifffile.imread(second), b)
    capsys.readouterr()


def test_convert_errors_are_one_line_with_exit_codes(
    two_scenes: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, _, _ = two_scenes
    dst = tmp_path / "x.ome.zarr"
    cases = [
        (["--scene", "nope"], 1, "no scene named 'nope'"),
        (["--compression", "lzw"], 2, "compression must be one of"),
        (["--option", "layout=flat"], 2, "layout takes 'auto' or 'bioformats2raw'"),
        (["--chunks", "a,b"], 2, "--chunks must be integers"),
        (["--format", "ome-tiff", "--shards", "auto"], 2, "the ome-tiff writer has no option(s) shards"),
        (["--format", "scitiff"], 1, "holds 1 image per file"),
        (["--format", "nope"], 1, "no writer for format 'nope'"),
    ]
    for extra, code, message in cases:
        assert main(["convert", str(src), str(dst), *extra]) == code, extra
        err = capsys.readouterr().err
        assert err.startswith("scitiff-readers: error:")
        assert message in err
        assert len(err.splitlines()) == 1
    assert not dst.exists()
    assert main(["convert", str(tmp_path / "missing.tif"), str(dst)]) == 3
    assert main(["convert", str(src), str(dst), "--scene", "0"]) == 0
    assert main(["convert", str(src), str(dst), "--scene", "0"]) == 5
    assert "use --overwrite" in capsys.readouterr().err
    assert main(["convert", str(src), str(dst), "--scene", "1", "--overwrite"]) == 0


def test_progress_bar_and_ctrl_c(tmp_path: Path) -> None:
    src = tmp_path / "big.ome.tif"
    tifffile.imwrite(
        src,
        np.random.default_rng(2).integers(0, 60000, (32, 512, 512), dtype=np.uint16),
        ome=True,
        metadata={"axes": "ZYX"},
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scitiff_readers.cli",
            "convert",
            str(src),
            str(tmp_path / "ok.ome.zarr"),
            "--progress",
            "--levels",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr
    assert "16.0M/16.0M" in done.stderr
    # Ctrl-C while writing: exit 130, nothing left behind.
    code, err = interrupt_while_writing(
        [
            sys.executable,
            "-m",
            "scitiff_readers.cli",
            "convert",
            str(src),
            str(tmp_path / "int.ome.zarr"),
            "--progress",
            "--compression",
            "blosc-zstd:9",
        ],
        tmp_path,
    )
    assert code == 130, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.ome.tif", "ok.ome.zarr"]
