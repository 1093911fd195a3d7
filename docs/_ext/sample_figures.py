"""Sphinx extension: draw the docs' pictures from the real sample files at every build.

On ``builder-inited`` it reads the shared sample files (``../shared/data`` beside the
repository, or ``$SCITIFF_READERS_SHARED_DATA``) with the installed readers and writes
PNGs into ``docs/_generated/``, so the pictures can never show an older state of the
code or the data than the build:

* ``formats.png``: one plane of a real file of every format, in physical units;
* ``scitiff-tof.png``: the summed intensity of a SciTiff file against its ``T``
  (time-of-flight) coordinate;
* ``pyramid.png``: every resolution level of an OME-Zarr pyramid;
* ``benchmark-ratios.png``: the warm speed-ups against each peer from the result
  tables of ``benchmarks.md``.

Without the shared data a figure says so instead of failing the build.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1]
OUT = DOCS / "_generated"


def shared_data() -> Path:
    """The folder of real sample files."""
    env = os.environ.get("SCITIFF_READERS_SHARED_DATA")
    return Path(env) if env else DOCS.parent.parent / "shared" / "data"


#: (reader, path under the shared data, scene) shown in the formats gallery.
GALLERY = [
    ("scitiff", "scitiff/scitiff-25.3.0.tiff", 0),
    ("ndtiff", "ndtiff/v3/12_bit_pycromanager_mda", 0),
    ("ome-tiff", "ometiff/s_1_t_1_c_1_z_1.ome.tiff", 0),
    ("tiff", "corpus/tlnagy+exampletiffs/shapes_multi_size.tif", 0),
    ("visor", "visor/VISOR001.vsr", 0),
    ("ome-zarr", "corpus/BMCV+galaxy-image-analysis/tools/bioformats2raw/test-data/camera.ome.zarr", 0),
]
TOF_SAMPLE = "scitiff/scitiff-25.3.0.tiff"
PYRAMID_SAMPLE = "corpus/BMCV+galaxy-image-analysis/tools/2d_feature_extraction/test-data/input/input9.zarr"


def _missing(ax: Any, what: str) -> None:
    ax.text(
        0.5,
        0.5,
        f"{what}\nnot found: build with the shared sample data",
        ha="center",
        va="center",
        fontsize=8,
        wrap=True,
    )
    ax.set_axis_off()


def _extent(array: Any) -> tuple[list[float] | None, str, str]:
    """imshow extent from the Y / X coordinates, and the axis labels with units."""
    ys, xs = array.coords.get("Y"), array.coords.get("X")
    if ys is None or xs is None or ys.size < 2 or xs.size < 2:
        return None, "Y (pixels)", "X (pixels)"
    dy = float(ys[1] - ys[0])
    dx = float(xs[1] - xs[0])
    extent = [float(xs[0]) - dx / 2, float(xs[-1]) + dx / 2, float(ys[-1]) + dy / 2, float(ys[0]) - dy / 2]
    return (extent, f"Y ({ys.attrs.get('units', 'pixels')})", f"X ({xs.attrs.get('units', 'pixels')})")


def _plane(reader: Any) -> Any:
    array = reader.xarray_dask_data
    sel = {d: 0 for d in "TCZ" if d in array.dims}
    if "Z" in array.dims and array.sizes["Z"] > 1:
        sel["Z"] = array.sizes["Z"] // 2
    return array.isel(sel).compute()


def _show(ax: Any, plane: Any) -> None:
    import numpy as np

    extent, ylabel, xlabel = _extent(plane)
    values = np.asarray(plane.values)
    if values.ndim == 3:  # RGB(A) samples: scale to [0, 1] for display
        values = values[..., :3].astype(float)
        values = (values - values.min()) / max(float(np.ptp(values)), 1e-12)
        ax.imshow(values, extent=extent, interpolation="nearest")
    else:
        ax.imshow(
            values.astype(float) if values.dtype == bool else values,
            cmap="gray",
            extent=extent,
            interpolation="nearest",
        )
    ax.set_xlabel(xlabel, fontsize=7)
    ax.set_ylabel(ylabel, fontsize=7)
    ax.tick_params(labelsize=6)


def formats_figure(data: Path, out: Path) -> None:
    """One plane of a real file of each format."""
    import matplotlib.pyplot as plt

    from scitiff_readers import Reader

    fig, axes = plt.subplots(2, 3, figsize=(10, 6.6), layout="constrained")
    for ax, (name, relative, scene) in zip(axes.flat, GALLERY, strict=True):
        path = data / relative
        if not path.exists():
            _missing(ax, relative)
            continue
        with warnings.catch_warnings(), Reader(path, reader=name) as reader:
            warnings.simplefilter("ignore")
            reader.set_scene(scene)
            plane = _plane(reader)
            _show(ax, plane)
            ax.set_title(
                f"{name}: {path.name}\n{reader.dims.order} {reader.shape} {reader.dtype}", fontsize=8
            )
    fig.savefig(out, dpi=110)
    plt.close(fig)


def tof_figure(data: Path, out: Path) -> None:
    """Summed intensity of a SciTiff file against its T coordinate, per channel."""
    import matplotlib.pyplot as plt

    from scitiff_readers import Reader

    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
    path = data / TOF_SAMPLE
    if not path.exists():
        _missing(ax, TOF_SAMPLE)
    else:
        with Reader(path, reader="scitiff") as reader:
            array = reader.xarray_dask_data
            spectrum = array.sum(dim=[d for d in ("Z", "Y", "X") if d in array.dims]).compute()
            t = spectrum.coords["T"]
            for c in spectrum.coords["C"].values:
                ax.step(t.values, spectrum.sel(C=c).values, where="mid", marker="o", label=str(c))
            ax.set_xlabel(f"T ({t.attrs.get('units', '')})")
            ax.set_ylabel(f"sum over Z, Y, X ({array.attrs.get('units', 'counts')})")
            ax.set_title(f"{path.name}: {dict(array.sizes)}", fontsize=9)
            ax.legend(title="C", fontsize=8)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def pyramid_figure(data: Path, out: Path) -> None:
    """Every resolution level of a pyramid, each in its own pixel grid and in physical units."""
    import matplotlib.pyplot as plt

    from scitiff_readers import Reader

    path = data / PYRAMID_SAMPLE
    if not path.exists():
        fig, ax = plt.subplots(figsize=(6, 2))
        _missing(ax, PYRAMID_SAMPLE)
    else:
        with Reader(path) as reader:
            levels = reader.resolution_levels
            fig, axes = plt.subplots(1, len(levels), figsize=(2.4 * len(levels), 2.7), layout="constrained")
            for ax, level in zip(axes, levels, strict=True):
                reader.set_resolution_level(level)
                _show(ax, _plane(reader))
                ax.set_title(f"level {level}: Y x X = {reader.dims.Y} x {reader.dims.X}", fontsize=8)
                ax.set_aspect("equal")
            fig.suptitle(f"{reader.reader_name}: {path.name}", fontsize=9)
    fig.savefig(out, dpi=110)
    plt.close(fig)


_ROW = re.compile(r"^(?P<case>\S+)\s+(?P<op>\S+)\s+(?P<impl>\S+)\s+(?P<rest>.*)$")


def benchmark_rows(markdown: str) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """Warm speed-ups per section of ``benchmarks.md``: section -> (case, op) -> peer -> ratio."""
    sections: dict[str, dict[tuple[str, str], dict[str, float]]] = {}
    section = ""
    in_table = False
    for line in markdown.splitlines():
        if line.startswith("### "):
            section = line[4:].strip()
        elif line.startswith("```text"):
            in_table = True
        elif line.startswith("```"):
            in_table = False
        elif in_table:
            m = _ROW.match(line)
            if not m or m["op"] in ("op", "lazy/eager") or m["impl"].startswith("ours"):
                continue
            ratios = re.findall(r"(\d+(?:\.\d+)?)x", m["rest"])
            if len(ratios) == 2:
                sections.setdefault(section, defaultdict(dict))[(m["case"], m["op"])][m["impl"]] = float(
                    ratios[1]
                )
    return sections


def benchmark_figure(markdown: Path, out: Path) -> None:
    """Horizontal bars of the warm speed-ups (log scale), one panel per result table."""
    import matplotlib.pyplot as plt
    import numpy as np

    sections = benchmark_rows(markdown.read_text(encoding="utf-8"))
    heights = [len(rows) for rows in sections.values()] or [1]
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(10, 0.9 + 0.2 * sum(heights) * 1.6),
        height_ratios=heights,
        layout="constrained",
        squeeze=False,
    )
    colors: dict[str, Any] = {}
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (title, rows) in zip(axes[:, 0], sections.items(), strict=True):
        labels = [f"{case}  {op}" for case, op in rows]
        y = np.arange(len(labels))
        labelled: set[str] = set()
        for row, ratios in enumerate(rows.values()):
            # The bars of one row share its height: only the peers measured on that row.
            width = 0.8 / len(ratios)
            for i, (peer, value) in enumerate(sorted(ratios.items())):
                colors.setdefault(peer, cycle[len(colors) % len(cycle)])
                ax.barh(
                    row + (i - (len(ratios) - 1) / 2) * width,
                    value,
                    height=width,
                    color=colors[peer],
                    label=None if peer in labelled else peer,
                )
                labelled.add(peer)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yticks(y, labels, fontsize=6)
        ax.invert_yaxis()
        ax.set_title(f"{title}: warm speed-up of ours over each peer (> 1: ours faster)", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax.tick_params(axis="x", labelsize=7)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def generate(app: Any) -> None:
    """Write every figure into ``docs/_generated`` (the ``builder-inited`` hook)."""
    import matplotlib

    matplotlib.use("Agg")
    OUT.mkdir(exist_ok=True)
    data = shared_data()
    formats_figure(data, OUT / "formats.png")
    tof_figure(data, OUT / "scitiff-tof.png")
    pyramid_figure(data, OUT / "pyramid.png")
    benchmark_figure(DOCS / "benchmarks.md", OUT / "benchmark-ratios.png")


def setup(app: Any) -> dict[str, Any]:
    """Register the hook."""
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
