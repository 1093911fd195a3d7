"""The scitiff-readers command line."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from scitiff_readers.cli import main

if TYPE_CHECKING:
    from pathlib import Path


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
    assert "scene 1: 'beads'" in out
    assert "level 2:" in out
    assert "pixel size: Z=0.5 µm, Y=0.2 µm, X=0.2 µm" in out


def test_plugins_lists_readers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "npy" in out
    assert ".npy" in out
    assert "scitiff-readers" in out


def test_plugins_path_reports_feasibility(
    npy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins", str(npy_file)]) == 0
    assert "npy" in capsys.readouterr().out
    text = tmp_path / "a.txt"
    text.write_text("hello")
    assert main(["plugins", str(text)]) == 4
    assert "content not recognised" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "scitiff_readers.cli", "info", str(tmp_path / "nope.tif")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 3
    assert (
        missing.stderr.strip()
        == f"scitiff-readers: error: {tmp_path / 'nope.tif'}: no such file or directory"
    )
    text = tmp_path / "a.txt"
    text.write_text("hello")
    unsupported = subprocess.run(
        [sys.executable, "-m", "scitiff_readers.cli", "info", str(text)], capture_output=True, text=True
    )
    assert unsupported.returncode == 4
    assert len(unsupported.stderr.strip().splitlines()) == 1
    assert "no installed reader can open this file" in unsupported.stderr
    assert "Traceback" not in unsupported.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "scitiff_readers.cli", "frobnicate"], capture_output=True, text=True
    )
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


# ------------------------------------------------------------------ scripts
def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scitiff_readers.cli", *args], capture_output=True, text=True, **kwargs
    )


def test_version() -> None:
    from importlib.metadata import version

    done = _cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"scitiff-readers {version('scitiff-readers')}"


def test_info_json_has_the_documented_keys(npy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(npy_file), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"path", "reader", "reader_class", "scene_count", "scenes"}
    assert doc["reader"] == "npy"
    assert doc["scene_count"] == 1
    (scene,) = doc["scenes"]
    assert set(scene) == {"index", "name", "level_count", "levels"}
    (level,) = scene["levels"]
    assert set(level) == {
        "level",
        "dims",
        "shape",
        "dtype",
        "chunks",
        "channels",
        "physical_pixel_sizes",
        "coords",
    }
    assert level["dims"] == "TCZYX"
    assert level["shape"] == [1, 2, 3, 8, 6]
    assert level["dtype"] == "uint16"
    assert level["channels"] == ["C0", "C1"]
    assert level["physical_pixel_sizes"]["Z"] == {"value": None, "unit": None}
    assert level["coords"]["C"]["values"] == ["C0", "C1"]


def test_info_scene_by_name_or_index(multiscene_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(multiscene_file), "--scene", "beads", "--json", "--all-levels"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(s["index"], s["name"]) for s in doc["scenes"]] == [(1, "beads")]
    assert len(doc["scenes"][0]["levels"]) == doc["scenes"][0]["level_count"]
    assert main(["info", str(multiscene_file), "--scene", "1", "--scene", "0"]) == 0
    out = capsys.readouterr().out
    assert out.index("scene 1: 'beads'") < out.index("scene 0:")
    assert main(["info", str(multiscene_file), "--scene", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scitiff-readers: error:")
    assert "no scene named 'nope'" in err
    assert main(["info", str(multiscene_file), "--scene", "7"]) == 1
    assert "out of range" in capsys.readouterr().err


def test_plugins_json(npy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    npy = next(r for r in doc["readers"] if r["name"] == "npy")
    assert set(npy) == {"name", "version", "priority", "suffixes", "distribution", "description"}
    assert npy["suffixes"] == [".npy"]
    for writer in doc["writers"]:
        assert set(writer) == {
            "name",
            "version",
            "priority",
            "suffixes",
            "distribution",
            "max_scenes",
            "levels",
            "options",
        }
    assert main(["plugins", str(npy_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"name": "npy", "opens": True} == {
        k: v for k, v in next(r for r in report["readers"] if r["name"] == "npy").items() if k != "reason"
    }


def test_piped_into_head_ends_quietly(npy_file: Path) -> None:
    """A reader of our output that goes away early: no traceback, no 'Broken pipe' message."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from scitiff_readers.cli import main; time.sleep(0.5); "
                f"sys.exit(main(['info', {str(npy_file)!r}, '--json']))"
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # like head after its lines
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert err == ""


def test_unexpected_errors_are_one_line(tmp_path: Path) -> None:
    npy = tmp_path / "obj.npy"
    np.save(npy, np.array([object()], dtype=object), allow_pickle=True)
    done = _cli("info", str(npy))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
