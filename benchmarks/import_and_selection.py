"""Import cost of scitiff_readers over its dependencies, and the time of reader selection.

Each import is timed in a fresh interpreter (median of ``--repeat`` runs). Selection
is timed cold (first call in a process: entry-point discovery and plugin imports)
and warm (later calls), on the sample files of every installed reader's demo.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DEPS = "import numpy, dask.array, xarray"


def _import_time(stmt: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    ]
    return statistics.median(runs)


def _overhead(repeat: int) -> float:
    """scitiff_readers on top of already-imported dependencies, in one process."""
    code = (
        f"{DEPS}\nimport time; t = time.perf_counter(); import scitiff_readers; "
        "print(time.perf_counter() - t)"
    )
    return statistics.median(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeat)
    )


def _selection(folder: Path) -> None:
    code = f"""
import time, statistics
from pathlib import Path
import scitiff_readers
from scitiff_readers._registry import list_readers, select_reader
folder = Path({str(folder)!r})
t = time.perf_counter(); readers = list_readers(); discovery = time.perf_counter() - t
print(f"discovery (imports {{len(readers)}} plugin classes): {{discovery * 1e3:.1f}} ms")
for name, info in sorted(readers.items()):
    sub = folder / name
    sub.mkdir(exist_ok=True)
    try:
        sample = info.cls.demo_sample(sub)
    except Exception as exc:
        print(f"{{name:<9}} no sample: {{exc}}"); continue
    if sample is None:
        continue
    t = time.perf_counter(); chosen = select_reader(sample); first = time.perf_counter() - t
    runs = []
    for _ in range(50):
        t = time.perf_counter(); select_reader(sample); runs.append(time.perf_counter() - t)
    print(f"{{name:<9}} -> {{chosen.name:<9}} first {{first * 1e3:.2f}} ms, warm median {{statistics.median(runs) * 1e3:.2f}} ms")
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    deps = _import_time(DEPS, args.repeat)
    ours = _import_time("import scitiff_readers", args.repeat)
    print(f"import numpy + dask.array + xarray: {deps:.3f} s")
    print(f"import scitiff_readers (with them): {ours:.3f} s  -> adds {ours - deps:+.3f} s")
    print(f"import scitiff_readers after them:  {_overhead(args.repeat):.3f} s")
    with tempfile.TemporaryDirectory() as tmp:
        _selection(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
