"""The remembered plugin declarations: a fresh process imports only the readers it sniffs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pytest

from scitiff_readers._plugincache import Declaration, load_declarations, store_declarations

if TYPE_CHECKING:
    from pathlib import Path

tifffile = pytest.importorskip("tifffile")

_PROGRAM = textwrap.dedent(
    """
    import json, sys
    from scitiff_readers import Reader
    r = Reader(sys.argv[1])
    plane = r.get_image_data("YX", T=0, C=0, Z=0)
    print(json.dumps({
        "reader": r.reader_name,
        "sum": int(plane.sum()),
        "plugins": sorted(m for m in sys.modules if m.startswith("scitiff_readers_") and "." not in m),
        "heavy": sorted(m for m in ("dask", "xarray", "pandas", "zarr", "pydantic", "scipp") if m in sys.modules),
    }))
    """
)


def _run(path: Path, cache: Path, **env: str) -> dict[str, object]:
    full_env = {**os.environ, "SCITIFF_READERS_CACHE_DIR": str(cache), **env}
    out = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(path)], capture_output=True, text=True, check=True, env=full_env
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def ome_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.arange(2 * 3 * 16 * 16, dtype=np.uint16).reshape(2, 3, 16, 16)
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "ZCYX"})
    return path, data


def test_second_process_imports_only_the_plugins_it_sniffs(
    tmp_path: Path, ome_file: tuple[Path, np.ndarray]
) -> None:
    path, data = ome_file
    cache = tmp_path / "cache"
    first = _run(path, cache)
    assert list(cache.glob("plugins-scitiff_readers.readers-*.json"))
    second = _run(path, cache)
    assert first["reader"] == second["reader"] == "ome-tiff"
    assert first["sum"] == second["sum"] == int(data[0, 0].sum())  # tifffile wrote these pixels
    # The first process imported every plugin to learn their declarations; the second
    # only those ranked before the OME-TIFF reader (SciTiff, NDTiff) and the TIFF plugin.
    assert "scitiff_readers_zarr" in first["plugins"]
    assert second["plugins"] == ["scitiff_readers_ndtiff", "scitiff_readers_scitiff", "scitiff_readers_tiff"]
    # Reading one plane needs neither dask nor xarray (nor pandas, zarr, pydantic, scipp).
    assert second["heavy"] == []


def test_environments_of_one_interpreter_keep_their_own_memory(
    tmp_path: Path, ome_file: tuple[Path, np.ndarray]
) -> None:
    """Processes of one interpreter with another ``PYTHONPATH``, run in turn, do not rescan after each other."""
    path, _ = ome_file
    cache = tmp_path / "cache"
    extra = tmp_path / "extra"
    extra.mkdir()
    plain_env = {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    other_env = {
        "PYTHONPATH": os.pathsep.join(p for p in (str(extra), os.environ.get("PYTHONPATH", "")) if p)
    }
    first_plain = _run(path, cache, **plain_env)
    first_other = _run(path, cache, **other_env)
    assert "scitiff_readers_zarr" in first_plain["plugins"]
    assert "scitiff_readers_zarr" in first_other["plugins"]  # its own scan
    assert len(list(cache.glob("plugins-scitiff_readers.readers-*.json"))) == 2
    for env in (plain_env, other_env):
        again = _run(path, cache, **env)
        assert again["reader"] == "ome-tiff"
        assert "scitiff_readers_zarr" not in again["plugins"]  # remembered, not scanned again


def test_disabled_cache_writes_nothing(tmp_path: Path, ome_file: tuple[Path, np.ndarray]) -> None:
    path, _ = ome_file
    cache = tmp_path / "cache"
    result = _run(path, cache, SCITIFF_READERS_PLUGIN_CACHE="0")
    assert result["reader"] == "ome-tiff"
    assert "scitiff_readers_zarr" in result["plugins"]
    assert not cache.exists()


def test_corrupt_cache_is_ignored_and_rewritten(tmp_path: Path, ome_file: tuple[Path, np.ndarray]) -> None:
    path, _ = ome_file
    cache = tmp_path / "cache"
    _run(path, cache)
    (stored,) = cache.glob("plugins-*.json")
    stored.write_text("{not json")
    assert _run(path, cache)["reader"] == "ome-tiff"
    assert json.loads(stored.read_text())["plugins"]  # rewritten whole


def test_declarations_round_trip_and_go_stale_with_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCITIFF_READERS_CACHE_DIR", str(tmp_path))
    module = tmp_path / "plugin_mod.py"
    module.write_text("x = 1\n")
    stat = module.stat()
    decl = Declaration(
        "demo", "plugin_mod:Demo", "demo-dist", "1.0", (".demo",), 5, str(module), stat.st_mtime_ns
    )
    store_declarations("test.group", [decl])
    assert load_declarations("test.group") == [decl]
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the plugin was edited
    assert load_declarations("test.group") is None


def test_unwritable_cache_folder_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SCITIFF_READERS_CACHE_DIR", str(blocker / "sub"))  # a folder inside a file
    store_declarations("test.group", [])
    assert load_declarations("test.group") is None


def test_a_named_reader_is_found_without_reading_entry_points(
    tmp_path: Path, ome_file: tuple[Path, np.ndarray]
) -> None:
    path, data = ome_file
    cache = tmp_path / "cache"
    _run(path, cache)  # remembers the declarations
    # A second process naming its reader: importlib.metadata's scan of every
    # distribution is made to fail, so the reader must come from the memory.
    program = textwrap.dedent(
        """
        import importlib.metadata, json, sys
        def refuse(*args, **kwargs):
            raise AssertionError("entry points were read")
        importlib.metadata.entry_points = refuse
        from scitiff_readers import Reader
        r = Reader(sys.argv[1], reader="ome-tiff")
        print(json.dumps([r.reader_name, int(r.get_image_data("YX", Z=1, C=2).sum())]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", program, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "SCITIFF_READERS_CACHE_DIR": str(cache)},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["ome-tiff", int(data[1, 2].sum())]


def test_a_named_reader_without_memory_remembers_for_the_next_process(
    tmp_path: Path, ome_file: tuple[Path, np.ndarray]
) -> None:
    path, data = ome_file
    cache = tmp_path / "cache"
    named = textwrap.dedent(
        """
        import json, sys
        from scitiff_readers import Reader
        r = Reader(sys.argv[1], reader="ome-tiff")
        print(json.dumps([r.reader_name, int(r.get_image_data("YX", Z=1, C=2).sum()),
                          "importlib.metadata" in sys.modules]))
        """
    )
    env = {**os.environ, "SCITIFF_READERS_CACHE_DIR": str(cache)}
    run = [sys.executable, "-c", named, str(path)]
    first = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    # The first process had to read the entry points, and wrote what it found.
    assert json.loads(first.stdout.strip().splitlines()[-1]) == ["ome-tiff", int(data[1, 2].sum()), True]
    assert list(cache.glob("plugins-scitiff_readers.readers-*.json"))
    second = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    assert json.loads(second.stdout.strip().splitlines()[-1]) == ["ome-tiff", int(data[1, 2].sum()), False]


def test_import_reads_no_distribution_metadata() -> None:
    # importlib.metadata (email, zipfile, csv) costs a fresh process 10-20 ms: only the
    # version and a scan of the entry points need it.
    from importlib.metadata import version

    program = (
        "import json, sys, scitiff_readers; before = 'importlib.metadata' in sys.modules; "
        "print(json.dumps([before, scitiff_readers.__version__]))"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, version("scitiff-readers")]
