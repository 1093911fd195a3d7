"""Shared fixtures of the core tests: a multi-scene, multi-level reader registered in-process."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest

from scitiff_readers import Image, Reader, register_reader, unregister_reader
from scitiff_readers._coords import coordinate, uniform_coordinate
from scitiff_readers._sources import ArraySource

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

MAGIC = b"MULTISCENE\n"


def scene_array(scene: int, level: int) -> np.ndarray:
    """Deterministic pixels: scene 0 is (2,3,4,32,24) uint16, scene 1 is (1,1,2,10,12) float32."""
    if scene == 0:
        shape = (2, 3, 4, 32 >> level, 24 >> level)
        return ((np.arange(int(np.prod(shape))) * (level + 1)) % 65521).astype(np.uint16).reshape(shape)
    shape = (1, 1, 2, 10, 12)
    return (np.arange(int(np.prod(shape)), dtype=np.float32) / 7).reshape(shape)


class MultiSceneReader(Reader):
    """Test reader: any file starting with MULTISCENE; two scenes (one with duplicate name option)."""

    name: ClassVar[str] = "multiscene"
    suffixes: ClassVar[tuple[str, ...]] = (".ms",)
    priority: ClassVar[int] = 5
    options: ClassVar[Any] = MappingProxyType({"duplicate_names": False})

    @classmethod
    def can_open(cls, path: Any) -> bool:
        try:
            with open(path, "rb") as fh:
                return fh.read(len(MAGIC)) == MAGIC
        except OSError:
            return False

    def _open(self) -> None:
        self.opened = True

    def _scene_names(self) -> Sequence[str]:
        return ("same", "same") if self._options["duplicate_names"] else ("cells", "beads")

    def _level_count(self, scene: int) -> int:
        return 3 if scene == 0 else 1

    def _image(self, scene: int, level: int) -> Image:
        data = scene_array(scene, level)
        source = ArraySource(data, "TCZYX", storage_chunks=(1, 1, 1, *data.shape[3:]))
        if scene == 0:
            coords = {
                "T": coordinate("T", [0.0, 2.5], "s"),
                "Z": uniform_coordinate("Z", data.shape[2], 0.5, origin=10.0, units="um"),
                "Y": uniform_coordinate("Y", data.shape[3], 0.2 * 2**level, units="µm"),
                "X": uniform_coordinate("X", data.shape[4], 0.2 * 2**level, units="µm"),
                "stage_x": ("T", np.array([1.0, 2.0]), {"units": "mm"}),
            }
            return Image(
                source,
                coords=coords,
                channel_names=["DAPI", "GFP", "RFP"],
                attrs={"units": "counts"},
                name="cells",
            )
        return Image(source)

    @property
    def metadata(self) -> dict[str, Any]:
        return {"format": "multiscene"}


@pytest.fixture
def multiscene_reader_cls() -> Iterator[type[MultiSceneReader]]:
    register_reader(MultiSceneReader, clobber=True)
    try:
        yield MultiSceneReader
    finally:
        unregister_reader("multiscene")


@pytest.fixture
def multiscene_file(tmp_path: Path, multiscene_reader_cls: type[MultiSceneReader]) -> Path:
    path = tmp_path / "sample.ms"
    path.write_bytes(MAGIC)
    return path
