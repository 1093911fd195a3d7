"""The plugin API: everything a backend distribution may import from the core.

A plugin (a reader, a writer, a benchmark contributor) imports only this module, the
user-facing API (:mod:`scitiff_readers`, :mod:`scitiff_readers.errors`) and, in its
tests, :mod:`scitiff_readers.testing`. Every other core module is private (its name
starts with ``_``) and may change in any release; the names below change only with a
deprecation period and a CHANGELOG entry (see CONTRIBUTING, "Release policy"). Ruff
and a test of the repository check that no plugin imports a private module.

The names, by what a backend does with them:

Describe a format
    :class:`Reader` (the base class a backend subclasses), :class:`ReaderOptions`
    (the base of a backend's typed option object; :class:`ArrayLayoutOptions` adds
    ``dim_order`` and ``channel_names``), :class:`Image` (one scene at one
    level), coordinates (:func:`coordinate`, :func:`coordinate_spec`,
    :func:`uniform_coordinate`, :func:`uniform_coordinate_spec`,
    :func:`default_channel_names`, :class:`PhysicalPixelSizes`), axis letters
    (:class:`AxisMap`: an array's own axes to canonical ``TCZYX(S)`` dims;
    :func:`parse_dim_order`: the ``dim_order=`` option checked or guessed), units
    (:func:`normalize_unit`, :func:`to_micrometre_factor`, :func:`to_seconds_factor`),
    channel display (:class:`ChannelDisplay`, :func:`argb_int_to_rgb`,
    :func:`rgba_int_to_rgb`, :func:`hex_to_rgb`) and mosaic tiles (:class:`MosaicTiles`).
Read pixels
    :class:`PixelSource` (the one thing a backend must provide), :class:`PlaneSource`,
    :class:`ArraySource`, :data:`Region`, :func:`to_dask` (imports dask when first
    used) and :func:`read_regions` (eager, no dask).
Read bytes safely
    Local files and fsspec URLs (:func:`as_location`, :func:`is_remote`,
    :func:`open_bytes`, :func:`positioned_read`, :func:`read_head`,
    :func:`file_argument`, :func:`location_size`; file objects:
    :func:`is_file_object_location`, :data:`FILE_OBJECT_LIMITS`), :class:`SharedFile`,
    :func:`resolve_inside`, :func:`atomic_output`, guards against hostile files
    (:func:`typed_error`, :func:`library_errors`, :func:`check_allocation`,
    :func:`check_inside`, :func:`load_json`, :func:`memory_limit`), the one guarded
    entry point into tifffile (:func:`open_tifffile`, :func:`tifffile_errors`,
    :func:`page_at`, :func:`page_decoder`, :func:`guard_ifd_chain`), the TIFF
    header every TIFF backend sniffs (:class:`FirstIfd`, :func:`tiff_head`,
    :func:`read_first_ifd`, the field-type tables :data:`TIFF_TYPE_SIZES` and
    :data:`TIFF_INT_FORMATS`), the one IFD parser (:class:`IfdChain`, whose plain
    pages are :class:`IfdPage`), per-process caches of file facts (:class:`FileCache`,
    :data:`MISSING`, :func:`cacheable`, :func:`file_stamp`) and the graph name of a
    file (:func:`file_token`).
Write
    :class:`Writer` (the base class), :class:`WriterOptions` (the base of a
    writer's typed option object; :class:`PyramidOptions` adds ``levels``,
    ``downsample`` and ``downsample_method``), :class:`SceneData`, :func:`to_canonical`,
    :func:`write`, pyramids (:class:`Pyramid`) and slabs (:data:`Slab`,
    :class:`Progress`, :func:`plan_slabs`, :func:`iter_slabs`).
Benchmark
    :class:`BenchmarkCase`, :class:`Peer`, :func:`plane_tcz`,
    :func:`benchmark_cases`, :func:`benchmark_data_dir`.

Importing this module imports no dask, xarray, pandas, zarr, pydantic, ome_types or
tifffile (the conformance suite checks it), so a backend's ``can_open`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._axes import AxisMap, parse_dim_order
from ._byteaccess import (
    RemoteFile,
    RemotePath,
    as_location,
    file_argument,
    is_remote,
    location_size,
    open_bytes,
    positioned_read,
    read_head,
)
from ._compat import MosaicTiles
from ._coords import (
    PhysicalPixelSizes,
    coordinate,
    coordinate_spec,
    default_channel_names,
    uniform_coordinate,
    uniform_coordinate_spec,
)
from ._display import ChannelDisplay, argb_int_to_rgb, hex_to_rgb, rgba_int_to_rgb
from ._eager import read_regions
from ._filecache import MISSING, FileCache, cacheable, file_stamp
from ._fileobjects import LIMITS as FILE_OBJECT_LIMITS
from ._fileobjects import is_file_object_location
from ._files import SharedFile, atomic_output, resolve_inside
from ._guards import check_allocation, check_inside, library_errors, load_json, memory_limit, typed_error
from ._image import Image, LazyCoords
from ._options import ArrayLayoutOptions, PyramidOptions, ReaderOptions, WriterOptions
from ._pyramid import Pyramid
from ._reader import Reader
from ._slabs import Progress, Slab, iter_slabs, plan_slabs
from ._sources import ArraySource, PixelSource, PlaneSource, Region
from ._tokens import file_token
from ._units import normalize_unit, to_micrometre_factor, to_seconds_factor
from ._writers import SceneData, Writer, to_canonical, write

if TYPE_CHECKING:
    from ._benchmarking import BenchmarkCase, Peer, benchmark_cases, benchmark_data_dir, plane_tcz
    from ._ifd import IfdChain, IfdPage
    from ._lazy import to_dask
    from ._tifffile import guard_ifd_chain, open_tifffile, page_at, page_decoder, tifffile_errors
    from ._tiffhead import (
        TIFF_INT_FORMATS,
        TIFF_TYPE_SIZES,
        FirstIfd,
        read_first_ifd,
        take_sniffed_chain,
        tiff_head,
    )

__all__ = [
    "FILE_OBJECT_LIMITS",
    "MISSING",
    "TIFF_INT_FORMATS",
    "TIFF_TYPE_SIZES",
    "ArrayLayoutOptions",
    "ArraySource",
    "AxisMap",
    "BenchmarkCase",
    "ChannelDisplay",
    "FileCache",
    "FirstIfd",
    "IfdChain",
    "IfdPage",
    "Image",
    "LazyCoords",
    "MosaicTiles",
    "Peer",
    "PhysicalPixelSizes",
    "PixelSource",
    "PlaneSource",
    "Progress",
    "Pyramid",
    "Reader",
    "PyramidOptions",
    "ReaderOptions",
    "Region",
    "SceneData",
    "RemoteFile",
    "RemotePath",
    "SharedFile",
    "Slab",
    "Writer",
    "WriterOptions",
    "argb_int_to_rgb",
    "as_location",
    "atomic_output",
    "benchmark_cases",
    "benchmark_data_dir",
    "cacheable",
    "check_allocation",
    "check_inside",
    "coordinate",
    "coordinate_spec",
    "default_channel_names",
    "file_argument",
    "is_file_object_location",
    "file_stamp",
    "file_token",
    "guard_ifd_chain",
    "hex_to_rgb",
    "is_remote",
    "iter_slabs",
    "library_errors",
    "load_json",
    "location_size",
    "memory_limit",
    "normalize_unit",
    "open_bytes",
    "open_tifffile",
    "page_at",
    "page_decoder",
    "parse_dim_order",
    "plan_slabs",
    "plane_tcz",
    "positioned_read",
    "read_first_ifd",
    "read_head",
    "read_regions",
    "resolve_inside",
    "rgba_int_to_rgb",
    "take_sniffed_chain",
    "tiff_head",
    "tifffile_errors",
    "to_canonical",
    "to_dask",
    "to_micrometre_factor",
    "to_seconds_factor",
    "typed_error",
    "uniform_coordinate",
    "uniform_coordinate_spec",
    "write",
]


# Documentation and reprs name these classes where plugins import them, not by the
# private module that defines them (pickle finds them here too).
for _cls in (
    ArrayLayoutOptions,
    ArraySource,
    AxisMap,
    FileCache,
    Image,
    LazyCoords,
    MosaicTiles,
    PixelSource,
    PlaneSource,
    Progress,
    Pyramid,
    PyramidOptions,
    ReaderOptions,
    SceneData,
    SharedFile,
    WriterOptions,
):
    _cls.__module__ = __name__
del _cls


#: Names loaded on first use, by module. The lazy engine imports dask; the benchmark
#: helpers, the TIFF header tables and the IFD parser cost a few milliseconds of every
#: cold open of a backend that never uses them (zarr, NDTiff).
_LAZY = {
    "to_dask": "_lazy",
    "BenchmarkCase": "_benchmarking",
    "Peer": "_benchmarking",
    "benchmark_cases": "_benchmarking",
    "benchmark_data_dir": "_benchmarking",
    "plane_tcz": "_benchmarking",
    "FirstIfd": "_tiffhead",
    "TIFF_INT_FORMATS": "_tiffhead",
    "TIFF_TYPE_SIZES": "_tiffhead",
    "read_first_ifd": "_tiffhead",
    "tiff_head": "_tiffhead",
    "take_sniffed_chain": "_tiffhead",
    "IfdChain": "_ifd",
    "IfdPage": "_ifd",
    "open_tifffile": "_tifffile",
    "tifffile_errors": "_tifffile",
    "page_at": "_tifffile",
    "page_decoder": "_tifffile",
    "guard_ifd_chain": "_tifffile",
}
#: Lazily loaded classes that documentation, reprs and pickle name by this module.
_PUBLIC_CLASSES = frozenset({"BenchmarkCase", "FirstIfd", "IfdChain", "IfdPage", "Peer"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__package__}.{module}"), name)
    if name in _PUBLIC_CLASSES:
        value.__module__ = __name__
    globals()[name] = value  # later lookups are plain attribute reads
    return value
