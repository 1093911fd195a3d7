"""Import floors: what a fresh process pays before any reader does anything.

The cold-start targets of issue 18 compare our first plane through
``get_image_dask_data(...).compute()`` with the reference reader's whole program
(``import tifffile; TiffFile(p).pages[k].asarray()``). A dask array cannot exist
without ``import dask.array``, so that import is a floor under the dask path. This
script measures the floor and where it goes, in fresh processes with byte-compiled
modules (medians of ``--repeat``):

- whole-process wall time of ``python -c "<import>"`` for the interpreter alone, numpy,
  tifffile, zarr, ``scitiff_readers``, ``dask.array``, and ``dask.array`` with the
  optional packages it imports eagerly made unimportable (what it would cost if dask
  imported them lazily);
- the packages ``import dask.array`` pulls in, with the time spent importing each one's
  own modules (``python -X importtime``, self times summed per top-level package).

    python benchmarks/import_floor.py --repeat 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

#: Packages dask 2026.x's ``dask.array`` imports at import time when they are installed:
#: ``dask.array.core`` imports xarray (``import_optional_dependency("xarray")``, which
#: imports pandas), ``dask.array.chunk_types`` scipy.sparse, ``dask.array.fft`` scipy.fftpack.
EAGER_OPTIONAL = ("xarray", "pandas", "scipy")

PROGRAMS: dict[str, str] = {
    "python (nothing)": "pass",
    "import numpy": "import numpy",
    "import tifffile": "import tifffile",
    "import zarr": "import zarr",
    "import scitiff_readers": "import scitiff_readers",
    "import dask.array": "import dask.array",
    "import dask.array, optional packages hidden": (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in EAGER_OPTIONAL)
        + "import dask.array"
    ),
}


def _env() -> dict[str, str]:
    # Byte-compiled modules, as on a user's machine.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(code: str) -> float:
    """Seconds of one fresh ``python -c code``, interpreter start-up included."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), capture_output=True)
    return time.perf_counter() - start


def dask_array_imports() -> dict[str, float]:
    """Milliseconds ``import dask.array`` spends in each top-level package (own import time)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import dask.array"],
        check=True,
        env=_env(),
        capture_output=True,
        text=True,
    )
    own: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        package = name.strip().split(".")[0]
        own[package] = own.get(package, 0.0) + int(self_us) / 1e3
    return own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    samples: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for _ in range(args.repeat):  # in turn: a slow moment falls on every program alike
        for name, code in PROGRAMS.items():
            samples[name].append(wall(code))
    print("| whole process | ms |")
    print("|---|---|")
    for name, values in samples.items():
        print(f"| `{name}` | {statistics.median(values) * 1e3:.0f} |")
    print()
    print("| package imported by `import dask.array` | ms of its own modules (-X importtime) |")
    print("|---|---|")
    top = sorted(dask_array_imports().items(), key=lambda item: -item[1])
    for package, ms in top[:12]:
        print(f"| {package} | {ms:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
