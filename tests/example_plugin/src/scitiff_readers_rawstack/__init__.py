"""Example reader plugin: ``.rawstack`` files (a JSON header line, then raw pixels).

Layout of a ``.rawstack`` file::

    RAWSTACK {"shape": [T, C, Z, Y, X], "dtype": "<u2", "channels": [...], "pixel_size_um": [z, y, x]}\n
    <T*C*Z*Y*X pixels, C order>
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from scitiff_readers.backend import (
    Image,
    PhysicalPixelSizes,
    PlaneSource,
    Reader,
    ReaderOptions,
    SharedFile,
    uniform_coordinate,
)
from scitiff_readers.errors import CorruptFileError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["RawStackReader", "write_rawstack"]

MAGIC = b"RAWSTACK "


class RawStackPlanes(PlaneSource):
    """One plane = one contiguous run of bytes: read it as a zero-copy view."""

    def __init__(self, file: SharedFile, offset: int, shape: Sequence[int], dtype: Any) -> None:
        super().__init__(shape, dtype)
        self.file = file
        self.offset = offset

    def read_plane(self, t: int, c: int, z: int, ys: slice, xs: slice) -> np.ndarray:
        _, n_c, n_z, n_y, n_x = self.shape
        plane_index = (t * n_c + c) * n_z + z
        plane_bytes = n_y * n_x * self.dtype.itemsize
        plane = self.file.array(self.offset + plane_index * plane_bytes, self.dtype, (n_y, n_x))
        return plane[ys, xs]

    def close(self) -> None:
        self.file.close()


@dataclass(frozen=True)
class RawStackOptions(ReaderOptions):
    """Options of :class:`RawStackReader`: ``channel_names`` overrides the header's names."""

    channel_names: Sequence[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "channel_names",
            self.channel_names is None or not isinstance(self.channel_names, str),
            "a list of strings",
        )


class RawStackReader(Reader):
    """Read ``.rawstack`` files."""

    name: ClassVar[str] = "rawstack"
    suffixes: ClassVar[tuple[str, ...]] = (".rawstack",)
    priority: ClassVar[int] = 10
    description: ClassVar[str] = "Example: raw pixel stacks with a JSON header"
    Options = RawStackOptions
    _opts: RawStackOptions

    @classmethod
    def can_open(cls, path: Any) -> bool:
        try:
            with open(path, "rb") as fh:
                return fh.read(len(MAGIC)) == MAGIC
        except OSError:  # folders, missing or unreadable files: not ours
            return False

    def _open(self) -> None:
        self._file = SharedFile(self._path)
        with open(self._path, "rb") as fh:
            line = fh.readline(1 << 16)
        try:
            self._header = json.loads(line[len(MAGIC) :])
            shape = tuple(int(s) for s in self._header["shape"])
            dtype = np.dtype(self._header["dtype"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptFileError(f"{self._path}: unreadable rawstack header: {exc}") from exc
        self._planes = RawStackPlanes(self._file, len(line), shape, dtype)

    def _scene_names(self) -> Sequence[str]:
        return ("image",)

    def _image(self, scene: int, level: int) -> Image:
        z, y, x = self._header.get("pixel_size_um", (1.0, 1.0, 1.0))
        shape = self._planes.shape
        coords = {
            "Z": uniform_coordinate("Z", shape[2], z, units="µm"),
            "Y": uniform_coordinate("Y", shape[3], y, units="µm"),
            "X": uniform_coordinate("X", shape[4], x, units="µm"),
        }
        names = self._opts.channel_names or self._header.get("channels")
        return Image(
            self._planes,
            coords=coords,
            channel_names=names,
            physical_pixel_sizes=PhysicalPixelSizes(z, y, x, units="µm"),
        )

    @property
    def metadata(self) -> dict[str, Any]:
        """The JSON header."""
        return dict(self._header)

    def _close(self) -> None:
        self._file.close()


def write_rawstack(
    path: Path,
    data: np.ndarray,
    channels: Sequence[str] = (),
    pixel_size_um: Sequence[float] = (1.0, 1.0, 1.0),
) -> None:
    """Write a 5-D array as a ``.rawstack`` file."""
    header = {
        "shape": list(data.shape),
        "dtype": data.dtype.str,
        "channels": list(channels),
        "pixel_size_um": list(pixel_size_um),
    }
    with open(path, "wb") as fh:
        fh.write(MAGIC + json.dumps(header).encode() + b"\n")
        fh.write(np.ascontiguousarray(data).tobytes())
