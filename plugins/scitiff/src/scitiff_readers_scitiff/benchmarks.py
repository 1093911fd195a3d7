"""Benchmark case of the SciTiff backend (entry point ``scitiff_readers.benchmarks``).

A 315 MB time-of-flight stack (300 non-uniform ToF bins in µs as bin edges, 512 x 512
float32, wavelength and datetime coordinates), written by ``scitiff.save_scitiff``.
Peers: ``scitiff.load_scitiff`` (eager only; it has no lazy or metadata-only path)
and ``tifffile``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["BENCH_SHAPE", "cases", "make_benchmark_file"]

#: (t, y, x) of the benchmark file.
BENCH_SHAPE = (300, 512, 512)


def make_benchmark_file(folder: Path) -> Path:
    """Write the benchmark file with the reference writer unless it exists."""
    path = folder / "scitiff-tof-315MB.tiff"
    if path.exists():  # before any import, so timed runs pay their own imports
        return path
    import numpy as np
    import scipp as sc
    import scitiff

    from .samples import tof_edges_us

    n_t, n_y, n_x = BENCH_SHAPE
    values = np.empty(BENCH_SHAPE, dtype=np.float32)
    ramp = (np.arange(n_y * n_x, dtype=np.float32) % 4093).reshape(n_y, n_x)
    for t in range(n_t):
        values[t] = ramp + t
    edges = tof_edges_us(n_t)
    da = sc.DataArray(
        sc.array(dims=["t", "y", "x"], values=values, unit="counts"),
        coords={
            "t": sc.array(dims=["t"], values=edges, unit="us"),
            "y": sc.arange("y", float(n_y), unit="mm") * 0.055,
            "x": sc.arange("x", float(n_x), unit="mm") * 0.055,
            "wavelength": sc.array(
                dims=["t"], values=3.956e-3 * (edges[:-1] + edges[1:]) / 2 / 25.0, unit="angstrom"
            ),
            "start_time": sc.datetime("2025-03-04T05:06:07", unit="s"),
        },
    )
    tmp = path.with_name(path.name + ".partial")
    scitiff.save_scitiff(da, tmp)
    tmp.replace(path)
    return path


def _tifffile_open(path: Path) -> Any:
    import json

    import tifffile

    with tifffile.TiffFile(path) as tif:
        meta = tif.imagej_metadata or {}
        return tif.series[0].shape, json.loads(meta["scitiffmeta"])


def _tifffile_plane(path: Path) -> Any:
    import tifffile

    return tifffile.imread(path, key=150)


def _tifffile_full(path: Path) -> Any:
    import tifffile

    return tifffile.imread(path)


def _tifffile_lazy(path: Path) -> Any:
    import dask.array as da
    import tifffile
    import zarr

    with tifffile.imread(path, aszarr=True) as store:
        return da.from_zarr(zarr.open(store, mode="r")).compute()


def _scitiff_full(path: Path) -> Any:
    import scitiff

    return scitiff.load_scitiff(path, only_image=True).values


def cases() -> list[Any]:
    """The SciTiff benchmark cases."""
    from scitiff_readers.backend import BenchmarkCase, Peer

    n_t, n_y, n_x = BENCH_SHAPE
    return [
        BenchmarkCase(
            "scitiff-tof-315MB-float32",
            "scitiff",
            make_benchmark_file,
            plane={"T": 150, "C": 0, "Z": 0},
            peers=(
                Peer("scitiff.load_scitiff", full_read=_scitiff_full, full_read_lazy=None),
                Peer(
                    "tifffile",
                    open=_tifffile_open,
                    one_plane=_tifffile_plane,
                    full_read=_tifffile_full,
                    full_read_lazy=_tifffile_lazy,
                    imports=("tifffile",),
                    plane_program=lambda p: f"import tifffile\ntifffile.imread({str(p)!r}, key=150)\n",
                ),
            ),
            nbytes=n_t * n_y * n_x * 4,
        )
    ]
