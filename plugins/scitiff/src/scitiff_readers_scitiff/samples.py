"""Sample SciTiff files written by the reference writer ``scitiff.save_scitiff``.

Used by the tests, the benchmark and ``scitiff-readers demo``. Each function
needs ``scitiff`` and ``scipp`` (the ``test`` extra), except
:func:`write_demo_sample`, which falls back to this package's own writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "tof_edges_us",
    "write_demo_sample",
    "write_stdevs_mask_sample",
    "write_tof_sample",
]


def tof_edges_us(n_bins: int) -> np.ndarray:
    """Non-uniform time-of-flight bin edges in µs (bins widening with time, as in a pulsed source)."""
    return 1000.0 + 40.0 * np.arange(n_bins + 1) ** 1.5


def _ramp(shape: tuple[int, ...], dtype: str = "float32", seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random(shape, dtype=np.float64).astype(dtype) * 100


def write_tof_sample(
    path: Path, n_t: int = 6, n_y: int = 12, n_x: int = 10, *, bin_edges: bool = True
) -> Path:
    """A time-of-flight stack written by ``scitiff.save_scitiff``.

    ``t`` in µs (non-uniform bin edges, or centres), ``y``/``x`` in mm, a datetime
    scalar, 1-D datetimes, a wavelength-like coordinate, a 2-D ``pixel-id``, a
    string scalar, a 1-D and a 2-D mask.
    """
    import scipp as sc
    import scitiff

    t = tof_edges_us(n_t) if bin_edges else tof_edges_us(n_t)[:-1]
    # lambda [Å] = h t / (m L) ~ 3.956e-3 * t[µs] / L[m] for L = 25 m
    centres = (t[:-1] + t[1:]) / 2 if bin_edges else t
    da = sc.DataArray(
        sc.array(dims=["t", "y", "x"], values=_ramp((n_t, n_y, n_x)), unit="counts"),
        coords={
            "t": sc.array(dims=["t"], values=t, unit="us"),
            "y": sc.linspace("y", 0.0, 5.5, n_y, unit="mm"),
            "x": sc.arange("x", float(n_x), unit="mm") * 0.5,
            "wavelength": sc.array(dims=["t"], values=3.956e-3 * centres / 25.0, unit="angstrom"),
            "start_time": sc.datetime("2025-03-04T05:06:07", unit="s"),
            "frame_time": sc.datetimes(
                dims=["t"],
                values=np.datetime64("2025-03-04T05:06:07", "s") + np.arange(n_t).astype("timedelta64[s]"),
                unit="s",
            ),
            "pixel-id": sc.array(dims=["x", "y"], values=np.arange(n_x * n_y).reshape(n_x, n_y)),
            "detector": sc.scalar("timepix3"),
        },
        masks={
            "bad_frames": sc.array(dims=["t"], values=np.arange(n_t) % 4 == 1),
            "beam_stop": sc.array(dims=["y", "x"], values=np.add.outer(np.arange(n_y), np.arange(n_x)) < 4),
        },
    )
    scitiff.save_scitiff(da, path)
    return path


def write_stdevs_mask_sample(path: Path, n_t: int = 3, n_z: int = 2, n_y: int = 8, n_x: int = 9) -> Path:
    """Intensities with variances and a full-size mask: stored as channels intensities, stdevs, mask."""
    import scipp as sc
    import scitiff

    values = _ramp((n_t, n_z, n_y, n_x), seed=3)
    variances = _ramp((n_t, n_z, n_y, n_x), seed=4)
    da = sc.DataArray(
        sc.array(dims=["t", "z", "y", "x"], values=values, variances=variances, unit="counts"),
        coords={
            "t": sc.array(dims=["t"], values=np.array([0, 5, 10]), unit="s"),
            "z": sc.array(dims=["z"], values=[1.5, 3.0], unit="mm"),
        },
        masks={"hot": sc.array(dims=["t", "z", "y", "x"], values=values > 80)},
    )
    scitiff.save_scitiff(da, path)
    return path


def write_demo_sample(path: Path) -> Path:
    """A small ToF stack; with scitiff installed it is written by ``scitiff.save_scitiff``."""
    try:
        return write_tof_sample(path)
    except ImportError:
        import xarray as xr

        from .writer import save_scitiff

        edges = tof_edges_us(6)
        data: Any = xr.DataArray(
            _ramp((6, 12, 10)),
            dims=("t", "y", "x"),
            coords={
                "t": ("t", (edges[:-1] + edges[1:]) / 2, {"units": "µs"}),
                "y": ("y", np.linspace(0, 5.5, 12), {"units": "mm"}),
                "x": ("x", np.arange(10) * 0.5, {"units": "mm"}),
            },
            attrs={"units": "counts"},
        )
        return save_scitiff(data, path)
