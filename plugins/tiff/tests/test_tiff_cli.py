"""The command line on damaged TIFFs: one clear warning, no tifffile log lines, ``--strict`` exits 6."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import tifffile

from scitiff_readers.cli import main

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_truncated_file_warns_once_and_strict_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cut.ome.tif"
    tifffile.imwrite(
        path, np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32), ome=True, metadata={"axes": "ZYX"}
    )
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) - 3000)
    cli = [sys.executable, "-m", "scitiff_readers.cli", "info", str(path)]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"scitiff-readers: warning: {path}: the file is damaged or truncated")
    assert "dims:      TCZYX (1, 1, 1, 32, 32)" in done.stdout  # what tifffile could read
    assert main(["info", str(path), "--strict"]) == 6
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "scitiff-readers: error: the file is damaged or truncated (--strict)"
    assert sum(line.startswith("scitiff-readers: warning:") for line in err) == 1
