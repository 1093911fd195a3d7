"""The reference reader: ``.npy`` arrays, memory-mapped, in TCZYX(S) order.

It has no dependencies beyond numpy, so the core runs the conformance suite and
the demo against it; it is also handy for arrays saved with ``numpy.save``.
Arrays with fewer than five dims are read as their trailing dims (``YX``,
``ZYX``, ``CZYX``) unless ``dim_order`` says otherwise.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ._axes import parse_dim_order
from ._byteaccess import open_bytes
from ._coords import PhysicalPixelSizes, uniform_coordinate
from ._image import Image
from ._options import ArrayLayoutOptions
from ._reader import Reader
from ._sources import ArraySource, Region
from ._tokens import file_token
from .errors import CorruptFileError, MetadataError, SceneIndexError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ._files import SharedFile


__all__ = ["NpyReader"]

_MAGIC = b"\x93NUMPY"


class NpySource(ArraySource):
    """Zero-copy reads of a C-ordered ``.npy`` payload through a shared memory map.

    :meth:`read` (:class:`~scitiff_readers.backend.ArraySource`'s) returns views of the
    memory map: dask copies chunks once when it joins them, so returning views instead
    of freshly read buffers halves the memory a full lazy read touches.
    """

    def __init__(
        self,
        file: SharedFile,
        offset: int,
        dtype: np.dtype[Any],
        native_shape: tuple[int, ...],
        axes: str,
        token: str,
    ) -> None:
        self.file = file
        self.offset = offset
        # One plane (Y, X[, S]) is the storage unit.
        plane = tuple(size if d in "YXS" else 1 for d, size in zip(axes, native_shape, strict=True))
        self._describe(axes, native_shape, dtype, plane)
        self.__dict__["_token"] = token

    def native_array(self) -> np.ndarray:
        """The file's memory map (opened once per process), in the file's axis order."""
        return self.file.array(self.offset, self.dtype, self.native_shape)

    def _contiguous_offset(self, region: Region) -> int | None:
        """Byte offset of ``region`` if it is one contiguous run of the file, else None."""
        canonical = self.axis_map.canonical
        if [d for d in canonical if d in self.axes] != list(self.axes):
            return None  # the file's axis order differs from the canonical layout
        native = list(self.axis_map.index(region))
        lengths = [sl.stop - sl.start for sl in native]
        if min(lengths, default=1) <= 0:
            return None
        # C order: contiguous when every dim after the last partial one is full and
        # every dim before it has length 1.
        partial = [i for i, (n, size) in enumerate(zip(lengths, self.native_shape, strict=True)) if n != size]
        if partial and any(lengths[i] != 1 for i in range(partial[-1])):
            return None
        flat = int(np.ravel_multi_index(tuple(sl.start for sl in native), self.native_shape))
        return self.offset + flat * self.dtype.itemsize

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Fill ``out`` with one ``preadv`` when the region is contiguous in the file."""
        offset = self._contiguous_offset(region) if out.flags.c_contiguous else None
        if offset is not None:
            self.file.readinto(offset, out)
        else:
            out[...] = self.read(region)

    def close(self) -> None:
        self.file.close()


def _parse_header(path: Path, head: bytes) -> tuple[np.dtype[Any], tuple[int, ...], bool, int]:
    if not head.startswith(_MAGIC) or len(head) < 10:
        raise CorruptFileError(f"{path}: not a .npy file (bad magic bytes)")
    major = head[6]
    if major == 1:
        hlen, start = int.from_bytes(head[8:10], "little"), 10
    elif major in (2, 3):
        hlen, start = int.from_bytes(head[8:12], "little"), 12
    else:
        raise CorruptFileError(f"{path}: unsupported .npy format version {major}")
    text = head[start : start + hlen].decode("latin1")
    try:
        header = ast.literal_eval(text)
        dtype = np.dtype(header["descr"])
        shape = tuple(int(s) for s in header["shape"])
        fortran = bool(header["fortran_order"])
    except Exception as exc:
        raise CorruptFileError(f"{path}: unreadable .npy header {text!r}: {exc}") from exc
    if dtype.hasobject:
        raise CorruptFileError(f"{path}: object arrays cannot be read without unpickling; refusing")
    return dtype, shape, fortran, start + hlen


@dataclass(frozen=True)
class NpyOptions(ArrayLayoutOptions):
    """Options of :class:`NpyReader` (see its docstring)."""

    physical_pixel_sizes: Sequence[float | None] | None = None
    units: str = "µm"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "physical_pixel_sizes",
            self.physical_pixel_sizes is None
            or (not isinstance(self.physical_pixel_sizes, str) and len(self.physical_pixel_sizes) == 3),
            "three sizes (Z, Y, X), None where unknown",
        )
        self.expect("units", isinstance(self.units, str), "a unit name such as 'µm'")


class NpyReader(Reader):
    """Read a ``.npy`` file as one scene, memory-mapped (reference reader).

    Options
    -------
    dim_order
        The array's axes as letters of ``TCZYXS`` (default: the trailing dims of
        ``TCZYX`` for its ndim, ``TCZYXS`` for 6-D).
    channel_names
        Names for the ``C`` dim.
    physical_pixel_sizes
        ``(Z, Y, X)`` pixel sizes; they become coordinates.
    units
        Unit of the pixel sizes (default ``"µm"`` when sizes are given).
    """

    name: ClassVar[str] = "npy"
    suffixes: ClassVar[tuple[str, ...]] = (".npy",)
    priority: ClassVar[int] = 0
    description: ClassVar[str] = "NumPy .npy arrays (reference reader, memory-mapped)"
    Options = NpyOptions
    _opts: NpyOptions

    @classmethod
    def can_open(cls, path: Any) -> bool:
        """True for files starting with the ``.npy`` magic bytes."""
        from ._byteaccess import read_head

        return read_head(path, 6) == _MAGIC

    def _open(self) -> None:
        self._file = open_bytes(self._path)
        head = self._file.pread(0, min(self._file.size, 65536 + 12))
        dtype, shape, fortran, offset = _parse_header(self._path, head)
        if fortran and len(shape) > 1:
            raise MetadataError(f"{self._path}: Fortran-ordered arrays are not supported; save with C order")
        axes = parse_dim_order(self._opts.dim_order, shape, self._path)
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if offset + expected > self._file.size:
            raise CorruptFileError(
                f"{self._path}: header says {expected} bytes of pixels but the file has "
                f"{self._file.size - offset}; the file is truncated"
            )
        self._header = {"dtype": dtype.str, "shape": shape, "offset": offset}
        token = file_token("npy", self._path)
        self._source = NpySource(self._file, offset, dtype, shape, axes, token)

    def _scene_names(self) -> Sequence[str]:
        return (self._path.stem,)

    def _image(self, scene: int, level: int) -> Image:
        if scene != 0 or level != 0:
            raise SceneIndexError(f"{self._path}: .npy files have one scene and one level")
        source = self._source
        coords: dict[str, Any] = {}
        sizes = self._opts.physical_pixel_sizes
        pps = None
        if sizes is not None:
            unit = self._opts.units
            for dim, step in zip("ZYX", sizes, strict=True):
                if step is not None:
                    coords[dim] = uniform_coordinate(dim, source.shape["TCZYX".index(dim)], step, units=unit)
            z, y, x = sizes
            pps = PhysicalPixelSizes(z, y, x, units=unit)
        return Image(
            source=source, coords=coords, channel_names=self._opts.channel_names, physical_pixel_sizes=pps
        )

    @property
    def metadata(self) -> dict[str, Any]:
        """The ``.npy`` header: dtype, shape and data offset."""
        return dict(self._header)

    def _close(self) -> None:
        self._file.close()

    @classmethod
    def demo_sample(cls, folder: Path) -> Path:
        """A small 5-D ramp."""
        path = folder / "sample.npy"
        np.save(path, np.arange(2 * 2 * 3 * 32 * 32, dtype=np.uint16).reshape(2, 2, 3, 32, 32))
        return path


def benchmark_cases() -> list[Any]:
    """Benchmark cases of the reference reader: a 5-D uint16 ``.npy`` of 315 MB."""
    from ._benchmarking import BenchmarkCase, Peer

    shape = (10, 3, 20, 512, 512)

    def make(folder: Path) -> Path:
        path = folder / "npy-5d-315MB.npy"
        if not path.exists():
            data = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint16, shape=shape)
            for t in range(shape[0]):
                data[t] = (np.arange(np.prod(shape[1:]), dtype=np.uint32) % 4093).reshape(shape[1:])
            data.flush()
            del data
        return path

    numpy_peer = Peer(
        "numpy",
        open=lambda p: np.load(p, mmap_mode="r").shape,
        one_plane=lambda p: np.array(np.load(p, mmap_mode="r")[0, 0, 10]),
        full_read=lambda p: np.load(p),
    )
    return [
        BenchmarkCase(
            "npy-5d-uint16",
            "npy",
            make,
            plane={"T": 0, "C": 0, "Z": 10},
            peers=(numpy_peer,),
            nbytes=int(np.prod(shape)) * 2,
        )
    ]
