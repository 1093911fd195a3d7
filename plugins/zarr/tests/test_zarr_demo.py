"""The demo samples of both readers open with automatic selection and match zarr's pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import zarr
from scitiff_readers_zarr.omezarr import OmeZarrReader
from scitiff_readers_zarr.testing import zarr_reference
from scitiff_readers_zarr.visor import VisorReader

from scitiff_readers import Reader

if TYPE_CHECKING:
    from pathlib import Path


def test_visor_demo_sample(tmp_path: Path) -> None:
    before = zarr.config.get("codec_pipeline.path")
    path = VisorReader.demo_sample(tmp_path)
    assert zarr.config.get("codec_pipeline.path") == before  # visor-py did not switch zarr's pipeline
    with Reader(path) as r:
        assert r.reader_name == "visor"
        assert r.scenes[:2] == ("slice_1_10x", "slice_2_10x")
        np.testing.assert_array_equal(
            r.data, zarr_reference(path / "visor_raw_images" / "slice_1_10x.zarr" / "0")
        )


def test_ome_zarr_demo_sample(tmp_path: Path) -> None:
    path = OmeZarrReader.demo_sample(tmp_path)
    with Reader(path) as r:
        assert r.reader_name == "ome-zarr"
        assert r.channel_names == ["channel 0", "channel 1", "channel 2"]
        assert r.resolution_levels == (0, 1)
        r.set_resolution_level(1)
        np.testing.assert_array_equal(r.data, zarr_reference(path / "s1"))
        assert r.physical_pixel_sizes == (2.0, 1.0, 1.0)
        assert tuple(r.physical_pixel_sizes.units) == ("µm", "µm", "µm")
