"""Cold start: the first open and the first plane in a fresh process, against the peers.

What a CLI call, a script, a napari drop or a fresh dask worker pays. Every sample is
a new Python process (as hyperfine runs whole commands), with a warm page cache and
byte-compiled modules. Two kinds of figures, for ours and each peer of a benchmark case:

- **in-process phases**, each from its own fresh process: ``import`` (the library's
  modules alone), ``open`` (open + metadata: dims, sizes, channel names; after the
  import, untimed), ``plane`` (open + one plane through ``get_image_data``, or the
  peer's own one-plane call) and, for ours, ``plane_dask`` (open + the same plane
  through ``get_image_dask_data(...).compute()``). ``open`` and ``plane`` include
  whatever the first use pulls in (plugin discovery, lazy imports of tifffile, zarr,
  dask ...), never the import timed in ``import``.
- **whole process**: wall time of ``python -c "<import; open; one plane>"`` measured
  from outside, interpreter start-up included, for ours (both plane paths) and for
  peers that give a ``plane_program``.

The median of ``--repeat`` processes is reported; implementations take turns so a slow
moment of a shared machine falls on all of them alike.

    python benchmarks/cold_start.py                       # every case
    python benchmarks/cold_start.py --case 5d,zarr --repeat 9
    python benchmarks/side_by_side.py --cold --case 5d    # the same, from the side-by-side script

``--baseline DIR`` adds the implementation ``ours@base``: the same programs run on the
source tree ``DIR`` (e.g. ``git archive main | tar -x -C /tmp/base``), in turn with ours, so
a change is measured before and after in one run. Its processes run in ``DIR`` with the
core and every plugin of ``DIR`` first on ``PYTHONPATH`` (the installed distributions'
entry points stay the same) and their own remembered plugin declarations.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OURS = "ours"
BASE = "ours@base"
PHASES = ("import", "open", "plane", "plane_dask")


def _env() -> dict[str, str]:
    # Byte-compiled modules, as on a user's machine.
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _baseline_env(tree: Path) -> dict[str, str]:
    """The environment running the core and plugins of the source tree ``tree``."""
    paths = [str(tree), *sorted(str(src) for src in tree.glob("plugins/*/src"))]
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([*paths, env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
    # Its own memory of plugin declarations: the two trees' stamps differ, and sharing
    # one file would make every process of each re-scan the entry points. Outside the
    # tree: creating a folder in a sys.path folder would make the memory stale at once.
    key = hashlib.sha256(str(tree).encode()).hexdigest()[:12]
    env["SCITIFF_READERS_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / f"scitiff-readers-cold-start-{key}")
    return env


def _ours_code(spec: dict[str, Any], phase: str) -> str:
    """A program timing one phase of ours; prints the seconds."""
    path, reader, options, plane = spec["path"], spec["reader"], spec["options"], spec["plane"]
    open_ = f"Reader({path!r}, reader={reader!r}, **{options!r})"
    order = "'YX' + ('S' if 'S' in r.dims.order else '')"
    body = {
        "import": "import scitiff_readers",
        "open": f"r = {open_}; (r.dims, r.physical_pixel_sizes, r.channel_names)",
        "plane": f"r = {open_}; r.get_image_data({order}, **{plane!r})",
        "plane_dask": f"r = {open_}; r.get_image_dask_data({order}, **{plane!r}).compute()",
    }[phase]
    setup = "" if phase == "import" else "from scitiff_readers import Reader\n"
    return f"import time\n{setup}t = time.perf_counter()\n{body}\nprint(time.perf_counter() - t)\n"


def _ours_process_code(spec: dict[str, Any], dask: bool) -> str:
    """The whole-process program a user would run for one plane."""
    path, reader, options, plane = spec["path"], spec["reader"], spec["options"], spec["plane"]
    call = "get_image_dask_data" if dask else "get_image_data"
    tail = ".compute()" if dask else ""
    return (
        f"from scitiff_readers import Reader\nr = Reader({path!r}, reader={reader!r}, **{options!r})\n"
        f"r.{call}('YX' + ('S' if 'S' in r.dims.order else ''), **{plane!r}){tail}\n"
    )


def _peer_code(case: str, peer: str, phase: str) -> str:
    """A program timing one phase of a peer (its callables come from the case)."""
    lookup = (
        "from scitiff_readers._benchmarking import benchmark_cases, benchmark_data_dir\n"
        f"case = {{c.name: c for c in benchmark_cases()}}[{case!r}]\n"
        f"peer = {{p.name: p for p in case.peers}}[{peer!r}]\n"
        "path = case.make(benchmark_data_dir())\n"
    )
    func = {"open": "peer.open", "plane": "peer.one_plane"}[phase]
    return (
        "import time, importlib\n"
        + lookup
        + "for m in peer.imports: importlib.import_module(m)\n"
        + f"f = {func}\nif f is None: print('nan'); raise SystemExit\n"
        + "t = time.perf_counter()\nf(path)\nprint(time.perf_counter() - t)\n"
    )


def _import_code(modules: tuple[str, ...]) -> str:
    """A program timing the import of a peer's modules (nothing else imported before)."""
    if not modules:
        return "print('nan')\n"
    names = ", ".join(modules)
    return f"import time\nt = time.perf_counter()\nimport {names}\nprint(time.perf_counter() - t)\n"


def _run_timed(code: str, baseline: Path | None = None) -> float | None:
    env, cwd = (_env(), None) if baseline is None else (_baseline_env(baseline), baseline)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )
    if proc.returncode != 0:
        print(f"  failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
        return None
    value = float(proc.stdout.strip().splitlines()[-1])
    return None if value != value else value  # nan: the peer cannot do it


def _run_wall(code: str, baseline: Path | None = None) -> float | None:
    env, cwd = (_env(), None) if baseline is None else (_baseline_env(baseline), baseline)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"  failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
        return None
    return seconds


def _median(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.1f}"


def _ratio(ours: float | None, ref: float | None) -> str:
    return "-" if ours is None or ref is None or ref == 0 else f"{ours / ref:.2f}x"


def measure(case_filter: list[str] | None, repeat: int, baseline: Path | None = None) -> list[dict[str, Any]]:
    """Run the cold benchmark; return one row per (case, implementation).

    ``baseline``: a source tree whose core and plugins are also measured, as ``ours@base``.
    """
    from scitiff_readers._benchmarking import benchmark_cases, benchmark_data_dir

    rows: list[dict[str, Any]] = []
    folder = benchmark_data_dir()
    for case in benchmark_cases():
        if case_filter and not any(word in case.name for word in case_filter):
            continue
        path = case.make(folder)
        spec = {
            "path": str(path),
            "reader": case.reader,
            "options": dict(case.options),
            "plane": dict(case.plane),
        }
        with open(path, "rb") if Path(path).is_file() else open(os.devnull, "rb") as fh:
            while fh.read(64 * 2**20):  # warm page cache
                pass
        jobs: list[tuple[str, str, str]] = []  # (impl, kind, phase)
        mine = [OURS] if baseline is None else [OURS, BASE]
        impls = [*mine, *(p.name for p in case.peers)]
        for phase in PHASES:
            for impl in impls:
                if impl not in mine and phase == "plane_dask":
                    continue
                jobs.append((impl, "phase", phase))
        jobs += [(impl, "process", phase) for impl in mine for phase in ("plane", "plane_dask")]
        peers = {p.name: p for p in case.peers}
        jobs += [(p, "process", "plane") for p in peers if peers[p].plane_program is not None]
        samples: dict[tuple[str, str, str], list[float | None]] = {job: [] for job in jobs}
        for impl in mine:
            # One untimed sniffing open each: byte-compiles the modules and remembers the
            # plugin declarations, as any earlier use on a user's machine would have.
            sniff = f"from scitiff_readers import Reader\nReader({spec['path']!r}, **{spec['options']!r})\nprint(0)\n"
            _run_timed(sniff, baseline if impl == BASE else None)
        for _ in range(repeat):
            for impl, kind, phase in jobs:  # in turn: a slow moment falls on everyone
                tree = baseline if impl == BASE else None
                if kind == "phase":
                    if impl in mine:
                        samples[(impl, kind, phase)].append(_run_timed(_ours_code(spec, phase), tree))
                        continue
                    if phase == "import":
                        code = _import_code(peers[impl].imports)
                    else:
                        code = _peer_code(case.name, impl, phase)
                    samples[(impl, kind, phase)].append(_run_timed(code))
                elif impl in mine:
                    samples[(impl, kind, phase)].append(
                        _run_wall(_ours_process_code(spec, phase == "plane_dask"), tree)
                    )
                else:
                    program = peers[impl].plane_program
                    assert program is not None
                    code = program(Path(path))
                    samples[(impl, kind, phase)].append(_run_wall(code))
        for impl in impls:
            row: dict[str, Any] = {"case": case.name, "impl": impl}
            for (i, kind, phase), values in samples.items():
                if i == impl:
                    row[f"{kind}:{phase}"] = _median(values)
            rows.append(row)
    return rows


def report(rows: list[dict[str, Any]]) -> None:
    """Print the table: milliseconds, and ours against the reference (first peer)."""
    header = (
        f"{'case':<24} {'impl':<22} {'import':>8} {'open':>8} {'plane':>8} {'plane/dask':>10} "
        f"{'proc plane':>10} {'proc dask':>10}   ours vs this: open, plane, dask, proc, proc dask"
    )
    print(header)
    ours_row: dict[str, Any] = {}
    for row in rows:
        if row["impl"] == OURS:
            ours_row = row
        ratios = ""
        if row["impl"] != OURS and ours_row.get("case") == row["case"]:
            # Against a peer, both of our plane paths are compared with its one-plane call;
            # against our baseline, each column with the same column.
            dask = "plane_dask" if row["impl"] == BASE else "plane"
            ratios = ", ".join(
                [
                    _ratio(ours_row.get("phase:open"), row.get("phase:open")),
                    _ratio(ours_row.get("phase:plane"), row.get("phase:plane")),
                    _ratio(ours_row.get("phase:plane_dask"), row.get(f"phase:{dask}")),
                    _ratio(ours_row.get("process:plane"), row.get("process:plane")),
                    _ratio(ours_row.get("process:plane_dask"), row.get(f"process:{dask}")),
                ]
            )
        print(
            f"{row['case']:<24} {row['impl']:<22} {_fmt(row.get('phase:import')):>8} {_fmt(row.get('phase:open')):>8} "
            f"{_fmt(row.get('phase:plane')):>8} {_fmt(row.get('phase:plane_dask')):>10} "
            f"{_fmt(row.get('process:plane')):>10} {_fmt(row.get('process:plane_dask')):>10}   {ratios}"
        )
    print(
        "(milliseconds, medians of fresh processes; 'proc' = whole process wall time incl. interpreter start)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", default="", help="comma-separated words; cases whose name contains one")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree of the project (e.g. main, unpacked) to measure too, as ours@base",
    )
    args = parser.parse_args(argv)
    baseline = args.baseline.resolve() if args.baseline else None
    rows = measure([w for w in args.case.split(",") if w] or None, args.repeat, baseline)
    report(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
