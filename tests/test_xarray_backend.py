"""The ``scitiff_readers`` xarray engine: xr.open_dataset / open_dataarray give the reader's view."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import xarray as xr

from scitiff_readers import Reader, SceneIndexError
from scitiff_readers.testing.counters import count_reads
from scitiff_readers.xarray_backend import ScitiffReadersBackendEntrypoint

from .conftest import MAGIC, SHARED_DATA, scene_array

if TYPE_CHECKING:
    from pathlib import Path

ENGINE = "scitiff_readers"
CORPUS = SHARED_DATA / "corpus"
MULTI_POSITION = (
    CORPUS / "tlnagy+exampletiffs/ometiff_testdata/singles/181003_multi_pos_time_course_1_MMStack.ome.tif"
)
PYRAMID = CORPUS / "BMCV+galaxy-image-analysis/tools/bfconvert/test-data/res.ome.tiff"
needs_shared = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"{CORPUS} not found (no ../shared beside the repo)"
)


@pytest.fixture
def multiscene(tmp_path: Path, multiscene_reader_cls: type[Reader]) -> Path:
    path = tmp_path / "two.ms"
    path.write_bytes(MAGIC)
    return path


def test_engine_is_registered_by_entry_point() -> None:
    engines = xr.backends.list_engines()
    assert isinstance(engines[ENGINE], ScitiffReadersBackendEntrypoint)


def test_open_dataarray_is_the_readers_view(multiscene: Path) -> None:
    with Reader(multiscene) as r:
        view = r.xarray_dask_data
        with xr.open_dataarray(multiscene, engine=ENGINE, scene=0, chunks={}) as da:
            assert da.name == "cells"  # named after the scene
            xr.testing.assert_identical(da, view)
            assert da.chunks == view.chunks  # chunks={}: the reader's storage-unit chunks
            np.testing.assert_array_equal(da.values, scene_array(0, 0))
            assert da["Z"].attrs == {"units": "µm"}
            assert da.attrs == {"units": "counts"}


def test_scene_by_name_and_level(multiscene: Path) -> None:
    with count_reads() as counts, xr.open_dataarray(multiscene, engine=ENGINE, scene="cells", level=2) as da:
        assert not isinstance(da.variable._data, np.ndarray)  # lazily indexed
        assert counts.pixel_reads == 0, "opening read pixels"
        np.testing.assert_array_equal(da.values, scene_array(0, 2))
        np.testing.assert_allclose(np.diff(da["X"].values), 0.8)
        # basic and stepped selections go through the pixel source
        np.testing.assert_array_equal(
            da.isel(T=1, X=slice(1, None, 2), Y=-1).values, scene_array(0, 2)[1, :, :, -1, 1::2]
        )
    with pytest.raises(SceneIndexError, match="nope"):
        xr.open_dataarray(multiscene, engine=ENGINE, scene="nope")
    with pytest.raises(IndexError, match="level"):
        xr.open_dataarray(multiscene, engine=ENGINE, scene=1, level=1)


def test_chunks_are_honoured(multiscene: Path) -> None:
    # Chunks of 10 rows split the stored planes: xarray says so, and honours them.
    with pytest.warns(UserWarning, match="separate the stored chunks"):
        da = xr.open_dataarray(multiscene, engine=ENGINE, scene=0, chunks={"Y": 10, "Z": 4})
    with da:
        assert da.chunks[2] == (4,)
        assert da.chunks[3] == (10, 10, 10, 2)
        np.testing.assert_array_equal(da.compute().values, scene_array(0, 0))


def test_open_dataset_every_scene(multiscene: Path) -> None:
    with xr.open_dataset(multiscene, engine=ENGINE, chunks={}) as ds:
        assert list(ds.data_vars) == ["cells", "beads"]
        # the scenes' coordinates differ, so each scene keeps its own dims
        assert ds["cells"].dims == ("T_0", "C_0", "Z_0", "Y_0", "X_0")
        assert ds["beads"].dims == ("T_1", "C_1", "Z_1", "Y_1", "X_1")
        np.testing.assert_array_equal(ds["beads"].values, scene_array(1, 0))
        assert ds["stage_x_0"].attrs == {"units": "mm"}
    with xr.open_dataset(multiscene, engine=ENGINE, scene=1) as one:
        assert list(one.data_vars) == ["beads"]
        assert one["beads"].dims == ("T", "C", "Z", "Y", "X")
    with pytest.raises(ValueError, match="more than one data variable"):
        xr.open_dataarray(multiscene, engine=ENGINE)


def test_guess_can_open_sniffs_content(multiscene: Path, tmp_path: Path) -> None:
    entry = ScitiffReadersBackendEntrypoint()
    assert entry.guess_can_open(multiscene)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert not entry.guess_can_open(text)
    assert not entry.guess_can_open(tmp_path / "missing.tif")
    assert not entry.guess_can_open(b"bytes")
    with xr.open_dataset(multiscene, scene=0) as ds:  # no engine=: found by content
        assert list(ds.data_vars) == ["cells"]


@needs_shared
def test_multi_position_ome_tiff_scenes_equal_tifffile() -> None:
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(MULTI_POSITION, is_mmstack=False) as tif:  # the OME series, one per position
        positions = [series.asarray() for series in tif.series]
    with xr.open_dataset(MULTI_POSITION, engine=ENGINE, chunks={}) as ds:
        assert len(ds.data_vars) == len(positions) == 2
        for variable, expected in zip(ds.data_vars.values(), positions, strict=True):
            np.testing.assert_array_equal(variable.values.squeeze(), expected.squeeze())
        with Reader(MULTI_POSITION) as r:
            assert list(ds.data_vars) == list(r.scenes)


@needs_shared
def test_pyramid_level_equals_tifffile_level() -> None:
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(PYRAMID) as tif:
        level2 = tif.series[0].levels[2].asarray()
    with xr.open_dataarray(PYRAMID, engine=ENGINE, scene=0, level=2) as da:
        assert da.dims[-1] == "S"
        np.testing.assert_array_equal(da.values.reshape(level2.shape), level2)
        with Reader(PYRAMID) as r:
            r.set_resolution_level(2)
            xr.testing.assert_identical(da.rename(None), r.xarray_data.rename(None))
