"""``scitiff-readers demo``: write a sample of every installed format and read it back.

Each reader's :meth:`~scitiff_readers.Reader.demo_sample` writes a small file with
the format's reference writer into a temporary folder; the demo then opens it
through automatic selection and prints a summary. With ``--shared FOLDER`` it also
reads the real sample files found there.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ._reader import Reader
from ._registry import list_readers

__all__ = ["run_demo"]


def _summary(path: Path) -> str:
    start = time.perf_counter()
    with Reader(path) as reader:
        opened = (time.perf_counter() - start) * 1e3
        lazy = reader.xarray_dask_data
        plane_index = {d: 0 for d in "TCZ"}
        plane = reader.get_image_data("YX" + ("S" if "S" in reader.dims.order else ""), **plane_index)
        coords = ", ".join(
            f"{n}[{v.attrs['units']}]" if "units" in v.attrs else str(n) for n, v in lazy.coords.items()
        )
        return (
            f"{reader.reader_name:<9} {path.name:<34} scenes={len(reader.scenes):<3} "
            f"{reader.dims.order}={reader.shape} {reader.dtype} channels={reader.channel_names[:4]} "
            f"coords=({coords}) plane mean={float(np.mean(plane)):.2f} open={opened:.1f} ms"
        )


def run_demo(shared: str | None = None) -> int:
    """Print a summary of one sample per installed reader; return an exit code."""
    readers = list_readers()
    print(f"scitiff_readers demo: {len(readers)} reader(s) installed: {', '.join(sorted(readers))}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="scitiff-readers-demo-") as tmp:
        for name, info in sorted(readers.items()):
            folder = Path(tmp) / name
            folder.mkdir()
            try:
                sample = info.cls.demo_sample(folder)
                if sample is None:
                    print(f"{name:<9} (no demo sample)")
                    continue
                print(_summary(sample))
            except Exception as exc:  # noqa: BLE001 - the demo reports every failure and goes on
                failures += 1
                first_line = str(exc).splitlines()[0] if str(exc) else ""
                print(f"{name:<9} FAILED: {type(exc).__name__}: {first_line}")
    if shared and not Path(shared).is_dir():
        print(f"\n(no real samples: {shared} does not exist)")
    elif shared:
        root = Path(shared)
        print(f"\nreal samples in {root}:")
        for path in sorted(_shared_samples(root)):
            try:
                print(_summary(path))
            except Exception as exc:  # noqa: BLE001
                failures += 1
                first_line = str(exc).splitlines()[0] if str(exc) else ""
                print(f"{'?':<9} {path.name}: FAILED: {type(exc).__name__}: {first_line}")
    return 1 if failures else 0


def _shared_samples(root: Path) -> list[Path]:
    """One path per dataset in the shared data folder: files, NDTiff folders, zarr images."""
    out: list[Path] = []
    for sub in ("scitiff", "ometiff"):
        out.extend(p for p in (root / sub).glob("*.tif*") if p.is_file())
    for index in (root / "ndtiff").rglob("NDTiff.index"):
        folder = index.parent
        if folder.name.startswith(("Full resolution", "Downsampled")):
            folder = folder.parent
        if folder not in out:
            out.append(folder)
    out.extend(p for p in (root / "visor").glob("*.vsr") if p.is_dir())
    return out
