"""Differential tests: every read path of our TIFF readers against tifffile.

Files are generated with tifffile over a matrix of layouts (storage, compression,
predictor, dtype, byte order, BigTIFF, samples / planar configuration, SubIFD
pyramids, volumetric tiles, metadata flavour) plus a hypothesis-driven variant.
Expected values always come from tifffile (``TiffFile(p).series[i].levels[k]``),
never from our reader; :func:`canonical` arranges them as our ``TCZYX(S)``:

1. tifffile's unsqueezed axes (``level.get_axes(False)``) and ``asarray()``
   reshaped to ``level.get_shape(False)``.
2. The axis holding a page's samples (``SamplesPerPixel > 1``: the axis before the
   page's ``(Z)YX`` when the planar configuration is separate, the last axis when it
   is contiguous) becomes the trailing ``S``, unless the writer named it ``T``, ``C``
   or ``Z`` (a tifffile "shaped" file written with ``metadata={"axes": "CYX"}`` or
   ``"YXZ"``): tifffile's axes say that dim, and bioio-tifffile reads it so.
3. ``T``, ``C`` and ``Z`` are themselves. Any other letter (tifffile's generic
   ``Q``, ``I``, ...) goes, in order of first appearance, to the first of ``Z``,
   ``T``, ``C`` not used by the file; further letters and repeated letters merge into
   their dim (slowest first); size-1 axes without a dim are dropped.
"""

from __future__ import annotations

import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from scitiff_readers import Reader

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# ------------------------------------------------------------------ expected values


def canonical(level: tifffile.TiffPageSeries) -> tuple[str, np.ndarray]:
    """tifffile's pixels of one series level as ``(dims, array)`` in our ``TCZYX(S)`` (rules above)."""
    axes = level.get_axes(False)
    shape = tuple(int(n) for n in level.get_shape(False))
    data = level.asarray().reshape(shape)
    key = level.keyframe
    spp = int(key.samplesperpixel)
    s_axis = None
    if spp > 1:
        depth = 1 if int(key.imagedepth) > 1 else 0
        s_axis = axes.index("Y") - 1 - depth if key.planarconfig == 2 else len(axes) - 1
        assert shape[s_axis] == spp, (axes, shape, spp)
        if axes[s_axis] in "TCZ":  # samples named as a dim: that dim (rule 2)
            s_axis = None
    groups: dict[str, list[int]] = {"T": [], "C": [], "Z": []}
    used = {a for i, a in enumerate(axes) if a in "TCZ" and i != s_axis}
    mapping: dict[str, str] = {}
    for i, a in enumerate(axes):
        if i == s_axis or a in "YX":
            continue
        if a in "TCZ":
            target = a
        elif a in mapping:
            target = mapping[a]
        elif shape[i] == 1:
            continue
        else:
            free = [d for d in "ZTC" if d not in used]
            target = mapping[a] = free[0] if free else "Z"
            used.add(target)
        groups[target].append(i)
    y, x = axes.index("Y"), axes.index("X")
    order = [*groups["T"], *groups["C"], *groups["Z"], y, x]
    order += [s_axis] if s_axis is not None else []
    rest = [i for i in range(len(axes)) if i not in order]
    assert all(shape[i] == 1 for i in rest), (axes, shape)
    sizes = [math.prod(shape[i] for i in groups[d]) for d in "TCZ"] + [shape[y], shape[x]]
    sizes += [spp] if s_axis is not None else []
    dims = "TCZYX" + ("S" if s_axis is not None else "")
    return dims, data.transpose(order + rest).reshape(sizes)


def storage_unit(level: tifffile.TiffPageSeries) -> tuple[int, int]:
    """``(rows, columns)`` of one tile, or of one strip (full width)."""
    key = level.keyframe
    if key.is_tiled:
        return int(key.tilelength), int(key.tilewidth)
    return max(1, min(int(key.rowsperstrip), int(key.imagelength))), int(key.imagewidth)


# ---------------------------------------------------------------------- comparisons


def regions(ny: int, nx: int, unit: tuple[int, int]) -> list[tuple[slice, slice]]:
    """Y / X windows crossing the first tile / strip boundary, spanning many units, and the last pixel."""
    by = min(unit[0], ny - 1)
    bx = min(unit[1], nx - 1) if unit[1] < nx else nx // 2
    return [
        (slice(max(0, by - 2), min(ny, by + 2)), slice(max(0, bx - 3), min(nx, bx + 2))),
        (slice(1, ny - 1) if ny > 2 else slice(0, ny), slice(nx // 4, max(nx - 1, nx // 4 + 1))),
        (slice(ny - 1, ny), slice(nx - 1, nx)),
    ]


def corner_planes(shape: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """First, last and a middle ``(t, c, z)`` plane."""
    t, c, z = shape[:3]
    return sorted({(0, 0, 0), (t - 1, c - 1, z - 1), (t // 2, c // 2, z // 2)})


class Failures:
    """Runs each read path, collecting every mismatch so that one case reports all broken paths."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[str] = []

    @contextmanager
    def path(self, what: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - recorded, and the test fails at the end
            text = " ".join(str(exc).split())
            self.items.append(f"{self.label} {what}: {type(exc).__name__}: {text[:600]}")

    def equal(self, what: str, get: Callable[[], Any], expected: np.ndarray) -> None:
        with self.path(what):
            np.testing.assert_array_equal(np.asarray(get()), expected, strict=True)

    def check(self) -> None:
        assert not self.items, f"{len(self.items)} read path(s) differ from tifffile:\n" + "\n".join(
            self.items
        )


def check_level(
    f: Failures, r: Reader, small: Reader, dims: str, exp: np.ndarray, unit: tuple[int, int]
) -> None:
    """Compare every read path of the current scene / level of ``r`` (and ``small``) with ``exp``."""
    s = "S" if dims.endswith("S") else ""
    tail = (slice(None),) if s else ()
    with f.path("dims/dtype"):
        assert r.dtype == exp.dtype, f"dtype {r.dtype} != tifffile {exp.dtype}"
    if (r.dims.order, r.dims.shape) != (dims, exp.shape):
        # Pixel comparisons are meaningless (and can be huge reads) with the wrong shape.
        f.items.append(f"{f.label} dims: {r.dims} != tifffile {dims} {exp.shape}")
        return
    f.equal(".data", lambda: r.data, exp)
    f.equal("xarray_dask_data.compute()", lambda: r.xarray_dask_data.compute().values, exp)
    f.equal("dask_data.compute() [chunk_bytes=2048]", lambda: small.dask_data.compute(), exp)
    for t, c, z in corner_planes(exp.shape):
        f.equal(
            f"get_image_data('YX{s}', T={t}, C={c}, Z={z})",
            lambda t=t, c=c, z=z: r.get_image_data("YX" + s, T=t, C=c, Z=z),
            exp[t, c, z],
        )
    t, c, z = (n - 1 for n in exp.shape[:3])
    f.equal(
        f"get_image_data('ZCTYX{s}')",
        lambda: r.get_image_data("ZCTYX" + s),
        np.moveaxis(exp, (0, 1, 2), (2, 1, 0)),
    )
    zs = [z, 0] if z else [0]
    f.equal(
        f"get_image_dask_data('ZYX{s}', T={t}, C={c}, Z={zs})",
        lambda: r.get_image_dask_data("ZYX" + s, T=t, C=c, Z=zs).compute(),
        exp[t, c][zs],
    )
    f.equal(
        f"get_image_data('ZYX{s}', T={t}, C={c}, Z={zs})",
        lambda: r.get_image_data("ZYX" + s, T=t, C=c, Z=zs),
        exp[t, c][zs],
    )
    ny, nx = exp.shape[3:5]
    for i, (ys, xs) in enumerate(regions(ny, nx, unit)):
        win = f"Y={ys.start}:{ys.stop}, X={xs.start}:{xs.stop}"
        cut = (Ellipsis, ys, xs, *tail)
        f.equal(
            f"get_image_dask_data()[{win}]",
            lambda cut=cut: r.get_image_dask_data(dims)[cut].compute(),
            exp[cut],
        )
        f.equal(
            f"xarray_dask_data.isel({win})",
            lambda ys=ys, xs=xs: r.xarray_dask_data.isel(Y=ys, X=xs).values,
            exp[cut],
        )
        f.equal(f"get_image_data({win})", lambda ys=ys, xs=xs: r.get_image_data(dims, Y=ys, X=xs), exp[cut])
        if i == 0:  # the window across the first storage boundary
            f.equal(
                f"dask_data[{win}] [chunk_bytes=2048]",
                lambda cut=cut: small.dask_data[cut].compute(),
                exp[cut],
            )
            f.equal(
                f"get_image_data('YX{s}', T={t}, C={c}, Z={z}, {win})",
                lambda ys=ys, xs=xs: r.get_image_data("YX" + s, T=t, C=c, Z=z, Y=ys, X=xs),
                exp[(t, c, z, ys, xs, *tail)],
            )
    xl = sorted({nx - 1, 0, nx // 2}, reverse=True)
    y1 = min(1, ny - 1)
    f.equal(
        f"get_image_data(Y={y1}::3, X={xl})",
        lambda: r.get_image_data(dims, Y=slice(y1, None, 3), X=xl),
        exp[:, :, :, y1::3][:, :, :, :, xl],
    )


def check_file(path: Path) -> None:
    """Open ``path`` with tifffile and with ``Reader`` and compare every series, level and read path.

    The hand-written IFD parse (what the OME-TIFF open without tifffile reads) is compared
    with tifffile's on the file's pages too.
    """
    from .test_tiff_ifd import assert_ifd_parse_matches

    assert_ifd_parse_matches(path)
    with tifffile.TiffFile(path) as tif:
        is_ome = bool(tif.is_ome)
        expected = [
            [(*canonical(level), storage_unit(level)) for level in series.levels] for series in tif.series
        ]
        axes = [[level.axes for level in series.levels] for series in tif.series]
    f = Failures(f"[{path.name}: tifffile axes {axes}]")
    with Reader(path) as r, Reader(path, chunk_bytes=2048) as small:
        with f.path("reader/scenes"):
            assert r.reader_name == ("ome-tiff" if is_ome else "tiff")
            assert len(r.scenes) == len(expected)
        for i, levels in enumerate(expected[: len(r.scenes)]):
            r.set_scene(i)
            small.set_scene(i)
            with f.path(f"scene {i} resolution_levels"):
                assert r.resolution_levels == tuple(range(len(levels)))
            for k, (dims, exp, unit) in enumerate(levels):
                if k >= len(r.resolution_levels):
                    break
                r.set_resolution_level(k)
                small.set_resolution_level(k)
                sub = Failures(f"{f.label} scene {i} level {k}")
                check_level(sub, r, small, dims, exp, unit)
                f.items += sub.items
    f.check()


# ------------------------------------------------------------------------- writing


def sample(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    """Random values over the dtype's range."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return (rng.standard_normal(shape) * 1000).astype(dt)


# What tifffile raises for combinations it cannot write.
REFUSED = (ValueError, TypeError, NotImplementedError, KeyError, tifffile.OmeXmlError)


def write(path: Path, data: np.ndarray, **kwargs: Any) -> Path:
    """``tifffile.imwrite``; skip the case if tifffile itself refuses the combination."""
    try:
        tifffile.imwrite(path, data, **kwargs)
    except REFUSED as exc:
        pytest.skip(f"tifffile cannot write {kwargs}: {exc}")
    return path


def plane_shape(ny: int, nx: int, samples: int, planar: str | None) -> tuple[int, ...]:
    if samples == 1:
        return (ny, nx)
    return (samples, ny, nx) if planar == "separate" else (ny, nx, samples)


def sample_kwargs(samples: int, planar: str | None) -> dict[str, Any]:
    """photometric / planarconfig / extrasamples for 1 (gray), 2 (gray + extra), 3 (RGB), 4 (RGBA)."""
    if samples == 1:
        return {"photometric": "minisblack"}
    out: dict[str, Any] = {"planarconfig": planar, "photometric": "rgb" if samples >= 3 else "minisblack"}
    if samples == 4:
        out["extrasamples"] = ["unassalpha"]
    return out


# Storage: image (Y, X) and tifffile layout arguments.
STORAGE: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {
    "strip1": ((40, 52), {"rowsperstrip": 1}),
    "strip7": ((50, 61), {"rowsperstrip": 7}),
    "stripall": ((48, 64), {"rowsperstrip": 48}),
    "tile-aligned": ((128, 192), {"tile": (64, 64)}),
    "tile-unaligned": ((100, 130), {"tile": (32, 48)}),
    "tile-big": ((40, 50), {"tile": (64, 64)}),
    "tile-many": ((100, 130), {"tile": (16, 16)}),
}

# Compression (+ predictor) per dtype of the main matrix.
CODECS: dict[str, tuple[str | None, int | None]] = {
    "none": (None, None),
    "zlib": ("zlib", None),
    "lzw": ("lzw", None),
    "zstd": ("zstd", None),
    "packbits": ("packbits", None),
    "jpeg": ("jpeg", None),
    "zlib-pred2": ("zlib", 2),
    "lzw-pred2": ("lzw", 2),
    "zlib-pred3": ("zlib", 3),
}
MAIN_CODECS = {
    "uint8": ["none", "zlib", "lzw", "zstd", "packbits", "jpeg", "zlib-pred2"],
    "uint16": ["none", "zlib", "zstd", "packbits", "lzw-pred2"],
    "float32": ["none", "lzw", "zlib-pred3"],
}
MAIN = [
    pytest.param(storage, dtype, codec, pages, id=f"{storage}-{dtype}-{codec}-p{pages}")
    for storage in STORAGE
    for dtype, codecs in MAIN_CODECS.items()
    for codec in codecs
    for pages in (1, 4)
]


@pytest.mark.parametrize(("storage", "dtype", "codec", "pages"), MAIN)
def test_storage_compression(tmp_path: Path, storage: str, dtype: str, codec: str, pages: int) -> None:
    (ny, nx), layout = STORAGE[storage]
    compression, predictor = CODECS[codec]
    data = sample(((pages,) if pages > 1 else ()) + (ny, nx), dtype, pages)
    write(
        tmp_path / "a.tif",
        data,
        compression=compression,
        predictor=predictor,
        photometric="minisblack",
        **layout,
    )
    check_file(tmp_path / "a.tif")


DTYPES = [
    "bool",
    "uint8",
    "int8",
    "uint16",
    "int16",
    "uint32",
    "int32",
    "uint64",
    "int64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def predictor_for(dtype: str) -> int | None:
    kind = np.dtype(dtype).kind
    if dtype == "complex128":  # imagecodecs' floating-point predictor stops at 8-byte items
        return None
    return 2 if kind in "iu" else 3 if kind in "fc" else None


@pytest.mark.parametrize("layout", ["strips-none", "tiles-zlib-predictor"])
@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_byteorder(tmp_path: Path, dtype: str, byteorder: str, layout: str) -> None:
    data = sample((3, 37, 45), dtype, 7)
    if layout == "strips-none":
        kwargs: dict[str, Any] = {"rowsperstrip": 5}
    else:
        kwargs = {"tile": (16, 32), "compression": "zlib", "predictor": predictor_for(dtype)}
    write(tmp_path / "a.tif", data, byteorder=byteorder, photometric="minisblack", **kwargs)
    check_file(tmp_path / "a.tif")


@pytest.mark.parametrize("pages", [1, 3])
@pytest.mark.parametrize("codec", ["none", "zlib"])
@pytest.mark.parametrize("storage", ["strip7", "tile-aligned", "tile-unaligned"])
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_bigtiff(tmp_path: Path, byteorder: str, storage: str, codec: str, pages: int) -> None:
    (ny, nx), layout = STORAGE[storage]
    data = sample(((pages,) if pages > 1 else ()) + (ny, nx), "uint16", 3)
    write(
        tmp_path / "a.tif",
        data,
        bigtiff=True,
        byteorder=byteorder,
        compression=CODECS[codec][0],
        photometric="minisblack",
        **layout,
    )
    check_file(tmp_path / "a.tif")


SAMPLE_STORAGE = ["strip7", "tile-aligned", "tile-unaligned"]


@pytest.mark.parametrize("pages", [1, 3])
@pytest.mark.parametrize("codec", ["none", "zlib"])
@pytest.mark.parametrize("storage", SAMPLE_STORAGE)
@pytest.mark.parametrize("planar", ["contig", "separate"])
@pytest.mark.parametrize("samples", [2, 3, 4], ids=["gray2", "rgb", "rgba"])
def test_samples_planar(
    tmp_path: Path, samples: int, planar: str, storage: str, codec: str, pages: int
) -> None:
    (ny, nx), layout = STORAGE[storage]
    data = sample(((pages,) if pages > 1 else ()) + plane_shape(ny, nx, samples, planar), "uint8", samples)
    write(tmp_path / "a.tif", data, compression=CODECS[codec][0], **sample_kwargs(samples, planar), **layout)
    check_file(tmp_path / "a.tif")


@pytest.mark.parametrize(
    ("planar", "storage", "dtype", "codec", "pages"),
    [
        ("contig", "tile-unaligned", "uint16", "lzw-pred2", 2),
        ("separate", "tile-unaligned", "uint16", "zlib-pred2", 2),
        ("contig", "strip7", "float32", "zlib-pred3", 1),
        ("separate", "tile-aligned", "float32", "none", 2),
        ("contig", "strip7", "uint8", "jpeg", 1),
        ("contig", "tile-unaligned", "uint8", "jpeg", 3),
        ("separate", "strip7", "uint8", "jpeg", 1),
        ("separate", "tile-aligned", "uint8", "jpeg", 2),
    ],
)
def test_rgb_dtypes_and_jpeg(
    tmp_path: Path, planar: str, storage: str, dtype: str, codec: str, pages: int
) -> None:
    (ny, nx), layout = STORAGE[storage]
    compression, predictor = CODECS[codec]
    data = sample(((pages,) if pages > 1 else ()) + plane_shape(ny, nx, 3, planar), dtype, 5)
    write(
        tmp_path / "a.tif",
        data,
        compression=compression,
        predictor=predictor,
        **sample_kwargs(3, planar),
        **layout,
    )
    check_file(tmp_path / "a.tif")


@pytest.mark.parametrize(
    ("codec", "dtype", "samples"),
    [
        ("lzma", "uint16", 1),
        ("adobe_deflate", "float32", 1),
        ("jpeg2000", "uint16", 1),
        ("jpeg2000", "uint8", 3),
        ("webp", "uint8", 3),
        ("jpegxl", "uint8", 3),
        ("lerc", "float32", 1),
        ("png", "uint8", 1),
    ],
)
@pytest.mark.parametrize("storage", ["strip7", "tile-unaligned"])
def test_more_codecs(tmp_path: Path, codec: str, dtype: str, samples: int, storage: str) -> None:
    """Codecs beyond the main matrix: whatever tifffile writes with the installed imagecodecs."""
    (ny, nx), layout = STORAGE[storage]
    data = sample((2, *plane_shape(ny, nx, samples, "contig")), dtype, 13)
    kwargs = sample_kwargs(samples, "contig") if samples > 1 else {"photometric": "minisblack"}
    try:
        tifffile.imwrite(tmp_path / "a.tif", data, compression=codec, **kwargs, **layout)
    except Exception as exc:  # noqa: BLE001 - an encoder this imagecodecs build lacks
        pytest.skip(f"tifffile cannot write {codec} here: {type(exc).__name__}: {exc}")
    check_file(tmp_path / "a.tif")


# tifffile "shaped" files whose axes name the samples with another letter, or add page axes.
RELABELLED = [
    ("YXS", 3, "contig", ()),
    ("YXZ", 3, "contig", ()),
    ("YXC", 3, "contig", ()),
    ("YXT", 3, "contig", ()),
    ("YXC", 2, "contig", ()),
    ("SYX", 3, "separate", ()),
    ("CYX", 3, "separate", ()),
    ("ZYX", 3, "separate", ()),
    ("CYX", 2, "separate", ()),
    ("ZYXC", 3, "contig", (2,)),
    ("TCYX", 3, "separate", (2,)),
    ("ZCYX", 4, "separate", (3,)),
]


@pytest.mark.parametrize("storage", ["strip7", "tile-aligned"])
@pytest.mark.parametrize(
    ("axes", "samples", "planar", "pages"),
    RELABELLED,
    ids=[f"{a}-{s}{p[0]}{'-p' + str(n[0]) if n else ''}" for a, s, p, n in RELABELLED],
)
def test_shaped_axes_naming_samples(
    tmp_path: Path, axes: str, samples: int, planar: str, pages: tuple[int, ...], storage: str
) -> None:
    (ny, nx), layout = STORAGE[storage]
    data = sample(pages + plane_shape(ny, nx, samples, planar), "uint8", 11)
    write(tmp_path / "a.tif", data, metadata={"axes": axes}, **sample_kwargs(samples, planar), **layout)
    check_file(tmp_path / "a.tif")


@pytest.mark.parametrize("shape", [(20, 30, 1), (20, 1, 1), (3, 20, 30, 1), (20, 1, 30)])
def test_shaped_size_one_axes(tmp_path: Path, shape: tuple[int, ...]) -> None:
    """Size-1 dims after Y: tifffile writes pages of the leading dims (axes such as ``YXQ`` or ``YQX``)."""
    write(tmp_path / "a.tif", sample(shape, "uint16", 43), photometric="minisblack", rowsperstrip=7)
    check_file(tmp_path / "a.tif")


# Metadata flavours: writer arguments for the 5-D data (tifffile's default "shaped"
# files call its axes QQQYX, files without metadata IYX).
FLAVOURS: dict[str, dict[str, Any]] = {
    "ome-TCZ": {"ome": True, "metadata": {"axes": "TCZYX"}},
    "ome-ZCT": {"ome": True, "metadata": {"axes": "ZCTYX"}},
    "imagej": {"imagej": True, "metadata": {"axes": "TZCYX"}},
    "shaped-TCZ": {"metadata": {"axes": "TCZYX"}},
    "shaped-CZT": {"metadata": {"axes": "CZTYX"}},
    "shaped-default": {},
    "none": {"metadata": None},
}


@pytest.mark.parametrize("codec", ["none", "zlib"])
@pytest.mark.parametrize("storage", ["strip7", "tile-aligned", "tile-unaligned"])
@pytest.mark.parametrize("ndim", [5, 2])
@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_flavour(tmp_path: Path, flavour: str, ndim: int, storage: str, codec: str) -> None:
    (ny, nx), layout = STORAGE[storage]
    kwargs = dict(FLAVOURS[flavour])
    if ndim == 2 and "metadata" in kwargs and kwargs["metadata"] is not None:
        kwargs["metadata"] = {"axes": "YX"}
    data = sample(((2, 3, 2) if ndim == 5 else ()) + (ny, nx), "uint16", 13)
    write(
        tmp_path / "a.ome.tif" if "ome" in kwargs else tmp_path / "a.tif",
        data,
        compression=CODECS[codec][0],
        photometric="minisblack",
        **kwargs,
        **layout,
    )
    check_file(next(tmp_path.iterdir()))


@pytest.mark.parametrize(
    ("flavour", "planar", "axes", "shape"),
    [
        ("ome", "contig", "ZYXS", (2,)),
        ("ome", "separate", "ZSYX", (2,)),
        ("ome", "contig", "TCYXS", (2, 2)),
        ("imagej", "contig", "TZYXS", (2, 3)),
        ("imagej", None, "TZCYX", (2, 3, 3)),
    ],
)
@pytest.mark.parametrize("storage", ["strip7", "tile-unaligned"])
def test_flavour_rgb(
    tmp_path: Path, flavour: str, planar: str | None, axes: str, shape: tuple[int, ...], storage: str
) -> None:
    (ny, nx), layout = STORAGE[storage]
    data = sample(shape + plane_shape(ny, nx, 3 if planar else 1, planar), "uint8", 17)
    kw = sample_kwargs(3, planar) if planar else {"photometric": "minisblack"}
    write(tmp_path / "a.tif", data, **{flavour: True}, metadata={"axes": axes}, **kw, **layout)
    check_file(tmp_path / "a.tif")


@pytest.mark.parametrize(
    ("samples", "planar"), [(1, None), (3, "contig"), (3, "separate")], ids=["gray", "rgb", "rgb-separate"]
)
@pytest.mark.parametrize("pages", [1, 3])
@pytest.mark.parametrize("flavour", ["ome", "shaped"])
@pytest.mark.parametrize("storage", ["strips-none", "tiles-none", "tiles-zlib"])
def test_subifd_pyramid(
    tmp_path: Path, storage: str, flavour: str, pages: int, samples: int, planar: str | None
) -> None:
    path = tmp_path / "pyr.tif"
    data = sample(((pages,) if pages > 1 else ()) + plane_shape(128, 160, samples, planar), "uint16", 19)
    kw: dict[str, Any] = {"rowsperstrip": 16} if storage.startswith("strips") else {"tile": (32, 32)}
    kw["compression"] = "zlib" if storage.endswith("zlib") else None
    kw.update(sample_kwargs(samples, planar))
    axes = ("Z" if pages > 1 else "") + {None: "YX", "contig": "YXS", "separate": "SYX"}[planar]
    lead = (slice(None),) * (len(data.shape) - (3 if planar == "contig" else 2))
    with tifffile.TiffWriter(path, ome=flavour == "ome") as tw:
        tw.write(data, subifds=2, metadata={"axes": axes}, **kw)
        for factor in (2, 4):
            tw.write(data[(*lead, slice(None, None, factor), slice(None, None, factor))], subfiletype=1, **kw)
    with tifffile.TiffFile(path) as tif:
        # The file holds the three resolutions (tifffile shows the SubIFDs of multi-page
        # shaped files as further series rather than levels; our reader follows tifffile).
        assert sum(len(series.levels) for series in tif.series) == 3
    check_file(path)


@pytest.mark.parametrize("storage", ["strip7", "tile-aligned"])
@pytest.mark.parametrize("flavour", ["ome", "shaped", "none"])
def test_several_series(tmp_path: Path, flavour: str, storage: str) -> None:
    """Series of different shapes and dtypes in one file: one scene each."""
    (ny, nx), layout = STORAGE[storage]
    kwargs: dict[str, Any] = {"metadata": None} if flavour == "none" else {}
    with tifffile.TiffWriter(tmp_path / "a.tif", ome=flavour == "ome") as tw:
        tw.write(sample((3, ny, nx), "uint16", 31), photometric="minisblack", **kwargs, **layout)
        tw.write(sample((ny // 2, nx + 3, 3), "uint8", 37), photometric="rgb", **kwargs, **layout)
        tw.write(
            sample((2, ny, nx // 2), "float32", 41),
            photometric="minisblack",
            compression="zlib",
            **kwargs,
            **layout,
        )
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        assert len(tif.series) == 3
    check_file(tmp_path / "a.tif")


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
@pytest.mark.parametrize("codec", ["none", "zlib"])
@pytest.mark.parametrize(
    ("shape", "tile"),
    [
        ((8, 64, 96), (4, 32, 32)),
        ((5, 50, 70), (2, 16, 32)),
        ((3, 20, 30), (4, 32, 32)),
    ],
    ids=["aligned", "unaligned", "bigger"],
)
def test_volumetric_tiles(
    tmp_path: Path, shape: tuple[int, ...], tile: tuple[int, int, int], codec: str, dtype: str
) -> None:
    data = sample(shape, dtype, 23)
    write(
        tmp_path / "a.tif",
        data,
        volumetric=True,
        tile=tile,
        compression=CODECS[codec][0],
        photometric="minisblack",
    )
    check_file(tmp_path / "a.tif")


@pytest.mark.parametrize(
    ("pages", "samples", "planar"),
    [
        ((2,), 1, None),
        ((), 3, "contig"),
        ((), 3, "separate"),
        ((2,), 3, "contig"),
    ],
)
def test_volumetric_tiles_pages_and_samples(
    tmp_path: Path, pages: tuple[int, ...], samples: int, planar: str | None
) -> None:
    data = sample((*pages, 5, *plane_shape(50, 70, samples, planar)), "uint8", 29)
    if planar == "separate":  # tifffile wants the separate samples before the depth
        data = np.ascontiguousarray(np.moveaxis(data, -4, -3))
    write(
        tmp_path / "a.tif",
        data,
        volumetric=True,
        tile=(2, 16, 32),
        compression="zlib",
        **sample_kwargs(samples, planar),
    )
    check_file(tmp_path / "a.tif")


# ---------------------------------------------------------------------- hypothesis


@st.composite
def layouts(draw: st.DrawFn) -> dict[str, Any]:
    """A random small TIFF layout: shape, dtype, storage, compression, byte order, samples, flavour."""
    dtype = draw(st.sampled_from(DTYPES))
    samples = draw(st.sampled_from([1, 1, 2, 3, 4]))
    planar = draw(st.sampled_from(["contig", "separate"])) if samples > 1 else None
    ny, nx = draw(st.integers(1, 80)), draw(st.integers(1, 90))
    pages = draw(st.integers(1, 4))
    if draw(st.booleans()):
        storage: dict[str, Any] = {
            "tile": (draw(st.sampled_from([16, 32, 48, 64])), draw(st.sampled_from([16, 32, 48, 64, 96])))
        }
    else:
        storage = {"rowsperstrip": draw(st.integers(1, ny + 2))}
    compression = draw(
        st.sampled_from([None, "zlib", "lzw", "zstd", "packbits"] + (["jpeg"] if dtype == "uint8" else []))
    )
    predictor = None
    if compression in ("zlib", "lzw", "zstd") and predictor_for(dtype) and draw(st.booleans()):
        predictor = predictor_for(dtype)
    flavour = draw(st.sampled_from([{}, {"metadata": None}, {"ome": True}, {"imagej": True}]))
    return {
        "shape": ((pages,) if pages > 1 else ()) + plane_shape(ny, nx, samples, planar),
        "dtype": dtype,
        "kwargs": {
            **storage,
            **sample_kwargs(samples, planar),
            **flavour,
            "compression": compression,
            "predictor": predictor,
            "byteorder": draw(st.sampled_from(["<", ">"])),
            "bigtiff": draw(st.booleans()),
        },
    }


@pytest.mark.filterwarnings("ignore:.*nonconformant BigTIFF ImageJ:UserWarning")
@settings(
    max_examples=int(os.environ.get("SCITIFF_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(layout=layouts(), seed=st.integers(0, 2**16))
def test_random_layouts(layout: dict[str, Any], seed: int) -> None:
    note(repr(layout))
    data = sample(layout["shape"], layout["dtype"], seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.tif"
        try:
            tifffile.imwrite(path, data, **layout["kwargs"])
        except REFUSED:
            reject()  # a combination tifffile itself refuses
        check_file(path)


# ------------------------------------------------- the raw-path rule, one page at a time


@pytest.mark.parametrize("seed", range(4))
def test_one_page_raw_start_is_the_rule_of_many_pages(seed: int) -> None:
    # The first read of a plane judges its page alone (layout.row_major_start); reads
    # of many planes judge them all at once (row_major_starts). One rule: for every page
    # of random segment tables -- runs, gaps, short and padded segments, pages listing
    # one segment for the whole page -- both must give the same start (or -1).
    from scitiff_readers_tiff.layout import PageLayout, row_major_start, row_major_starts

    rng = np.random.default_rng(seed)
    for _ in range(200):
        rows_per, nrows, width = int(rng.integers(1, 5)), int(rng.integers(1, 13)), int(rng.integers(1, 9))
        tiled = bool(rng.integers(0, 2))
        layout = PageLayout(
            file=0,
            ifd_offset=8,
            shaped=(1, 1, nrows, width, 1),
            dtype="<u2",
            segment=(1, rows_per, width),
            tiled=tiled,
            raw=bool(rng.integers(0, 4)),  # mostly raw
        )
        per_page = layout.segments
        pages = int(rng.integers(1, 6))
        counts_per_page = [
            int(rng.choice([per_page, per_page, 1, max(1, per_page - 1)])) for _ in range(pages)
        ]
        n = sum(counts_per_page)
        seg_bytes = rows_per * width * 2
        counts = np.full(n, seg_bytes, dtype=np.int64)
        counts[rng.random(n) < 0.15] -= 2  # a short segment
        counts[rng.random(n) < 0.15] += 6  # a padded one
        gaps = np.where(rng.random(n) < 0.2, rng.integers(1, 9, n), 0)
        offsets = 100 + np.concatenate(([0], np.cumsum(counts + gaps)[:-1]))
        first = np.concatenate(([0], np.cumsum(counts_per_page)[:-1])).astype(np.int64)
        count = np.asarray(counts_per_page, dtype=np.int64)
        together = row_major_starts(layout, offsets, counts, first, count)
        one_by_one = [
            row_major_start(layout, offsets, counts, int(f), int(c))
            for f, c in zip(first, count, strict=True)
        ]
        assert together.tolist() == one_by_one, (layout, offsets, counts, first, count)
        # A one-page call of the many-page function takes the one-page rule: still equal.
        assert [
            int(row_major_starts(layout, offsets, counts, first[i : i + 1], count[i : i + 1])[0])
            for i in range(pages)
        ] == one_by_one
