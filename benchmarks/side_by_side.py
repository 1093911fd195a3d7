"""Side-by-side timings: scitiff_readers against tifffile / bioio / each format's reference reader.

Every measurement runs in a fresh Python process (so no one benefits from another's
caches or imports), with a warm page cache (the file is read once first). Each
process times the operation several times: ``cold`` is the first call (it pays every
lazy import and first-use cost of that library, and gives the peak memory), ``warm``
the median of the next calls in the same process (up to seven, as many as fit in about
2 s, each after the previous result was released; steady state: what a user pays per
file once the library is loaded). The median
of ``--repeat`` processes is reported; the processes of the implementations compared
run in turn (ours, peer, peer, ours, ...) so that a slow phase of a shared machine
falls on all of them alike.

    python benchmarks/side_by_side.py                 # every installed plugin's cases
    python benchmarks/side_by_side.py --case ome      # cases whose name contains "ome"

Operations: ``open`` (open + metadata), ``plane`` (open + one plane), ``plane_new``
(the same, with the per-file parse caches emptied first, as for a file never opened
in this process), ``plane_opened`` (one plane from a file opened before, outside
the timing; each call reads a plane not read before), ``full``
(whole image into numpy: ours = ``Reader.data``), ``full_lazy`` (ours =
``xarray_dask_data.compute()``; peers: their dask/lazy path).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OPS = ("open", "plane", "plane_new", "plane_opened", "full_lazy", "full")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _worker(case_name: str, impl: str, op: str) -> dict[str, Any]:
    """Run one operation once in this process; return seconds and peak memory."""

    from scitiff_readers import Reader
    from scitiff_readers.benchmarking import benchmark_cases, benchmark_data_dir, plane_tcz

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

        def plane_reader(_: Path) -> Any:
            r = opened()  # kept open for the rest of the process
            c_size, z_size = r.shape[1:3]

            def read(i: int) -> Any:
                t, c, z = plane_tcz(i, c_size, z_size)
                return r.get_image_data("YX" + ("S" if "S" in r.dims.order else ""), T=t, C=c, Z=z)

            return read

        def run_full_lazy() -> Any:
            with opened() as r:
                return r.xarray_dask_data.compute()

        func = {
            "open": run_open,
            "plane": run_plane,
            "plane_new": run_plane_new,
            "full": run_full,
            "full_lazy": run_full_lazy,
        }.get(op)  # plane_opened: below
        make_plane_reader: Any = plane_reader
    else:
        peer = {p.name: p for p in case.peers}[impl]
        attr = {
            "open": "open",
            "plane": "one_plane",
            "plane_new": "one_plane",
            "plane_opened": "plane_reader",
            "full": "full_read",
            "full_lazy": "full_read_lazy",
        }[op]
        peer_func = getattr(peer, attr)
        if peer_func is None:
            return {"skipped": True}
        make_plane_reader = peer.plane_reader

        def func() -> Any:
            return peer_func(path)

    if op == "plane_opened":
        # The file is opened once, outside the timing; every call reads the next plane,
        # never read before (its page or chunk is looked up the first time).
        read_plane = make_plane_reader(path)
        planes = itertools.count()

        def func() -> Any:
            return read_plane(next(planes))

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
    # Warm: the median of up to seven further calls (as many as fit in about 2 s), so
    # one unlucky call on a shared machine does not decide the steady-state number. The
    # previous result is released first, for every implementation alike: with it alive,
    # each call would also pay for fresh memory from the kernel (on this VM the second
    # 300 MB allocation of a process sometimes took 0.3-0.8 s, whoever made it).
    nbytes = getattr(result, "nbytes", None)
    shape = getattr(result, "shape", None)
    warm_runs: list[float] = []
    while len(warm_runs) < 7 and (len(warm_runs) < 1 or sum(warm_runs) < 2.0):
        result = None
        start = time.perf_counter()
        result = func()
        warm_runs.append(time.perf_counter() - start)
    warm_seconds = statistics.median(warm_runs)
    return {
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "peak_extra_mb": max(0.0, peak_after - max(peak_before, rss_before)),
        "nbytes": nbytes,
        "shape": list(shape) if shape is not None else None,
    }


def _run_worker(case: str, impl: str, op: str) -> dict[str, Any]:
    # Byte-compiled modules, as on a user's machine (compiling plugins from source in
    # every fresh process would be charged to the first call).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", case, impl, op],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


Job = tuple[str, str]  # (operation, implementation)


def _measure_interleaved(case: str, jobs: list[Job], repeat: int) -> dict[Job, dict[str, Any] | None]:
    """Median of ``repeat`` worker processes per (operation, implementation), run round-robin.

    The processes of all jobs of a case alternate (ours, peer 1, peer 2, ours, ...), so a
    slow phase of a shared machine hits every implementation alike instead of whichever
    happened to run its repeats then; that also makes cross-operation ratios (our lazy
    read against a peer's eager one) fair.
    """
    runs: dict[Job, list[dict[str, Any]]] = {job: [] for job in jobs}
    outcome: dict[Job, dict[str, Any] | None] = {}
    for _ in range(repeat):
        for job in jobs:
            if job in outcome:  # skipped or failed: do not run it again
                continue
            op, impl = job
            data = _run_worker(case, impl, op)
            if "error" in data:
                outcome[job] = data
            elif data.get("skipped"):
                outcome[job] = None
            else:
                runs[job].append(data)
    for job, job_runs in runs.items():
        if job in outcome:
            continue
        outcome[job] = {
            "seconds": statistics.median(r["seconds"] for r in job_runs),
            "warm_seconds": statistics.median(r["warm_seconds"] for r in job_runs),
            "peak_extra_mb": statistics.median(r["peak_extra_mb"] for r in job_runs),
            "nbytes": job_runs[0]["nbytes"],
        }
    return {job: outcome[job] for job in jobs}


def _print_lazy_against_eager(
    case: str, impls: list[str], measured: dict[Job, dict[str, Any] | None]
) -> None:
    """Our lazy whole-array compute against each peer's eager read (e.g. ``tifffile.imread``).

    A lazy read only has to match the fastest eager read to be free; this is the ratio
    the TIFF targets are stated in.
    """
    ours = measured.get(("full_lazy", "ours"))
    if not ours or "error" in ours:
        return
    for impl in impls[1:]:
        peer = measured.get(("full", impl))
        if not peer or "error" in peer:
            continue
        print(
            f"{case:<28} {'lazy/eager':<12} {'ours vs ' + impl:<20} {'':>8} {'':>8} {'':>9} {'':>8} "
            f"{peer['seconds'] / ours['seconds']:>11.2f}x {peer['warm_seconds'] / ours['warm_seconds']:>11.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    print(
        f"{'case':<28} {'op':<12} {'impl':<20} {'cold s':>8} {'warm s':>8} {'warm GB/s':>9} "
        f"{'peak MB':>8} {'speedup cold':>12} {'speedup warm':>12}"
    )
    for case in cases:
        case.make(folder)
        ops = args.ops.split(",")
        impls = ["ours"] + [p.name for p in case.peers]
        measured = _measure_interleaved(case.name, [(op, impl) for op in ops for impl in impls], args.repeat)
        for op in ops:
            ours = measured[(op, "ours")]
            for impl in impls:
                res = measured[(op, impl)]
                if res is None:
                    continue
                if "error" in res:
                    print(f"{case.name:<28} {op:<12} {impl:<20} ERROR {res['error'][:80]}")
                    continue
                gbs = (
                    (res["nbytes"] / res["warm_seconds"] / 1e9)
                    if res["nbytes"] and op.startswith("full")
                    else None
                )
                cold = warm = ""
                if impl != "ours" and ours and "error" not in ours:
                    # How many times faster we are than this peer (> 1: we are faster).
                    cold = f"{res['seconds'] / ours['seconds']:.2f}x"
                    warm = f"{res['warm_seconds'] / ours['warm_seconds']:.2f}x"
                print(
                    f"{case.name:<28} {op:<12} {impl:<20} {res['seconds']:>8.4f} {res['warm_seconds']:>8.4f} "
                    f"{(f'{gbs:.2f}' if gbs else '-'):>9} {res['peak_extra_mb']:>8.0f} {cold:>12} {warm:>12}"
                )
                results.append({"case": case.name, "op": op, "impl": impl, **res})
        _print_lazy_against_eager(case.name, impls, measured)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
