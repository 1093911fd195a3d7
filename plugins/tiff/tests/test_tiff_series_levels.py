"""Pyramids stored as separate OME images (older multi-series levels) and what is not one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile

from scitiff_readers import Reader

if TYPE_CHECKING:
    from pathlib import Path


def _base() -> np.ndarray:
    # C=2, Z=3, Y=100, X=150: odd halvings (75 -> 38) exercise the rounding rules.
    return (np.arange(2 * 3 * 100 * 150) % 4093).astype(np.uint16).reshape(2, 3, 100, 150)


def _meta(k: int, scaled: bool, **extra: Any) -> dict[str, Any]:
    size = 0.5 * (2**k if scaled else 1)
    return {
        "axes": "CZYX",
        "PhysicalSizeX": size,
        "PhysicalSizeY": size,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeYUnit": "µm",
        "PhysicalSizeZ": 2.0,
        "Channel": {"Name": ["DAPI", "GFP"]},
        **extra,
    }


def _write_flattened(path: Path, scaled: bool, names: list[str] | None = None) -> list[np.ndarray]:
    """A 3-level pyramid as three OME images, then an unrelated 'label' image."""
    base = _base()
    levels = []
    with tifffile.TiffWriter(path, ome=True) as tw:
        for k in range(3):
            level = base[..., :: 2**k, :: 2**k]
            levels.append(level)
            extra = {"Name": names[k]} if names else {}
            tw.write(level, metadata=_meta(k, scaled, **extra))
        tw.write(np.full((30, 40), 3, np.uint8), metadata={"axes": "YX", "Name": "label image"})
    return levels


@pytest.mark.parametrize("scaled", [True, False], ids=["scaled-calibration", "copied-calibration"])
def test_series_of_decreasing_size_are_levels_of_one_scene(tmp_path: Path, scaled: bool) -> None:
    path = tmp_path / "flat.ome.tif"
    _write_flattened(path, scaled)
    with tifffile.TiffFile(path) as tif:
        assert len(tif.series) == 4
        assert not tif.series[0].is_pyramidal
        reference = [s.asarray() for s in tif.series]
    with Reader(path) as reader:
        assert reader.scenes == ("Image0", "label image")
        assert reader.scene_ids == ("Image:0", "Image:3")
        assert reader.resolution_levels == (0, 1, 2)
        for k in range(3):
            reader.set_resolution_level(k)
            np.testing.assert_array_equal(reader.get_image_data("CZYX"), reference[k])
            step = 0.5 * 2**k
            assert reader.physical_pixel_sizes.X == pytest.approx(step)
            assert reader.physical_pixel_sizes.Y == pytest.approx(step)
            assert reader.physical_pixel_sizes.Z == pytest.approx(2.0)
            np.testing.assert_allclose(reader.coords["X"].values, np.arange(reference[k].shape[-1]) * step)
            np.testing.assert_allclose(reader.coords["Y"].values, np.arange(reference[k].shape[-2]) * step)
            np.testing.assert_allclose(reader.coords["Z"].values, [0.0, 2.0, 4.0])
            assert reader.coords["X"].attrs["units"] == "µm"
            assert reader.channel_names == ["DAPI", "GFP"]
            assert reader.image().attrs["ome_image_id"] == f"Image:{k}"
        reader.set_scene("label image")
        assert reader.resolution_levels == (0,)
        np.testing.assert_array_equal(reader.get_image_data("YX"), reference[3])


def test_series_levels_option_keeps_every_image_a_scene(tmp_path: Path) -> None:
    path = tmp_path / "flat.ome.tif"
    levels = _write_flattened(path, scaled=True)
    with Reader(path, series_levels=False) as reader:
        assert reader.scenes == ("Image0", "Image1", "Image2", "label image")
        reader.set_scene(2)
        assert reader.resolution_levels == (0,)
        assert reader.physical_pixel_sizes.X == pytest.approx(2.0)  # its own calibration
        np.testing.assert_array_equal(reader.get_image_data("CZYX"), levels[2])


def test_level_names_that_only_number_the_level_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "named.ome.tif"
    _write_flattened(path, scaled=True, names=["slide 1", "slide 1 (level 1)", "slide 1 (level 2)"])
    with Reader(path) as reader:
        assert reader.scenes == ("slide 1", "label image")
        assert reader.resolution_levels == (0, 1, 2)


def _write_series(path: Path, images: list[tuple[np.ndarray, dict[str, Any]]]) -> None:
    with tifffile.TiffWriter(path, ome=True) as tw:
        for data, meta in images:
            tw.write(data, metadata=meta)


def _yx(shape: tuple[int, int], dtype: Any = np.uint16) -> np.ndarray:
    return (np.arange(shape[0] * shape[1]) % 200).astype(dtype).reshape(shape)


NOT_PYRAMIDS = {
    # half size, but another channel count
    "channels": [(_yx((64, 64))[None], {"axes": "CYX"}), (np.stack([_yx((32, 32))] * 2), {"axes": "CYX"})],
    # half size, but another dtype
    "dtype": [(_yx((64, 64)), {"axes": "YX"}), (_yx((32, 32), np.uint8), {"axes": "YX"})],
    # smaller, but not by one integer factor in Y and X
    "factor": [(_yx((64, 64)), {"axes": "YX"}), (_yx((32, 48)), {"axes": "YX"})],
    # half size, but a pixel size that is neither the base's nor twice it
    "calibration": [
        (_yx((64, 64)), {"axes": "YX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5}),
        (_yx((32, 32)), {"axes": "YX", "PhysicalSizeX": 0.7, "PhysicalSizeY": 0.7}),
    ],
    # half size, but named as another acquisition
    "names": [
        (_yx((64, 64)), {"axes": "YX", "Name": "Well A1"}),
        (_yx((32, 32)), {"axes": "YX", "Name": "Well B2"}),
    ],
    # half size, but called a thumbnail
    "thumbnail": [(_yx((64, 64)), {"axes": "YX"}), (_yx((32, 32)), {"axes": "YX", "Name": "thumbnail"})],
    # the larger image second: levels must decrease
    "growing": [(_yx((32, 32)), {"axes": "YX"}), (_yx((64, 64)), {"axes": "YX"})],
}


@pytest.mark.parametrize("case", sorted(NOT_PYRAMIDS))
def test_images_that_are_not_a_pyramid_stay_scenes(tmp_path: Path, case: str) -> None:
    path = tmp_path / f"{case}.ome.tif"
    images = NOT_PYRAMIDS[case]
    _write_series(path, images)
    with Reader(path) as reader:
        assert len(reader.scenes) == len(images)
        for i, (data, _) in enumerate(images):
            reader.set_scene(i)
            assert reader.resolution_levels == (0,)
            np.testing.assert_array_equal(reader.get_image_data("CYX" if data.ndim == 3 else "YX"), data)


def test_the_factor_is_fixed_for_the_whole_chain(tmp_path: Path) -> None:
    """128 -> 64 (factor 2) -> 16 (factor 4): the third image starts a new scene."""
    path = tmp_path / "chain.ome.tif"
    _write_series(
        path,
        [(_yx((128, 128)), {"axes": "YX"}), (_yx((64, 64)), {"axes": "YX"}), (_yx((16, 16)), {"axes": "YX"})],
    )
    with Reader(path) as reader:
        assert reader.scenes == ("Image0", "Image2")
        assert reader.resolution_levels == (0, 1)
        reader.set_scene(1)
        assert reader.resolution_levels == (0,)
        assert reader.shape[-2:] == (16, 16)


def test_subifd_pyramid_followed_by_its_thumbnail_image(tmp_path: Path) -> None:
    """tifffile's documented layout: SubIFD levels, then a small separate 'thumbnail' image."""
    path = tmp_path / "thumb.ome.tif"
    data = _yx((128, 128))
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(data, subifds=1, metadata={"axes": "YX"})
        tw.write(data[::2, ::2], subfiletype=1)
        tw.write(data[::4, ::4], metadata={"axes": "YX"})
    with Reader(path) as reader:
        assert len(reader.scenes) == 2
        assert reader.resolution_levels == (0, 1)
        reader.set_scene(1)
        np.testing.assert_array_equal(reader.get_image_data("YX"), data[::4, ::4])


def _ashlar_legacy_xml(filename: str, shapes: list[tuple[int, int]], channels: int, pixel_size: float) -> str:
    """OME-XML laid out as ASHLAR (before v1.15) wrote its "Glencoe/Faas" pyramids.

    One ``Image`` per level, no image names; only level 0 carries the pixel size and
    channel names; one ``TiffData`` with a ``UUID FileName`` per plane, pages in level
    order (all channels of level 0, then of level 1, ...).
    """
    uuid = "urn:uuid:4c1e7c0e-7e2f-4a51-9b8c-3a0e2f1d9a77"
    parts = [
        (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" UUID="{uuid}">'
        )
    ]
    ifd = 0
    for level, (size_y, size_x) in enumerate(shapes):
        calibration = (
            f' PhysicalSizeX="{pixel_size}" PhysicalSizeXUnit="µm" PhysicalSizeY="{pixel_size}"'
            ' PhysicalSizeYUnit="µm"'
            if level == 0
            else ""
        )
        parts.append(
            f'<Image ID="Image:{level}"><Pixels BigEndian="false" DimensionOrder="XYZCT" ID="Pixels:{level}"'
            f'{calibration} SizeC="{channels}" SizeT="1" SizeX="{size_x}" SizeY="{size_y}" SizeZ="1"'
            ' Type="uint16">'
        )
        for c in range(channels):
            name = f' Name="Channel {c}"' if level == 0 else ""
            parts.append(
                f'<Channel ID="Channel:{level}:{c}"{name} SamplesPerPixel="1"><LightPath/></Channel>'
            )
        for c in range(channels):
            parts.append(
                f'<TiffData FirstC="{c}" FirstT="0" FirstZ="0" IFD="{ifd}" PlaneCount="1">'
                f'<UUID FileName="{filename}">{uuid}</UUID></TiffData>'
            )
            ifd += 1
        if level == 0:
            parts.extend(f'<Plane TheC="{c}" TheT="0" TheZ="0"/>' for c in range(channels))
        parts.append("</Pixels></Image>")
    parts.append("</OME>")
    return "".join(parts)


def test_ashlar_legacy_faas_pyramid_is_one_scene_with_levels(tmp_path: Path) -> None:
    """The pre-Bio-Formats-6 pyramid layout ASHLAR wrote for years (tiled BigTIFF pages).

    Levels halve with ceiling rounding (skimage ``pyramid_reduce``: 300 x 200 -> 150 x 100
    -> 75 x 50 -> 38 x 25), sub-levels carry neither calibration nor channel names.
    """
    path = tmp_path / "mosaic.ome.tif"
    channels, pixel_size = 2, 0.65
    rng = np.random.default_rng(7)
    levels = [rng.integers(0, 4000, (channels, 300, 200), dtype=np.uint16)]
    while levels[-1].shape[-1] > 32:
        prev = levels[-1]
        shape = (-(-prev.shape[1] // 2), -(-prev.shape[2] // 2))
        levels.append(rng.integers(0, 4000, (channels, *shape), dtype=np.uint16))
    shapes = [lv.shape[1:] for lv in levels]
    assert shapes == [(300, 200), (150, 100), (75, 50), (38, 25)]
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        for k, level in enumerate(levels):
            for c in range(channels):
                first = k == 0 and c == 0
                tw.write(
                    level[c],
                    tile=(16, 16),
                    photometric="minisblack",
                    metadata=None,
                    description=_ashlar_legacy_xml(path.name, shapes, channels, pixel_size).encode()
                    if first
                    else None,
                    software="Ashlar v1.14.0 (Glencoe/Faas pyramid output)" if first else None,
                )
    with Reader(path) as reader:
        assert reader.reader_name == "ome-tiff"
        assert len(reader.scenes) == 1
        assert reader.resolution_levels == (0, 1, 2, 3)
        for k, level in enumerate(levels):
            reader.set_resolution_level(k)
            assert reader.dims.C == channels
            assert reader.shape[-2:] == level.shape[1:]
            np.testing.assert_array_equal(reader.get_image_data("CYX"), level)
            np.testing.assert_array_equal(reader.xarray_dask_data.isel(T=0, Z=0).values, level)
            step = pixel_size * 2**k  # the intended factor, not 300 / 38
            assert reader.physical_pixel_sizes.Y == pytest.approx(step)
            assert reader.physical_pixel_sizes.X == pytest.approx(step)
            np.testing.assert_allclose(reader.coords["X"].values, np.arange(level.shape[2]) * step)
            assert reader.coords["Y"].attrs["units"] == "µm"
            assert reader.channel_names == ["Channel 0", "Channel 1"]  # named on level 0 only
