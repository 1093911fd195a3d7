"""Side-by-side timings: scitiff_readers against tifffile / bioio / each format's reference reader.

Every measurement runs in a fresh Python process (so no one benefits from another's
caches or imports), with a warm page cache (the file is read once first). Each
process times the operation several times: ``cold`` is the first call (it pays every
lazy import and first-use cost of that library, and gives the peak memory), ``warm``
the median of the next calls in the same process (up to five, as many as fit in about
1.5 s; steady state: what a user pays per file once the library is loaded). The median
of ``--repeat`` processes is reported.

    python benchmarks/side_by_side.py                 # every installed plugin's cases
    python benchmarks/side_by_side.py --case ome      # cases whose name contains "ome"

Operations: ``open`` (open + metadata), ``plane`` (open + one plane), ``plane_new``
(the same, with the per-file parse caches emptied first, as for a file never opened
in this process), ``full``
(whole image into numpy: ours = ``Reader.data``), ``full_lazy`` (ours =
``xarray_dask_data.compute()``; peers: their dask/lazy path).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OPS = ("open", "plane", "plane_new", "full_lazy", "full")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _worker(case_name: str, impl: str, op: str) -> dict[str, Any]:
    """Run one operation once in this process; return seconds and peak memory."""

    from scitiff_readers import Reader
    from scitiff_readers.benchmarking import benchmark_cases, benchmark_data_dir

    case = {c.name: c for c in benchmark_cases()}[case_name]
    path = case.make(benchmark_data_dir())
    func: Any
    if impl == "ours":
        def opened() -> Any:
            return Reader(path, reader=case.reader, **dict(case.options))

        def run_open() -> Any:
            with opened() as r:
                return (r.dims, r.coords, r.channel_names, r.physical_pixel_sizes)

        def run_plane() -> Any:
            with opened() as r:
                return r.get_image_data("YX" + ("S" if "S" in r.dims.order else ""), **case.plane)

        def run_plane_new() -> Any:
            # As if the file had never been opened in this process: no parse re-used.
            from scitiff_readers.filecache import clear_file_caches

            clear_file_caches()
            return run_plane()

        def run_full() -> Any:
            with opened() as r:
                return r.data

        def run_full_lazy() -> Any:
            with opened() as r:
                return r.xarray_dask_data.compute()

        func = {"open": run_open, "plane": run_plane, "plane_new": run_plane_new, "full": run_full,
                "full_lazy": run_full_lazy}[op]
    else:
        peer = {p.name: p for p in case.peers}[impl]
        attr = {"open": "open", "plane": "one_plane", "plane_new": "one_plane", "full": "full_read",
                "full_lazy": "full_read_lazy"}[op]
        peer_func = getattr(peer, attr)
        if peer_func is None:
            return {"skipped": True}

        def func() -> Any:
            return peer_func(path)

    # Warm up outside the timing: dask's first compute imports `distributed` when it is
    # installed (0.2-0.9 s), which would be charged to whoever computes first.
    import dask.array

    dask.array.ones(2, chunks=1).sum().compute()
    # Warm the page cache.
    with open(path, "rb") if Path(path).is_file() else contextlib.nullcontext() as fh:
        if fh is not None:
            while fh.read(64 * 2**20):
                pass
    rss_before = _rss_mb()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del result
    # Warm: the median of up to five further calls (as many as fit in about 1.5 s), so one
    # unlucky call on a shared machine does not decide the steady-state number.
    warm_runs: list[float] = []
    while len(warm_runs) < 5 and (len(warm_runs) < 1 or sum(warm_runs) < 1.5):
        start = time.perf_counter()
        result = func()
        warm_runs.append(time.perf_counter() - start)
    warm_seconds = statistics.median(warm_runs)
    nbytes = getattr(result, "nbytes", None)
    shape = getattr(result, "shape", None)
    return {
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "peak_extra_mb": max(0.0, peak_after - max(peak_before, rss_before)),
        "nbytes": nbytes,
        "shape": list(shape) if shape is not None else None,
    }


def _measure(case: str, impl: str, op: str, repeat: int) -> dict[str, Any] | None:
    runs = []
    # Byte-compiled modules, as on a user's machine (compiling plugins from source in
    # every fresh process would be charged to the first call).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", case, impl, op],
            capture_output=True, text=True, timeout=1800, env=env,
        )
        if proc.returncode != 0:
            return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        if data.get("skipped"):
            return None
        runs.append(data)
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "warm_seconds": statistics.median(r["warm_seconds"] for r in runs),
        "peak_extra_mb": statistics.median(r["peak_extra_mb"] for r in runs),
        "nbytes": runs[0]["nbytes"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default="", help="only cases whose name contains this")
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=3, metavar=("CASE", "IMPL", "OP"), help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(*args.worker)))
        return 0

    from scitiff_readers.benchmarking import benchmark_cases, benchmark_data_dir

    cases = [c for c in benchmark_cases() if args.case in c.name]
    folder = benchmark_data_dir()
    results: list[dict[str, Any]] = []
    print(f"{'case':<28} {'op':<9} {'impl':<20} {'cold s':>8} {'warm s':>8} {'warm GB/s':>9} "
          f"{'peak MB':>8} {'speedup cold':>12} {'speedup warm':>12}")
    for case in cases:
        case.make(folder)
        for op in args.ops.split(","):
            ours = _measure(case.name, "ours", op, args.repeat)
            rows = [("ours", ours)] + [(p.name, _measure(case.name, p.name, op, args.repeat)) for p in case.peers]
            for impl, res in rows:
                if res is None:
                    continue
                if "error" in res:
                    print(f"{case.name:<28} {op:<9} {impl:<20} ERROR {res['error'][:80]}")
                    continue
                gbs = (res["nbytes"] / res["warm_seconds"] / 1e9) if res["nbytes"] and op.startswith("full") else None
                cold = warm = ""
                if impl != "ours" and ours and "error" not in ours:
                    # How many times faster we are than this peer (> 1: we are faster).
                    cold = f"{res['seconds'] / ours['seconds']:.2f}x"
                    warm = f"{res['warm_seconds'] / ours['warm_seconds']:.2f}x"
                print(f"{case.name:<28} {op:<9} {impl:<20} {res['seconds']:>8.4f} {res['warm_seconds']:>8.4f} "
                      f"{(f'{gbs:.2f}' if gbs else '-'):>9} {res['peak_extra_mb']:>8.0f} {cold:>12} {warm:>12}")
                results.append({"case": case.name, "op": op, "impl": impl, **res})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
