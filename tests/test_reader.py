"""The user API of Reader: dispatch, scenes, levels, metadata-only properties, selections."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from scitiff_readers import (
    DimensionSelectionError,
    Reader,
    ReaderNotFoundError,
    ResolutionLevelError,
    SceneIndexError,
    ScitiffReadersError,
)
from scitiff_readers.testing.counters import count_reads

from .conftest import MultiSceneReader, scene_array


def test_base_class_dispatches_to_backend(multiscene_file: Path) -> None:
    r = Reader(multiscene_file)
    assert type(r) is MultiSceneReader
    assert isinstance(r, Reader)
    assert r.reader_name == "multiscene"
    assert r.opened


def test_backend_class_called_directly(multiscene_file: Path) -> None:
    assert type(MultiSceneReader(multiscene_file)) is MultiSceneReader


def test_reader_by_name_and_class(multiscene_file: Path, tmp_path: Path) -> None:
    assert type(Reader(multiscene_file, reader="multiscene")) is MultiSceneReader
    assert type(Reader(multiscene_file, reader=MultiSceneReader)) is MultiSceneReader
    with pytest.raises(ReaderNotFoundError, match="no reader named 'nope'"):
        Reader(multiscene_file, reader="nope")
    with pytest.raises(TypeError, match="Reader subclass"):
        Reader(multiscene_file, reader=int)  # type: ignore[arg-type]


def test_unknown_options_list_valid_ones(multiscene_file: Path) -> None:
    with pytest.raises(TypeError) as info:
        Reader(multiscene_file, colour="blue")
    message = str(info.value)
    assert "'colour'" in message and "chunk_bytes" in message and "duplicate_names" in message


def test_missing_file(tmp_path: Path, multiscene_reader_cls: type[Reader]) -> None:
    with pytest.raises(FileNotFoundError) as info:
        Reader(tmp_path / "nothing.ms")
    assert info.value.filename == str(tmp_path / "nothing.ms")
    with pytest.raises(FileNotFoundError):
        MultiSceneReader(tmp_path / "nothing.ms")


def test_dims_shape_dtype_are_metadata_only(multiscene_file: Path) -> None:
    with count_reads() as counts:
        r = Reader(multiscene_file)
        assert r.dims.order == "TCZYX"
        assert (r.dims.T, r.dims.C, r.dims.Z, r.dims.Y, r.dims.X) == (2, 3, 4, 32, 24)
        assert r.dims["Y", "X"] == (32, 24)
        assert r.shape == (2, 3, 4, 32, 24)
        assert r.dtype == np.uint16
        assert r.channel_names == ["DAPI", "GFP", "RFP"]
        pps = r.physical_pixel_sizes
        assert pps == pytest.approx((0.5, 0.2, 0.2))
        assert pps.units == ("µm", "µm", "µm")
        assert r.scenes == ("cells", "beads")
    assert (counts.pixel_reads, counts.graphs_built) == (0, 0)


def test_xarray_coordinates_units_and_attrs(multiscene_file: Path) -> None:
    r = Reader(multiscene_file)
    arr = r.xarray_dask_data
    assert arr.dims == ("T", "C", "Z", "Y", "X")
    assert arr.name == "cells"
    assert arr.attrs["units"] == "counts"
    assert list(arr.coords["C"].values) == ["DAPI", "GFP", "RFP"]
    np.testing.assert_allclose(arr.coords["Z"].values, [10.0, 10.5, 11.0, 11.5])
    assert arr.coords["Z"].attrs["units"] == "µm"  # "um" normalised
    assert arr.coords["T"].attrs["units"] == "s"
    assert arr.coords["stage_x"].dims == ("T",)
    assert arr.coords["stage_x"].attrs["units"] == "mm"
    np.testing.assert_array_equal(arr.values, scene_array(0, 0))
    picked = arr.sel(Z=10.5, C="GFP")
    np.testing.assert_array_equal(picked.values, scene_array(0, 0)[:, 1, 1])


def test_eager_and_lazy_views_agree(multiscene_file: Path) -> None:
    r = Reader(multiscene_file)
    expected = scene_array(0, 0)
    np.testing.assert_array_equal(r.data, expected)
    np.testing.assert_array_equal(r.dask_data.compute(), expected)
    assert isinstance(r.xarray_data, xr.DataArray)
    xr.testing.assert_identical(r.xarray_data, r.xarray_dask_data.compute())


def test_set_scene_by_index_and_name(multiscene_file: Path) -> None:
    r = Reader(multiscene_file)
    r.set_resolution_level(2)
    r.set_scene("beads")
    assert (r.current_scene, r.current_scene_index) == ("beads", 1)
    assert r.current_resolution_level == 0, "changing scene resets the level"
    assert r.shape == (1, 1, 2, 10, 12) and r.dtype == np.float32
    assert r.channel_names == ["C0"]
    assert tuple(r.physical_pixel_sizes) == (None, None, None)
    np.testing.assert_array_equal(r.data, scene_array(1, 0))
    r.set_scene(0)
    np.testing.assert_array_equal(r.data, scene_array(0, 0))


def test_scene_errors(multiscene_file: Path) -> None:
    r = Reader(multiscene_file)
    with pytest.raises(SceneIndexError, match="out of range; the file has 2 scene"):
        r.set_scene(2)
    with pytest.raises(IndexError):
        r.set_scene(-1)
    with pytest.raises(SceneIndexError, match="no scene named 'dogs'"):
        r.set_scene("dogs")
    with pytest.raises(ScitiffReadersError) as err:
        r.set_scene(5)
    assert str(multiscene_file) in str(err.value)


def test_duplicate_scene_names_need_an_index(multiscene_file: Path) -> None:
    r = Reader(multiscene_file, duplicate_names=True)
    with pytest.raises(SceneIndexError, match=r"used by scenes \[0, 1\]"):
        r.set_scene("same")
    r.set_scene(1)
    assert r.current_scene_index == 1


def test_resolution_levels(multiscene_file: Path) -> None:
    r = Reader(multiscene_file)
    assert r.resolution_levels == (0, 1, 2)
    r.set_resolution_level(1)
    assert r.shape == (2, 3, 4, 16, 12)
    np.testing.assert_array_equal(r.dask_data.compute(), scene_array(0, 1))
    assert r.physical_pixel_sizes.Y == pytest.approx(0.4)
    with pytest.raises(ResolutionLevelError, match="levels: \\[0, 1, 2\\]"):
        r.set_resolution_level(3)


@pytest.mark.parametrize(
    ("order", "selection"),
    [
        ("ZYX", {"T": 1, "C": 2}),
        ("CYX", {"Z": 3}),
        ("YXZ", {"T": 1, "C": 0}),
        ("TCZYX", {"C": [2, 0], "Z": slice(1, 3)}),
        ("ZYX", {"T": -1, "C": 1, "Y": slice(2, 30, 5), "X": [0, 5, 7]}),
        (None, {}),
    ],
)
def test_get_image_data_selections(multiscene_file: Path, order: str | None, selection: dict) -> None:
    r = Reader(multiscene_file)
    out_order = order or "TCZYX"
    # Reference: xarray's own isel; dims left out of the order default to index 0.
    full = xr.DataArray(scene_array(0, 0), dims=list("TCZYX"))
    sel = {d: selection.get(d, slice(None) if d in out_order else 0) for d in "TCZYX"}
    expected = full.isel(sel).transpose(*out_order).values
    eager = r.get_image_data(order, **selection)
    lazy = r.get_image_dask_data(order, **selection)
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_get_image_data_reads_only_the_selected_planes(multiscene_file: Path) -> None:
    r = Reader(multiscene_file, chunk_bytes=10**9)  # one chunk would cover everything
    r.dims  # noqa: B018 - open the image description first
    source = r.image().source
    calls: list[tuple[slice, ...]] = []
    original = source.read

    def spy(region: tuple[slice, ...]) -> np.ndarray:
        calls.append(region)
        return original(region)

    source.read = spy  # type: ignore[method-assign]
    r.get_image_data("YX", T=1, C=2, Z=3)
    assert calls == [(slice(1, 2), slice(2, 3), slice(3, 4), slice(0, 32), slice(0, 24))]
    calls.clear()
    r.get_image_data("CYX", T=0, Z=1, C=[0, 2])
    assert sorted((c[1].start, c[1].stop) for c in calls) == [(0, 1), (2, 3)], "only C=0 and C=2"


def test_selection_errors(multiscene_file: Path) -> None:
    r = Reader(multiscene_file)
    with pytest.raises(DimensionSelectionError, match="out of range for dimension Z of size 4"):
        r.get_image_data("YX", Z=4)
    with pytest.raises(DimensionSelectionError, match="not valid for dims"):
        r.get_image_data("ZQX")
    with pytest.raises(DimensionSelectionError, match="cannot select on Q"):
        r.get_image_data("ZYX", Q=1)
    with pytest.raises(DimensionSelectionError, match="selects 2 elements"):
        r.get_image_data("ZYX", T=[0, 1])
    with pytest.raises(IndexError):
        r.get_image_dask_data("YX", C=3)


def test_pickle_keeps_scene_level_and_options(multiscene_file: Path) -> None:
    r = Reader(multiscene_file, chunk_bytes="1 KiB")
    r.set_resolution_level(1)
    clone = pickle.loads(pickle.dumps(r))
    assert clone.current_resolution_level == 1
    assert clone.chunk_bytes == 1024
    np.testing.assert_array_equal(clone.data, scene_array(0, 1))


def test_context_manager_and_repr(multiscene_file: Path) -> None:
    with Reader(multiscene_file) as r:
        text = repr(r)
    assert "multiscene" in text and str(multiscene_file) in text


def test_chunk_bytes_option_controls_chunking(multiscene_file: Path) -> None:
    plane = 32 * 24 * 2
    small = Reader(multiscene_file, chunk_bytes=plane)
    assert small.dask_data.chunks[:3] == ((1, 1), (1, 1, 1), (1, 1, 1, 1))
    big = Reader(multiscene_file, chunk_bytes=plane * 4)
    assert big.dask_data.chunks[2] == (4,) and big.dask_data.chunks[1] == (1, 1, 1)
    with pytest.raises(ValueError, match="positive"):
        Reader(multiscene_file, chunk_bytes=0)


def test_relative_paths_become_absolute(multiscene_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(multiscene_file.parent)
    r = Reader(multiscene_file.name)
    assert r.path == multiscene_file and r.path.is_absolute()


@pytest.mark.parametrize("seed", range(12))
def test_selection_runs_match_a_plain_loop(seed: int) -> None:
    # The vectorised run finder against the obvious loop, on random index lists
    # (repeats, reversals, gaps): eager reads group planes by these runs.
    from scitiff_readers._selection import _contiguous_runs

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, 20, size=int(rng.integers(0, 40)))
    if seed % 3 == 0:
        idx = np.sort(idx)
    expected: list[list[int]] = []
    for value in idx.tolist():
        if expected and value == expected[-1][-1] + 1:
            expected[-1].append(value)
        else:
            expected.append([value])
    assert _contiguous_runs(idx) == [(run[0], len(run)) for run in expected]
