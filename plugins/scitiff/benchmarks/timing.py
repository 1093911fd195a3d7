"""In-process (warm) timings of the SciTiff benchmark case against its peers.

``benchmarks/side_by_side.py`` (repository root) runs every operation in a fresh
process, which mostly measures imports for the small operations. This script runs
them repeatedly in one process with a warm page cache, the way a session that
opens many files sees them, in interleaved rounds, and prints the median and the
minimum of ``--repeat`` runs (the minimum is the better estimate on a busy machine).

    python plugins/scitiff/benchmarks/timing.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def _time_interleaved(funcs: list[Callable[[], Any]], repeat: int) -> list[list[float]]:
    """Seconds per run of each function, rounds interleaved so background load hits all alike."""
    for func in funcs:
        func()  # warm-up: imports, page cache
    runs: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            runs[i].append(time.perf_counter() - start)
    return runs


def main() -> None:
    """Print warm medians for open, one plane, lazy and eager full reads."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import scitiff
    import tifffile
    from scitiff_readers_scitiff.benchmarks import BENCH_SHAPE, make_benchmark_file

    from scitiff_readers import Reader
    from scitiff_readers.backend import benchmark_data_dir

    path = make_benchmark_file(benchmark_data_dir())
    nbytes = 4 * BENCH_SHAPE[0] * BENCH_SHAPE[1] * BENCH_SHAPE[2]

    def ours_open() -> Any:
        with Reader(path, reader="scitiff") as r:
            return r.dims, r.coords, r.channel_names, r.physical_pixel_sizes, r.metadata

    def ours_plane() -> Any:
        with Reader(path, reader="scitiff") as r:
            return r.get_image_data("YX", T=150)

    def ours_lazy() -> Any:
        with Reader(path, reader="scitiff") as r:
            return r.xarray_dask_data.compute()

    def ours_eager() -> Any:
        with Reader(path, reader="scitiff") as r:
            return r.data

    rows = [
        ("open + all metadata and coordinates", "ours", ours_open, False),
        ("open + one plane", "ours", ours_plane, False),
        ("open + one plane", "tifffile", lambda: tifffile.imread(path, key=150), False),
        ("full read, lazy (compute)", "ours", ours_lazy, True),
        ("full read, eager", "ours", ours_eager, True),
        (
            "full read, eager",
            "scitiff.load_scitiff",
            lambda: scitiff.load_scitiff(path, only_image=True),
            True,
        ),
        ("full read, eager", "tifffile.imread", lambda: tifffile.imread(path), True),
    ]
    runs = _time_interleaved([row[2] for row in rows], args.repeat)
    print(f"{'operation':<38} {'impl':<22} {'median ms':>10} {'min ms':>8} {'GB/s (min)':>11}")
    for (op, impl, _, full), seconds in zip(rows, runs, strict=True):
        median, best = statistics.median(seconds) * 1e3, min(seconds) * 1e3
        rate = f"{nbytes / best / 1e6:.2f}" if full else ""
        print(f"{op:<38} {impl:<22} {median:>10.2f} {best:>8.2f} {rate:>11}")


if __name__ == "__main__":
    main()
