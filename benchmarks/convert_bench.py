"""Converting an OME-TIFF to OME-Zarr 0.5 with pyramid levels: ours against bioio-convert and ome-zarr-py.

Run from ``side_by_side.py --convert`` (or directly). Every implementation converts
the same file in its own process, one after the other, in the same run, after the
file was read once (warm page cache):

* ``ours``: ``scitiff-readers convert SRC DST --levels N-1`` (the command line).
* ``bioio-convert``: ``bioio-convert SRC --destination DIR --num-levels N --zarr-format 3``.
* ``ome-zarr-py``: ``ome_zarr.writer.write_image`` fed with our reader's dask array,
  ``scale_factors`` for ``N`` levels, with the source's pixel sizes and units.

``N`` counts every level, full resolution included (as ``--num-levels`` does). The
table gives the wall time, the CPU time (user + system, all threads and child processes)
and the peak resident memory of the process, and checks
each output: level count, a plane of full resolution against tifffile, and whether
the axes kept their units. The source (T=8, C=2, Z=64, 1024 x 1024 uint16, 2 GiB by
default) is written once with tifffile into ``$SCITIFF_READERS_BENCH_DATA`` (never
committed): noisy (Poisson) blobs on a background, as a fluorescence stack.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

#: The wrapper that runs a command and reports its wall time and peak RSS (of its largest process).
_MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
try:
    done = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=float(sys.argv[1]))
    code, err = done.returncode, done.stderr[-2000:]
except subprocess.TimeoutExpired:
    code, err = None, "timeout"
seconds = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "peak_mib": usage.ru_maxrss / 1024, "returncode": code, "stderr": err}))
"""

_OME_ZARR_PY = r"""
import sys, zarr
from ome_zarr.format import FormatV05
from ome_zarr.writer import write_image
from scitiff_readers import Reader
src, dst, levels = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Reader(src) as r:
    pps = r.physical_pixel_sizes
    group = zarr.open_group(dst, mode="w", zarr_format=3)
    write_image(r.dask_data, group, axes="tczyx", fmt=FormatV05(), scale_factors=[2**k for k in range(1, levels)],
                scale={"z": pps.Z, "y": pps.Y, "x": pps.X},
                axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"})
"""


def make_source(path: Path, shape: tuple[int, ...] = (8, 2, 64, 1024, 1024)) -> Path:
    """The source OME-TIFF (written once with tifffile): noisy blobs, pixel sizes in µm, channel names."""
    if path.exists():
        return path
    import numpy as np
    import tifffile

    t, c, z, y, x = shape
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:y, 0:x]
    centres = rng.uniform(0, 1, (40, 2)) * (y, x)
    blobs = sum(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 400.0) for cy, cx in centres)
    # A few noisy variants, shifted plane by plane: realistic compressibility, fast to make.
    variants = [rng.poisson(100 + 900 * blobs).astype(np.uint16) for _ in range(4)]

    def planes() -> Any:
        for ti in range(t):
            for ci in range(c):
                for zi in range(z):
                    yield np.roll(variants[(ti + zi) % 4], 3 * zi + 17 * ci + 5 * ti, axis=1)

    tmp = path.with_name(path.name + ".partial")
    tifffile.imwrite(
        tmp,
        planes(),
        shape=shape,
        dtype=np.uint16,
        ome=True,
        bigtiff=True,
        metadata={
            "axes": "TCZYX",
            "PhysicalSizeX": 0.325,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": 0.325,
            "PhysicalSizeYUnit": "µm",
            "PhysicalSizeZ": 2.0,
            "PhysicalSizeZUnit": "µm",
            "TimeIncrement": 60.0,
            "TimeIncrementUnit": "s",
            "Channel": {"Name": ["GFP", "mCherry"]},
        },
    )
    os.replace(tmp, path)
    return path


def _commands(src: Path, out: Path, levels: int) -> dict[str, tuple[list[str], Path]]:
    bin_dir = Path(sys.executable).parent
    bioio = shutil.which("bioio-convert", path=str(bin_dir)) or shutil.which("bioio-convert")
    cmds: dict[str, tuple[list[str], Path]] = {
        "ours": (
            [
                sys.executable,
                "-m",
                "scitiff_readers.cli",
                "convert",
                str(src),
                str(out / "ours.ome.zarr"),
                "--levels",
                str(levels - 1),
                "--no-progress",
            ],
            out / "ours.ome.zarr",
        ),
    }
    if bioio is not None:
        cmds["bioio-convert"] = (
            [
                bioio,
                str(src),
                "--destination",
                str(out / "bioio"),
                "--num-levels",
                str(levels),
                "--zarr-format",
                "3",
            ],
            out / "bioio",
        )
    try:
        import ome_zarr  # noqa: F401

        cmds["ome-zarr-py"] = (
            [sys.executable, "-c", _OME_ZARR_PY, str(src), str(out / "omezarrpy.ome.zarr"), str(levels)],
            out / "omezarrpy.ome.zarr",
        )
    except ImportError:
        pass
    return cmds


def _find_image(root: Path) -> Path | None:
    """The first group below ``root`` (itself included) whose attributes hold multiscales."""
    for meta in sorted(root.rglob("zarr.json"), key=lambda p: len(p.parts)):
        attrs = json.loads(meta.read_text()).get("attributes", {})
        if "multiscales" in attrs.get("ome", attrs):
            return meta.parent
    return None


def check_output(root: Path, src: Path) -> dict[str, Any]:
    """Levels, a full-resolution plane against tifffile, and the axes' units."""
    import numpy as np
    import tifffile
    import zarr

    image = _find_image(root)
    if image is None:
        return {"levels": 0, "pixels": "missing", "units": "-"}
    attrs = dict(zarr.open_group(str(image), mode="r").attrs)
    ms = attrs.get("ome", attrs)["multiscales"][0]
    units = [a.get("unit") for a in ms["axes"] if a.get("type") in ("space", "time")]
    first = zarr.open_array(str(image / ms["datasets"][0]["path"]), mode="r")
    with tifffile.TiffFile(src) as tf:
        series = tf.series[0]
        t, c, z = series.shape[:3]
        expected = series.pages[(t - 1) * c * z + (c - 1) * z + z - 1].asarray()
    got = np.asarray(first[(-1,) * (first.ndim - 2)])
    return {
        "levels": len(ms["datasets"]),
        "pixels": "ok" if np.array_equal(got, expected) else "DIFF",
        "units": ",".join(u or "-" for u in units),
    }


def _measure(cmd: list[str], dst: Path, src: Path, timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(timeout), *cmd], capture_output=True, text=True
    )
    res: dict[str, Any] = json.loads(done.stdout)
    if res["returncode"] == 0:
        res.update(check_output(dst, src))
    else:
        res.update(
            {"levels": 0, "pixels": "FAILED", "units": " ".join(res["stderr"].strip().splitlines()[-1:])}
        )
    shutil.rmtree(dst, ignore_errors=True)
    return res


def run(
    folder: Path, levels: int = 2, timeout: float = 1800.0, only: list[str] | None = None, repeat: int = 1
) -> list[dict[str, Any]]:
    """Measure every implementation ``repeat`` times, in turn (ours, peer, peer, ours, ...); print the medians."""
    import statistics

    src = make_source(folder / "convert-2gib.ome.tif")
    with open(src, "rb") as fh:  # warm the page cache: every implementation reads from memory
        while fh.read(64 * 2**20):
            pass
    out = folder / "convert-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    commands = {k: v for k, v in _commands(src, out, levels).items() if not only or k in only}
    size = src.stat().st_size / 2**30
    print(
        f"# convert {src.name} ({size:.2f} GiB) to OME-Zarr 0.5 with {levels} levels (full resolution included); "
        f"median of {repeat}; load average before: {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'impl':<16} {'seconds':>9} {'cpu s':>8} {'peak MiB':>9} {'speedup':>8} {'levels':>6} {'pixels':>7}  "
        "units  (every run's seconds)"
    )
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    for round_ in range(repeat):
        names = list(commands) if round_ % 2 == 0 else list(reversed(commands))
        for name in names:
            runs[name].append(_measure(*commands[name], src, timeout))
    rows = []
    ours_seconds = None
    for name, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        last = results[-1]
        row = {
            "impl": name,
            "seconds": seconds,
            "all_seconds": [r["seconds"] for r in results],
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in results),
            "peak_mib": max(r["peak_mib"] for r in results),
            **{k: last[k] for k in ("levels", "pixels", "units", "returncode")},
        }
        if name == "ours":
            ours_seconds = seconds
        speed = f"{seconds / ours_seconds:.1f}x" if ours_seconds and name != "ours" else ""
        shown = "> timeout" if last["returncode"] is None else f"{seconds:.1f}"
        runs_text = ", ".join(f"{x:.1f}" for x in row["all_seconds"])
        print(
            f"{name:<16} {shown:>9} {row['cpu_seconds']:>8.1f} {row['peak_mib']:>9.0f} {speed:>8} {row['levels']:>6} "
            f"{row['pixels']:>7}  {row['units']}  ({runs_text})",
            flush=True,
        )
        rows.append(row)
    return rows


if __name__ == "__main__":
    from scitiff_readers._benchmarking import benchmark_data_dir

    run(
        benchmark_data_dir(),
        levels=int(sys.argv[1]) if len(sys.argv) > 1 else 2,
        only=sys.argv[2].split(",") if len(sys.argv) > 2 else None,
        repeat=int(sys.argv[3]) if len(sys.argv) > 3 else 1,
    )
