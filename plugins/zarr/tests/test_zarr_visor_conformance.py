"""The conformance suite for the VISoR reader, over every schema version."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from scitiff_readers_zarr.testing import zarr_foreign_paths
from scitiff_readers_zarr.testing import zarr_reference as zarr_read

from scitiff_readers import MetadataError
from scitiff_readers.testing import Expected, ReaderConformance, SampleCase

if TYPE_CHECKING:
    from collections.abc import Callable

VISOR001 = Path(
    os.path.normpath(
        Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "visor" / "VISOR001.vsr"
    )
)

UM = "µm"


def _zyx(shape: tuple[int, ...], scale: tuple[float, float, float]) -> dict[str, tuple[np.ndarray, str]]:
    return {d: (np.arange(n) * s, UM) for d, n, s in zip("ZYX", shape[-3:], scale, strict=True)}


def _grid_reference(
    level_dir: Path, groups: list[str], channels: list[str], zyx: tuple[int, ...]
) -> np.ndarray:
    out = np.zeros((len(groups), len(channels), *zyx), dtype=np.uint16)
    for t, g in enumerate(groups):
        for c, ch in enumerate(channels):
            if (level_dir / g / ch).is_dir():
                out[t, c] = zarr_read(level_dir / g / ch)
    return out


def _shared_case(which: str) -> SampleCase:
    if not VISOR001.is_dir():
        pytest.skip(f"shared sample data not found at {VISOR001}")
    scenes = ("slice_1_10x", "slice_1_10x_1", "xxx_slice_1_10x_20241201")
    raw = VISOR001 / "visor_raw_images"
    stacks = {
        "T": (["stack_1", "stack_2"], None),
        "stack_x": ([20264.7, 20264.7], UM),
        "stack_y": ([61258.1, 63258.1], UM),
    }
    common = {
        "shape": (2, 2, 4, 4, 4),
        "dtype": "uint16",
        "resolution_levels": (0,),
        "physical_pixel_sizes": (3.5, 1.03, 1.03),
        "pixel_size_units": (UM, UM, UM),
    }
    if which == "raw0":
        ref: Callable[[], np.ndarray] = lambda: zarr_read(raw / "slice_1_10x.zarr" / "0")  # noqa: E731
        return SampleCase(
            VISOR001,
            Expected(
                **common,
                scenes=scenes,
                channel_names=["488", "561"],
                reference=ref,
                coords={
                    **stacks,
                    **_zyx((4, 4, 4), (3.5, 1.03, 1.03)),
                    "wavelength": ([488.0, 561.0], "nm"),
                    "C": (["488", "561"], None),
                },
            ),
        )
    if which == "raw1":
        return SampleCase(
            VISOR001,
            Expected(
                **common,
                scenes=scenes,
                channel_names=["405", "640"],
                reference=lambda: zarr_read(raw / "slice_1_10x_1.zarr" / "0"),
                coords=stacks,
            ),
            scene=1,
        )
    if which == "compr":  # axes still named s, c
        path = VISOR001 / "visor_compr_images" / "xxx_slice_1_10x_20241201.zarr"
        return SampleCase(
            VISOR001,
            Expected(
                **common,
                scenes=scenes,
                channel_names=["405", "640"],
                reference=lambda: zarr_read(path / "0"),
                coords=stacks,
            ),
            scene="xxx_slice_1_10x_20241201",
        )
    # An image's .zarr folder opened directly.
    path = raw / "slice_1_10x_1.zarr"
    return SampleCase(
        path,
        Expected(
            **common,
            scenes=("slice_1_10x_1",),
            channel_names=["405", "640"],
            reference=lambda: zarr_read(path / "0"),
            coords=stacks,
        ),
    )


def _fixture_case(which: str, samples: dict[str, Path]) -> SampleCase:
    if which == "2025-raw-level1":
        s = samples["2025"]
        arr = s / "visor_raw_images" / "slice_2_10x.zarr" / "1"
        return SampleCase(
            s,
            Expected(
                shape=(2, 2, 8, 8, 6),
                dtype="uint16",
                resolution_levels=(0, 1),
                scenes=("slice_1_10x", "slice_2_10x", "xxx_slice_1_10x_20241201", "xxx_20250525"),
                channel_names=["405", "640"],
                physical_pixel_sizes=(3.5, 2.06, 2.06),
                pixel_size_units=(UM, UM, UM),
                reference=lambda: zarr_read(arr),
                coords={
                    "T": (["stack_1", "stack_2"], None),
                    "stack_y": ([61258.1, 63258.1], UM),
                    **_zyx((8, 8, 6), (3.5, 2.06, 2.06)),
                },
            ),
            scene=1,
            level=1,
        )
    if which == "2025-recon":
        s = samples["2025"]
        arr = s / "visor_recon_images" / "xxx_20250525.zarr" / "0"
        return SampleCase(
            s,
            Expected(
                shape=(1, 1, 8, 16, 12),
                dtype="uint16",
                channel_names=["488"],
                reference=lambda: zarr_read(arr)[None],
                coords=_zyx((8, 16, 12), (3.5, 1.03, 1.03)),
            ),
            scene="xxx_20250525",
        )
    if which == "2024.11.3":
        s = samples["2024.11.3"]
        arr = s / "visor_raw_images" / "slice_1_10x.zarr" / "0"
        return SampleCase(
            s,
            Expected(
                shape=(2, 2, 8, 16, 12),
                dtype="uint16",
                scenes=("slice_1_10x", "slice_1_10x_projn"),
                channel_names=["488", "561"],
                physical_pixel_sizes=(3.5, 1.03, 1.03),
                reference=lambda: zarr_read(arr),
                coords={
                    "T": (["stack_1", "stack_3"], None),
                    "stack_x": ([20264.7, 20264.7], UM),
                    "stack_y": ([61258.1, 65258.1], UM),
                    "wavelength": ([488.0, 561.0], "nm"),
                },
            ),
        )
    if which == "2024.11.3-unselected":
        s = samples["2024.11.3"]
        arr = s / "visor_raw_images" / "slice_1_10x_1.zarr" / "1"
        return SampleCase(
            s,
            Expected(
                shape=(2, 2, 8, 8, 6),
                dtype="uint16",
                reference=lambda: zarr_read(arr),
                physical_pixel_sizes=(3.5, 2.06, 2.06),
                coords={"T": (["stack_1", "stack_3"], None), **_zyx((8, 8, 6), (3.5, 2.06, 2.06))},
            ),
            options={"image": "slice_1_10x_1"},
            scene="slice_1_10x_1",
            level=1,
        )
    if which == "2024.11.3-projn":
        s = samples["2024.11.3"]
        arr = s / "visor_projn_images" / "slice_1_10x_projn.zarr" / "0"
        return SampleCase(
            s,
            Expected(
                shape=(2, 1, 1, 16, 12),
                dtype="uint16",
                channel_names=["488"],
                physical_pixel_sizes=(None, 1.03, 1.03),
                reference=lambda: zarr_read(arr)[:, :, None],
                coords={"T": (["stack_1", "stack_3"], None)},
            ),
            scene="slice_1_10x_projn",
        )
    if which == "2024.11.2":
        s = samples["2024.11.2"]
        arr = s / "visor_raw_images" / "slice_2_10x.zarr" / "0"
        return SampleCase(
            s,
            Expected(
                shape=(3, 1, 6, 10, 8),
                dtype="uint16",
                scenes=("slice_2_10x", "slice_1_10x"),
                channel_names=["640"],
                reference=lambda: zarr_read(arr),
                coords={
                    "T": (["stack_1", "stack_2", "stack_3"], None),
                    "stack_x": ([11000.0] * 3, UM),
                    "stack_y": ([20000.0, 21500.0, 23000.0], UM),
                },
            ),
        )
    if which == "2024.11.1":
        s = samples["2024.11.1"]
        arr = s / "visor_raw_images" / "slice_1_10x.zarr" / "1"
        return SampleCase(
            s,
            Expected(
                shape=(2, 2, 6, 5, 4),
                dtype="uint16",
                scenes=("slice_1_10x",),
                channel_names=["488", "561"],
                physical_pixel_sizes=(3.5, 2.06, 2.06),
                reference=lambda: zarr_read(arr),
                coords={"T": (["stack_1", "stack_2"], None), "stack_y": ([61258.1, 63258.1], UM)},
            ),
            level=1,
        )
    if which == "2024.11.0":
        s = samples["2024.11.0"]
        level = s / "visor_raw_image.zarr" / "0"
        groups = ["slice_1_stack_1", "slice_1_stack_2"]
        return SampleCase(
            s,
            Expected(
                shape=(2, 2, 6, 10, 8),
                dtype="uint16",
                scenes=("slice_1", "slice_2", "XXX_ROI1_20241101"),
                resolution_levels=(0, 1),
                channel_names=["405nm_10X", "561nm_10X"],
                physical_pixel_sizes=(3.5, 1.03, 1.03),
                reference=lambda: _grid_reference(level, groups, ["405nm_10X", "561nm_10X"], (6, 10, 8)),
                coords={
                    "T": (groups, None),
                    "stack_z": ([14239.5, 14239.5], UM),
                    "stack_y": ([61258.1, 63258.1], UM),
                    "stack_x": ([20264.7, 20264.7], UM),
                    "wavelength": ([405.0, 561.0], "nm"),
                    **_zyx((6, 10, 8), (3.5, 1.03, 1.03)),
                },
            ),
        )
    if which == "2024.11.0-recon-level1":
        s = samples["2024.11.0"]
        level = s / "visor_reconstructed_image.zarr" / "1"
        return SampleCase(
            s,
            Expected(
                shape=(1, 1, 6, 5, 4),
                dtype="uint16",
                channel_names=["488nm_10X"],
                physical_pixel_sizes=(3.5, 2.06, 2.06),
                reference=lambda: _grid_reference(level, ["XXX_ROI1_20241101"], ["488nm_10X"], (6, 5, 4)),
                coords={"wavelength": ([488.0], "nm"), **_zyx((6, 5, 4), (3.5, 2.06, 2.06))},
            ),
            scene="XXX_ROI1_20241101",
            level=1,
        )
    raise AssertionError(which)


SHARED_CASES = ["shared-raw0", "shared-raw1", "shared-compr", "shared-zarr-path"]
FIXTURE_CASES = [
    "2025-raw-level1",
    "2025-recon",
    "2024.11.3",
    "2024.11.3-unselected",
    "2024.11.3-projn",
    "2024.11.2",
    "2024.11.1",
    "2024.11.0",
    "2024.11.0-recon-level1",
]


class TestVisorConformance(ReaderConformance):
    reader_name = "visor"

    @pytest.fixture(params=SHARED_CASES + FIXTURE_CASES)
    def case(self, request: pytest.FixtureRequest, visor_samples: dict[str, Path]) -> SampleCase:
        if request.param.startswith("shared-"):
            return _shared_case(request.param.removeprefix("shared-"))
        return _fixture_case(request.param, visor_samples)

    @pytest.fixture
    def extra_foreign_paths(self, tmp_path: Path) -> list[Path]:
        import zarr

        paths = zarr_foreign_paths(tmp_path / "zarr-foreign")

        plain = tmp_path / "plain.ome.zarr"
        g = zarr.open_group(str(plain), mode="w", zarr_format=3)
        g.attrs["ome"] = {
            "version": "0.5",
            "multiscales": [{"axes": [{"name": "y"}, {"name": "x"}], "datasets": [{"path": "0"}]}],
        }
        g.create_array("0", shape=(4, 4), dtype="uint8")
        return [*paths, plain]


def test_shared_sample_metadata(shared_visor: Path) -> None:
    from scitiff_readers import Reader

    with Reader(shared_visor) as r:
        meta = r.metadata
        assert meta["info"]["animal_id"] == "VISOR001"
        assert r.schema_versions == meta["schema_versions"] == ["2025.5.1", "2025.6.1"]
        assert [e["name"] for e in meta["selected"]] == ["slice_1_10x", "slice_1_10x_1"]
        assert meta["recon_transforms"]["xxx_20250525"]["slices"][0]["name"] == "slice_1_10x"
        attrs = meta["images"]["slice_1_10x"]["attributes"]
        assert attrs["visor"]["channels"][1]["v_schema"] == "2025.5.1"
        assert meta["images"]["xxx_slice_1_10x_20241201"]["type"] == "compr"
        r.set_scene("xxx_slice_1_10x_20241201")
        assert r.image_type == "compr"
        assert r.visor_attributes["sources"] == [
            {"path": "visor_raw_images/slice_1_10x.zarr", "channels": ["488"]}
        ]


def test_stack_labels_follow_index_not_list_order(tmp_path: Path) -> None:
    """visor_stacks / channels are mapped by their ``index``, whatever the list order."""
    from scitiff_readers_zarr.visor_writer import write_visor_2024_11_3

    from scitiff_readers import Reader

    sample = write_visor_2024_11_3(tmp_path / "S.vsr")
    zattrs = sample / "visor_raw_images" / "slice_1_10x.zarr" / ".zattrs"
    attrs = json.loads(zattrs.read_text())
    attrs["visor_stacks"] = attrs["visor_stacks"][::-1]
    zattrs.write_text(json.dumps(attrs))
    with Reader(sample) as r:
        x = r.xarray_dask_data
        assert list(x.coords["T"].values) == ["stack_1", "stack_3"]
        np.testing.assert_allclose(x.coords["stack_y"].values, [61258.1, 65258.1])
        assert r.channel_names == ["488", "561"]
        np.testing.assert_array_equal(
            x.sel(T="stack_3", C="561").values, zarr_read(zattrs.parent / "0")[1, 1]
        )


def test_original_layout_missing_channel_reads_fill_value(visor_samples: dict[str, Path]) -> None:
    from scitiff_readers import Reader

    with Reader(visor_samples["2024.11.0"]) as r:
        assert r.layout == "2024.11.0"
        data = r.get_image_data("ZYX", T=1, C=1)  # slice_1_stack_2 has no 561 nm array
        assert data.shape == (6, 10, 8)
        assert (data == 0).all()
        assert (r.get_image_data("ZYX", T=1, C=0) > 0).all()


def test_open_image_zarr_inside_sample(visor_samples: dict[str, Path]) -> None:
    from scitiff_readers import Reader

    image = visor_samples["2025"] / "visor_recon_images" / "xxx_20250525.zarr"
    with Reader(image) as r:
        assert r.reader_name == "visor"
        assert r.scenes == ("xxx_20250525",)
        assert r.image_type == "recon"
        assert "T" not in r.xarray_dask_data.coords
        assert r.metadata["info"]["animal_id"] == "A001"  # sample info found from the image folder
    with Reader(visor_samples["2024.11.0"] / "visor_reconstructed_image.zarr") as r:
        assert r.scenes == ("XXX_ROI1_20241101",)


def test_image_option_selects_scene(visor_samples: dict[str, Path]) -> None:
    from scitiff_readers import MetadataError, Reader

    with Reader(visor_samples["2025"], image="xxx_slice_1_10x_20241201") as r:
        assert r.current_scene == "xxx_slice_1_10x_20241201"
    with Reader(visor_samples["2025"], image="slice_2_10x.zarr") as r:
        assert r.current_scene == "slice_2_10x"
    with pytest.raises(MetadataError, match="no VISoR image named 'nope'"):
        Reader(visor_samples["2025"], image="nope")


def test_layout_versions(visor_samples: dict[str, Path]) -> None:
    from scitiff_readers import Reader

    want = {
        "2025": "2025.5+",
        "2024.11.3": "2024.11.3",
        "2024.11.2": "2024.11.2",
        "2024.11.1": "2024.11.1",
        "2024.11.0": "2024.11.0",
    }
    for key, layout in want.items():
        with Reader(visor_samples[key]) as r:
            assert r.reader_name == "visor"
            assert r.layout == layout, key
    with Reader(visor_samples["2024.11.1"]) as r:
        assert r.metadata["visor_file"]["project_info"]["hardware_name"] == "VISoR18"
        assert r.schema_versions == ["2024.11.0"]  # what the 2024.11.1 schema example declares


def test_dask_chunks_follow_shards_not_inner_chunks(
    shared_visor: Path, visor_samples: dict[str, Path]
) -> None:
    from scitiff_readers import Reader

    with Reader(shared_visor) as r:  # shard (1, 1, 4, 4, 4), inner chunks (1, 1, 2, 2, 2)
        assert r.image().source.storage_chunks == (1, 1, 4, 4, 4)
        assert r.dask_data.chunksize == (2, 2, 4, 4, 4)  # whole shards, grouped toward chunk_bytes
    with Reader(visor_samples["2025"], chunk_bytes=16 * 12 * 8 * 2) as r:
        assert r.image().source.storage_chunks == (1, 1, 8, 16, 12)
        assert r.dask_data.chunksize == (1, 1, 8, 16, 12)
        assert r.dask_data.numblocks == (2, 2, 1, 1, 1)


def test_open_an_image_type_folder(visor_samples: dict[str, Path]) -> None:
    from scitiff_readers import Reader

    with Reader(visor_samples["2025"] / "visor_raw_images") as r:
        assert r.reader_name == "visor"
        assert r.scenes == ("slice_1_10x", "slice_2_10x")
    with Reader(visor_samples["2025"], image="visor_recon_images/xxx_20250525.zarr/") as r:
        assert r.current_scene == "xxx_20250525"


def test_original_layout_translations_declared_at_the_root(tmp_path: Path) -> None:
    """Stack translations may also be extra multiscales entries named like the stack group."""
    from scitiff_readers_zarr.visor_writer import write_visor_2024_11_0

    from scitiff_readers import Reader

    sample = write_visor_2024_11_0(tmp_path / "E")
    image = sample / "visor_raw_image.zarr"
    for level in ("0", "1"):
        (image / level / "slice_2_stack_1" / ".zattrs").unlink()
    attrs = json.loads((image / ".zattrs").read_text())
    attrs["multiscales"].append(
        {
            "name": "slice_2_stack_1",
            "axes": attrs["multiscales"][0]["axes"],
            "datasets": [{"path": "0/slice_2_stack_1"}],
            "coordinateTransformations": [
                {"type": "translation", "translation": [0, 0, 100.0, 200.0, 300.0]}
            ],
        }
    )
    (image / ".zattrs").write_text(json.dumps(attrs))
    with Reader(sample, image="slice_2") as r:
        x = r.xarray_dask_data
        assert list(x.coords["T"].values) == ["slice_2_stack_1"]
        np.testing.assert_allclose([x.coords[f"stack_{d}"].values[0] for d in "zyx"], [100.0, 200.0, 300.0])
        assert x.coords["stack_x"].attrs["units"] == "µm"
    attrs["multiscales"][-1]["coordinateTransformations"][0]["translation"] = [0, 0, "up", 1, 2]
    (image / ".zattrs").write_text(json.dumps(attrs))
    with Reader(sample, image="slice_2") as r, pytest.raises(MetadataError, match="unreadable translation"):
        _ = r.coords


@pytest.mark.parametrize("which", ["shared", "2025"])
def test_scene_names_and_channels_match_visor_py(which: str, visor_samples: dict[str, Path]) -> None:
    visor = pytest.importorskip("visor")
    from scitiff_readers import Reader

    path = VISOR001 if which == "shared" else visor_samples["2025"]
    if not path.is_dir():
        pytest.skip(f"shared sample data not found at {path}")
    images = visor.VSR(path).images()
    with Reader(path) as r:
        for kind, listed in images.items():
            for entry in listed:
                assert entry["name"] in r.scenes, (kind, entry["name"])
                r.set_scene(entry["name"])
                assert r.image_type == kind
                assert r.channel_names == list(entry["channels"])
                assert [str(level) for level in r.resolution_levels] == list(entry["resolutions"])
                image = visor.Image(path, kind, entry["name"])
                if "visor_stacks" in image.attrs["visor"]:
                    labels = list(r.xarray_dask_data.coords["T"].values)
                    for t, label in enumerate(labels):
                        assert image.label_to_index("stack", str(label)) == t
                else:  # a reconstructed image: no stacks
                    assert "T" not in r.xarray_dask_data.coords
                    assert r.dims.T == 1
                for c, wavelength in enumerate(r.channel_names):
                    assert image.label_to_index("channel", wavelength) == c
                np.testing.assert_array_equal(
                    r.data.reshape(image.load("0").shape), np.asarray(image.load("0")[...])
                )
