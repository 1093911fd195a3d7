"""Smoke test of an installed set of distributions: import everything, read a real file per reader.

Run by the ``plugin_alone`` and ``wheels`` nox sessions inside a fresh virtual
environment, so a dependency a distribution uses but does not declare fails here
(an ``ImportError`` while importing its modules or reading its sample), not on a
user's machine::

    python .ci/smoke.py DATA_DIR scitiff-readers scitiff-readers-tiff ...

Each distribution's packages are imported module by module; then each reader the
distribution registers opens its real sample from ``DATA_DIR`` (the repository's
``../shared/data``) through automatic selection and reads one plane. Readers
without a sample there are listed as not read (a clone without the shared data).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import pkgutil
import sys
import tempfile
from pathlib import Path

#: One real file per reader, relative to the shared data folder.
SAMPLES = {
    "scitiff": "scitiff/scitiff-26.1.0.tiff",
    "ndtiff": "ndtiff/v3/ndtiffv3.0_test",
    "ome-tiff": "ometiff/s_1_t_1_c_1_z_1.ome.tiff",
    "tiff": "ometiff/s_1_t_1_c_1_z_1.tiff",
    "visor": "visor/VISOR001.vsr",
    "ome-zarr": "corpus/BMCV+galaxy-image-analysis/tools/2d_auto_threshold/test-data/input/"
    "ome-zarr-examples/image-03.zarr",
}

#: Modules that need an optional extra of their distribution, not imported here.
NEEDS_EXTRA = {"scitiff_readers.testing"}  # the [testing] extra: pytest, psutil, distributed


def import_all(distribution: str) -> list[str]:
    """Import every module of the packages ``distribution`` installs; return their names."""
    tops = (md.distribution(distribution).read_text("top_level.txt") or "").split()
    if not tops:  # hatchling writes no top_level.txt: derive it from the installed files
        files = md.distribution(distribution).files or []
        tops = sorted(
            {
                f.parts[0]
                for f in files
                if f.suffix == ".py" and len(f.parts) > 1 and not f.parts[0].endswith((".dist-info", ".data"))
            }
        )
    names: list[str] = []
    todo = list(tops)
    while todo:
        name = todo.pop()
        if name in NEEDS_EXTRA:
            continue
        module = importlib.import_module(name)
        names.append(name)
        for info in pkgutil.iter_modules(getattr(module, "__path__", []), prefix=f"{name}."):
            todo.append(info.name)
    return names


def main(argv: list[str]) -> int:
    """Import the distributions ``argv[1:]`` and read each of their readers' samples."""
    data = Path(argv[0])
    distributions = argv[1:]
    for dist in distributions:
        modules = import_all(dist)
        print(f"{dist} {md.version(dist)}: imported {len(modules)} modules")

    from scitiff_readers import Reader, list_readers

    readers = {name: info for name, info in list_readers().items() if info.distribution in distributions}
    if not readers:
        print("no reader registered by", distributions, file=sys.stderr)
        return 1
    for name, info in sorted(readers.items()):
        if name == "npy":
            import numpy as np

            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "ramp.npy"
                np.save(path, np.arange(24, dtype=np.uint16).reshape(2, 3, 4))
                with Reader(path) as reader:
                    assert reader.reader_name == "npy", reader.reader_name
                    plane = reader.get_image_data("YX", Z=1)
                    assert plane.tolist() == np.arange(12, 24).reshape(3, 4).tolist()
            print(f"  {name}: read a plane of a .npy written by numpy")
            continue
        sample = data / SAMPLES.get(name, "-")
        if not sample.exists():
            print(f"  {name} ({info.distribution}): no sample under {data}; not read")
            continue
        with Reader(sample) as reader:
            assert reader.reader_name == name, f"{sample} was opened by {reader.reader_name}, not {name}"
            order = "YXS" if "S" in reader.dims.order else "YX"
            plane = reader.get_image_data(order, T=0, C=0, Z=0)
            print(
                f"  {name}: {sample.name} dims {reader.dims.order} {reader.shape} -> plane {plane.shape}"
                f" {plane.dtype}, sum {int(plane.sum())}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
