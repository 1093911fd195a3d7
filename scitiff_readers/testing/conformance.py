"""The reader conformance suite: every rule of the Reader contract, written once.

A backend's test module subclasses :class:`ReaderConformance`, sets
``reader_name`` and provides a ``case`` fixture (usually parametrised over
several samples) returning a :class:`~scitiff_readers.testing.SampleCase`::

    class TestMyFormat(ReaderConformance):
        reader_name = "myformat"

        @pytest.fixture(params=["small", "rgb"])
        def case(self, request, sample_cache):
            return sample_cache(request.param, lambda folder: make_case(request.param, folder))

``sample_cache`` builds each sample once per test session (in a folder of its
own) and hands the same :class:`~scitiff_readers.testing.SampleCase` to every
test of the class; a ``case`` fixture may also build into ``tmp_path`` per test.

Extra foreign files (files of neighbouring formats the reader must refuse) come
from overriding the ``extra_foreign_paths`` fixture; they are checked together
with :func:`common_foreign_paths`.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest

from scitiff_readers._byteaccess import hidden_posix_calls
from scitiff_readers._reader import Reader
from scitiff_readers._registry import get_reader_class, list_readers, select_reader
from scitiff_readers.errors import SceneIndexError, UnsupportedFormatError

from .cases import SampleCase
from .counters import count_reads
from .handles import open_handles_under
from .samplecache import SampleCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from .cases import SampleCase

__all__ = ["ReaderConformance", "common_foreign_paths"]

#: Readers whose cold open (fresh process, no dask / xarray imported) was checked in this session.
_COLD_CHECKED: set[str] = set()
#: Readers whose URL reader was computed on the cluster in this session.
_REMOTE_CLUSTER_CHECKED: set[str] = set()


def _handles_before(case: SampleCase) -> list[str]:
    """Handles on the sample before a test opens it.

    Samples are shared by the tests of a session: a reader another test dropped
    without closing keeps its handles until it is collected (collected here), and
    one kept alive elsewhere (a scheduler's cache of an unpickled reader) is not
    this test's to judge.
    """
    handles = open_handles_under(case.path)
    if handles:  # a full collection costs tenths of a second: only when something is open
        gc.collect()
        handles = open_handles_under(case.path)
    return handles


def common_foreign_paths(folder: Path) -> list[Path]:
    """Write files no reader should accept into ``folder`` and return their paths.

    A text file, an empty ``.tif``, a ``.tif`` of garbage after a TIFF magic, an
    empty ``.zarr`` folder and a folder holding only a text file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "foreign.txt"
    text.write_text("not an image\n")
    empty = folder / "empty.tif"
    empty.write_bytes(b"")
    garbage = folder / "garbage.tif"
    garbage.write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    zarr_like = folder / "not_a_dataset.zarr"
    zarr_like.mkdir(exist_ok=True)
    plain = folder / "plain_folder"
    plain.mkdir(exist_ok=True)
    (plain / "notes.txt").write_text("nothing here")
    return [text, empty, garbage, zarr_like, plain]


_CLIENT: Any = None


def _shared_client() -> Any:
    """One LocalCluster with worker processes for every backend's suite in this process."""
    global _CLIENT
    if _CLIENT is None:
        import atexit

        import distributed

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        # Not the default scheduler: only the distributed test computes on the cluster.
        _CLIENT = distributed.Client(cluster, set_as_default=False)

        def _shutdown() -> None:
            _CLIENT.close()
            cluster.close()

        atexit.register(_shutdown)
    return _CLIENT


def _open(case: SampleCase, cls: type[Reader], **extra: Any) -> Reader:
    reader = cls(case.path, **{**dict(case.options), **extra})
    reader.set_scene(case.scene)
    reader.set_resolution_level(case.level)
    return reader


def _comparable(metadata: Any, root: str) -> str:
    """Metadata as JSON text (models through their dict form), with the dataset's location ``root`` blanked."""
    import json

    for method in ("model_dump", "to_dict"):
        dump = getattr(metadata, method, None)
        if callable(dump):
            metadata = dump()
            break
    return json.dumps(metadata, default=repr, sort_keys=True).replace(root, "<root>")


def _assert_pixels_equal(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_array_equal(actual, expected, err_msg=what)


class ReaderConformance:
    """Reusable pytest class: subclass it as ``Test<Format>Conformance``."""

    #: Registry name of the reader under test.
    reader_name: ClassVar[str]
    #: Set to False for readers registered in-process rather than by entry point.
    expect_entry_point: ClassVar[bool] = True
    #: Tests that get a sample of their own rather than the session's: the local
    #: cluster's scheduler runs in this process and keeps the reader it unpickled
    #: (an open file) for a while after the test, which later handle checks of a
    #: shared sample would see.
    _OWN_SAMPLE_TESTS: ClassVar[frozenset[str]] = frozenset({"test_compute_on_distributed_cluster"})

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture
    def case(self) -> SampleCase:
        """Override: return (or parametrise over) the samples."""
        raise NotImplementedError("subclasses of ReaderConformance must define a 'case' fixture")

    @pytest.fixture
    def sample_cache(
        self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Callable[[str, Callable[[Path], SampleCase]], SampleCase]:
        """``sample_cache(key, build)``: the sample ``key`` of this class, built once per session.

        ``build(folder)`` writes the sample into an empty folder and returns its
        :class:`~scitiff_readers.testing.SampleCase`.
        """
        if request.function.__name__ in self._OWN_SAMPLE_TESTS:
            own = tmp_path_factory.mktemp("own-sample")
            return lambda key, build: build(own)
        cache = SampleCache.of_session(request.config, tmp_path_factory)
        owner = f"{type(self).__module__}.{type(self).__qualname__}"

        def cached(key: str, build: Callable[[Path], SampleCase]) -> SampleCase:
            return cache.get(f"{owner}::{key}", build)

        return cached

    @pytest.fixture
    def extra_foreign_paths(self, tmp_path: Path) -> list[Path]:
        """Override: files of neighbouring formats this reader must refuse."""
        return []

    @pytest.fixture
    def foreign_paths(self, tmp_path: Path, extra_foreign_paths: list[Path]) -> list[Path]:
        """Files the reader must refuse without raising: the common ones plus the extra ones."""
        return common_foreign_paths(tmp_path / "foreign") + list(extra_foreign_paths)

    @pytest.fixture
    def dask_client(self) -> Any:
        """A two-process local dask cluster, started once per test process."""
        pytest.importorskip("distributed")
        return _shared_client()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run every rule twice: with the OS's POSIX calls (``posix``) and with them hidden (``portable``)."""
        if "io_calls" in metafunc.fixturenames:
            metafunc.parametrize("io_calls", ["posix", "portable"], indirect=True)

    @pytest.fixture(autouse=True)
    def io_calls(self, request: pytest.FixtureRequest) -> Any:
        """Every rule runs twice: with the OS's POSIX calls, and with them hidden (as on Windows).

        ``portable`` removes ``os.pread``, ``os.preadv`` and ``mmap.MADV_WILLNEED`` for
        the test (:func:`scitiff_readers._byteaccess.hidden_posix_calls`), so the
        portable positioned reads and the open paths without them are what the test
        exercises. Rules that run a fresh Python process check the child, which has
        the calls; they run once per reader whatever the mode.
        """
        mode = getattr(request, "param", "posix")
        if mode == "posix":
            yield mode
            return
        with hidden_posix_calls():
            yield mode

    @property
    def reader_cls(self) -> type[Reader]:
        """The Reader class under test, resolved through the registry."""
        return get_reader_class(self.reader_name)

    # ------------------------------------------------------------- registration
    def test_registered_through_entry_point(self) -> None:
        info = list_readers().get(self.reader_name)
        assert info is not None, f"{self.reader_name!r} is not registered"
        if self.expect_entry_point:
            assert info.origin == "entry point", f"{self.reader_name!r} is registered {info.origin}"
        assert info.cls.name == self.reader_name
        assert all(s.startswith(".") and s == s.lower() for s in info.cls.suffixes)

    def test_can_open_sample(self, case: SampleCase) -> None:
        assert self.reader_cls.can_open(case.path) is True

    def test_refuses_foreign_files_without_raising(self, foreign_paths: list[Path]) -> None:
        for path in foreign_paths:
            assert self.reader_cls.can_open(path) is False, f"can_open accepted {path}"

    def test_automatic_selection(self, case: SampleCase) -> None:
        if not case.auto_select:
            pytest.skip("this sample is opened with an explicit reader")
        assert select_reader(case.path) is self.reader_cls
        with Reader(case.path, **dict(case.options)) as reader:
            assert isinstance(reader, Reader)
            assert isinstance(reader, self.reader_cls)
            assert reader.reader_name == self.reader_name

    def test_explicit_reader_by_name(self, case: SampleCase) -> None:
        with Reader(case.path, reader=self.reader_name, **dict(case.options)) as reader:
            assert type(reader) is self.reader_cls

    def test_unknown_option_is_a_type_error_listing_valid_ones(self, case: SampleCase) -> None:
        with pytest.raises(TypeError, match="chunk_bytes"):
            self.reader_cls(case.path, not_an_option=1)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError):
            self.reader_cls(tmp_path / "does-not-exist.tif")

    # ------------------------------------------------------------------ laziness
    def test_plane_reads_import_neither_dask_nor_xarray(self, case: SampleCase) -> None:
        """A fresh process that opens the file and reads one plane imports no dask, xarray or pandas.

        Then the same plane through ``get_image_dask_data(...).compute()`` is equal and,
        with no distributed client in the process, imports no ``distributed``.
        """
        if not self.expect_entry_point:
            pytest.skip("a fresh process only finds readers installed through entry points")
        # A fresh interpreter per check costs about half a second: once per reader per session.
        if self.reader_name in _COLD_CHECKED:
            pytest.skip(f"checked on an earlier sample of {self.reader_name!r} in this session")
        _COLD_CHECKED.add(self.reader_name)
        program = (
            "import json, sys\n"
            "from scitiff_readers import Reader\n"
            "r = Reader(sys.argv[1], reader=sys.argv[2], **json.loads(sys.argv[3]))\n"
            "(r.dims, r.scenes, r.physical_pixel_sizes, r.channel_names)\n"
            "order = 'YX' + ('S' if 'S' in r.dims.order else '')\n"
            "plane = r.get_image_data(order)\n"
            "print(json.dumps(sorted(m for m in ('dask', 'xarray', 'pandas') if m in sys.modules)))\n"
            # The same plane through dask: equal, and with no client around, computing it
            # must not import distributed (lazy.LocalArray).
            "import numpy as np\n"
            "same = bool(np.array_equal(r.get_image_dask_data(order).compute(), plane, equal_nan=plane.dtype.kind in 'fc'))\n"
            "print(json.dumps([same, 'distributed' in sys.modules]))\n"
        )
        try:
            options = json.dumps(dict(case.options))
        except TypeError:
            pytest.skip("this sample's options do not pass to another process")
        out = subprocess.run(
            [sys.executable, "-c", program, str(case.path), self.reader_name, options],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        lines = out.stdout.strip().splitlines()
        assert json.loads(lines[-2]) == [], (
            f"{self.reader_name}: opening and reading one plane imported these (a lazy view was never asked for)"
        )
        assert json.loads(lines[-1]) == [True, False], (
            f"{self.reader_name}: [dask plane == eager plane, distributed imported] with no client in the process"
        )

    def test_open_and_metadata_read_no_pixels(self, case: SampleCase) -> None:
        with count_reads() as counts, _open(case, self.reader_cls) as reader:
            _ = (
                reader.dims,
                reader.shape,
                reader.dtype,
                reader.scenes,
                reader.channel_names,
                reader.physical_pixel_sizes,
                reader.coords,
                reader.resolution_levels,
                repr(reader),
            )
            assert counts.pixel_reads == 0, "opening or metadata access read pixels"
            assert counts.graphs_built == 0, "metadata access built a dask graph"
            lazy = reader.xarray_dask_data
            assert counts.pixel_reads == 0, "building the dask array read pixels"
            assert counts.graphs_built >= 1, "the lazy array was not built by the core's engine"
            assert lazy.chunks is not None

    # ------------------------------------------------------------ shape & meta
    def test_dims_shape_dtype(self, case: SampleCase) -> None:
        exp = case.expected
        with _open(case, self.reader_cls) as reader:
            assert reader.dims.order == exp.dims
            assert reader.shape == tuple(exp.shape)
            assert reader.dims.shape == tuple(exp.shape)
            assert reader.dtype == np.dtype(exp.dtype)
            lazy = reader.xarray_dask_data
            assert lazy.dims == tuple(exp.dims)
            assert lazy.shape == tuple(exp.shape)
            assert lazy.dtype == np.dtype(exp.dtype)

    def test_pixel_source_is_the_image_source(self, case: SampleCase) -> None:
        # A backend's _pixels (dims, shape, dtype and plane reads without an Image) must give
        # the very source its _image describes: the two views of a scene never disagree.
        with _open(case, self.reader_cls) as reader:
            scene = reader.current_scene_index
            for level in reader.resolution_levels:
                pixels = reader._pixels(scene, level)
                if pixels is not None:
                    assert pixels is reader.image(scene, level).source, (
                        f"_pixels({scene}, {level}) is not the source of _image({scene}, {level})"
                    )

    def test_scenes_and_levels(self, case: SampleCase) -> None:
        exp = case.expected
        with _open(case, self.reader_cls) as reader:
            if exp.scenes is not None:
                assert reader.scenes == tuple(exp.scenes)
            if exp.resolution_levels is not None:
                assert reader.resolution_levels == tuple(exp.resolution_levels)
            assert reader.current_scene == reader.scenes[reader.current_scene_index]
            assert reader.current_resolution_level == case.level

    def test_out_of_range_scene(self, case: SampleCase) -> None:
        with _open(case, self.reader_cls) as reader:
            n = len(reader.scenes)
            with pytest.raises(SceneIndexError):
                reader.set_scene(n)
            with pytest.raises(IndexError):
                reader.set_scene(-1 - n)
            with pytest.raises(SceneIndexError):
                reader.set_scene("no such scene \u2603")

    def test_channel_names_and_physical_sizes(self, case: SampleCase) -> None:
        exp = case.expected
        with _open(case, self.reader_cls) as reader:
            names = reader.channel_names
            assert len(names) == reader.dims.C
            assert list(reader.xarray_dask_data.coords["C"].values) == names
            if exp.channel_names is not None:
                assert names == list(exp.channel_names)
            pps = reader.physical_pixel_sizes
            if exp.physical_pixel_sizes is not None:
                for got, want, dim in zip(pps, exp.physical_pixel_sizes, "ZYX", strict=True):
                    if want is None:
                        assert got is None, f"physical size {dim}: {got} != None"
                    else:
                        assert got == pytest.approx(want, rel=1e-6), f"physical size {dim}"
            if exp.pixel_size_units is not None:
                assert tuple(pps.units) == tuple(exp.pixel_size_units)

    def test_coordinates_and_units(self, case: SampleCase) -> None:
        exp = case.expected
        if not exp.coords:
            pytest.skip("this sample declares no coordinates to check")
        with _open(case, self.reader_cls) as reader:
            array = reader.xarray_dask_data
            for name, (values, units) in exp.coords.items():
                assert name in array.coords, f"coordinate {name!r} missing; have {list(array.coords)}"
                coord = array.coords[name]
                want = np.asarray(values)
                got = coord.values
                if want.dtype.kind in "fc":
                    np.testing.assert_allclose(
                        got.astype(np.float64), want.astype(np.float64), rtol=1e-9, atol=1e-12, err_msg=name
                    )
                else:
                    np.testing.assert_array_equal(got, want, err_msg=name)
                if units is None:
                    assert "units" not in coord.attrs, f"{name} has units {coord.attrs.get('units')!r}"
                else:
                    assert coord.attrs.get("units") == units, f"units of {name}"

    # --------------------------------------------------------------------- pixels
    def test_pixels_equal_reference(self, case: SampleCase) -> None:
        ref = case.expected.reference_array()
        if ref is None:
            pytest.skip("no reference pixels for this sample")
        with _open(case, self.reader_cls) as reader:
            _assert_pixels_equal(reader.data, ref, "data")
            _assert_pixels_equal(reader.xarray_dask_data.values, ref, "xarray_dask_data")

    def test_whole_lazy_compute_in_storage_units(self, case: SampleCase) -> None:
        """One chunk per storage unit: every block is read into a (strided) slot of the result."""
        with _open(case, self.reader_cls, chunk_bytes=1) as reader:
            eager = reader.data
            lazy = reader.dask_data
            whole = lazy.compute()
            _assert_pixels_equal(whole, eager, "whole compute, one chunk per storage unit")
            block_wise = lazy.compute(optimize_graph=False)  # dask's own read-then-join plan
            _assert_pixels_equal(block_wise, eager, "block-wise compute")
            whole[...] = 0
            _assert_pixels_equal(lazy.compute(), eager, "a second compute after changing the first result")

    def test_selections_lazy_equal_eager_equal_reference(self, case: SampleCase) -> None:
        ref = case.expected.reference_array()
        with _open(case, self.reader_cls) as reader:
            t, c, z = reader.dims.T - 1, reader.dims.C - 1, reader.dims.Z // 2
            s = "S" if "S" in reader.dims.order else ""
            selections: list[tuple[str, dict[str, Any], Any]] = [
                ("ZYX" + s, {"T": t, "C": c}, (t, c, slice(None))),
                ("CYX" + s, {"T": 0, "Z": z}, (0, slice(None), z)),
                ("TCZYX" + s, {"C": [0, c]}, (slice(None), [0, c])),
                ("YX" + s, {"T": t, "C": 0, "Z": z, "Y": slice(1, None, 2)}, (t, 0, z, slice(1, None, 2))),
            ]
            for order, sel, ref_index in selections:
                eager = reader.get_image_data(order, **sel)
                lazy = reader.get_image_dask_data(order, **sel)
                assert lazy.shape == eager.shape, f"{order} {sel}: lazy shape {lazy.shape} != {eager.shape}"
                _assert_pixels_equal(np.asarray(lazy.compute()), eager, f"lazy vs eager {order} {sel}")
                if ref is not None:
                    expected = ref
                    for d, idx in enumerate(ref_index):
                        if isinstance(idx, list):
                            expected = np.take(expected, idx, axis=d)
                    expected = expected[
                        tuple(i if not isinstance(i, list) else slice(None) for i in ref_index)
                    ]
                    _assert_pixels_equal(eager, expected, f"reference {order} {sel}")

    def test_chunks_are_whole_storage_units(self, case: SampleCase) -> None:
        with _open(case, self.reader_cls) as reader:
            source = reader.image().source
            chunks = reader.dask_data.chunks
            for d, (dim_chunks, unit, size) in enumerate(
                zip(chunks, source.storage_chunks, source.shape, strict=True)
            ):
                for c in dim_chunks[:-1]:
                    assert c % unit == 0, f"dim {d}: chunk {c} is not a multiple of storage unit {unit}"
                assert sum(dim_chunks) == size

    def test_concurrent_reads_from_threads(self, case: SampleCase) -> None:
        with _open(case, self.reader_cls) as reader:
            expected = reader.data
            results: dict[int, np.ndarray] = {}
            errors: list[BaseException] = []
            dims = reader.dims

            def work(i: int) -> None:
                try:
                    t, c, z = i % dims.T, (i // dims.T) % dims.C, (i // (dims.T * dims.C)) % dims.Z
                    results[i] = reader.get_image_data(
                        "YX" + ("S" if "S" in dims.order else ""), T=t, C=c, Z=z
                    )
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert not errors, errors
            for i, plane in results.items():
                t, c, z = i % dims.T, (i // dims.T) % dims.C, (i // (dims.T * dims.C)) % dims.Z
                np.testing.assert_array_equal(plane, expected[t, c, z])

    # ----------------------------------------------------- pickling, distribution
    def test_pickle_round_trip(self, case: SampleCase) -> None:
        with _open(case, self.reader_cls) as reader:
            clone = pickle.loads(pickle.dumps(reader))
            try:
                assert type(clone) is type(reader)
                assert clone.current_scene_index == reader.current_scene_index
                assert clone.current_resolution_level == reader.current_resolution_level
                assert clone.shape == reader.shape
                lazy = pickle.loads(pickle.dumps(reader.xarray_dask_data))
                np.testing.assert_array_equal(lazy.values, reader.data)
                np.testing.assert_array_equal(clone.data, reader.data)
                assert list(clone.xarray_dask_data.coords) == list(reader.xarray_dask_data.coords)
            finally:
                clone.close()

    def test_compute_on_distributed_cluster(self, case: SampleCase, dask_client: Any) -> None:
        with _open(case, self.reader_cls) as reader:
            expected = reader.data
            lazy = reader.dask_data
            result = dask_client.compute(lazy).result()
            np.testing.assert_array_equal(result, expected)
            clone_future = dask_client.submit(lambda r: r.get_image_data(), reader)
            np.testing.assert_array_equal(clone_future.result(), expected)

    # --------------------------------------------------------------- file handles
    def test_xarray_engine_and_everyday_operations(self, case: SampleCase, tmp_path: Path) -> None:
        """The xarray engine gives the view; sel / interp / coarsen / resample / netCDF / zarr work on it.

        One test for both: building the sample is most of the cost.
        """
        import xarray as xr

        from .xarray_ops import check_everyday_operations

        with _open(case, self.reader_cls) as reader:
            view = reader.xarray_dask_data
            with xr.open_dataarray(
                case.path,
                engine="scitiff_readers",
                scene=case.scene,
                level=case.level,
                reader=self.reader_name,
                reader_options=dict(case.options),
                chunks={},
            ) as got:
                assert got.name == reader.current_scene
                xr.testing.assert_identical(got.rename(view.name), view)
                assert got.chunks == view.chunks, f"{got.chunks} != {view.chunks}"
            check_everyday_operations(view, case.expected.reference_array(), tmp_path)

    def test_no_handle_left_open_after_close(self, case: SampleCase) -> None:
        before = _handles_before(case)
        reader = _open(case, self.reader_cls)
        _ = reader.data
        _ = reader.get_image_dask_data("YX" + ("S" if "S" in reader.dims.order else "")).compute()
        reader.close()
        assert open_handles_under(case.path) == before

    def test_no_handle_left_open_after_context_manager(self, case: SampleCase) -> None:
        before = _handles_before(case)
        with _open(case, self.reader_cls) as reader:
            _ = reader.get_image_data()
        assert open_handles_under(case.path) == before

    def test_no_handle_kept_between_calls_without_keep_handles(self, case: SampleCase) -> None:
        # bioio's guarantee, offered by the keep_handles=False option: nothing stays open
        # after opening, after an eager read or after a lazy compute, and pixels are unchanged.
        before = _handles_before(case)
        reader = _open(case, self.reader_cls, keep_handles=False)
        assert open_handles_under(case.path) == before
        order = "YX" + ("S" if "S" in reader.dims.order else "")
        plane = reader.get_image_data(order)
        assert open_handles_under(case.path) == before
        lazy = reader.get_image_dask_data(order).compute()
        assert open_handles_under(case.path) == before
        with _open(case, self.reader_cls) as kept:
            _assert_pixels_equal(plane, kept.get_image_data(order), "keep_handles=False eager plane")
            _assert_pixels_equal(lazy, kept.get_image_data(order), "keep_handles=False lazy plane")

    def test_repr_names_reader_and_path(self, case: SampleCase) -> None:
        with _open(case, self.reader_cls) as reader:
            text = repr(reader)
            assert self.reader_name in text
            assert os.path.abspath(os.fspath(case.path)) in text

    # ---------------------------------------------------------------- remote
    @staticmethod
    def _served(case: SampleCase) -> tuple[Path, str]:
        """The folder to serve (two levels up: dataset folder names are scene names) and the relative URL."""
        path = Path(os.path.abspath(case.path))
        root = path.parent.parent
        return root, path.relative_to(root).as_posix()

    def _remote(self, case: SampleCase, server: Any, **extra: Any) -> Reader:
        reader = self.reader_cls(server.url(self._served(case)[1]), **{**dict(case.options), **extra})
        reader.set_scene(case.scene)
        reader.set_resolution_level(case.level)
        return reader

    def test_remote_read_equals_local(self, case: SampleCase) -> None:
        """Over a range-capable HTTP server on loopback: scenes, dims, pixels, coords, metadata as local."""
        pytest.importorskip("aiohttp")
        from .httpserver import RangeServer

        root, rel = self._served(case)
        if not case.remote:
            with RangeServer(root) as server, pytest.raises(UnsupportedFormatError, match="URL"):
                self._remote(case, server)
            return
        with RangeServer(root) as server, _open(case, self.reader_cls) as local:
            with self._remote(case, server) as remote:
                assert remote.scenes == local.scenes
                assert remote.dims == local.dims
                assert remote.dtype == local.dtype
                assert remote.channel_names == local.channel_names
                assert remote.physical_pixel_sizes == local.physical_pixel_sizes
                for scene in range(min(len(local.scenes), 3)):
                    local.set_scene(scene)
                    remote.set_scene(scene)
                    want = local.xarray_dask_data
                    got = remote.xarray_dask_data
                    assert got.dims == want.dims
                    for name in want.coords:
                        np.testing.assert_array_equal(
                            got.coords[name].values, want.coords[name].values, err_msg=f"coordinate {name}"
                        )
                        assert got.coords[name].attrs == want.coords[name].attrs, f"attrs of {name}"
                    _assert_pixels_equal(got.values, want.values, f"remote scene {scene}")
                # Equal but for where the dataset is (some metadata names its own path).
                assert _comparable(remote.metadata, server.base_url) == _comparable(local.metadata, str(root))
            if case.auto_select:
                with Reader(server.url(rel), **dict(case.options)) as chosen:
                    assert chosen.reader_name == self.reader_name

    def test_remote_reader_pickles_and_computes_on_cluster(self, case: SampleCase, dask_client: Any) -> None:
        """A reader of a URL and its dask graph pickle and compute in worker processes."""
        pytest.importorskip("aiohttp")
        if not case.remote:
            pytest.skip(
                "the sample is not readable from a URL (test_remote_read_equals_local checks the refusal)"
            )
        # The local rule computes every sample on the cluster, and test_remote_read_equals_local
        # reads every sample from the URL: what this adds (pickling a URL reader into a worker
        # process) does not depend on the layout, so once per reader per session.
        if self.reader_name in _REMOTE_CLUSTER_CHECKED:
            pytest.skip(f"checked on an earlier sample of {self.reader_name!r} in this session")
        _REMOTE_CLUSTER_CHECKED.add(self.reader_name)
        from .httpserver import RangeServer

        with RangeServer(self._served(case)[0]) as server, self._remote(case, server) as remote:
            expected = remote.data
            np.testing.assert_array_equal(dask_client.compute(remote.dask_data).result(), expected)
            clone = dask_client.submit(lambda r: r.get_image_data(), remote)
            np.testing.assert_array_equal(clone.result(), expected)

    def test_foreign_file_is_unsupported_through_dispatch(self, tmp_path: Path) -> None:
        path = tmp_path / "foreign.txt"
        path.write_text("not an image")
        with pytest.raises(UnsupportedFormatError, match=self.reader_name):
            Reader(path)
