"""Run mutated datasets through ``Reader`` in forked children and classify what happens.

One child per case: it gets an address-space limit (``RLIMIT_AS``), a deadline
(the parent kills it), and an audit hook that records every file or folder it
opens below the decoy folder (:func:`.seeds.write_outside`). The child opens the
case with :class:`scitiff_readers.Reader`, walks scenes and levels, reads the
metadata, coordinates and every pixel (twice: eagerly, then through dask) and
reports back through a pipe. Outcomes (:data:`OUTCOMES`):

``ok``
    Read without an error (warnings allowed).
``typed``
    Refused with a :class:`~scitiff_readers.errors.ScitiffReadersError`.
``untyped``
    Any other exception.
``hang``
    Still running at the deadline.
``memory``
    ``MemoryError``, or killed while allocating beyond the limit.
``crash``
    The child died of a signal (a segfault in a C library).
``silent``
    Read without a warning but wrong: two reads of the same pixels differ, or a
    truncated file reads as something other than the seed's pixels.
``escape``
    Something outside the dataset was opened, whatever the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import resource
import select
import shutil
import signal
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .crafted import CraftedCase, crafted_cases
from .mutators import Case, mutate
from .seeds import Seed, write_outside, write_seeds

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["FAILURES", "OUTCOMES", "CaseResult", "format_table", "run_campaign", "scratch_root", "summarize"]

OUTCOMES = ("ok", "typed", "untyped", "hang", "memory", "crash", "silent", "escape")
#: Outcomes that are bugs.
FAILURES = ("untyped", "hang", "memory", "crash", "silent", "escape")


@dataclass
class CaseResult:
    """What one case did."""

    format: str
    seed: str
    case: int
    mutation: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0
    cpu: float = 0.0
    #: ``"random"`` (a mutation drawn from the seed) or ``"crafted"`` (see :mod:`.crafted`).
    kind: str = "random"


# ------------------------------------------------------------------------ child
def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _install_escape_hook(outside: str, entry: Path, seen: list[str]) -> None:
    prefix = os.path.realpath(outside) + os.sep
    # The path the user opens may itself be a link (to a whole dataset, or to a
    # single-file dataset): its real folder is the dataset, wherever it is.
    real_entry = os.path.realpath(entry)
    own = (real_entry if os.path.isdir(real_entry) else os.path.dirname(real_entry)) + os.sep

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        target = args[0]
        if isinstance(target, int) or target is None:
            return
        try:
            real = os.path.realpath(os.fsdecode(target))
        except (TypeError, ValueError, OSError):
            return
        inside = (real + os.sep).startswith(own)
        if (real + os.sep).startswith(prefix) and not inside and len(seen) < 5:
            seen.append(real)

    sys.addaudithook(hook)


def _digest(array: Any) -> str:
    import numpy as np

    a = np.ascontiguousarray(array)
    return hashlib.blake2b(a.tobytes() + str((a.shape, a.dtype.str)).encode(), digest_size=12).hexdigest()


def _corners(reader: Any) -> Any:
    """The first and last planes of a large image, each cut to a window of at most 8 x 8 storage units.

    A declared plane of 65,535 rows of 4 x 4 chunks, all missing, is legal (zarr reads
    it as the fill value) but 32,768 chunk look-ups per plane: the cost of a big legal
    read, not a hang, so only a window of each plane is read.
    """
    import numpy as np

    last = {d: n - 1 for d, n in zip("TCZ", reader.shape, strict=False)}
    order = str(reader.dims.order)[3:] if hasattr(reader.dims, "order") else "YX"
    chunks = reader.image().source.storage_chunks
    window = {
        d: slice(0, min(int(n), 8 * max(1, int(c))))
        for d, n, c in zip("YX", reader.image().source.shape[3:5], chunks[3:5], strict=False)
    }
    return np.stack([reader.get_image_data(order, **window), reader.get_image_data(order, **last, **window)])


def _units(reader: Any) -> int:
    """Storage units (pages, tiles, chunks) of the current scene / level.

    A declared shape of 65,535 along one axis of 16 x 16 chunks, all missing, is a
    legal image of 100,000 chunks that zarr reads one by one (tens of seconds):
    the cost of a big legal read, not a hang, so only its corners are read.
    """
    source = reader.image().source
    return math.prod(
        -(-int(n) // max(1, int(c))) for n, c in zip(source.shape, source.storage_chunks, strict=False)
    )


def exercise(path: Path, options: dict[str, Any]) -> tuple[list[str], bool, str]:
    """Open ``path`` and read everything; return (digests, warned, inconsistency)."""
    import numpy as np

    from scitiff_readers import Reader
    from scitiff_readers.errors import ScitiffReadersWarning

    digests: list[str] = []
    problem = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Reader(path, **options) as reader:
            for scene in range(min(len(reader.scenes), 4)):
                reader.set_scene(scene)
                _ = (reader.dims, reader.dtype, reader.channel_names, reader.physical_pixel_sizes)
                _ = reader.coords, reader.metadata
                for level in reader.resolution_levels[:3]:
                    reader.set_resolution_level(level)
                    # Everything when small; when the file declares a large image (legal: a
                    # sparse zarr store), the first and last planes: a hang is no progress,
                    # not a big legal read.
                    small = (
                        math.prod(reader.shape) * reader.dtype.itemsize <= 64 * 2**20
                        and _units(reader) <= 4096
                    )
                    if small:
                        whole = reader.get_image_data()
                        # The second read goes through dask: one read checks both that reads
                        # repeat (a decoder reading past its buffer returns other bytes each
                        # time) and that the lazy and the eager paths agree, on every pixel.
                        again = np.asarray(reader.dask_data.compute())
                        if whole.tobytes() != again.tobytes():
                            problem = f"scene {scene} level {level}: dask and numpy reads differ"
                    else:
                        whole, again = _corners(reader), _corners(reader)
                        if whole.tobytes() != again.tobytes():
                            problem = f"scene {scene} level {level}: two reads differ"
                        _ = reader.dask_data  # the graph is built (and its block count bounded), not computed
                    digests.append(_digest(whole))
    warned = any(issubclass(w.category, ScitiffReadersWarning) for w in caught)
    return digests, warned, problem


def _child(
    path: Path, options: dict[str, Any], outside: Path, memory: int, out_fd: int, cpu: float = 0
) -> None:
    seen: list[str] = []
    result: dict[str, Any]
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Rare collections: a child lives for tens of milliseconds and its garbage dies
        # with it; cycles are still collected, every 100,000 allocations instead of 700
        # (measured: 4 to 5 % less CPU per child, the same outcomes).
        import gc

        gc.set_threshold(100_000, 50, 1000)
        if cpu:
            # The kernel ends a child that computes longer than this (SIGXCPU): a hang is
            # judged on the child's own CPU time, whatever share of the machine it gets.
            resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(cpu), math.ceil(cpu) + 1))
        if memory:
            limit = _vm_size() + memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        import logging

        logging.getLogger("tifffile").addHandler(logging.NullHandler())
        _install_escape_hook(str(outside), path, seen)
        import dask

        # One block is computed per level: threads would only add start-up cost per case.
        with dask.config.set(scheduler="synchronous"):
            digests, warned, problem = exercise(path, options)
        result = {
            "outcome": "silent" if problem else "ok",
            "detail": problem,
            "digests": digests,
            "warned": warned,
        }
    except BaseException as exc:  # noqa: BLE001 - classify everything
        from scitiff_readers.errors import ScitiffReadersError

        typed = isinstance(exc, ScitiffReadersError)
        where = (
            ""
            if typed
            else " | "
            + " < ".join(
                f"{Path(f.filename).name}:{f.lineno}"
                for f in reversed(traceback.extract_tb(exc.__traceback__)[-4:])
            )
        )
        outcome = "typed" if typed else "memory" if isinstance(exc, MemoryError) else "untyped"
        result = {
            "outcome": outcome,
            "detail": f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:400] + where,
        }
    if seen:
        result = {
            "outcome": "escape",
            "detail": f"opened {seen[0]} ({result['outcome']}: {result.get('detail', '')})",
        }
    data = json.dumps(result).encode()
    view = memoryview(data)
    while view:
        n = os.write(out_fd, view[:65536])
        view = view[n:]
    os.close(out_fd)


def _fork(func: Callable[[int], None]) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.close(read_fd)
            func(write_fd)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


# ----------------------------------------------------------------------- parent
@dataclass(frozen=True)
class _Layout:
    """A seed's tree, listed once: folders, regular files and links (relative paths)."""

    root: Path
    dirs: tuple[str, ...]
    files: tuple[str, ...]
    links: tuple[tuple[str, str], ...]


def _layout(root: Path) -> _Layout:
    dirs, files, links = [], [], []
    for here, subdirs, names in os.walk(root):
        rel = os.path.relpath(here, root)
        for name in [*subdirs, *names]:
            full = os.path.join(here, name)
            item = os.path.normpath(os.path.join(rel, name))
            if os.path.islink(full):
                links.append((item, os.readlink(full)))
            elif os.path.isdir(full):
                dirs.append(item)
            else:
                files.append(item)
        subdirs[:] = [d for d in subdirs if not os.path.islink(os.path.join(here, d))]
    return _Layout(root, tuple(dirs), tuple(files), tuple(links))


def _clone(layout: _Layout, target: Path) -> None:
    """Copy a seed by hard links: one system call per file instead of a copy and its metadata.

    Safe because the mutators never write into a file: they replace it (see
    ``mutators._write``), so the seed's inodes are never changed.
    """
    target.mkdir(parents=True)
    for d in layout.dirs:
        os.mkdir(target / d)
    for f in layout.files:
        os.link(layout.root / f, target / f)
    for name, link in layout.links:
        os.symlink(link, target / name)


@dataclass
class _Running:
    pid: int
    fd: int
    start: float
    buf: bytearray
    job: Any


def _run_children(
    jobs: Sequence[Any],
    start: Callable[[Any], tuple[int, int]],
    workers: int,
    timeout: float,
    done: Callable[[Any, dict[str, Any], float], None],
    cpu: float = 0,
) -> None:
    """Run ``start(job)`` children ``workers`` at a time; call ``done(job, result, seconds)``.

    A child is hung when it is still running ``timeout`` seconds after it started, or
    when it was ended for using more than ``cpu`` seconds of CPU (``RLIMIT_CPU``,
    set by the child itself).
    """
    pending = list(jobs)[::-1]
    running: dict[int, _Running] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop()
            pid, fd = start(job)
            running[fd] = _Running(pid, fd, time.monotonic(), bytearray(), job)
        ready, _, _ = select.select(list(running), [], [], 0.05)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                running[fd].buf += chunk
                continue
            r = running.pop(fd)
            os.close(fd)
            _, status, usage = os.wait4(r.pid, 0)
            seconds = time.monotonic() - r.start
            if r.buf:
                result = json.loads(bytes(r.buf))
            elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
                result = {"outcome": "hang", "detail": f"still computing after {cpu:.0f} s of CPU"}
            elif os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                # SIGKILL / SIGSEGV from the kernel when the address-space limit bites inside C code.
                result = {"outcome": "crash", "detail": f"killed by signal {signal.Signals(sig).name}"}
            else:
                result = {
                    "outcome": "crash",
                    "detail": f"exited with status {os.WEXITSTATUS(status)}, no report",
                }
            # The child's own CPU time: what a case costs, whatever else the machine runs.
            result["cpu"] = usage.ru_utime + usage.ru_stime
            done(r.job, result, seconds)
        now = time.monotonic()
        for fd, r in list(running.items()):
            if now - r.start > timeout:
                os.kill(r.pid, signal.SIGKILL)
                os.waitpid(r.pid, 0)
                os.close(fd)
                running.pop(fd)
                done(r.job, {"outcome": "hang", "detail": f"no result after {timeout:.0f} s"}, now - r.start)


def _preload(workdir: Path, seeds: Sequence[Seed] = ()) -> None:
    """Import the readers and their libraries and read every seed once, so each forked child starts warm.

    What a first read initialises (regular expressions, xarray and pandas indexes,
    dask graphs, codec registries, zarr's metadata parsing) is then paid once, not
    per case. No thread may be left running when the children are forked: dask runs
    synchronously here, Blosc without threads, zarr reads through zarr-python's own
    pipeline (zarrs would start a native thread pool), and zarr's event loop thread
    is stopped afterwards (zarr resets it in forked children). The process's thread
    count is checked from ``/proc``, which native threads cannot hide from.
    """
    import importlib

    import scitiff_readers
    from scitiff_readers._registry import list_readers

    list_readers()
    for name in (
        "dask.array",
        "xarray",
        "tifffile",
        "zarr",
        "zarr.codecs",
        "zarr.storage",
        "numcodecs",
        "numcodecs.blosc",
        "numcodecs.zstd",
        "imagecodecs",
        "pydantic",
        "scitiff_readers_tiff.ome",
        "scitiff_readers_tiff.plain",
        "scitiff_readers_tiff.series",
        "scitiff_readers_tiff.source",
        "scitiff_readers_tiff.omeplan",
        "scitiff_readers_tiff.lazypages",
        "scitiff_readers_zarr.omezarr",
        "scitiff_readers_zarr.visor",
        "scitiff_readers_zarr.source",
        "scitiff_readers_ndtiff.reader",
        "scitiff_readers_scitiff.reader",
        "scitiff_readers_scitiff.schema",
        "zarrs",
    ):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    del scitiff_readers
    import dask
    import numpy as np
    import tifffile

    warm = workdir / "warm.ome.tif"
    tifffile.imwrite(warm, np.zeros((2, 8, 8), np.uint16), ome=True, metadata={"axes": "ZYX"})
    try:
        blosc: Any = importlib.import_module("numcodecs.blosc")
    except ImportError:
        blosc = None
    threads = blosc.use_threads if blosc is not None else None
    try:
        if blosc is not None:
            blosc.use_threads = False
        with dask.config.set(scheduler="synchronous"):
            exercise(warm, {})
            for s in seeds:
                zarr_based = s.format in ("ome-zarr", "visor")
                exercise(
                    s.root / s.entry, {**s.options, **({"codec_pipeline": "zarr"} if zarr_based else {})}
                )
    finally:
        if blosc is not None:
            blosc.use_threads = threads
        with contextlib.suppress(ImportError):
            from zarr.core.sync import cleanup_resources

            cleanup_resources()
        # The zarr plugin's direct chunk reads keep a thread pool (made again in forked children).
        with contextlib.suppress(ImportError):
            directchunks = importlib.import_module("scitiff_readers_zarr.directchunks")
            if getattr(directchunks, "_POOL", None) is not None:
                directchunks._POOL.shutdown(wait=True)
                directchunks._forget_pool()
    _wait_single_threaded()
    # Children inherit the parent's objects copy-on-write; a garbage collection in a
    # child would touch (and copy) all of them. Frozen objects are never scanned.
    import gc

    gc.collect()
    gc.freeze()


def _wait_single_threaded(timeout: float = 5.0) -> None:
    """Wait until this process runs one thread (threads being shut down end); refuse to go on otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            count = len(os.listdir("/proc/self/task"))
        except OSError:  # pragma: no cover - not Linux
            import threading

            count = threading.active_count()
        if count == 1:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the warm-up left {count - 1} threads running: forking children would be unsafe"
            )
        time.sleep(0.01)


def _prepare(workdir: Path, formats: Sequence[str]) -> tuple[list[Seed], Path]:
    """Write seeds and decoys in a child (the parent must not start library threads before forking)."""
    listing = workdir / "seeds.json"

    def write(fd: int) -> None:
        seeds = write_seeds(workdir / "seeds", list(formats))
        write_outside(workdir / "outside", seeds)
        listing.write_text(json.dumps([{**asdict(s), "root": str(s.root)} for s in seeds]))
        os.write(fd, b"{}")
        os.close(fd)

    pid, fd = _fork(write)
    while os.read(fd, 1024):
        pass
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not listing.exists():
        raise RuntimeError("writing the fuzz seeds failed (run seeds.write_seeds directly to see why)")
    seeds = [Seed(**{**d, "root": Path(d["root"])}) for d in json.loads(listing.read_text())]
    return seeds, workdir / "outside"


def run_campaign(
    workdir: Path,
    cases: int,
    formats: Sequence[str] | None = None,
    *,
    workers: int = 2,
    timeout: float = 20.0,
    memory: int = 2 * 2**30,
    seed: int = 0,
    keep: Path | None = None,
    progress: Callable[[CaseResult], None] | None = None,
    start_case: int = 0,
    crafted: bool = False,
    crafted_per_seed: int | None = None,
) -> list[CaseResult]:
    """Run ``cases`` mutated cases per format; return every result.

    Parameters
    ----------
    workdir
        An empty scratch folder (seeds, decoys and case copies go there).
    cases
        Cases per format.
    formats
        Format names of :data:`.seeds.FORMATS` (default all).
    workers
        Children running at once.
    timeout
        Seconds of CPU before a child counts as hung (``RLIMIT_CPU``); a child
        that does not finish within ten times as many seconds of wall time (a
        deadlock uses no CPU) is hung too. On a busy machine a child gets a
        fraction of a core: judging by its own CPU time keeps slow from hung.
    memory
        Bytes of address space a child may add to what it inherited.
    seed
        Seed of the mutations: a run is reproducible from (seed, case number).
    keep
        Folder where the datasets of failing cases are copied, for reproduction.
    progress
        Called with each result as it arrives.
    start_case
        Number of the first case: a campaign stopped at case ``n`` goes on with
        ``start_case=n`` (each case depends only on ``seed``, format and number).
    crafted
        Also run every crafted path-escape case of every seed (:mod:`.crafted`);
        their results have ``kind="crafted"``.
    crafted_per_seed
        At most this many crafted cases per seed, evenly spread over its list (a
        short smoke); default all.
    """
    import threading

    from .seeds import FORMATS

    if threading.active_count() > 1:
        # A forked child inherits locks held by threads that do not exist in it (zarr's
        # event loop, dask's pools): it would deadlock. The CLI runs in a fresh process.
        raise RuntimeError(
            "run_campaign forks one child per case and must run in a process without other threads "
            "(zarr or dask already started some here); run `python -m scitiff_readers.testing.fuzz` instead"
        )
    formats = list(formats or FORMATS)
    workdir.mkdir(parents=True, exist_ok=True)
    seeds, outside = _prepare(workdir, formats)
    _preload(workdir, seeds)
    baselines: dict[str, list[str]] = {}

    def start_baseline(s: Seed) -> tuple[int, int]:
        return _fork(lambda fd: _child(s.root / s.entry, s.options, outside, memory, fd, timeout * 3))

    def baseline_done(s: Seed, result: dict[str, Any], seconds: float) -> None:
        if result["outcome"] != "ok":
            raise RuntimeError(f"seed {s.format}/{s.name} does not read cleanly: {result}")
        baselines[f"{s.format}/{s.name}"] = result["digests"]

    _run_children(seeds, start_baseline, workers, timeout * 30, baseline_done, timeout * 3)

    by_format = {f: [s for s in seeds if s.format == f] for f in formats}
    layouts = {s.root: _layout(s.root) for s in seeds}
    jobs: list[tuple[str, str, int]] = [
        ("random", f, n) for n in range(start_case, start_case + cases) for f in formats
    ]
    escapes: list[tuple[Seed, CraftedCase]] = []
    if crafted:
        for s in seeds:
            mine = crafted_cases(s, outside)
            step = max(1, math.ceil(len(mine) / crafted_per_seed)) if crafted_per_seed else 1
            escapes += [(s, c) for c in mine[::step]]
        jobs += [("crafted", escapes[k][0].format, k) for k in range(len(escapes))]
    results: list[CaseResult] = []
    cases_dir = workdir / "cases"
    cases_dir.mkdir(exist_ok=True)
    prepared: dict[tuple[str, str, int], tuple[Seed, Case, str, Path]] = {}

    def start(job: tuple[str, str, int]) -> tuple[int, int]:
        kind, fmt, n = job
        folder = cases_dir / f"{kind}-{fmt}-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        if kind == "crafted":
            s, (what, apply) = escapes[n]
            _clone(layouts[s.root], folder / "data")
            case = Case(folder / "data", s.entry, outside, kind="escape")
            apply(case)
        else:
            rng = random.Random(f"{seed}-{fmt}-{n}")
            s = rng.choice(by_format[fmt])
            _clone(layouts[s.root], folder / "data")
            case = Case(folder / "data", s.entry, outside)
            what = mutate(fmt, case, rng)
        prepared[job] = (s, case, what, folder)
        return _fork(lambda fd: _child(case.entry_path, s.options, outside, memory, fd, timeout))

    def done(job: tuple[str, str, int], result: dict[str, Any], seconds: float) -> None:
        s, case, what, folder = prepared.pop(job)
        outcome, detail = result["outcome"], result.get("detail", "")
        damaged = outcome == "ok" and case.kind == "truncate" and not result.get("warned")
        if damaged and result.get("digests") != baselines[f"{s.format}/{s.name}"]:
            outcome, detail = "silent", "a truncated dataset read without a warning and differs from the seed"
        res = CaseResult(
            job[1],
            s.name,
            job[2],
            what,
            outcome,
            detail,
            round(seconds, 3),
            round(result.get("cpu", 0.0), 4),
            job[0],
        )
        results.append(res)
        if keep is not None and outcome in FAILURES:
            target = keep / f"{job[0]}-{job[1]}-{job[2]}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target, symlinks=True)
            (target / "case.json").write_text(
                json.dumps({**asdict(res), "entry": s.entry, "options": s.options}, indent=1)
            )
        shutil.rmtree(folder, ignore_errors=True)
        if progress is not None:
            progress(res)

    _run_children(jobs, start, workers, timeout * 10, done, timeout)
    results.sort(key=lambda r: (r.kind, r.format, r.case))
    return results


def scratch_root(needed: int = 2**30) -> str | None:
    """``/dev/shm`` when it is a writable memory file system with ``needed`` bytes free, else ``None``.

    Every case makes and removes a tree of folders and hard links and rewrites a
    file or two: on a journaling disk file system those directory operations cost
    about four times the CPU (and ten times the wall time) they cost in memory,
    which is a large share of the runner's own work per case. The files read are
    the same either way.
    """
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except (OSError, AttributeError):
        return None
    if not os.access(shm, os.W_OK) or stats.f_bavail * stats.f_frsize < needed:
        return None
    return shm


def summarize(results: Sequence[CaseResult], kind: str = "random") -> dict[str, dict[str, int]]:
    """Per format (and ``"total"``): number of cases of ``kind`` and of each outcome."""
    table: dict[str, dict[str, int]] = {}
    results = [r for r in results if r.kind == kind]
    for fmt in [*sorted({r.format for r in results}), "total"]:
        rows = [r for r in results if fmt == "total" or r.format == fmt]
        counts = Counter(r.outcome for r in rows)
        table[fmt] = {"cases": len(rows), **{o: counts.get(o, 0) for o in OUTCOMES}}
    return table


def format_table(table: dict[str, dict[str, int]]) -> str:
    """The summary as a Markdown table."""
    cols = ["cases", *OUTCOMES]
    lines = ["| format | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for fmt, row in table.items():
        lines.append(f"| {fmt} | " + " | ".join(str(row[c]) for c in cols) + " |")
    return "\n".join(lines)
