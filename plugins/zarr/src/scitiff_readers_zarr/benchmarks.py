"""Benchmark cases: OME-Zarr 0.4 / 0.5 (315 MB) and a sharded VISoR image (168 MB).

Peers: ``zarr.open(...)[:]`` with zarr-python's own codec pipeline, the same with
the zarrs pipeline, visor-py's ``Image.load(...)[:]`` (zarrs pipeline) and
bioio-ome-zarr.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["cases"]

OME_SHAPE = (10, 3, 20, 512, 512)
OME_CHUNKS = (1, 1, 20, 256, 256)
VISOR_SHAPE = (2, 2, 128, 512, 320)
VISOR_CHUNKS = (1, 1, 64, 64, 64)
DEFAULT_PIPELINE = "zarr.core.codec_pipeline.BatchedCodecPipeline"


def _plane(t: int, c: int, z: int, shape: tuple[int, int], noise: np.ndarray) -> np.ndarray:
    y, x = np.indices(shape, dtype=np.uint32)
    base = (x * 3 + y * 5 + t * 7 + c * 11 + z * 13) % 2048
    plane: np.ndarray = (base + np.roll(noise, z * 17 + c * 5 + t, axis=1)).astype(np.uint16)
    return plane


def _make_ome(version: str) -> Any:
    def make(folder: Path) -> Path:
        path = folder / f"ome-zarr-{version}-5d-315MB.ome.zarr"
        if path.exists():
            return path
        import zarr
        from ome_zarr.format import FormatV04, FormatV05
        from ome_zarr.writer import write_image

        noise = np.random.default_rng(0).integers(0, 200, size=OME_SHAPE[3:], dtype=np.uint32)
        data = np.empty(OME_SHAPE, dtype=np.uint16)
        for t in range(OME_SHAPE[0]):
            for c in range(OME_SHAPE[1]):
                for z in range(OME_SHAPE[2]):
                    data[t, c, z] = _plane(t, c, z, OME_SHAPE[3:], noise)
        tmp = path.with_name(path.name + ".partial")
        if version == "0.4":
            from numcodecs import Zstd

            group = zarr.open_group(str(tmp), mode="w", zarr_format=2)
            options = {"chunks": OME_CHUNKS, "compressor": Zstd(level=3)}
            fmt: Any = FormatV04()
        else:
            from zarr.codecs import ZstdCodec

            group = zarr.open_group(str(tmp), mode="w", zarr_format=3)
            options = {"chunks": OME_CHUNKS, "compressors": [ZstdCodec(level=3)]}
            fmt = FormatV05()
        write_image(
            data,
            group,
            axes="tczyx",
            fmt=fmt,
            scale_factors=[],
            storage_options=options,
            scale={"z": 2.0, "y": 0.5, "x": 0.5},
            axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"},
        )
        os.replace(tmp, path)
        return path

    return make


def _make_visor(folder: Path) -> Path:
    sample = folder / "VISORBENCH.vsr"
    if not sample.exists():
        from .visor_writer import write_visor_2025

        tmp = folder / "VISORBENCH.partial.vsr"
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp)
        write_visor_2025(
            tmp,
            shape=VISOR_SHAPE,
            chunks=VISOR_CHUNKS,
            shards=(1, 1, *VISOR_SHAPE[2:]),
            levels=1,
            extra_images=False,
        )
        os.replace(tmp, sample)
    return sample


def _zarr_array(path: Path, pipeline: str = DEFAULT_PIPELINE) -> Any:
    import zarr

    with zarr.config.set({"codec_pipeline.path": pipeline}):
        return zarr.open_array(str(path), mode="r")


def _ome_array_path(path: Path) -> Path:
    return path / "s0" if (path / "s0").exists() else path / "0"


def _visor_array_path(path: Path) -> Path:
    return path / "visor_raw_images" / "slice_1_10x.zarr" / "0"


def _zarr_peers(array_path: Any, plane: tuple[int, int, int]) -> list[Any]:

    out = []
    for name, pipeline in (("zarr", DEFAULT_PIPELINE), ("zarr+zarrs", "zarrs.ZarrsCodecPipeline")):
        if pipeline.startswith("zarrs"):
            try:
                import zarrs  # noqa: F401
            except ImportError:
                continue
        out.append(_zarr_peer(name, pipeline, array_path, plane))
    return out


def _zarr_peer(name: str, pipeline: str, array_path: Any, plane: tuple[int, int, int]) -> Any:
    from scitiff_readers.backend import Peer

    def open_(p: Path) -> Any:
        return _zarr_array(array_path(p), pipeline).shape

    def one_plane(p: Path) -> Any:
        return _zarr_array(array_path(p), pipeline)[plane]

    def full_read(p: Path) -> Any:
        return _zarr_array(array_path(p), pipeline)[:]

    def program(p: Path) -> str:
        return f"import zarr\nzarr.open_array({str(array_path(p))!r}, mode='r')[{plane!r}]\n"

    # The whole-program timing uses zarr's default codec pipeline only.
    return Peer(
        name,
        open=open_,
        one_plane=one_plane,
        full_read=full_read,
        imports=("zarr",),
        plane_program=program if pipeline == DEFAULT_PIPELINE else None,
    )


def _bioio_peer(array_path: Any = None) -> Any:
    from scitiff_readers.backend import Peer

    def image(p: Path) -> Any:
        from bioio import BioImage
        from bioio_ome_zarr import Reader as BioReader

        return BioImage(p if array_path is None else array_path(p), reader=BioReader)

    return Peer(
        "bioio-ome-zarr",
        open=lambda p: image(p).dims,
        one_plane=lambda p: image(p).get_image_data("YX", T=0, C=0, Z=10),
        full_read=lambda p: image(p).data,
        full_read_lazy=lambda p: image(p).dask_data.compute(),
        imports=("bioio", "bioio_ome_zarr"),
    )


def _visor_py_peer() -> Any:
    from scitiff_readers.backend import Peer

    def load(p: Path) -> Any:
        import visor

        return visor.Image(p, "raw", "slice_1_10x").load("0")

    return Peer(
        "visor-py",
        open=lambda p: load(p).shape,
        one_plane=lambda p: load(p)[0, 0, 10],
        full_read=lambda p: load(p)[:],
        imports=("visor",),
        plane_program=lambda p: (
            f"import visor\nvisor.Image({str(p)!r}, 'raw', 'slice_1_10x').load('0')[0, 0, 10]\n"
        ),
    )


def cases() -> list[Any]:
    """The zarr plugin's benchmark cases."""
    from scitiff_readers.backend import BenchmarkCase

    nbytes = int(np.prod(OME_SHAPE)) * 2
    out = []
    for version in ("0.4", "0.5"):
        out.append(
            BenchmarkCase(
                f"ome-zarr-{version}-5d-uint16-zstd",
                "ome-zarr",
                _make_ome(version),
                plane={"T": 0, "C": 0, "Z": 10},
                peers=(*_zarr_peers(_ome_array_path, (0, 0, 10)), _bioio_peer()),
                nbytes=nbytes,
            )
        )
    out.append(
        BenchmarkCase(
            "visor-2025-sharded-uint16",
            "visor",
            _make_visor,
            plane={"T": 0, "C": 0, "Z": 10},
            peers=(
                *_zarr_peers(_visor_array_path, (0, 0, 10)),
                _visor_py_peer(),
                _bioio_peer(lambda p: p / "visor_raw_images" / "slice_1_10x.zarr"),
            ),
            nbytes=int(np.prod(VISOR_SHAPE)) * 2,
        )
    )
    return out
