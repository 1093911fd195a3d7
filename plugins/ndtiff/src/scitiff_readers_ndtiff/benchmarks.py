"""Benchmark cases of the ``ndtiff`` reader (entry point ``scitiff_readers.benchmarks``)."""

from __future__ import annotations

import contextlib
import io
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["cases"]

_SHAPE = (10, 3, 20, 512, 512)  # T, C, Z, Y, X: 600 images, 315 MB of uint16
_CHANNELS = ("DAPI", "FITC", "TRITC")


def _make(folder: Path) -> Path:
    from .samples import write_sample

    target = folder / "ndtiff-tcz-315MB"
    if (target / "NDTiff.index").is_file():
        return target
    t, _, z, h, w = _SHAPE
    staging = folder / "ndtiff-staging"
    shutil.rmtree(staging, ignore_errors=True)
    written = write_sample(staging, "bench", times=t, channels=_CHANNELS, zs=z, height=h, width=w)
    shutil.rmtree(target, ignore_errors=True)
    written.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def _quiet_dataset(path: Path) -> Any:
    from ndstorage import Dataset

    with contextlib.redirect_stdout(io.StringIO()):
        return Dataset(str(path))


def _ndstorage_open(path: Path) -> Any:
    ds = _quiet_dataset(path)
    shape = ds.as_array().shape
    ds.close()
    return shape


def _ndstorage_one(path: Path) -> np.ndarray:
    ds = _quiet_dataset(path)
    try:
        return np.array(ds.read_image(time=0, channel="DAPI", z=10))
    finally:
        ds.close()


def _ndstorage_lazy(path: Path) -> np.ndarray:
    ds = _quiet_dataset(path)
    try:
        return np.asarray(ds.as_array().compute())
    finally:
        ds.close()


def cases() -> list[Any]:
    """One 315 MB T x C x Z dataset written by ndstorage; peer: ndstorage."""
    from scitiff_readers.backend import BenchmarkCase, Peer

    peer = Peer(
        "ndstorage",
        open=_ndstorage_open,
        one_plane=_ndstorage_one,
        full_read=_ndstorage_lazy,
        full_read_lazy=_ndstorage_lazy,
        imports=("ndstorage",),
        plane_program=lambda p: (
            "import numpy as np\nfrom ndstorage import Dataset\n"
            f"ds = Dataset({str(p)!r})\n"
            "np.array(ds.read_image(time=0, channel='DAPI', z=10))\nds.close()\n"
        ),
    )
    return [
        BenchmarkCase(
            "ndtiff-tcz-uint16",
            "ndtiff",
            _make,
            plane={"T": 0, "C": 0, "Z": 10},
            peers=(peer,),
            nbytes=int(np.prod(_SHAPE)) * 2,
        )
    ]
