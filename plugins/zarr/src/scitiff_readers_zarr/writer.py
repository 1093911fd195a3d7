"""The ``ome-zarr`` writer: DataArrays (one or several scenes) to OME-Zarr, streamed, with pyramids.

NGFF 0.5 on Zarr v3 (the default; shards optional) or NGFF 0.4 on Zarr v2. The input
is read once, in slabs of whole planes (:mod:`scitiff_readers.backend`); each slab is
stored at full resolution and reduced into every pyramid level
(:mod:`scitiff_readers.backend`, the same reduction as the OME-TIFF writer) before
the next one, which a background thread computes meanwhile. Memory stays near two
slabs plus the codecs' buffers, whatever the input's size. Metadata (axes with
units, scale and translation per level, ``omero`` channels with the display windows
measured on the way, what NGFF cannot express) is written last.

One scene is an image at the root; several scenes follow the bioformats2raw layout
(``0/``, ``1/``, ... plus ``OME/`` with the series list and an OME-XML naming them).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from xml.sax.saxutils import quoteattr

import numpy as np

from scitiff_readers.backend import (
    Progress,
    Pyramid,
    PyramidOptions,
    SceneData,
    Slab,
    Writer,
    iter_slabs,
    plan_slabs,
)
from scitiff_readers.errors import MetadataError, MissingDependencyError, OptionError

from .ngffmeta import EXTRAS_KEY, axis_transforms, channel_colors, extras, level_transforms, omero

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import xarray as xr

__all__ = ["OmeZarrOptions", "OmeZarrWriter", "parse_compression"]

_VERSIONS = ("0.4", "0.5")
_COMPRESSIONS = ("blosc-zstd", "blosc-lz4", "blosc-zlib", "zstd", "gzip", "none")
#: Uncompressed bytes of one chunk chosen by default.
_CHUNK_BYTES = 2 * 2**20
#: Largest shard chosen by default.
_SHARD_BYTES = 64 * 2**20
#: Blosc block size (bytes). Blosc's automatic choice for zstd at level 1 is small
#: (tens of KiB): 256 KiB blocks compress twice as fast and a little smaller on
#: microscopy stacks (measured: 457 -> 916 MiB/s per core, ratio 2.43 -> 2.42 on the
#: benchmark's noisy uint16; 286 -> 463 MiB/s, ratio 1.64 -> 1.68 on a real 1024 x
#: 1024 camera frame). Readers need no setting: the block size is in every chunk's header.
_BLOSC_BLOCK = 256 * 2**10
_AXES = ("t", "c", "z", "y", "x")


@dataclass(frozen=True)
class OmeZarrOptions(PyramidOptions):
    """The options of :class:`OmeZarrWriter` (see there); checked before anything is written.

    What depends on the image (chunk and shard shapes against its axes, as many
    colours as channels) is checked when the image is planned, still before any output.
    """

    version: str = "0.5"
    chunks: Sequence[int] | None = None
    shards: Sequence[int] | str | None = None
    compression: str | None = "blosc-zstd"
    channel_colors: Sequence[str] | None = None
    layout: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect("version", str(self.version) in _VERSIONS, " or ".join(map(repr, _VERSIONS)))
        object.__setattr__(self, "version", str(self.version))  # 0.4 (a number) was always accepted
        self.expect("layout", self.layout in ("auto", "bioformats2raw"), "'auto' or 'bioformats2raw'")
        try:
            _split_compression(self.compression)
        except ValueError as exc:
            raise OptionError(str(exc)) from None
        self.expect(
            "shards",
            self.shards is None or self.shards == "auto" or not isinstance(self.shards, str),
            "'auto', a shape or None",
        )
        if self.shards is not None and self.version == "0.4":
            raise OptionError("shards need Zarr v3 (OME-Zarr 0.5); NGFF 0.4 (Zarr v2) has none")
        colors = self.channel_colors
        self.expect(
            "channel_colors",
            colors is None or (not isinstance(colors, str) and all(isinstance(c, str) for c in colors)),
            "None or a list of hex colours 'RRGGBB'",
        )


class OmeZarrWriter(Writer):
    """Write OME-Zarr (NGFF 0.5 on Zarr v3, or 0.4 on Zarr v2).

    Options
    -------
    version
        ``"0.5"`` (default; Zarr v3) or ``"0.4"`` (Zarr v2).
    chunks
        Chunk shape: 5 values ``(t, c, z, y, x)``, 3 ``(z, y, x)`` or 2 ``(y, x)``
        (the others 1); ``-1`` means the whole axis. Default: about 2 MiB per chunk,
        ``1 x 1 x n x 256 x 256`` (``1024 x 1024`` planes for a single ``z``).
    shards
        Zarr v3 shard shape (multiples of ``chunks``), ``"auto"`` (whole planes, up
        to 64 MiB per shard) or ``None`` (default: no sharding; every chunk is a file).
    compression
        ``"blosc-zstd"`` (default, level 5, byte shuffle), ``"blosc-lz4"``,
        ``"blosc-zlib"``, ``"zstd"``, ``"gzip"`` or ``"none"``; a level may follow a
        colon, e.g. ``"zstd:3"``.
    levels
        Reduced-resolution levels to add (default 0), each ``downsample`` times
        smaller along ``Y`` and ``X``.
    downsample, downsample_method
        The factor between levels (default 2) and ``"mean"`` (default) or
        ``"nearest"``; see :mod:`scitiff_readers.backend`.
    channel_colors
        Display colours of the channels (hex ``"RRGGBB"``); default white for
        one channel, red/green/blue for RGB, a palette otherwise.
    layout
        ``"auto"`` (one scene at the root, several in the bioformats2raw layout) or
        ``"bioformats2raw"`` (always).
    """

    name: ClassVar[str] = "ome-zarr"
    suffixes: ClassVar[tuple[str, ...]] = (".ome.zarr", ".zarr")
    priority: ClassVar[int] = 50
    max_scenes: ClassVar[int | None] = None
    Options = OmeZarrOptions

    @classmethod
    def _write(
        cls,
        data: xr.DataArray,
        path: Path,
        *,
        opts: OmeZarrOptions | None = None,
        target: Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        cls._write_scenes(
            [SceneData(str(data.name or "image"), data)],
            path,
            target=target if target is not None else path,
            progress=progress or Progress(int(data.nbytes)),
            opts=opts or OmeZarrOptions(),
        )

    @classmethod
    def _write_scenes(
        cls,
        scenes: Sequence[SceneData],
        path: Path,
        *,
        target: Path,
        progress: Progress,
        opts: OmeZarrOptions,
    ) -> None:
        try:
            import zarr
        except ImportError:  # pragma: no cover - zarr is a dependency of this plugin
            raise MissingDependencyError("the ome-zarr writer needs zarr: pip install zarr") from None
        version, layout = opts.version, opts.layout
        plans = [_ImagePlan.make(scene, opts, target) for scene in scenes]
        # zarr works in its own event-loop thread: a Ctrl-C that left one of its writes
        # running could create files after the temporary output is removed. So the
        # writing runs in a worker; an interrupt asks it to stop at the next slab and
        # waits for it before going on.
        stop = threading.Event()
        with ThreadPoolExecutor(1, thread_name_prefix="scitiff-readers-ome-zarr") as pool:
            job = pool.submit(_write_plans, zarr, plans, path, version, layout, progress, stop)
            try:
                job.result()
            except KeyboardInterrupt:
                stop.set()
                wait([job])
                raise


class _Stopped(Exception):
    """The writer was asked to stop (Ctrl-C in the main thread)."""


def _write_plans(
    zarr: Any,
    plans: Sequence[_ImagePlan],
    path: Path,
    version: str,
    layout: str,
    progress: Progress,
    stop: threading.Event,
) -> None:
    root = zarr.open_group(str(path), mode="w", zarr_format=2 if version == "0.4" else 3)
    if len(plans) == 1 and layout == "auto":
        plans[0].write(root, progress, stop)
        return
    for i, plan in enumerate(plans):
        plan.write(root.create_group(str(i)), progress, stop)
    _write_bioformats2raw(root, path, plans, version)


def _split_compression(value: Any) -> tuple[str, int | None]:
    """``"name[:level]"`` as ``(name, level)``; ``ValueError`` for an unknown name or a bad level."""
    text = "none" if value is None else str(value).lower()
    name, _, level_text = text.partition(":")
    if name not in _COMPRESSIONS:
        raise ValueError(
            f"compression must be one of {', '.join(_COMPRESSIONS)} (optionally ':level'), got {value!r}"
        )
    try:
        return name, int(level_text) if level_text else None
    except ValueError:
        raise ValueError(f"compression level must be an integer, got {level_text!r}") from None


def parse_compression(value: Any, version: str, where: Any) -> Any:
    """The zarr compressor for ``"name[:level]"`` (``None`` for no compression)."""
    try:
        name, level = _split_compression(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if name == "none":
        return None
    if version == "0.4":
        import numcodecs

        if name.startswith("blosc-"):
            return numcodecs.Blosc(
                cname=name[6:],
                clevel=1 if level is None else level,
                shuffle=numcodecs.Blosc.SHUFFLE,
                blocksize=_BLOSC_BLOCK,
            )
        if name == "zstd":
            return numcodecs.Zstd(level=3 if level is None else level)
        return numcodecs.GZip(level=6 if level is None else level)
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    if name.startswith("blosc-"):
        return BloscCodec(
            # cname comes from the codec names we offer (blosc-lz4, blosc-zstd ...), all valid BloscCname values
            cname=name[6:],  # type: ignore[arg-type]
            clevel=1 if level is None else level,
            shuffle="shuffle",
            blocksize=_BLOSC_BLOCK,
        )
    if name == "zstd":
        return ZstdCodec(level=3 if level is None else level)
    return GzipCodec(level=6 if level is None else level)


def _shape_option(value: Any, shape: tuple[int, ...], what: str, where: Any) -> tuple[int, ...]:
    """A user's ``t, c, z, y, x`` (or ``z, y, x`` / ``y, x``) block shape, ``-1`` = whole axis."""
    try:
        values = [int(v) if v is not None else -1 for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {what} must be a list of integers, got {value!r}") from None
    if len(values) not in (2, 3, 5) or any(v == 0 or v < -1 for v in values):
        raise ValueError(
            f"{where}: {what} must be 5 (t, c, z, y, x), 3 (z, y, x) or 2 (y, x) positive "
            f"integers (-1 for a whole axis), got {value!r}"
        )
    full = [1] * (5 - len(values)) + values
    return tuple(n if v == -1 else min(v, n) for v, n in zip(full, shape, strict=True))


def default_chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """About 2 MiB: ``256 x 256`` tiles ``n`` planes deep, or ``1024 x 1024`` tiles for one plane."""
    edge = 1024 if shape[2] == 1 else 256
    cy, cx = min(shape[3], edge), min(shape[4], edge)
    cz = max(1, min(shape[2], _CHUNK_BYTES // max(1, cy * cx * itemsize)))
    return (1, 1, cz, cy, cx)


def auto_shards(shape: tuple[int, ...], chunks: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Whole planes (up to 4096 x 4096 pixels), as many chunk depths as fit in 64 MiB."""
    sy = min(-(-shape[3] // chunks[3]), max(1, 4096 // chunks[3])) * chunks[3]
    sx = min(-(-shape[4] // chunks[4]), max(1, 4096 // chunks[4])) * chunks[4]
    per_depth = sy * sx * chunks[2] * itemsize
    depths = max(1, min(-(-shape[2] // chunks[2]), _SHARD_BYTES // max(1, per_depth)))
    return (1, 1, depths * chunks[2], sy, sx)


class _ImagePlan:
    """One scene: validated options, array layout and metadata, then the streamed write."""

    def __init__(
        self,
        scene: SceneData,
        data: xr.DataArray,
        pyramid: Pyramid,
        chunks: tuple[int, ...],
        shards: tuple[int, ...] | None,
        compressor: Any,
        version: str,
        colors: list[str],
        rgb: bool,
        where: Any,
    ) -> None:
        self.scene, self.data, self.pyramid = scene, data, pyramid
        self.chunks, self.shards, self.compressor, self.version = chunks, shards, compressor, version
        self.colors, self.rgb, self.where = colors, rgb, where

    @classmethod
    def make(cls, scene: SceneData, opts: OmeZarrOptions, where: Any) -> _ImagePlan:
        data, rgb = _samples_as_channels(scene.data, where)
        shape = tuple(int(n) for n in data.shape)
        dtype = np.dtype(data.dtype)
        if dtype.kind not in "biufc" or dtype.byteorder == ">":
            raise MetadataError(f"{where}: OME-Zarr pixels must be native numbers or bool, not {dtype}")
        version = opts.version
        pyramid = Pyramid.checked(shape, opts.levels, opts.downsample, opts.downsample_method, where)
        chunks = (
            _shape_option(opts.chunks, shape, "chunks", where)
            if opts.chunks is not None
            else default_chunks(shape, dtype.itemsize)
        )
        shards: Any = opts.shards  # checked with the options: None, "auto" or a shape, and not with 0.4
        if shards == "auto":
            shards = auto_shards(shape, chunks, dtype.itemsize)
        elif shards is not None:
            shards = _shape_option(shards, shape, "shards", where)
            shards = tuple(-(-s // c) * c for s, c in zip(shards, chunks, strict=True))
        compressor = parse_compression(opts.compression, version, where)
        colors = (
            [str(c).lstrip("#").upper() for c in opts.channel_colors]
            if opts.channel_colors is not None
            else channel_colors(shape[1], rgb)
        )
        if len(colors) != shape[1]:
            raise ValueError(f"{where}: {len(colors)} channel_colors for {shape[1]} channels")
        return cls(scene, data, pyramid, chunks, shards, compressor, version, colors, rgb, where)

    def _create(self, group: Any, k: int) -> Any:
        shape = self.pyramid.level_shape(k)
        chunks = tuple(min(c, n) for c, n in zip(self.chunks, shape, strict=True))
        kwargs: dict[str, Any] = {
            "name": str(k),
            "shape": shape,
            "dtype": self.data.dtype,
            "chunks": chunks,
            "fill_value": 0,
            "compressors": [self.compressor] if self.compressor is not None else None,
        }
        if self.version == "0.4":
            kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
        else:
            kwargs["dimension_names"] = list(_AXES)
            if self.shards is not None:
                kwargs["shards"] = tuple(
                    -(-min(s, n) // c) * c for s, n, c in zip(self.shards, shape, chunks, strict=True)
                )
        array = group.create_array(**kwargs)
        return _fast(array)

    def write(self, group: Any, progress: Progress, stop: threading.Event) -> None:
        """Create the level arrays, stream the pixels into them, then write the metadata."""
        arrays = [self._create(group, k) for k in range(self.pyramid.levels + 1)]
        z_align = (self.shards or self.chunks)[2]
        shape = tuple(int(n) for n in self.data.shape)
        dtype = np.dtype(self.data.dtype)
        lows = np.full(shape[1], np.inf)
        highs = np.full(shape[1], -np.inf)
        slabs = plan_slabs(shape, dtype.itemsize, getattr(self.data.data, "chunks", None), z_align)
        with ThreadPoolExecutor(1, thread_name_prefix="scitiff-readers-levels") as pool:
            # reuse: each slab is stored and reduced before the next one is asked for.
            for where, slab in iter_slabs(self.data.data, slabs, reuse=True):
                if stop.is_set():
                    raise _Stopped
                # Levels are reduced (and display windows widened) and stored in a
                # second thread while zarr stores full resolution.
                reduced = pool.submit(self._reduce, slab, where, lows, highs, arrays[1:])
                arrays[0][where] = slab
                reduced.result()
                progress.advance(slab.nbytes)
                del slab, reduced
        self._write_metadata(group, lows, highs)

    def _reduce(
        self, slab: np.ndarray, where: Slab, lows: np.ndarray, highs: np.ndarray, arrays: Sequence[Any]
    ) -> None:
        _window(slab, where, lows, highs)
        for array, level in zip(arrays, self.pyramid.reduce(slab), strict=True):
            array[where] = level

    def _write_metadata(self, group: Any, lows: np.ndarray, highs: np.ndarray) -> None:
        data, pyramid = self.data, self.pyramid
        base = axis_transforms(data)
        datasets = [
            {
                "path": str(k),
                "coordinateTransformations": level_transforms(base, pyramid.scale(k), pyramid.method),
            }
            for k in range(pyramid.levels + 1)
        ]
        multiscale: dict[str, Any] = {
            "name": self.scene.name,
            "axes": base.axes,
            "datasets": datasets,
            "type": "mean" if pyramid.method == "mean" else "nearest",
            "metadata": {
                "description": f"{pyramid.factor}x{pyramid.factor} block "
                f"{'means' if pyramid.method == 'mean' else 'sampling'} along y, x",
                "method": "scitiff_readers.backend.Pyramid",
                "kwargs": {"factor": pyramid.factor, "method": pyramid.method},
            },
        }
        windows = [
            (float(lo), float(hi)) if lo <= hi else (0.0, 0.0)
            for lo, hi in zip(lows.tolist(), highs.tolist(), strict=True)
        ]
        names = _channel_names(data, self.rgb)
        block = omero(
            names,
            self.colors,
            windows,
            np.dtype(data.dtype),
            self.scene.name,
            "0.4" if self.version == "0.4" else None,
        )
        kept = extras(self.scene.data if not self.rgb else data, base.exact)
        attrs: dict[str, Any]
        if self.version == "0.4":
            multiscale["version"] = "0.4"
            attrs = {"multiscales": [multiscale], "omero": block}
        else:
            attrs = {"ome": {"version": "0.5", "multiscales": [multiscale], "omero": block}}
        if kept is not None:
            attrs[EXTRAS_KEY] = kept
        group.attrs.update(attrs)


def _fast(array: Any) -> Any:
    """The array with the zarrs (Rust) codec pipeline when installed (much faster shards), else as is."""
    from .source import with_zarrs

    try:
        import zarrs  # noqa: F401
    except ImportError:
        return array
    return with_zarrs(array) or array


def _window(slab: np.ndarray, where: Slab, lows: np.ndarray, highs: np.ndarray) -> None:
    """Widen each channel's ``(min, max)`` by this slab (NaNs ignored)."""
    if slab.dtype.kind == "c":
        return
    for i, c in enumerate(range(where[1].start, where[1].stop)):
        values = slab[:, i]
        if values.dtype.kind == "f":
            finite = values[np.isfinite(values)]
            if not finite.size:
                continue
            values = finite
        lows[c] = min(lows[c], float(values.min()))
        highs[c] = max(highs[c], float(values.max()))


def _samples_as_channels(data: xr.DataArray, where: Any) -> tuple[xr.DataArray, bool]:
    """NGFF has no samples axis: RGB(A) samples of a single-channel image become its channels."""
    if "S" not in data.dims:
        return data, False
    if data.sizes["C"] != 1:
        raise MetadataError(
            f"{where}: OME-Zarr has no samples (RGB) axis and this image has {data.sizes['C']} channels of "
            f"{data.sizes['S']} samples; select one channel (data.isel(C=0)) or flatten them first"
        )
    out = data.isel(C=0, drop=True).rename(S="C").transpose("T", "C", "Z", "Y", "X")
    return out, True


def _channel_names(data: xr.DataArray, rgb: bool) -> list[str]:
    count = int(data.sizes["C"])
    if rgb:
        return ["red", "green", "blue", "alpha"][:count] if count <= 4 else [f"C{i}" for i in range(count)]
    coord = data.coords.get("C")
    if coord is not None and coord.dims == ("C",):
        return [str(v) for v in np.asarray(coord.values).tolist()]
    return [f"C{i}" for i in range(count)]


def _write_bioformats2raw(root: Any, path: Path, plans: Sequence[_ImagePlan], version: str) -> None:
    """The bioformats2raw layout's root attributes, ``OME/`` series list and OME-XML with the names."""
    series = [str(i) for i in range(len(plans))]
    ome = root.create_group("OME")
    if version == "0.4":
        root.attrs.update({"bioformats2raw.layout": 3})
        ome.attrs.update({"series": series})
    else:
        root.attrs.update({"ome": {"version": "0.5", "bioformats2raw.layout": 3}})
        ome.attrs.update({"ome": {"version": "0.5", "series": series}})
    (path / "OME" / "METADATA.ome.xml").write_text(_ome_xml(plans), encoding="utf-8")


_OME_TYPES = {
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "float32": "float",
    "float64": "double",
    "complex64": "complex",
    "complex128": "double-complex",
    "bool": "bit",
}


def _ome_xml(plans: Sequence[_ImagePlan]) -> str:
    """A minimal OME-XML (2016-06) listing each image's name, size, type and channels."""
    images = []
    for i, plan in enumerate(plans):
        data = plan.data
        t, c, z, y, x = (int(n) for n in data.shape)
        pixel_type = _OME_TYPES.get(np.dtype(data.dtype).name, "double")
        channels = "".join(
            f'<Channel ID="Channel:{i}:{k}" Name={quoteattr(n)} SamplesPerPixel="1"/>'
            for k, n in enumerate(_channel_names(data, plan.rgb))
        )
        sizes = "".join(_physical_size(data, d) for d in "XYZ")
        images.append(
            f'<Image ID="Image:{i}" Name={quoteattr(plan.scene.name)}>'
            f'<Pixels ID="Pixels:{i}" DimensionOrder="XYZCT" Type="{pixel_type}" SizeX="{x}" SizeY="{y}" '
            f'SizeZ="{z}" SizeC="{c}" SizeT="{t}"{sizes}>{channels}<MetadataOnly/></Pixels></Image>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        'Creator="scitiff_readers">' + "".join(images) + "</OME>\n"
    )


def _physical_size(data: xr.DataArray, dim: str) -> str:
    base = axis_transforms(data)
    i = "TCZYX".index(dim)
    coord = data.coords.get(dim)
    if coord is None or coord.size < 2:
        return ""
    unit = coord.attrs.get("units")
    size = base.scale[i]
    if not math.isfinite(size) or size <= 0:
        return ""
    text = f' PhysicalSize{dim}="{size!r}"'
    if unit:
        text += f" PhysicalSize{dim}Unit={quoteattr(str(unit))}"
    return text
