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
    python benchmarks/side_by_side.py --case 5d,tiled-raw --ops plane,full   # either word

Before and after a change, in one run: ``--baseline PATH`` adds the implementation
``ours@baseline``, our worker run on another checkout of the project (e.g. a git
worktree of an older commit: ``git worktree add ../baseline <commit>``). Its worker
processes import ``scitiff_readers`` and every ``plugins/*/src`` package from PATH
(``PYTHONPATH``, with the entry points of PATH's ``pyproject.toml`` files shadowing the
installed ones), and check afterwards that every ``scitiff_readers*`` module they
imported lies under PATH; the run stops if a first check process finds otherwise. The
benchmark cases (files, planes, peers) are this checkout's, so cases added since the
baseline are measured on both. ``ours@baseline`` rows sit beside ``ours`` and the
peers; their speed-up columns say how many times faster ``ours`` is than the baseline.

    python benchmarks/side_by_side.py --case tiff --baseline ../baseline

Writing: ``--convert`` converts a 2 GiB OME-TIFF to OME-Zarr 0.5 with pyramid levels
(``--convert-levels``, full resolution included) with ours, ``bioio-convert`` and
ome-zarr-py in turn, and reports time, peak memory, and whether pixels and units
came through (see ``benchmarks/convert_bench.py``).

    python benchmarks/side_by_side.py --convert --convert-levels 2
    python benchmarks/side_by_side.py --convert --convert-only ours,bioio-convert --repeat 3

``--remote`` runs the remote benchmark instead (``benchmarks/remote_side_by_side.py``: the
files served by a range-capable HTTP server on 127.0.0.1; requests, bytes and time of
open, one plane and a full read, against bioio and tifffile / zarr used directly).

    python benchmarks/side_by_side.py --remote --case zarr

``--cold`` runs the cold-start benchmark instead (``benchmarks/cold_start.py``: every
sample a fresh process, phases timed apart, whole processes timed from outside).

The files are written once into ``$SCITIFF_READERS_BENCH_DATA`` (default
``benchmarks/data`` of this checkout); every worker, the baseline's too, reads them there.
The ``data`` column compares a checksum of each implementation's first and last result
in a process (for ``plane_opened`` the first only) with tifffile's (or, without
tifffile, ours): ``DIFF`` means it read other pixels.

Operations: ``open`` (open + metadata), ``open_new`` (the same, with our per-file
parse caches emptied first, as for a file never opened in this process), ``plane``
(open + one plane), ``plane_new`` (the same, caches emptied first), ``plane_opened``
(one plane from a file opened before, outside the timing; each call reads a plane not
read before), ``full`` (whole image into numpy: ours = ``Reader.data``), ``full_lazy``
(ours = ``xarray_dask_data.compute()``; peers: their dask/lazy path).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import zlib
from pathlib import Path
from typing import Any

OPS = ("open", "open_new", "plane", "plane_new", "plane_opened", "full_lazy", "full")
OURS = "ours"
BASELINE = "ours@baseline"
#: Environment of a baseline worker: the checkout it must import from, and where this
#: checkout's module of benchmark cases is (JSON ``[module, attribute, file]``).
BASELINE_ENV = "SCITIFF_READERS_BENCH_BASELINE"
CASES_FROM_ENV = "SCITIFF_READERS_BENCH_CASES_FROM"
#: Suffix of the module name under which a baseline worker loads this checkout's cases.
_CURRENT_SUFFIX = "__bench_current"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _baseline_pythonpath(baseline: Path, meta_dir: Path) -> list[str]:
    """``PYTHONPATH`` entries that make ``baseline``'s packages (and entry points) win."""
    paths = [str(baseline)]
    paths += [str(src) for src in sorted(baseline.glob("plugins/*/src")) if src.is_dir()]
    return [*paths, str(meta_dir)]


def _write_baseline_metadata(baseline: Path, meta_dir: Path) -> None:
    """Minimal ``.dist-info`` folders with the entry points of ``baseline``'s projects.

    Found on ``PYTHONPATH`` before the installed distributions of the same names, they
    shadow them in ``importlib.metadata`` (which keeps the first distribution of each
    name): the baseline's workers find the baseline's readers, even if this checkout
    renamed or moved them.
    """
    for pyproject in [baseline / "pyproject.toml", *sorted(baseline.glob("plugins/*/pyproject.toml"))]:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if "name" not in project:
            continue
        name = project["name"].replace("-", "_")
        version = project.get("version", "0")
        info = meta_dir / f"{name}-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {version}\n"
        )
        lines = []
        for group, eps in project.get("entry-points", {}).items():
            lines.append(f"[{group}]")
            lines += [f"{key} = {value}" for key, value in eps.items()]
            lines.append("")
        (info / "entry_points.txt").write_text("\n".join(lines))


def _foreign_modules(baseline: Path) -> list[str]:
    """``scitiff_readers*`` modules of this process that were not imported from ``baseline``."""
    root = baseline.resolve()
    foreign = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("scitiff_readers") or name.endswith(_CURRENT_SUFFIX):
            continue
        file = getattr(module, "__file__", None)
        if file is None:  # a namespace package: check where its parts are
            locations = list(getattr(module, "__path__", []))
        else:
            locations = [file]
        for location in locations:
            if not Path(location).resolve().is_relative_to(root):
                foreign.append(f"{name} ({location})")
    return foreign


def _check_baseline(baseline: Path) -> None:
    """Raise unless ``scitiff_readers`` and its loaded plugins come from ``baseline``."""
    import scitiff_readers

    if scitiff_readers.__file__ is None or not Path(scitiff_readers.__file__).resolve().is_relative_to(
        baseline.resolve()
    ):
        raise RuntimeError(
            f"baseline worker imported scitiff_readers from {scitiff_readers.__file__}, not from {baseline}"
        )
    foreign = _foreign_modules(baseline)
    if foreign:
        raise RuntimeError(f"baseline worker imported modules from outside {baseline}: {', '.join(foreign)}")


def _current_cases() -> list[Any]:
    """In a baseline worker: this checkout's cases of the module named in ``CASES_FROM_ENV``.

    The module is loaded from this checkout's file under an alias inside the baseline's
    package, so its relative imports and ``scitiff_readers._benchmarking`` come from the
    baseline while the case definitions (files, planes, peers) are this checkout's.
    """
    module_name, attr, file = json.loads(os.environ[CASES_FROM_ENV])
    alias = module_name + _CURRENT_SUFFIX
    spec = importlib.util.spec_from_file_location(alias, file)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load benchmark cases from {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    cases: list[Any] = getattr(module, attr)()
    return cases


def _digest(result: Any) -> str | None:
    """CRC-32 of an array result's bytes in C order (``None`` for metadata)."""
    import numpy as np

    values = getattr(result, "values", result)  # xarray
    if not isinstance(values, np.ndarray):
        return None
    array = np.ascontiguousarray(values)
    return f"{array.dtype.str}:{zlib.crc32(array.reshape(-1).view(np.uint8)):08x}"


def _worker(case_name: str, impl: str, op: str) -> dict[str, Any]:
    """Run one operation once in this process; return seconds and peak memory."""

    from scitiff_readers import Reader
    from scitiff_readers._benchmarking import benchmark_cases, benchmark_data_dir, plane_tcz

    baseline = Path(os.environ[BASELINE_ENV]) if impl == BASELINE else None
    if baseline is not None:
        _check_baseline(baseline)
    cases = _current_cases() if baseline is not None else benchmark_cases()
    case = {c.name: c for c in cases}[case_name]
    path = case.make(benchmark_data_dir())
    func: Any
    if impl in (OURS, BASELINE):

        def opened() -> Any:
            return Reader(path, reader=case.reader, **dict(case.options))

        def run_open() -> Any:
            with opened() as r:
                return (r.dims, r.coords, r.channel_names, r.physical_pixel_sizes)

        def run_open_new() -> Any:
            # As if the file had never been opened in this process: no parse re-used.
            from scitiff_readers._filecache import clear_file_caches

            clear_file_caches()
            return run_open()

        def run_plane() -> Any:
            with opened() as r:
                return r.get_image_data("YX" + ("S" if "S" in r.dims.order else ""), **case.plane)

        def run_plane_new() -> Any:
            # As if the file had never been opened in this process: no parse re-used.
            from scitiff_readers._filecache import clear_file_caches

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
            "open_new": run_open_new,
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
            "open_new": "open",
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
    digest = _digest(result)
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
    # The last warm call's result too (a re-open may take another path than the first
    # open); not for plane_opened, whose calls each read another plane.
    if op != "plane_opened":
        warm_digest = _digest(result)
        if warm_digest != digest:
            digest = f"{digest}/{warm_digest}"
    if baseline is not None:
        _check_baseline(baseline)  # again: the reader and its plugin modules are loaded now
    return {
        "digest": digest,
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "peak_extra_mb": max(0.0, peak_after - max(peak_before, rss_before)),
        "nbytes": nbytes,
        "shape": list(shape) if shape is not None else None,
    }


def _run_worker(case: str, impl: str, op: str, baseline_env: dict[str, str] | None = None) -> dict[str, Any]:
    # Byte-compiled modules, as on a user's machine (compiling plugins from source in
    # every fresh process would be charged to the first call).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if impl == BASELINE:
        if baseline_env is None:
            raise ValueError("ours@baseline needs --baseline")
        env.update(baseline_env)
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


def _measure_interleaved(
    case: str, jobs: list[Job], repeat: int, baseline_env: dict[str, str] | None = None
) -> dict[Job, dict[str, Any] | None]:
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
            data = _run_worker(case, impl, op, baseline_env)
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
            "digest": job_runs[0].get("digest"),
        }
    return {job: outcome[job] for job in jobs}


def _print_lazy_against_eager(
    case: str, impls: list[str], measured: dict[Job, dict[str, Any] | None]
) -> None:
    """Our lazy whole-array compute against each peer's eager read (e.g. ``tifffile.imread``).

    A lazy read only has to match the fastest eager read to be free; this is the ratio
    the TIFF targets are stated in. With a baseline, its lazy compute is compared too.
    """
    for mine in (OURS, BASELINE):
        ours = measured.get(("full_lazy", mine))
        if not ours or "error" in ours:
            continue
        for impl in impls:
            if impl in (OURS, BASELINE):
                continue
            peer = measured.get(("full", impl))
            if not peer or "error" in peer:
                continue
            print(
                f"{case:<28} {'lazy/eager':<12} {mine + ' vs ' + impl:<24} {'':>8} {'':>8} {'':>9} {'':>8} "
                f"{peer['seconds'] / ours['seconds']:>11.2f}x {peer['warm_seconds'] / ours['warm_seconds']:>11.2f}x"
            )


def _case_source(case_name: str) -> tuple[str, str, str]:
    """``(module, attribute, file)`` of the entry point (of this checkout) that defines a case."""
    from importlib import metadata

    from scitiff_readers._benchmarking import BENCHMARKS_GROUP

    for ep in metadata.entry_points(group=BENCHMARKS_GROUP):
        try:
            names = [c.name for c in ep.load()()]
        except Exception:  # noqa: BLE001 - benchmark_cases() has warned already
            continue
        if case_name in names:
            spec = importlib.util.find_spec(ep.module)
            if spec is None or spec.origin is None:
                break
            return ep.module, ep.attr, spec.origin
    raise LookupError(f"no entry point of group {BENCHMARKS_GROUP!r} defines case {case_name!r}")


def _baseline_setup(baseline: Path, folder: Path, meta_dir: Path) -> dict[str, str]:
    """The environment of baseline workers (without the case source); checked in a process first.

    Raises
    ------
    SystemExit
        If ``baseline`` is not a checkout of the project, or a process with that
        environment imports ``scitiff_readers`` from elsewhere.
    """
    baseline = baseline.resolve()
    if not (baseline / "scitiff_readers" / "__init__.py").is_file():
        raise SystemExit(
            f"--baseline {baseline}: not a checkout of scitiff_readers (no scitiff_readers/__init__.py)"
        )
    _write_baseline_metadata(baseline, meta_dir)
    paths = _baseline_pythonpath(baseline, meta_dir)
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    env = {
        "PYTHONPATH": os.pathsep.join(paths),
        BASELINE_ENV: str(baseline),
        "SCITIFF_READERS_BENCH_DATA": str(folder),
    }
    check = subprocess.run(
        [sys.executable, __file__, "--check-baseline"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    if check.returncode != 0:
        raise SystemExit(f"--baseline {baseline}: the check process failed:\n{check.stderr.strip()}")
    print(f"# ours@baseline: {check.stdout.strip()}")
    return env


def _check_baseline_process() -> int:
    """``--check-baseline``: import the core and every reader from the baseline, or fail."""
    baseline = Path(os.environ[BASELINE_ENV])
    from scitiff_readers import list_readers

    list_readers()
    # Load every reader class (discovery alone may import nothing).
    from importlib import metadata

    for ep in metadata.entry_points(group="scitiff_readers.readers"):
        ep.load()
    _check_baseline(baseline)
    import scitiff_readers

    loaded = sorted(n for n in sys.modules if n.startswith("scitiff_readers") and "." not in n)
    print(f"{scitiff_readers.__file__}; packages {', '.join(loaded)} all under {baseline}")
    return 0


def _data_column(impl: str, op: str, measured: dict[Job, dict[str, Any] | None], impls: list[str]) -> str:
    """``=`` if the result's checksum matches the reference's, ``DIFF`` if not, blank if unknown."""
    res = measured.get((op, impl))
    reference = "tifffile" if "tifffile" in impls else OURS
    ref = measured.get((op, reference))
    if ref is None and op == "full_lazy":  # the peer has no lazy path: its eager read
        ref = measured.get(("full", reference))
    if op.startswith("open") or not res or not ref or "error" in res or "error" in ref:
        return ""
    if res.get("digest") is None or ref.get("digest") is None:
        return ""
    if impl == reference and res is ref:
        return "ref"
    return "=" if res["digest"] == ref["digest"] else "DIFF"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--case", default="", help="only cases whose name contains this (or one of these, comma-separated)"
    )
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="PATH",
        help="also run our worker on this checkout of the project (ours@baseline)",
    )
    parser.add_argument("--worker", nargs=3, metavar=("CASE", "IMPL", "OP"), help=argparse.SUPPRESS)
    parser.add_argument("--check-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument(
        "--convert",
        action="store_true",
        help="measure converting a 2 GiB OME-TIFF to OME-Zarr against bioio-convert and ome-zarr-py",
    )
    parser.add_argument(
        "--convert-levels", type=int, default=2, help="levels of the converted pyramids (>= 1)"
    )
    parser.add_argument(
        "--convert-timeout", type=float, default=1800.0, help="seconds before a converter is stopped"
    )
    parser.add_argument(
        "--convert-only",
        default="",
        help="only these converters (comma-separated: ours, "
        "bioio-convert, ome-zarr-py); --repeat times each, in turn",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="the cold-start benchmark instead: fresh process per sample (benchmarks/cold_start.py)",
    )
    parser.add_argument(
        "--remote",
        action="store_true",
        help="the remote benchmark instead: reads over a loopback HTTP server, requests and bytes "
        "counted, against bioio, tifffile and zarr (benchmarks/remote_side_by_side.py)",
    )
    parser.add_argument(
        "--markdown", default=None, help="with --remote: also write a Markdown table to this file"
    )
    args = parser.parse_args(argv)
    if args.remote:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import remote_side_by_side

        ops = args.ops if args.ops != ",".join(OPS) else "open,plane,full,full_read"
        remote_argv = ["--case", args.case, "--ops", ops, "--repeat", str(args.repeat)]
        remote_argv += (["--json", args.json] if args.json else []) + (
            ["--markdown", args.markdown] if args.markdown else []
        )
        return int(remote_side_by_side.main(remote_argv) or 0)
    if args.cold:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import cold_start

        cold_argv = ["--case", args.case, "--repeat", str(args.repeat)] + (
            ["--json", args.json] if args.json else []
        )
        if args.baseline:
            cold_argv += ["--baseline", str(args.baseline)]
        return int(cold_start.main(cold_argv))
    if args.worker:
        print(json.dumps(_worker(*args.worker)))
        return 0
    if args.check_baseline:
        return _check_baseline_process()

    from scitiff_readers._benchmarking import benchmark_cases, benchmark_data_dir

    if args.convert:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from convert_bench import run as run_convert

        only = [w for w in args.convert_only.split(",") if w] or None
        rows = run_convert(
            benchmark_data_dir(),
            levels=args.convert_levels,
            timeout=args.convert_timeout,
            only=only,
            repeat=args.repeat if only else 1,
        )
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        return 0
    words = [w for w in args.case.split(",") if w] or [""]
    cases = [c for c in benchmark_cases() if any(w in c.name for w in words)]
    folder = benchmark_data_dir()
    with tempfile.TemporaryDirectory(prefix="scitiff-baseline-meta-") as meta:
        baseline_env = _baseline_setup(args.baseline, folder, Path(meta)) if args.baseline else None
        results = _run_cases(cases, folder, args.ops.split(","), args.repeat, baseline_env)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _run_cases(
    cases: list[Any], folder: Path, ops: list[str], repeat: int, baseline_env: dict[str, str] | None
) -> list[dict[str, Any]]:
    """Measure and print every case; return the rows."""
    import scitiff_readers

    print(f"# ours: {Path(scitiff_readers.__file__ or '?').parent}; data: {folder}")
    results: list[dict[str, Any]] = []
    print(
        f"{'case':<28} {'op':<12} {'impl':<24} {'cold s':>8} {'warm s':>8} {'warm GB/s':>9} "
        f"{'peak MB':>8} {'speedup cold':>12} {'speedup warm':>12} {'data':>4}"
    )
    # Every worker reads the files of this folder (a baseline's default folder differs).
    os.environ["SCITIFF_READERS_BENCH_DATA"] = str(folder)
    for case in cases:
        case.make(folder)
        impls = [OURS] + ([BASELINE] if baseline_env else []) + [p.name for p in case.peers]
        env = None
        if baseline_env is not None:
            env = {**baseline_env, CASES_FROM_ENV: json.dumps(_case_source(case.name))}
        measured = _measure_interleaved(case.name, [(op, impl) for op in ops for impl in impls], repeat, env)
        for op in ops:
            ours = measured[(op, OURS)]
            for impl in impls:
                res = measured[(op, impl)]
                if res is None:
                    continue
                if "error" in res:
                    print(f"{case.name:<28} {op:<12} {impl:<24} ERROR {res['error'][:120]}")
                    continue
                gbs = (
                    (res["nbytes"] / res["warm_seconds"] / 1e9)
                    if res["nbytes"] and op.startswith("full")
                    else None
                )
                cold = warm = ""
                if impl != OURS and ours and "error" not in ours:
                    # How many times faster we are than this peer (> 1: we are faster).
                    cold = f"{res['seconds'] / ours['seconds']:.2f}x"
                    warm = f"{res['warm_seconds'] / ours['warm_seconds']:.2f}x"
                print(
                    f"{case.name:<28} {op:<12} {impl:<24} {res['seconds']:>8.5f} {res['warm_seconds']:>8.5f} "
                    f"{(f'{gbs:.2f}' if gbs else '-'):>9} {res['peak_extra_mb']:>8.0f} {cold:>12} {warm:>12} "
                    f"{_data_column(impl, op, measured, impls):>4}"
                )
                results.append({"case": case.name, "op": op, "impl": impl, **res})
        _print_lazy_against_eager(case.name, impls, measured)
    return results


if __name__ == "__main__":
    sys.exit(main())
