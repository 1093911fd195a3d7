"""The napari plugin, run in napari itself (headless ViewerModel; the screenshot test needs OpenGL)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

npe2 = pytest.importorskip("npe2")
napari_components = pytest.importorskip("napari.components")

from scitiff_readers_napari import layer_data, napari_get_reader  # noqa: E402
from scitiff_readers_napari.colors import wavelength_to_rgb  # noqa: E402

from scitiff_readers import Reader, list_readers  # noqa: E402
from scitiff_readers.testing.counters import count_reads  # noqa: E402

PLUGIN = "scitiff-readers-napari"
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CORPUS = SHARED / "corpus"
MULTI_POSITION = (
    CORPUS / "tlnagy+exampletiffs/ometiff_testdata/singles/181003_multi_pos_time_course_1_MMStack.ome.tif"
)
PYRAMID = CORPUS / "BMCV+galaxy-image-analysis/tools/bfconvert/test-data/res.ome.tiff"
NDTIFF_V2 = SHARED / "ndtiff" / "v2" / "ndtiffv2.0_test"
VISOR = SHARED / "visor" / "VISOR001.vsr"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} not found (no ../shared beside the repo)"
)


@pytest.fixture(scope="module", autouse=True)
def _plugins_discovered() -> None:
    # napari.Viewer discovers plugins on start; a bare ViewerModel does not.
    npe2.PluginManager.instance().discover()


def _open(path: Path) -> list[Any]:
    viewer = napari_components.ViewerModel()
    return list(viewer.open(path, plugin=PLUGIN))


def test_manifest_is_valid_and_its_command_imports() -> None:
    manifest = npe2.PluginManifest.from_distribution(PLUGIN)
    manifest.validate_imports()
    (reader,) = manifest.contributions.readers
    assert reader.accepts_directories
    assert reader.filename_patterns == ["*"]
    assert npe2.PluginManager.instance().get_manifest(PLUGIN).name == PLUGIN


def test_get_reader_declines_what_no_reader_opens(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("x")
    assert napari_get_reader(str(text)) is None
    assert napari_get_reader(str(folder)) is None
    assert napari_get_reader(str(tmp_path / "missing.tif")) is None


@pytest.mark.parametrize("reader_name", sorted(list_readers()))
def test_every_registry_format_opens_in_napari(reader_name: str, tmp_path: Path) -> None:
    sample = list_readers()[reader_name].cls.demo_sample(tmp_path)
    if sample is None:
        pytest.skip(f"{reader_name} writes no demo sample")
    layers = _open(sample)
    with Reader(sample) as r:
        assert r.reader_name == reader_name
        expected = []
        for scene in range(len(r.scenes)):
            r.set_scene(scene)
            prefix = f"{r.current_scene} :: " if len(r.scenes) > 1 else ""
            expected += [(prefix + name, r.dask_data, c) for c, name in enumerate(r.channel_names)]
    assert [layer.name for layer in layers] == [name for name, _, _ in expected]
    for layer, (_, array, c) in zip(layers, expected, strict=True):
        data = layer.data[0] if layer.multiscale else layer.data
        assert isinstance(data, da.Array)  # lazy
        assert layer.axis_labels[-2:] == ("Y", "X") or layer.rgb
        np.testing.assert_array_equal(
            np.asarray(data[-1, ..., -1:, :]), np.asarray(array[-1, c, ..., -1:, :])
        )


@needs_shared
def test_multi_position_ome_tiff_calibrated_from_ome_xml() -> None:
    ome_types = pytest.importorskip("ome_types")
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(MULTI_POSITION) as tif:
        ome = ome_types.from_xml(tif.ome_metadata)
    layers = _open(MULTI_POSITION)
    assert len(layers) == len(ome.images) == 2  # one layer per scene (one channel each)
    for layer, image in zip(layers, ome.images, strict=True):
        pixels = image.pixels
        assert layer.name.endswith(f":: {pixels.channels[0].name}")
        assert layer.axis_labels == ("T", "Z", "Y", "X")
        assert [str(u) for u in layer.units[1:]] == ["micrometer"] * 3
        assert str(layer.units[0]) == "millisecond"
        assert layer.scale[-1] == pytest.approx(pixels.physical_size_x)
        assert layer.scale[-2] == pytest.approx(pixels.physical_size_y)
        assert layer.translate[-1] == pytest.approx(pixels.planes[0].position_x)
        assert layer.translate[-2] == pytest.approx(pixels.planes[0].position_y)
        low, high = layer.contrast_limits
        assert low < high


@needs_shared
def test_pyramid_is_multiscale_and_rgb() -> None:
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(PYRAMID) as tif:
        levels = [level.shape for level in tif.series[0].levels]
        full = tif.series[0].levels[0].asarray()
    (layer,) = _open(PYRAMID)
    assert layer.multiscale
    assert layer.rgb
    assert [tuple(d.shape[-3:]) for d in layer.data] == [tuple(s[-3:]) for s in levels]
    np.testing.assert_array_equal(np.asarray(layer.data[0]).reshape(full.shape), full)


@needs_shared
def test_ndtiff_display_settings_give_contrast_colour_and_names() -> None:
    settings = json.loads((NDTIFF_V2 / "display_settings.txt").read_text())
    with count_reads() as counts:
        layer_data(NDTIFF_V2)
    assert counts.pixel_reads == 0  # the file gives contrast limits: the plugin reads no pixels
    layers = _open(NDTIFF_V2)  # (napari then reads the plane it displays)
    assert [layer.name for layer in layers] == ["DAPI", "FITC"]
    for layer in layers:
        channel = settings[layer.name]
        assert tuple(layer.contrast_limits) == (channel["Min"], channel["Max"])
        argb = channel["Color"] & 0xFFFFFFFF
        expected = np.array([(argb >> 16) & 255, (argb >> 8) & 255, argb & 255]) / 255
        np.testing.assert_allclose(layer.colormap.colors[-1][:3], expected, atol=1e-6)
        assert layer.visible is channel["Active"]


@needs_shared
def test_visor_channels_coloured_by_wavelength() -> None:
    layers = _open(VISOR)
    assert len(layers) > 2
    for layer in layers:
        wavelength = float(layer.name.rsplit(":: ", 1)[1])
        np.testing.assert_allclose(layer.colormap.colors[-1][:3], wavelength_to_rgb(wavelength), atol=1e-6)
        assert [str(u) for u in layer.units[1:]] == ["micrometer"] * 3


def test_wavelengths_map_to_their_colours() -> None:
    assert wavelength_to_rgb(405)[2] > 0.5 > wavelength_to_rgb(405)[1]  # violet
    assert wavelength_to_rgb(488) == pytest.approx((0.0, 0.96, 1.0))  # cyan-green
    assert wavelength_to_rgb(561) == pytest.approx((51 / 70, 1.0, 0.0))  # yellow-green
    assert wavelength_to_rgb(640)[0] == 1.0
    assert wavelength_to_rgb(640)[2] == 0.0
    assert wavelength_to_rgb(300) is None
    assert wavelength_to_rgb(float("nan")) is None


@needs_shared
def test_ome_channel_color_becomes_the_colormap() -> None:
    ome_types = pytest.importorskip("ome_types")
    tifffile = pytest.importorskip("tifffile")
    path = SHARED / "ometiff" / "s_1_t_1_c_1_z_1.ome.tiff"  # Bio-Formats 6.0.0, Channel Color="-1"
    with tifffile.TiffFile(path) as tif:
        (channel,) = ome_types.from_xml(tif.ome_metadata).images[0].pixels.channels
    (layer,) = _open(path)
    assert layer.name == channel.name
    np.testing.assert_allclose(
        layer.colormap.colors[-1][:3], np.array(channel.color.as_rgb_tuple(alpha=False)) / 255, atol=1e-6
    )


@needs_shared
def test_ome_zarr_omero_window_and_colour() -> None:
    store = CORPUS / "BMCV+galaxy-image-analysis/tools/bioformats2raw/test-data/camera.ome.zarr"
    (omero,) = json.loads((store / "0" / ".zattrs").read_text())["omero"]["channels"]
    layers = _open(store)
    assert [layer.name for layer in layers] == [omero["label"]]
    (layer,) = layers
    assert layer.multiscale
    assert tuple(layer.contrast_limits) == (omero["window"]["start"], omero["window"]["end"])
    np.testing.assert_allclose(
        layer.colormap.colors[-1][:3],
        [int(omero["color"][i : i + 2], 16) / 255 for i in (0, 2, 4)],
        atol=1e-6,
    )


@needs_shared
@pytest.mark.skipif(
    not os.environ.get("DISPLAY"),
    reason="rendering needs OpenGL: run under xvfb-run (nox -s napari_screenshot)",
)
def test_screenshot_of_a_real_file_shows_its_pixels(tmp_path: Path) -> None:
    napari = pytest.importorskip("napari")
    viewer = napari.Viewer(show=False)
    try:
        viewer.window._qt_window.resize(1100, 700)
        layers = viewer.open(MULTI_POSITION, plugin=PLUGIN)
        viewer.reset_view()
        # The window grab composites the OpenGL canvas (a canvas-only grab is blank offscreen).
        shown = viewer.screenshot(canvas_only=False, flash=False)[..., :3].astype(np.int16)
        for layer in layers:
            layer.visible = False
        hidden = viewer.screenshot(canvas_only=False, flash=False)[..., :3].astype(np.int16)
    finally:
        viewer.close()
    changed = np.abs(shown - hidden).max(axis=-1) > 16
    # the cells of both positions are drawn: a large area changes when the layers are hidden
    assert changed.sum() > 0.05 * changed.size
