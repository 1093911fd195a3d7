"""Small valid datasets of every format, written by the reference writers, to mutate.

Each :class:`Seed` is a folder (the dataset root) and the path inside it that is
opened, with the reader options to use. :func:`write_outside` writes the decoys
that mutations point at: files of every kind in a folder beside the datasets. A
read that opens any of them has escaped its dataset.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

__all__ = ["FORMATS", "Seed", "write_outside", "write_seeds"]


@dataclass(frozen=True)
class Seed:
    """A valid dataset: ``root / entry`` is what ``Reader`` opens, with ``options``."""

    format: str
    name: str
    root: Path
    entry: str
    options: dict[str, Any] = field(default_factory=dict)


def _planes(shape: tuple[int, ...], dtype: Any = np.uint16) -> np.ndarray:
    return (np.arange(int(np.prod(shape)), dtype=np.int64) % 4093 + 1).astype(dtype).reshape(shape)


def _tiff_seeds(folder: Path) -> list[Seed]:
    import tifffile
    from scitiff_readers_tiff.plain import TiffReader

    out = [Seed("tiff", "imagej", folder / "imagej", TiffReader.demo_sample(_mk(folder / "imagej")).name)]
    root = _mk(folder / "tiled")
    tifffile.imwrite(root / "tiled.tif", _planes((3, 64, 48)), tile=(32, 32), compression="zlib")
    out.append(Seed("tiff", "tiled-zlib", root, "tiled.tif"))
    root = _mk(folder / "strips")
    with tifffile.TiffWriter(root / "strips.tif") as w:
        for i in range(4):
            w.write(_planes((24, 20), np.uint8) + i, rowsperstrip=5, contiguous=False)
    out.append(Seed("tiff", "strips", root, "strips.tif"))
    return out


def _ome_seeds(folder: Path) -> list[Seed]:
    import tifffile
    from scitiff_readers_tiff.ome import OmeTiffReader

    out = [
        Seed("ome-tiff", "single", folder / "single", OmeTiffReader.demo_sample(_mk(folder / "single")).name)
    ]
    # A multi-file set: two files, each holding one Z plane, the first with the XML.
    root = _mk(folder / "multi")
    uuids = ["urn:uuid:11111111-1111-1111-1111-111111111111", "urn:uuid:22222222-2222-2222-2222-222222222222"]
    names = ["multi_z0.ome.tif", "multi_z1.ome.tif"]
    tiffdata = "".join(
        f'<TiffData FirstZ="{z}" IFD="0" PlaneCount="1"><UUID FileName="{names[z]}">{uuids[z]}</UUID></TiffData>'
        for z in range(2)
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" '
        f'UUID="{{uuid}}"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" '
        'SizeX="24" SizeY="16" SizeZ="2" SizeC="1" SizeT="1" PhysicalSizeX="0.5" PhysicalSizeY="0.5">'
        f'<Channel ID="Channel:0:0" SamplesPerPixel="1"/>{tiffdata}</Pixels></Image></OME>'
    )
    for z in range(2):
        desc = (
            xml.replace("{uuid}", uuids[z])
            if z == 0
            else (
                '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/'
                f'2016-06" UUID="{uuids[z]}"><BinaryOnly MetadataFile="{names[0]}" UUID="{uuids[0]}"/></OME>'
            )
        )
        tifffile.imwrite(root / names[z], _planes((16, 24)) + z, description=desc, metadata=None)
    out.append(Seed("ome-tiff", "multi", root, names[0]))
    out.append(Seed("ome-tiff", "multi-as-tiff", root, names[0], {"reader": "tiff"}))
    # A companion file with BinaryOnly TIFFs.
    root = _mk(folder / "companion")
    companion = xml.replace("{uuid}", "urn:uuid:33333333-3333-3333-3333-333333333333")
    for z in range(2):
        binary = (
            '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/'
            f'2016-06" UUID="{uuids[z]}"><BinaryOnly MetadataFile="set.companion.ome" '
            'UUID="urn:uuid:33333333-3333-3333-3333-333333333333"/></OME>'
        )
        tifffile.imwrite(root / names[z], _planes((16, 24)) + z, description=binary, metadata=None)
    (root / "set.companion.ome").write_text(companion, encoding="utf-8")
    out.append(Seed("ome-tiff", "companion", root, "set.companion.ome"))
    return out


def _scitiff_seeds(folder: Path) -> list[Seed]:
    from scitiff_readers_scitiff.reader import SciTiffReader

    root = _mk(folder / "scitiff")
    return [Seed("scitiff", "demo", root, SciTiffReader.demo_sample(root).name)]


def _ndtiff_seeds(folder: Path) -> list[Seed]:
    from scitiff_readers_ndtiff.samples import write_sample

    root = _mk(folder / "ndtiff")
    path = write_sample(root, "nd", times=2, channels=("DAPI", "GFP"), zs=2, height=16, width=24)
    return [Seed("ndtiff", "demo", path, ".")]


def _zarr_seeds(folder: Path) -> list[Seed]:
    from scitiff_readers_zarr.omezarr import write_ngff

    out = []
    for version in ("0.4", "0.5"):
        root = _mk(folder / f"zarr{version}")
        write_ngff(root / "img.ome.zarr", _planes((2, 2, 3, 32, 32)), version=version)
        out.append(Seed("ome-zarr", f"ngff{version}", root / "img.ome.zarr", "."))
    return out


def _visor_seeds(folder: Path) -> list[Seed]:
    from scitiff_readers_zarr import visor_writer

    out = []
    for name in ("write_visor_2025", "write_visor_2024_11_0"):
        root = _mk(folder / name)
        writer: Callable[..., Path] = getattr(visor_writer, name)
        path = writer(root / "S001.vsr")
        out.append(Seed("visor", name.removeprefix("write_visor_"), path, "."))
    return out


#: Seed writers per format name.
FORMATS: dict[str, Callable[[Path], list[Seed]]] = {
    "tiff": _tiff_seeds,
    "ome-tiff": _ome_seeds,
    "scitiff": _scitiff_seeds,
    "ndtiff": _ndtiff_seeds,
    "ome-zarr": _zarr_seeds,
    "visor": _visor_seeds,
}


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_seeds(folder: Path, formats: list[str] | None = None) -> list[Seed]:
    """Write the seeds of ``formats`` (default all) under ``folder``."""
    seeds: list[Seed] = []
    for name in formats or list(FORMATS):
        seeds.extend(FORMATS[name](_mk(folder / name)))
    return seeds


def write_outside(folder: Path, seeds: list[Seed]) -> Path:
    """Decoys outside every dataset: a TIFF, JSON documents, a chunk, a copy of each seed.

    Returns the folder. Mutations point links and names here; a child that opens
    anything below it has read outside its dataset.
    """
    import tifffile

    out = _mk(folder)
    tifffile.imwrite(out / "secret.tif", np.full((16, 24), 7777, np.uint16))
    (out / "secret.json").write_text(json.dumps({"zarr_format": 2, "secret": True}))
    (out / "secret.bin").write_bytes(b"\x77" * 4096)
    for seed in seeds:
        target = out / "copies" / seed.format / seed.name
        if not target.exists():
            shutil.copytree(seed.root, target, symlinks=True)
    return out
