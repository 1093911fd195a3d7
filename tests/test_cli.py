"""The scitiff-readers command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scitiff_readers.cli import main


@pytest.fixture
def npy_file(tmp_path: Path) -> Path:
    path = tmp_path / "stack.npy"
    np.save(path, np.arange(2 * 3 * 8 * 6, dtype="uint16").reshape(2, 3, 8, 6))
    return path


def test_info(npy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(npy_file)]) == 0
    out = capsys.readouterr().out
    assert "reader:      npy" in out
    assert "dims:      TCZYX (1, 2, 3, 8, 6)" in out
    assert "dtype:     uint16" in out
    assert "channels:  C0, C1" in out
    assert "chunking:  (1, 2, 3, 8, 6)" in out
    assert "C            (C): C0, C1" in out


def test_info_with_units(tmp_path: Path, multiscene_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(multiscene_file), "--all-scenes", "--all-levels"]) == 0
    out = capsys.readouterr().out
    assert "Z            (Z) [µm]: 10 .. 11.5 (4 values)" in out
    assert "stage_x      (T) [mm]: 1 .. 2 (2 values)" in out
    assert "scene 1: 'beads'" in out and "level 2:" in out
    assert "pixel size: Z=0.5 µm, Y=0.2 µm, X=0.2 µm" in out


def test_plugins_lists_readers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "npy" in out and ".npy" in out and "scitiff-readers" in out


def test_plugins_path_reports_feasibility(npy_file: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", str(npy_file)]) == 0
    assert "npy" in capsys.readouterr().out
    text = tmp_path / "a.txt"
    text.write_text("hello")
    assert main(["plugins", str(text)]) == 4
    assert "content not recognised" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    missing = subprocess.run([sys.executable, "-m", "scitiff_readers.cli", "info", str(tmp_path / "nope.tif")],
                             capture_output=True, text=True)
    assert missing.returncode == 3
    assert missing.stderr.strip() == f"scitiff-readers: error: {tmp_path / 'nope.tif'}: no such file or directory"
    text = tmp_path / "a.txt"
    text.write_text("hello")
    unsupported = subprocess.run([sys.executable, "-m", "scitiff_readers.cli", "info", str(text)],
                                 capture_output=True, text=True)
    assert unsupported.returncode == 4
    assert len(unsupported.stderr.strip().splitlines()) == 1
    assert "no installed reader can open this file" in unsupported.stderr
    assert "Traceback" not in unsupported.stderr
    usage = subprocess.run([sys.executable, "-m", "scitiff_readers.cli", "frobnicate"],
                           capture_output=True, text=True)
    assert usage.returncode == 2


def test_unknown_reader_and_schema_errors(npy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(npy_file), "--reader", "nope"]) == 1
    assert "no reader named 'nope'" in capsys.readouterr().err
    assert main(["schema", "--reader", "npy"]) == 1
    assert "publishes no metadata schema" in capsys.readouterr().err


def test_demo_runs_every_installed_reader(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["demo", "--shared", str(tmp_path / "absent")]) == 0
    out = capsys.readouterr().out
    assert "npy       sample.npy" in out
    assert "does not exist" in out
