"""The plugin API boundary: plugins import only ``scitiff_readers.backend`` and the public modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import scitiff_readers
import scitiff_readers.backend as backend

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FILES = sorted((ROOT / "plugins").glob("*/**/*.py"))
#: What a plugin may import from the core: the user API, the plugin API, the conformance suite.
PUBLIC = {
    "scitiff_readers",
    "scitiff_readers.backend",
    "scitiff_readers.errors",
    "scitiff_readers.testing",
    "scitiff_readers.cli",
    "scitiff_readers.stdmeta",
    "scitiff_readers.xarray_backend",
}
HEAVY = ("dask", "xarray", "pandas", "zarr", "pydantic", "ome_types", "tifffile")


def _core_imports(path: Path) -> list[tuple[int, str]]:
    """Every ``scitiff_readers`` module (or ``from scitiff_readers import name``) that ``path`` imports."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "scitiff_readers"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "scitiff_readers":
                continue
            found.append((node.lineno, node.module))
            # ``from scitiff_readers import _lazy`` names a module too.
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if a.name.startswith("_")]
    return found


def _is_public(module: str) -> bool:
    parts = module.split(".")
    if any(p.startswith("_") for p in parts[1:]):
        return False
    return any(module == m or (m == "scitiff_readers.testing" and module.startswith(m + ".")) for m in PUBLIC)


def test_plugins_are_found() -> None:
    # The scan below must see the plugin sources, or it would pass on nothing.
    names = {p.relative_to(ROOT / "plugins").parts[0] for p in PLUGIN_FILES}
    assert {"tiff", "zarr", "ndtiff", "scitiff", "napari", "bioio"} <= names


def test_no_plugin_imports_a_private_core_module() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{line}: {module}"
        for p in PLUGIN_FILES
        for line, module in _core_imports(p)
        if not _is_public(module)
    ]
    assert not bad, "plugins import private core modules (use scitiff_readers.backend):\n" + "\n".join(bad)


def test_the_check_catches_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "plugin.py"
    sample.write_text(
        "from scitiff_readers._lazy import to_dask\nfrom scitiff_readers import _files\n"
        "import scitiff_readers.backend\nfrom scitiff_readers.testing.counters import count_reads\n"
    )
    verdict = [(m, _is_public(m)) for _, m in _core_imports(sample)]
    assert verdict == [
        ("scitiff_readers._lazy", False),
        ("scitiff_readers", True),
        ("scitiff_readers._files", False),
        ("scitiff_readers.backend", True),
        ("scitiff_readers.testing.counters", True),
    ]


def test_every_exported_name_resolves() -> None:
    missing = [name for name in backend.__all__ if getattr(backend, name, None) is None]
    assert not missing
    assert len(set(backend.__all__)) == len(backend.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        backend.nope  # noqa: B018


def test_public_modules_are_the_declared_ones() -> None:
    package = Path(scitiff_readers.__file__).parent
    public = sorted(p.stem for p in package.glob("*.py") if not p.stem.startswith("_"))
    assert public == ["backend", "cli", "errors", "stdmeta", "xarray_backend"]


def test_backend_import_is_cold() -> None:
    program = (
        "import json, sys; import scitiff_readers.backend; "
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_backend_import_loads_no_benchmark_or_tiff_header_module() -> None:
    # A zarr or NDTiff open imports the plugin API; the benchmark helpers and the TIFF
    # header tables load when a plugin first names them.
    program = (
        "import json, sys; import scitiff_readers.backend as b; "
        "before = sorted(m for m in ('scitiff_readers._benchmarking', 'scitiff_readers._tiffhead', "
        "'scitiff_readers._ifd') if m in sys.modules); "
        "after = [b.Peer.__module__, b.FirstIfd.__module__, b.IfdChain.__module__, b.tiff_head.__module__]; "
        "print(json.dumps([before, after]))"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [
        [],
        [
            "scitiff_readers.backend",
            "scitiff_readers.backend",
            "scitiff_readers.backend",
            "scitiff_readers._tiffhead",
        ],
    ]


def test_lazy_names_are_the_private_modules_objects() -> None:
    from scitiff_readers import _benchmarking, _ifd, _tiffhead

    assert backend.BenchmarkCase is _benchmarking.BenchmarkCase
    assert backend.benchmark_cases is _benchmarking.benchmark_cases
    assert backend.TIFF_TYPE_SIZES is _tiffhead.TIFF_TYPE_SIZES
    assert backend.read_first_ifd is _tiffhead.read_first_ifd
    assert backend.IfdPage is _ifd.IfdPage


def test_to_dask_loads_on_first_use() -> None:
    from scitiff_readers._lazy import to_dask

    assert backend.to_dask is to_dask
