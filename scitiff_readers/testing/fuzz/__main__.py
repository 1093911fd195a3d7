"""``python -m scitiff_readers.testing.fuzz``: run a fuzz campaign and print its table."""

from __future__ import annotations

import argparse
import json
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

from .runner import FAILURES, CaseResult, format_table, run_campaign, scratch_root, summarize
from .seeds import FORMATS


def main(argv: list[str] | None = None) -> int:
    """Run the campaign; exit 1 if any case ends in a failure outcome."""
    parser = argparse.ArgumentParser(prog="python -m scitiff_readers.testing.fuzz", description=__doc__)
    parser.add_argument("--cases", type=int, default=200, help="cases per format (default 200)")
    parser.add_argument("--formats", nargs="*", choices=list(FORMATS), help="formats (default all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="seconds of CPU before a case counts as hung (or ten times as many of wall time)",
    )
    parser.add_argument("--memory", type=float, default=2.0, help="GiB of address space a case may add")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--start", type=int, default=0, help="number of the first case (to go on with a campaign)"
    )
    parser.add_argument(
        "--crafted",
        action="store_true",
        help="also run every crafted path-escape case of every seed (--cases 0: only those)",
    )
    parser.add_argument(
        "--crafted-per-seed", type=int, help="at most this many crafted cases per seed (spread)"
    )
    parser.add_argument("--keep", type=Path, help="copy failing cases here")
    parser.add_argument("--report", type=Path, help="write every result as JSON here")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="scratch folder (default: a temporary one, in /dev/shm when it is a memory file system)",
    )
    parser.add_argument("--log", type=Path, help="append each result as a JSON line here, as it arrives")
    parser.add_argument(
        "--table",
        type=Path,
        nargs="+",
        help="only print the table of a --log file and exit "
        "(a case logged twice counts once, with its last result)",
    )
    args = parser.parse_args(argv)
    if args.table:
        from .runner import CaseResult

        latest = {}
        for line in (line for log in args.table for line in log.read_text().splitlines()):
            if line.strip():
                row = CaseResult(**json.loads(line))
                latest[(row.kind, row.format, row.case)] = row  # a case run again counts once, last result
        rows = list(latest.values())
        print(format_table(summarize(rows)))
        if any(r.kind == "crafted" for r in rows):
            print("\ncrafted path-escape cases:")
            print(format_table(summarize(rows, "crafted")))
        return 0
    failures = 0
    log = args.log.open("a") if args.log else None
    started = time.monotonic()

    def progress(res: CaseResult) -> None:
        nonlocal failures
        if log is not None:
            log.write(json.dumps(res.__dict__) + "\n")
            log.flush()
        if res.outcome in FAILURES:
            failures += 1
            print(f"{res.format}#{res.case} {res.outcome}: {res.mutation} -> {res.detail}", flush=True)

    # Stopped with SIGTERM (kill): leave through SystemExit, so the scratch folder (in
    # memory, under /dev/shm) is removed. Children restore the default (runner._fork).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with tempfile.TemporaryDirectory(prefix="scitiff-fuzz-", dir=scratch_root()) as tmp:
        results = run_campaign(
            args.workdir or Path(tmp),
            args.cases,
            args.formats,
            workers=args.workers,
            timeout=args.timeout,
            memory=int(args.memory * 2**30),
            seed=args.seed,
            keep=args.keep,
            progress=progress,
            start_case=args.start,
            crafted=args.crafted,
            crafted_per_seed=args.crafted_per_seed,
        )
    table = summarize(results)
    print(format_table(table))
    if args.crafted:
        crafted = summarize(results, "crafted")
        print("\ncrafted path-escape cases:")
        print(format_table(crafted))
        for o in FAILURES:
            table["total"][o] += crafted["total"][o]
    seconds = time.monotonic() - started
    cpu = sum(
        u.ru_utime + u.ru_stime
        for u in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    print(
        f"{len(results)} cases in {seconds:.0f} s ({len(results) / max(seconds, 1e-9):.1f} cases/s; "
        f"{cpu:.0f} s of CPU, setup included: {1000 * cpu / max(len(results), 1):.0f} ms per case)"
    )
    if args.report:
        args.report.write_text(
            json.dumps({"table": table, "results": [r.__dict__ for r in results]}, indent=1)
        )
    return 1 if any(table["total"][o] for o in FAILURES) else 0


if __name__ == "__main__":
    sys.exit(main())
