"""Fuzz smoke run: a few hundred hostile datasets of every format, each read in a forked child.

The long campaign is ``nox -s fuzz`` (see docs/robustness.md). Here every case
must end ``ok`` (read, warnings allowed) or ``typed`` (a ScitiffReadersError):
no untyped error, hang, memory blow-up, crash, silent garbage or read outside the
dataset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the fuzz runner forks and limits memory (Linux)"
)

CASES_PER_FORMAT = 36
#: Crafted path-escape cases per seed in the smoke (spread over each seed's list; the campaign runs all).
CRAFTED_PER_SEED = 5


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> list:
    pytest.importorskip("scitiff_readers_tiff")
    pytest.importorskip("scitiff_readers_zarr")
    pytest.importorskip("scitiff_readers_ndtiff")
    pytest.importorskip("scitiff_readers_scitiff")
    from scitiff_readers.testing.fuzz import CaseResult

    # A fresh process: the runner forks one child per case, which is only safe from a
    # process without library threads (this test process has run zarr and dask). Its
    # scratch folder is its default: in memory (/dev/shm) when there is one.
    workdir = tmp_path_factory.mktemp("fuzz")
    report = workdir / "report.json"
    workers = max(2, min(4, os.cpu_count() or 2))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "scitiff_readers.testing.fuzz",
            "--cases",
            str(CASES_PER_FORMAT),
            "--workers",
            str(workers),
            "--timeout",
            "20",
            "--seed",
            "20261129",
            "--report",
            str(report),
            "--crafted",
            "--crafted-per-seed",
            str(CRAFTED_PER_SEED),
        ],
        check=False,
        timeout=600,
        capture_output=True,
    )
    return [CaseResult(**r) for r in json.loads(report.read_text())["results"]]


def test_smoke_has_no_failure(smoke: list) -> None:
    from scitiff_readers.testing.fuzz.runner import FAILURES

    bad = [
        f"{r.format}#{r.case} {r.outcome}: {r.mutation} -> {r.detail}" for r in smoke if r.outcome in FAILURES
    ]
    assert not bad, "\n".join(bad)


def test_smoke_covers_every_format_with_both_outcomes(smoke: list) -> None:
    from scitiff_readers.testing.fuzz import summarize
    from scitiff_readers.testing.fuzz.seeds import FORMATS

    table = summarize(smoke)
    assert set(table) == {*FORMATS, "total"}
    for fmt in FORMATS:
        assert table[fmt]["cases"] == CASES_PER_FORMAT
        # Mutations that break the file and ones it survives: the run exercised both paths.
        assert table[fmt]["typed"] > 0, table[fmt]
        assert table[fmt]["ok"] > 0, table[fmt]


def test_crafted_escapes_are_all_refused_or_unused(smoke: list) -> None:
    """Links and names pointing out of each seed, on purpose: nothing outside is ever opened.

    Most are refused with a typed error; the rest name something the reader never
    uses (a ``.zgroup`` next to ``.zattrs``, the ``MetadataFile`` of a member that
    is not the one opened) or are a link made to the file that is opened itself,
    which the runner's audit hook confirms by seeing no open outside.
    """
    from scitiff_readers.testing.fuzz import summarize
    from scitiff_readers.testing.fuzz.seeds import FORMATS

    crafted = [r for r in smoke if r.kind == "crafted"]
    table = summarize(smoke, "crafted")
    assert set(table) == {*FORMATS, "total"}, table
    assert {r.outcome for r in crafted} <= {"ok", "typed"}, [
        r for r in crafted if r.outcome not in ("ok", "typed")
    ]
    # Names written in metadata and links to decoys are both in the sample, and most are refused.
    assert any("outside" in r.mutation and "link" not in r.mutation for r in crafted)
    assert any("link outside" in r.mutation for r in crafted)
    assert table["total"]["typed"] > table["total"]["ok"], table["total"]


def test_runner_classifies_escape_hang_and_untyped(tmp_path: Path) -> None:
    """The runner itself can fail a case: an open outside, a hang and an untyped error are caught."""
    from scitiff_readers.testing.fuzz import runner

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.bin").write_bytes(b"x")
    results: dict[str, dict] = {}

    def child(name: str, body: str, wall: float = 2.0, cpu: float = 0) -> None:
        def start(_: object) -> tuple[int, int]:
            def work(fd: int) -> None:
                runner._install_escape_hook(str(outside), tmp_path / "data", seen := [])
                try:
                    exec(body, {"outside": outside})
                    out = {"outcome": "ok"}
                except Exception as exc:  # noqa: BLE001
                    out = {"outcome": "untyped", "detail": type(exc).__name__}
                if seen:
                    out = {"outcome": "escape"}
                os.write(fd, runner.json.dumps(out).encode())
                os.close(fd)

            return runner._fork(work)

        runner._run_children([name], start, 1, wall, lambda job, res, s: results.__setitem__(job, res), cpu)

    (tmp_path / "data").mkdir()
    child("escape", "open(outside / 'secret.bin').read()")
    child("hang", "while True: pass", wall=0.5)  # spins: any deadline ends it
    child("untyped", "raise RuntimeError('x')")
    # Judged by the child's own CPU time (RLIMIT_CPU ends it), however long the machine makes it wait.
    child(
        "cpu", "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (1, 2))\nwhile True: pass", 120.0, 1
    )
    assert results["escape"]["outcome"] == "escape"
    assert results["hang"]["outcome"] == "hang"
    assert results["untyped"]["outcome"] == "untyped"
    assert results["cpu"] == {
        **results["cpu"],
        "outcome": "hang",
        "detail": "still computing after 1 s of CPU",
    }
    assert results["cpu"]["cpu"] > 0.5  # the kernel counts in ticks: about 1 s


def test_mutations_never_reach_through_a_linked_folder(tmp_path: Path) -> None:
    """After a folder is linked to its twin outside, later mutations leave the decoys alone.

    ``rglob`` follows linked folders; a second mutation of the same case used to write into
    (or delete) the shared ``outside`` tree, so later cases met other decoys (the final
    campaign saw four VISoR cases change outcome between two runs of the same seed).
    """
    import random

    from scitiff_readers.testing.fuzz import mutators

    outside = tmp_path / "outside"
    twin = outside / "copies" / "fmt" / "seed" / "level"
    twin.mkdir(parents=True)
    (twin / "chunk").write_bytes(b"decoy")
    root = tmp_path / "case"
    (root / "level").mkdir(parents=True)
    (root / "meta.json").write_text("{}")
    (root / "level").rmdir()
    os.symlink(twin, root / "level")
    case = mutators.Case(root, "meta.json", outside)
    assert mutators._files(case) == [root / "meta.json"]
    assert [p for p in mutators._inside(case) if p.is_dir()] == []
    for seed in range(200):
        for mutator in (mutators.bitflip, mutators.truncate, mutators.symlink_dir, mutators.symlink_file):
            try:
                mutator(case, random.Random(seed))
            except Exception:  # noqa: BLE001 - a mutator that cannot apply: what matters is the decoy
                continue
            assert (twin / "chunk").read_bytes() == b"decoy"
            if not (root / "meta.json").exists():
                (root / "meta.json").write_text("{}")
