"""Benchmark cases contributed by plugins (entry-point group ``scitiff_readers.benchmarks``).

Each plugin exposes a function ``cases() -> list[BenchmarkCase]`` through the entry
point group. The asv suite (``benchmarks/``) and the side-by-side script
(``benchmarks/side_by_side.py``) iterate over every installed plugin's cases, so a
backend adds its files and its peers (tifffile, bioio, the format's reference
reader) in one place.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PluginLoadWarning

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["BENCHMARKS_GROUP", "BenchmarkCase", "Peer", "benchmark_cases", "benchmark_data_dir", "plane_tcz"]

#: Entry-point group: each value is a zero-argument callable returning BenchmarkCases.
BENCHMARKS_GROUP = "scitiff_readers.benchmarks"


@dataclass(frozen=True)
class Peer:
    """Another library reading the same file, for side-by-side numbers.

    Each callable takes the file path. ``open`` returns an opened object (metadata
    only), ``one_plane`` the plane ``BenchmarkCase.plane`` as numpy, ``full_read``
    the whole image as numpy. ``plane_reader`` opens the file once and returns a
    function that reads plane number ``i`` (planes counted in the file's order,
    ``i`` below the number of planes) from the opened file. ``None`` means the peer
    cannot do it.

    For the cold-start benchmark (``benchmarks/cold_start.py``): ``imports`` are the
    modules the peer's library needs (their import is timed on its own), and
    ``plane_program(path)`` returns the whole program a user would run to read the
    plane ``BenchmarkCase.plane``, timed as a process.
    """

    name: str
    open: Callable[[Path], Any] | None = None
    one_plane: Callable[[Path], Any] | None = None
    full_read: Callable[[Path], Any] | None = None
    full_read_lazy: Callable[[Path], Any] | None = None
    plane_reader: Callable[[Path], Callable[[int], Any]] | None = None
    imports: tuple[str, ...] = ()
    plane_program: Callable[[Path], str] | None = None


@dataclass(frozen=True)
class BenchmarkCase:
    """A benchmark file for one reader, how to make it, and who to compare against.

    ``make(folder)`` writes the file (with the format's reference writer where one
    exists) into ``folder`` unless it is already there, and returns its path.
    ``plane`` selects the plane read by the "one plane" benchmark, as keyword
    arguments of ``get_image_data("YX", ...)``.
    """

    name: str
    reader: str
    make: Callable[[Path], Path]
    plane: Mapping[str, int] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    peers: tuple[Peer, ...] = ()
    nbytes: int | None = None


def plane_tcz(i: int, size_c: int, size_z: int) -> tuple[int, int, int]:
    """``(t, c, z)`` of plane number ``i`` counted Z fastest, then C, then T."""
    t, rest = divmod(i, size_c * size_z)
    c, z = divmod(rest, size_z)
    return t, c, z


def benchmark_data_dir() -> Path:
    """Folder for benchmark files: ``$SCITIFF_READERS_BENCH_DATA`` or ``benchmarks/data``."""
    env = os.environ.get("SCITIFF_READERS_BENCH_DATA")
    folder = Path(env) if env else Path(__file__).resolve().parent.parent / "benchmarks" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def benchmark_cases() -> list[BenchmarkCase]:
    """All benchmark cases of the installed plugins (a broken plugin only warns)."""
    cases: list[BenchmarkCase] = []
    for ep in metadata.entry_points(group=BENCHMARKS_GROUP):
        try:
            cases.extend(ep.load()())
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not stop the others
            warnings.warn(
                f"benchmark cases of {ep.name!r} failed: {type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=2,
            )
    return cases
