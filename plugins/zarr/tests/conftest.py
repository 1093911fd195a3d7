"""Shared samples for the zarr plugin's tests (written once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# visor-py switches zarr's process-wide codec pipeline to zarrs when its objects are
# built; keep zarr-python's own pipeline so reference reads are plain zarr.
os.environ.setdefault("VISOR_PY_DISABLE_ZARRS", "1")

VISOR001 = Path(
    os.path.normpath(
        Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "visor" / "VISOR001.vsr"
    )
)


@pytest.fixture(scope="session")
def visor_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from scitiff_readers_zarr import visor_writer as w

    base = tmp_path_factory.mktemp("visor")
    return {
        "2025": w.write_visor_2025(base / "A001.vsr"),
        "2024.11.3": w.write_visor_2024_11_3(base / "B001.vsr"),
        "2024.11.2": w.write_visor_2024_11_2(base / "C001"),
        "2024.11.1": w.write_visor_2024_11_1(base / "D001"),
        "2024.11.0": w.write_visor_2024_11_0(base / "E001"),
    }


@pytest.fixture
def shared_visor() -> Path:
    if not VISOR001.is_dir():
        pytest.skip(f"shared sample data not found at {VISOR001} (clone without ../shared/data)")
    return VISOR001
