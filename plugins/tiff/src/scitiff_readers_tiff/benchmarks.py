"""Benchmark cases of the TIFF readers (entry point ``scitiff_readers.benchmarks``).

Files are written by tifffile (the reference writer); peers are tifffile itself and
bioio with the ``bioio-ome-tiff`` plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["cases"]

SHAPE_5D = (10, 3, 20, 512, 512)  # 315 MB of uint16
PAGES_2000 = (2000, 256, 256)
SHAPE_TILED = (10, 3, 20, 512, 512)
SMALL_PLANES = (50, 512, 512)  # 26 MB of uint16: the per-call cost of one 512 x 512 plane
PAGES_50000 = (50000, 32, 32)  # 51 MB of uint8: the cost of opening a file of many pages
SHAPE_TILED_RAW = (10, 2048, 2048)  # 84 MB of uint16, uncompressed 256 x 256 tiles


def _ramp(shape: tuple[int, ...], t: int) -> np.ndarray:
    return ((np.arange(int(np.prod(shape)), dtype=np.uint32) + 7 * t) % 4093).astype(np.uint16).reshape(shape)


def _write_5d(path: Path, **kwargs: Any) -> None:
    import tifffile

    def planes() -> Any:
        for t in range(SHAPE_5D[0]):
            block = _ramp(SHAPE_5D[1:], t)
            for c in range(SHAPE_5D[1]):
                yield from block[c]

    tifffile.imwrite(
        path,
        planes(),
        shape=SHAPE_5D,
        dtype=np.uint16,
        ome=True,
        metadata={
            "axes": "TCZYX",
            "PhysicalSizeX": 0.5,
            "PhysicalSizeY": 0.5,
            "PhysicalSizeZ": 2.0,
            "TimeIncrement": 1.0,
        },
        **kwargs,
    )


def make_5d(folder: Path) -> Path:
    """Uncompressed 5-D OME-TIFF of about 315 MB."""
    path = folder / "ome-5d-315MB.ome.tif"
    if not path.exists():
        _write_5d(path)
    return path


def make_2000(folder: Path) -> Path:
    """OME-TIFF of 2000 pages of 256 x 256 uint16 (a long Z stack)."""
    import tifffile

    path = folder / "ome-2000-pages.ome.tif"
    if not path.exists():
        data = _ramp(PAGES_2000, 0)
        tifffile.imwrite(path, data, ome=True, metadata={"axes": "ZYX"})
    return path


def make_tiled(folder: Path) -> Path:
    """5-D OME-TIFF in 256 x 256 zlib tiles."""
    import tifffile

    path = folder / "ome-5d-tiled-zlib-v2.ome.tif"
    if not path.exists():
        rng = np.random.default_rng(0)

        def tiles() -> Any:
            for t in range(SHAPE_TILED[0]):
                # A ramp plus noise: compresses about 2:1 like real camera data, not 25:1.
                block = _ramp(SHAPE_TILED[1:], t) + rng.integers(0, 256, SHAPE_TILED[1:], dtype=np.uint16)
                for c in range(SHAPE_TILED[1]):
                    for z in range(SHAPE_TILED[2]):
                        plane = block[c, z]
                        for y in range(0, 512, 256):
                            for x in range(0, 512, 256):
                                yield plane[y : y + 256, x : x + 256]

        tifffile.imwrite(
            path,
            tiles(),
            shape=SHAPE_TILED,
            dtype=np.uint16,
            ome=True,
            tile=(256, 256),
            compression="zlib",
            metadata={"axes": "TCZYX"},
        )
    return path


def make_small_planes(folder: Path) -> Path:
    """OME-TIFF of 50 planes of 512 x 512 uint16 (Z stack), for the per-plane cost."""
    import tifffile

    path = folder / "ome-50-planes-512.ome.tif"
    if not path.exists():
        tifffile.imwrite(path, _ramp(SMALL_PLANES, 0), ome=True, metadata={"axes": "ZYX"})
    return path


def make_50000_ome(folder: Path) -> Path:
    """OME-TIFF of 50,000 pages of 32 x 32 uint8 (one TiffData element, no Plane elements)."""
    import tifffile

    path = folder / "ome-50000-pages.ome.tif"
    if not path.exists():
        data = (np.arange(int(np.prod(PAGES_50000)), dtype=np.uint32) % 251).astype(np.uint8)
        tifffile.imwrite(path, data.reshape(PAGES_50000), ome=True, metadata={"axes": "ZYX"})
    return path


def make_50000_shaped(folder: Path) -> Path:
    """Plain TIFF of 50,000 pages of 32 x 32 uint8 with tifffile's JSON shape description."""
    import tifffile

    path = folder / "shaped-50000-pages.tif"
    if not path.exists():
        data = (np.arange(int(np.prod(PAGES_50000)), dtype=np.uint32) % 251).astype(np.uint8)
        tifffile.imwrite(path, data.reshape(PAGES_50000), metadata={"axes": "ZYX"})
    return path


def _tiled_raw_data() -> np.ndarray:
    rng = np.random.default_rng(1)
    return _ramp(SHAPE_TILED_RAW, 0) + rng.integers(0, 256, SHAPE_TILED_RAW, dtype=np.uint16)


def make_tiled_raw(folder: Path) -> Path:
    """Plain (shaped) TIFF of 10 planes of 2048 x 2048 uint16 in uncompressed 256 x 256 tiles.

    The tile grid divides the image: the tiles of a page fill it exactly, back to
    back in the file, but tile by tile, not row by row.
    """
    import tifffile

    path = folder / "tiled-raw-10x2048.tif"
    if not path.exists():
        tifffile.imwrite(path, _tiled_raw_data(), tile=(256, 256), metadata={"axes": "ZYX"})
    return path


def make_tiled_raw_ome(folder: Path) -> Path:
    """The pixels of :func:`make_tiled_raw` as an OME-TIFF (a Z stack), uncompressed 256 x 256 tiles."""
    import tifffile

    path = folder / "ome-tiled-raw-10x2048.ome.tif"
    if not path.exists():
        tifffile.imwrite(path, _tiled_raw_data(), tile=(256, 256), ome=True, metadata={"axes": "ZYX"})
    return path


def _tifffile_peer(page: int, *, lazy: bool = True) -> Any:
    import tifffile

    from scitiff_readers.backend import Peer

    def one_plane(p: Path) -> np.ndarray:
        with tifffile.TiffFile(p) as tif:
            return tif.pages[page].asarray()

    def lazy_read(p: Path) -> np.ndarray:
        import dask.array as da
        import zarr

        with tifffile.imread(p, aszarr=True) as store:
            pixels: np.ndarray = da.from_zarr(zarr.open(store, mode="r")).compute()
            return pixels

    def open_(p: Path) -> Any:
        # series[0] is the work of shaping the file: our open does the same.
        with tifffile.TiffFile(p) as tif:
            return tif.series[0].shape

    def plane_reader(p: Path) -> Any:
        tif = tifffile.TiffFile(p)  # open for the rest of the process, like a reader kept open
        return lambda i: tif.pages[i].asarray()

    # The program a user writes for one plane (as in the cold-start issue): the series is shaped first.
    def program(p: Path) -> str:
        return f"import tifffile\ntifffile.TiffFile({str(p)!r}).series[0].pages[{page}].asarray()\n"

    return Peer(
        "tifffile",
        open=open_,
        one_plane=one_plane,
        full_read=tifffile.imread,
        full_read_lazy=lazy_read if lazy else None,
        plane_reader=plane_reader,
        imports=("tifffile",),
        plane_program=program,
    )


def _bioio_peer(plane: dict[str, int]) -> Any:
    from scitiff_readers.backend import Peer

    def reader(p: Path) -> Any:
        import bioio_ome_tiff
        from bioio import BioImage

        return BioImage(p, reader=bioio_ome_tiff.Reader)

    return Peer(
        "bioio",
        open=lambda p: reader(p).dims,
        one_plane=lambda p: reader(p).get_image_data("YX", **plane),
        full_read=lambda p: reader(p).data,
        full_read_lazy=lambda p: reader(p).dask_data.compute(),
        plane_reader=_bioio_plane_reader(reader),
        imports=("bioio", "bioio_ome_tiff"),
        plane_program=lambda p: (
            "import bioio_ome_tiff\nfrom bioio import BioImage\n"
            f"BioImage({str(p)!r}, reader=bioio_ome_tiff.Reader).get_image_data('YX', **{plane!r})\n"
        ),
    )


def _bioio_plane_reader(reader: Any) -> Any:
    from scitiff_readers.backend import plane_tcz

    def plane_reader(p: Path) -> Any:
        image = reader(p)
        dims = image.dims

        def read(i: int) -> Any:
            # The benchmark files' planes are stored Z fastest, then C, then T.
            t, c, z = plane_tcz(i, dims.C, dims.Z)
            return image.get_image_data("YX", T=t, C=c, Z=z)

        return read

    return plane_reader


def cases() -> list[Any]:
    """The TIFF benchmark cases.

    OME-TIFF: 315 MB 5-D, 2000 pages, tiled zlib, 50 planes of 512 x 512 (the per-plane
    cost), 50,000 pages of 32 x 32 (the open cost) and uncompressed tiles. Plain
    (shaped) TIFF: 50,000 pages and uncompressed tiles. bioio (``bioio-ome-tiff``)
    reads OME-TIFF only; on the 50,000-page file it only opens and reads one plane
    (a whole-image read builds a task per page), and tifffile's own lazy path
    (``aszarr`` + dask, 30 s there) is left out too.
    """
    from scitiff_readers.backend import BenchmarkCase, Peer

    plane5 = {"T": 0, "C": 0, "Z": 10}
    bioio_50000 = _bioio_peer({"Z": 25000})
    bioio_50000 = Peer(
        bioio_50000.name,
        open=bioio_50000.open,
        one_plane=bioio_50000.one_plane,
        imports=bioio_50000.imports,
        plane_program=bioio_50000.plane_program,
    )
    return [
        BenchmarkCase(
            "ome-tiff-5d-uint16",
            "ome-tiff",
            make_5d,
            plane=plane5,
            peers=(_tifffile_peer(10), _bioio_peer(plane5)),
            nbytes=int(np.prod(SHAPE_5D)) * 2,
        ),
        BenchmarkCase(
            "ome-tiff-2000-pages",
            "ome-tiff",
            make_2000,
            plane={"Z": 1000},
            peers=(_tifffile_peer(1000), _bioio_peer({"Z": 1000})),
            nbytes=int(np.prod(PAGES_2000)) * 2,
        ),
        BenchmarkCase(
            "ome-tiff-5d-tiled-zlib",
            "ome-tiff",
            make_tiled,
            plane=plane5,
            peers=(_tifffile_peer(10), _bioio_peer(plane5)),
            nbytes=int(np.prod(SHAPE_TILED)) * 2,
        ),
        BenchmarkCase(
            "ome-tiff-small-plane",
            "ome-tiff",
            make_small_planes,
            plane={"Z": 25},
            peers=(_tifffile_peer(25), _bioio_peer({"Z": 25})),
            nbytes=int(np.prod(SMALL_PLANES)) * 2,
        ),
        BenchmarkCase(
            "ome-tiff-50000-pages",
            "ome-tiff",
            make_50000_ome,
            plane={"Z": 25000},
            peers=(_tifffile_peer(25000, lazy=False), bioio_50000),
            nbytes=int(np.prod(PAGES_50000)),
        ),
        BenchmarkCase(
            "tiff-50000-pages",
            "tiff",
            make_50000_shaped,
            plane={"Z": 25000},
            peers=(_tifffile_peer(25000, lazy=False),),
            nbytes=int(np.prod(PAGES_50000)),
        ),
        BenchmarkCase(
            "ome-tiff-tiled-raw",
            "ome-tiff",
            make_tiled_raw_ome,
            plane={"Z": 5},
            peers=(_tifffile_peer(5), _bioio_peer({"Z": 5})),
            nbytes=int(np.prod(SHAPE_TILED_RAW)) * 2,
        ),
        BenchmarkCase(
            "tiff-tiled-raw",
            "tiff",
            make_tiled_raw,
            plane={"Z": 5},
            peers=(_tifffile_peer(5),),
            nbytes=int(np.prod(SHAPE_TILED_RAW)) * 2,
        ),
    ]
