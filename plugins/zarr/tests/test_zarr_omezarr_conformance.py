"""The conformance suite for the generic OME-Zarr reader (NGFF 0.4 / 0.5, bioformats2raw)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
import zarr
from scitiff_readers_zarr.testing import zarr_foreign_paths
from scitiff_readers_zarr.testing import zarr_reference as zarr_read

from scitiff_readers.testing import Expected, ReaderConformance, SampleCase

if TYPE_CHECKING:
    from pathlib import Path

UM = "µm"
DATA = (np.arange(2 * 3 * 4 * 32 * 24) % 3001).astype("uint16").reshape(2, 3, 4, 32, 24)
# What ome-zarr-py declares for level 0 and level 1 (y, x halved, shifted by half a pixel).
TRANSFORMS = [
    [
        {"type": "scale", "scale": [1.5, 1.0, 2.0, 0.5, 0.5]},
        {"type": "translation", "translation": [0.0, 0.0, 0.0, 0.0, 0.0]},
    ],
    [
        {"type": "scale", "scale": [1.5, 1.0, 2.0, 1.0, 1.0]},
        {"type": "translation", "translation": [0.0, 0.0, 0.0, 0.25, 0.25]},
    ],
]
OMERO = {
    "channels": [
        {"label": "DAPI", "color": "0000FF"},
        {"label": "GFP", "color": "00FF00"},
        {"label": "RFP", "color": "FF0000"},
    ],
    "version": "0.4",
}


def write_ome_zarr_py(path: Path, version: str) -> Path:
    """NGFF written by ome-zarr-py's write_image: 2 levels, units, level 1 shifted by half a pixel."""
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    group = zarr.open_group(str(path), mode="w", zarr_format=2 if version == "0.4" else 3)
    write_image(
        DATA,
        group,
        axes="tczyx",
        fmt=FormatV04() if version == "0.4" else FormatV05(),
        scale_factors=[2],
        name=path.name.split(".")[0],
        scale={"t": 1.5, "z": 2.0, "y": 0.5, "x": 0.5},
        axes_units={"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"},
        storage_options={"chunks": (1, 1, 2, 16, 16)},
    )
    if version == "0.4":
        group.attrs["omero"] = OMERO
    else:
        ome = dict(group.attrs["ome"])
        ome["omero"] = OMERO
        group.attrs["ome"] = ome
    return path


def write_sharded_zyx(path: Path) -> Path:
    """Zarr v3 written directly: z, y, x in nanometres, float32, sharded, partly unwritten."""
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [
            {
                "name": "volume",
                "axes": [
                    {"name": "z", "type": "space", "unit": "nanometer"},
                    {"name": "y", "type": "space", "unit": "nanometer"},
                    {"name": "x", "type": "space", "unit": "nanometer"},
                ],
                "datasets": [
                    {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, 1.0]}]}
                ],
                "coordinateTransformations": [{"type": "scale", "scale": [500.0, 100.0, 100.0]}],
            }
        ],
    }
    arr = group.create_array(
        "0", shape=(5, 40, 36), dtype="float32", chunks=(1, 10, 12), shards=(5, 20, 24), fill_value=-1.0
    )
    arr[:, :20, :24] = np.random.default_rng(1).random((5, 20, 24), dtype=np.float32)  # other shards missing
    return path


def write_two_multiscales_v2(path: Path) -> Path:
    """Zarr v2 group with two multiscales: (c, y, x) and an unknown axis name + string axes."""
    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "name": "cyx",
            "axes": [
                {"name": "c", "type": "channel"},
                {"name": "y", "type": "space", "unit": "micrometer"},
                {"name": "x", "type": "space", "unit": "micrometer"},
            ],
            "datasets": [
                {"path": "a0", "coordinateTransformations": [{"type": "scale", "scale": [1, 0.25, 0.25]}]}
            ],
        },
        {
            "version": "0.4",
            "name": "angles",
            "axes": [{"name": "angle"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
            "datasets": [
                {"path": "b0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}
            ],
        },
    ]
    a = group.create_array("a0", shape=(2, 12, 10), dtype="uint8", chunks=(1, 6, 5))
    a[...] = (np.arange(240) % 256).reshape(2, 12, 10).astype("uint8")
    b = group.create_array("b0", shape=(3, 8, 6), dtype="int16", chunks=(3, 8, 6))
    b[...] = (np.arange(144) - 70).reshape(3, 8, 6).astype("int16")
    return path


def write_bioformats2raw(path: Path) -> Path:
    """The bioformats2raw layout: series 0 and 1, names from OME/METADATA.ome.xml."""
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image

    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    root.attrs["bioformats2raw.layout"] = 3
    ome = zarr.open_group(str(path / "OME"), mode="w", zarr_format=2)
    ome.attrs["series"] = ["0", "1"]
    (path / "OME" / "METADATA.ome.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
        '<Image ID="Image:0" Name="first"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" '
        'SizeX="16" SizeY="8" SizeZ="1" SizeC="1" SizeT="1"/></Image>'
        '<Image ID="Image:1" Name="second"><Pixels ID="Pixels:1" DimensionOrder="XYZCT" Type="uint16" '
        'SizeX="10" SizeY="6" SizeZ="3" SizeC="2" SizeT="1"/></Image></OME>'
    )
    for s, shape in (("0", (1, 1, 1, 8, 16)), ("1", (1, 2, 3, 6, 10))):
        group = zarr.open_group(str(path / s), mode="w", zarr_format=2)
        data = (np.arange(int(np.prod(shape))) * (int(s) + 3) % 65000).astype("uint16").reshape(shape)
        write_image(data, group, axes="tczyx", fmt=FormatV04(), scale_factors=[])
    return path


@pytest.fixture(scope="session")
def ome_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("omezarr")
    return {
        "0.4": write_ome_zarr_py(base / "ngff04.ome.zarr", "0.4"),
        "0.5": write_ome_zarr_py(base / "ngff05.ome.zarr", "0.5"),
        "sharded": write_sharded_zyx(base / "sharded.zarr"),
        "two": write_two_multiscales_v2(base / "two.zarr"),
        "b2r": write_bioformats2raw(base / "b2r.ome.zarr"),
    }


def _ngff_case(path: Path, level: int) -> SampleCase:
    scale = TRANSFORMS[level][0]["scale"]
    offset = TRANSFORMS[level][1]["translation"]
    ref_path = path / f"s{level}"
    shape = (2, 3, 4, 32 // 2**level, 24 // 2**level)
    return SampleCase(
        path,
        Expected(
            shape=shape,
            dtype="uint16",
            scenes=(path.name.split(".")[0],),
            resolution_levels=(0, 1),
            channel_names=["DAPI", "GFP", "RFP"],
            physical_pixel_sizes=tuple(scale[2:]),
            pixel_size_units=(UM, UM, UM),
            reference=lambda: zarr_read(ref_path),
            coords={
                "T": (np.arange(2) * 1.5, "s"),
                "C": (["DAPI", "GFP", "RFP"], None),
                **{
                    d: (offset[i] + np.arange(shape[i]) * scale[i], UM)
                    for i, d in enumerate("TCZYX")
                    if d in "ZYX"
                },
            },
        ),
        level=level,
    )


def make_case(which: str, samples: dict[str, Path]) -> SampleCase:
    if which == "ngff04-ome-zarr-py":
        return _ngff_case(samples["0.4"], 0)
    if which == "ngff05-ome-zarr-py-level1":
        return _ngff_case(samples["0.5"], 1)
    if which == "zarr-v3-sharded-zyx":
        path = samples["sharded"]
        return SampleCase(
            path,
            Expected(
                shape=(1, 1, 5, 40, 36),
                dtype="float32",
                scenes=("volume",),
                channel_names=["C0"],
                physical_pixel_sizes=(500.0, 100.0, 100.0),
                pixel_size_units=("nm", "nm", "nm"),
                reference=lambda: zarr_read(path / "0")[None, None],
                coords={"Z": (np.arange(5) * 500.0, "nm"), "X": (np.arange(36) * 100.0, "nm")},
            ),
        )
    if which == "zarr-v2-cyx":
        path = samples["two"]
        return SampleCase(
            path,
            Expected(
                shape=(1, 2, 1, 12, 10),
                dtype="uint8",
                scenes=("cyx", "angles"),
                physical_pixel_sizes=(None, 0.25, 0.25),
                pixel_size_units=(None, UM, UM),
                reference=lambda: zarr_read(path / "a0")[None, :, None],
                coords={"Y": (np.arange(12) * 0.25, UM)},
            ),
        )
    if which == "zarr-v2-unknown-axis":
        path = samples["two"]
        return SampleCase(
            path,
            Expected(
                shape=(3, 1, 1, 8, 6),
                dtype="int16",
                reference=lambda: zarr_read(path / "b0")[:, None, None],
                coords={"Y": (np.arange(8.0), None)},
            ),
            scene="angles",
        )
    if which == "bioformats2raw":
        path = samples["b2r"]
        return SampleCase(
            path,
            Expected(
                shape=(1, 2, 3, 6, 10),
                dtype="uint16",
                scenes=("first", "second"),
                reference=lambda: zarr_read(path / "1" / "s0"),
                coords={"Z": (np.arange(3.0), None), "X": (np.arange(10.0), None)},
            ),
            scene="second",
        )
    raise AssertionError(which)


CASES = [
    "ngff04-ome-zarr-py",
    "ngff05-ome-zarr-py-level1",
    "zarr-v3-sharded-zyx",
    "zarr-v2-cyx",
    "zarr-v2-unknown-axis",
    "bioformats2raw",
]


class TestOmeZarrConformance(ReaderConformance):
    reader_name = "ome-zarr"

    @pytest.fixture(params=CASES)
    def case(self, request: pytest.FixtureRequest, ome_samples: dict[str, Path]) -> SampleCase:
        return make_case(request.param, ome_samples)

    @pytest.fixture
    def extra_foreign_paths(self, tmp_path: Path) -> list[Path]:
        paths = zarr_foreign_paths(tmp_path / "zarr-foreign")
        group = tmp_path / "plain_group.zarr"
        zarr.open_group(str(group), mode="w", zarr_format=3).attrs["something"] = 1
        array = tmp_path / "array.zarr"
        zarr.create_array(str(array), shape=(4,), dtype="uint8")
        vsr = tmp_path / "S.vsr"
        (vsr / "visor_raw_images").mkdir(parents=True)
        (vsr / "info.json").write_text(json.dumps({"animal_id": "S"}))
        return [*paths, group, array, vsr]


def test_missing_shard_reads_fill_value(ome_samples: dict[str, Path]) -> None:
    from scitiff_readers import Reader

    with Reader(ome_samples["sharded"]) as r:
        assert r.image().source.storage_chunks == (1, 1, 5, 20, 24)  # the shard, not the inner chunk
        data = r.get_image_data("ZYX")
        assert (data[:, 20:, :] == -1.0).all()
        assert (data[:, :, 24:] == -1.0).all()
        assert (data[:, :20, :24] >= 0).all()


def test_bioformats2raw_without_ome_folder(ome_samples: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from scitiff_readers import Reader

    copy = tmp_path / "b2r.zarr"
    shutil.copytree(ome_samples["b2r"], copy)
    shutil.rmtree(copy / "OME")
    with Reader(copy) as r:
        assert r.scenes == ("0", "1")  # series found as numbered groups, named by path
        r.set_scene(1)
        np.testing.assert_array_equal(r.data, zarr_read(copy / "1" / "s0"))


def test_ngff_metadata_and_omero(ome_samples: dict[str, Path]) -> None:
    from scitiff_readers import Reader

    with Reader(ome_samples["0.5"]) as r:
        assert r.reader_name == "ome-zarr"
        assert r.metadata["ome"]["version"] == "0.5"
        assert r.xarray_dask_data.attrs["ngff_version"] == "0.5"
        assert r.scene_attributes["ome"]["omero"]["channels"][1]["label"] == "GFP"
    with Reader(ome_samples["b2r"]) as r:
        assert 'Name="second"' in (r.ome_xml or "")


@pytest.mark.parametrize("pipeline", ["zarr", "zarrs", "auto"])
def test_codec_pipelines_give_zarrs_pixels(ome_samples: dict[str, Path], pipeline: str) -> None:
    pytest.importorskip("zarrs")
    from scitiff_readers import Reader

    for key, arr in (("sharded", "0"), ("0.4", "s0"), ("0.5", "s0")):
        with Reader(ome_samples[key], codec_pipeline=pipeline) as r:
            ref = zarr_read(ome_samples[key] / arr)
            np.testing.assert_array_equal(r.data.reshape(ref.shape), ref)
            np.testing.assert_array_equal(r.dask_data.compute().reshape(ref.shape), ref)


def test_auto_pipeline_uses_zarrs_for_big_reads_only(
    ome_samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("zarrs")
    from scitiff_readers_zarr import source as source_module

    from scitiff_readers import Reader

    monkeypatch.setattr(source_module, "ZARRS_MIN_BYTES", 4000)  # a plane of 16 x 12 x 2 bytes is below
    monkeypatch.setattr(source_module, "DIRECT_MAX_BYTES", -1)  # the plane through zarr, not directchunks
    path = ome_samples["0.4"]
    with Reader(path, chunk_bytes=2**20) as r:
        src = r.image().source
        plane = r.get_image_data("YX", T=1, C=2, Z=3)
        handles = src._arrays._arrays
        assert not any(source_module.uses_zarrs(a) for a in handles.values())
        full = r.data
        assert any(source_module.uses_zarrs(a) for a in handles.values())
        ref = zarr_read(path / "s0")
        np.testing.assert_array_equal(full, ref)
        np.testing.assert_array_equal(plane, ref[1, 2, 3])
