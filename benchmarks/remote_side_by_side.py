"""Remote reads side by side: requests, bytes and time over a loopback HTTP server.

The files are served by :class:`scitiff_readers.testing.httpserver.RangeServer` on
127.0.0.1 (range requests, counted by the server). For each case and operation, each
implementation runs in a fresh Python process (no shared caches or connections):

* ``open``: open and read the metadata (dims / shape);
* ``plane``: open and read one plane;
* ``full``: open and read the whole image (level 0 of the first scene);
* ``full_read``: the same, but timed is the full read alone, after the open and a
  plane read have warmed up imports, connections and metadata (the read's throughput;
  requests and bytes still count the whole process).

Each row also gives the process's CPU time (user + system, all threads, the whole
process): on a shared machine wall times include the wait for a core.

Implementations: ``ours`` (``Reader(url)``), ``bioio`` (``BioImage(url)``, its
plugins' own remote support), and the format's own library used directly where it
reads URLs (``tifffile`` through an fsspec file, ``zarr`` through its fsspec store;
visor-py opens local paths only, so the VISoR case compares with zarr-python on the
image's array). Processes run with byte-compiled modules (``PYTHONDONTWRITEBYTECODE``
is dropped, one uncounted warm-up process per implementation and case), as after
``pip install``.

    python benchmarks/remote_side_by_side.py                 # every case
    python benchmarks/remote_side_by_side.py --case pyramid  # cases whose name contains it
    python benchmarks/remote_side_by_side.py --json out.json

Files are written into ``$SCITIFF_READERS_BENCH_DATA/remote`` (default
``benchmarks/data/remote``) by the reference writers (tifffile, zarr) on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CASES: dict[str, dict[str, Any]] = {
    # A 23 MB OME-TIFF pyramid of 2 MiB planes (the issue's example: bioio moved 236 MB for one plane).
    "ome-tiff-pyramid": {"file": "pyramid-23MB.ome.tif", "plane": {"C": 3}, "peers": ["bioio", "tifffile"]},
    "ome-tiff-2000-pages": {
        "file": "ome-2000-pages.ome.tif",
        "plane": {"Z": 1000},
        "peers": ["bioio", "tifffile"],
        "shared": True,
    },
    "ndtiff": {"file": "ndtiff-v3", "plane": {"T": 2, "C": 1}, "peers": []},
    "ome-zarr": {"file": "image.ome.zarr", "plane": {"Z": 10}, "peers": ["bioio", "zarr"]},
    # A VISoR sample (visor-py's writer: zarr v3, sharded Blosc): two raw images of 16 MiB,
    # the first read. visor-py opens samples by local path only (pathlib), so the peer
    # is zarr-python on the image's level-0 array.
    "visor": {
        "file": "visor-32MB.vsr",
        "plane": {"Z": 10},
        "peers": ["zarr"],
        "zarr_group": "visor_raw_images/slice_1_10x.zarr",
    },
}


def data_dir() -> Path:
    base = os.environ.get("SCITIFF_READERS_BENCH_DATA")
    folder = (Path(base) if base else Path(__file__).resolve().parent / "data") / "remote"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make(name: str) -> Path:
    """Write the file of case ``name`` unless it exists; return its path."""
    import numpy as np

    folder = data_dir()
    spec = CASES[name]
    if spec.get("shared"):
        shared = folder.parent / spec["file"]
        if not shared.exists():
            from scitiff_readers_tiff.benchmarks import make_2000

            make_2000(folder.parent)
        return shared
    path = folder / spec["file"]
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    if name == "ome-tiff-pyramid":
        import tifffile

        data = rng.integers(0, 60000, (8, 1024, 1024), dtype=np.uint16)
        with tifffile.TiffWriter(path, bigtiff=True) as tif:
            opts = {"tile": (256, 256), "compression": "zlib"}
            tif.write(data, subifds=3, metadata={"axes": "CYX"}, **opts)
            for k in (2, 4, 8):
                tif.write(data[:, ::k, ::k], subfiletype=1, **opts)
    elif name == "ndtiff":
        import shutil

        shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "ndtiff" / "v3" / "ndtiffv3.0_test"
        shutil.copytree(shared, path)
    elif name == "ome-zarr":
        import zarr

        data = rng.integers(0, 4000, (1, 2, 40, 512, 512), dtype=np.uint16)
        root = zarr.open_group(path, mode="w", zarr_format=2)
        root.attrs["multiscales"] = [
            {
                "version": "0.4",
                "name": "image",
                "axes": [
                    {"name": "t", "type": "time"},
                    {"name": "c", "type": "channel"},
                    {"name": "z", "type": "space", "unit": "micrometer"},
                    {"name": "y", "type": "space", "unit": "micrometer"},
                    {"name": "x", "type": "space", "unit": "micrometer"},
                ],
                "datasets": [
                    {
                        "path": "0",
                        "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, 2.0, 0.5, 0.5]}],
                    }
                ],
            }
        ]
        arr = root.create_array("0", shape=data.shape, chunks=(1, 1, 1, 512, 512), dtype=data.dtype)
        arr[:] = data
    elif name == "visor":
        from scitiff_readers_zarr.visor_writer import write_visor_2025

        write_visor_2025(path, shape=(1, 2, 16, 512, 512), chunks=(1, 1, 4, 256, 256), extra_images=False)
    return path


def _worker(impl: str, op: str, url: str, plane: dict[str, int], zarr_group: str = "") -> dict[str, Any]:
    """Run one measurement in this (fresh) process; the server counts requests and bytes."""
    import numpy as np

    start = time.perf_counter()
    result: Any = None
    if impl == "ours":
        from scitiff_readers import Reader

        with Reader(url) as r:
            if op == "open":
                result = r.dims.shape
            elif op == "plane":
                result = r.get_image_data("YX", **plane)
            elif op == "full_read":
                r.get_image_data("YX", **plane)  # warm: imports, connections, metadata
                start = time.perf_counter()
                result = r.get_image_data()
            else:
                result = r.data
    elif impl == "bioio":
        from bioio import BioImage

        img = BioImage(url)
        if op == "open":
            result = img.dims.shape
        elif op == "plane":
            result = img.get_image_dask_data("YX", **plane).compute()
        elif op == "full_read":
            img.get_image_dask_data("YX", **plane).compute()
            start = time.perf_counter()
            result = img.data
        else:
            result = img.data
    elif impl == "tifffile":
        import fsspec
        import tifffile

        with fsspec.open(url, "rb") as fh, tifffile.TiffFile(fh) as tif:
            series = tif.series[0]
            if op == "open":
                result = series.shape
            elif op == "plane":
                axes = series.axes
                index = tuple(plane.get({"Q": "Z", "I": "Z"}.get(a, a), 0) for a in axes[:-2])
                key = int(np.ravel_multi_index(index, series.shape[:-2])) if index else 0
                result = series.pages[key].asarray()
            elif op == "full_read":
                series.pages[0].asarray()
                start = time.perf_counter()
                result = series.asarray()
            else:
                result = series.asarray()
    elif impl == "zarr":
        import zarr

        group = zarr.open_group(f"{url}/{zarr_group}" if zarr_group else url, mode="r")
        arr = group["0"]
        if op == "open":
            result = arr.shape
        elif op == "plane":
            result = arr[0, plane.get("C", 0), plane.get("Z", 0)]
        elif op == "full_read":
            arr[0, plane.get("C", 0), plane.get("Z", 0)]
            start = time.perf_counter()
            result = arr[...]
        else:
            result = arr[...]
    seconds = time.perf_counter() - start
    checksum = int(np.asarray(result).astype(np.int64).sum()) if op != "open" else 0
    return {"seconds": seconds, "checksum": checksum}


def _run(impl: str, op: str, server: Any, rel: str, spec: dict[str, Any]) -> dict[str, Any]:
    server.reset()
    here = str(Path(__file__).parent)
    args = (impl, op, server.url(rel), spec["plane"], spec.get("zarr_group", ""))
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import remote_side_by_side as m; "
        f"print(json.dumps(m._worker(*{args!r})))"
    )
    # Byte-compiled modules, as on a user's machine (pip compiles them at install): with
    # PYTHONDONTWRITEBYTECODE set, every fresh process would compile our (editable)
    # sources again, ~0.3 s charged to ours only (the peers come from site-packages,
    # compiled by pip).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = _children_cpu()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=env)
    cpu = _children_cpu() - before
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(requests=server.requests, bytes=server.bytes_sent, cpu=cpu)
    return result


def _children_cpu() -> float:
    """CPU seconds (user + system, every thread) of the finished child processes.

    On a shared machine a process waits for a core as long as it computes: its CPU
    time says what it costs without the wait. Whole process, imports included, also
    for ``full_read``.
    """
    if sys.platform == "win32":
        return 0.0
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    from scitiff_readers.testing.httpserver import RangeServer

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", default="", help="only cases whose name contains this")
    parser.add_argument("--ops", default="open,plane,full,full_read")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", default=None, help="also write a Markdown table to this file")
    args = parser.parse_args(argv)
    rows = []
    for name, spec in CASES.items():
        if args.case and not any(c in name for c in args.case.split(",")):
            continue
        path = make(name)
        size = (
            sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            if path.is_dir()
            else path.stat().st_size
        )
        with RangeServer(path.parent) as server:
            impls = ["ours", *spec["peers"]]
            for impl in impls:
                _run(impl, "open", server, path.name, spec)  # warm-up, not counted: writes the .pyc files
            for op in args.ops.split(","):
                # Round robin (ours, peer, ..., ours, peer, ...): on a shared machine the
                # load drifts, and it should drift over every implementation alike.
                runs_of: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
                for _ in range(args.repeat):
                    for impl in impls:
                        runs_of[impl].append(_run(impl, op, server, path.name, spec))
                for impl in impls:
                    runs = runs_of[impl]
                    ok = [r for r in runs if "error" not in r]
                    row = {"case": name, "file_bytes": size, "op": op, "impl": impl}
                    if ok:
                        row.update(
                            seconds=statistics.median(r["seconds"] for r in ok),
                            cpu=statistics.median(r["cpu"] for r in ok),
                            requests=ok[-1]["requests"],
                            bytes=ok[-1]["bytes"],
                            checksum=ok[-1]["checksum"],
                        )
                    else:
                        row["error"] = runs[-1]["error"]
                    rows.append(row)
                    print(_format(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(markdown(rows))
    return 0


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (time: median of the processes; requests and bytes of the last)."""
    lines = [
        "| case | file MiB | operation | reader | time ms | process CPU ms | requests | MiB moved | pixels |",
        "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    reference: dict[tuple[str, str], int] = {}
    for row in rows:
        if "checksum" in row and row["impl"] == "ours":
            reference[(row["case"], row["op"])] = row["checksum"]
    for row in rows:
        head = f"| {row['case']} | {row['file_bytes'] / 2**20:.1f} | {row['op']} | {row['impl']} |"
        if "error" in row:
            lines.append(f"{head} failed: {row['error'][:60].replace('|', '/')} | | | | |")
            continue
        same = (
            ""
            if row["op"] == "open"
            else ("=" if reference.get((row["case"], row["op"])) == row["checksum"] else "differs")
        )
        lines.append(
            f"{head} {row['seconds'] * 1000:.0f} | {row['cpu'] * 1000:.0f} | {row['requests']} | "
            f"{row['bytes'] / 2**20:.2f} | {same} |"
        )
    return "\n".join(lines) + "\n"


def _format(row: dict[str, Any]) -> str:
    head = f"{row['case']:<20} {row['op']:<6} {row['impl']:<9}"
    if "error" in row:
        return f"{head} ERROR {row['error'][:100]}"
    return (
        f"{head} {row['seconds'] * 1000:9.1f} ms {row['cpu'] * 1000:7.0f} ms CPU {row['requests']:6d} req "
        f"{row['bytes'] / 2**20:9.2f} MiB"
        f"   (file {row['file_bytes'] / 2**20:.1f} MiB, checksum {row['checksum']})"
    )


if __name__ == "__main__":
    sys.exit(main())
