"""asv suite: every installed plugin's benchmark files x {open, planes, full read, peak memory}.

Run from ``benchmarks/`` in an environment where the core and the plugins are
installed: ``asv run --python=same --quick`` (or ``asv run -E existing``). Files are
made once (``setup_cache``) in ``$SCITIFF_READERS_BENCH_DATA`` or ``benchmarks/data``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scitiff_readers import Reader
from scitiff_readers._benchmarking import benchmark_cases, benchmark_data_dir, plane_tcz

CASES = {case.name: case for case in benchmark_cases()}


class ReaderSuite:
    """Ours, per benchmark case."""

    params = [sorted(CASES)]
    param_names = ["case"]
    timeout = 600
    number = 1
    repeat = 3

    def setup_cache(self) -> dict[str, str]:
        folder = benchmark_data_dir()
        return {name: str(case.make(folder)) for name, case in CASES.items()}

    def setup(self, paths: dict[str, str], name: str) -> None:
        self.case = CASES[name]
        self.path = paths[name]
        self.options = dict(self.case.options)

    def _open(self) -> Reader:
        return Reader(self.path, reader=self.case.reader, **self.options)

    def time_open(self, paths: dict[str, str], name: str) -> None:
        with self._open() as r:
            _ = (r.dims, r.coords, r.channel_names, r.physical_pixel_sizes)

    def time_one_plane(self, paths: dict[str, str], name: str) -> None:
        with self._open() as r:
            r.get_image_data("YX" + ("S" if "S" in r.dims.order else ""), **self.case.plane)

    def time_planes_of_open_reader(self, paths: dict[str, str], name: str) -> None:
        """The first 50 planes one by one from one open reader (each plane read once)."""
        with self._open() as r:
            order = "YX" + ("S" if "S" in r.dims.order else "")
            _, c_size, z_size = r.shape[:3]
            for i in range(min(50, int(np.prod(r.shape[:3])))):
                t, c, z = plane_tcz(i, c_size, z_size)
                r.get_image_data(order, T=t, C=c, Z=z)

    def time_full_lazy_read(self, paths: dict[str, str], name: str) -> None:
        with self._open() as r:
            r.xarray_dask_data.compute()

    def time_full_eager_read(self, paths: dict[str, str], name: str) -> None:
        with self._open() as r:
            _ = r.data

    def peakmem_full_lazy_read(self, paths: dict[str, str], name: str) -> None:
        with self._open() as r:
            r.xarray_dask_data.compute()

    def track_graph_tasks(self, paths: dict[str, str], name: str) -> int:
        with self._open() as r:
            return len(r.dask_data.__dask_graph__())

    track_graph_tasks.unit = "tasks"  # type: ignore[attr-defined]


class ImportSuite:
    """Import and selection cost (targets: < 0.1 s over numpy + dask.array + xarray; < 5 ms)."""

    timeout = 120

    def timeraw_import_scitiff_readers(self) -> str:
        return "import scitiff_readers"

    def timeraw_import_dependencies(self) -> str:
        return "import numpy, dask.array, xarray"

    def setup(self) -> None:
        self.path = str(benchmark_data_dir() / "select-me.npy")
        np.save(self.path, np.zeros((2, 2), dtype=np.uint8))
        from scitiff_readers import list_readers

        list_readers()  # discovery is cached per process; time selection itself

    def time_select_reader(self) -> Any:
        from scitiff_readers import select_reader

        return select_reader(self.path)


class ColdStartSuite:
    """Fresh-process cost of the first open and the first plane (what a CLI call or a new worker pays).

    Each ``timeraw_`` program runs in a new interpreter (asv times the whole program,
    imports included). ``benchmarks/cold_start.py`` gives the same figures phase by
    phase, beside the peers of each case.
    """

    params = [sorted(CASES)]
    param_names = ["case"]
    timeout = 600

    def _spec(self, name: str) -> str:
        case = CASES[name]
        path = str(case.make(benchmark_data_dir()))
        return f"Reader({path!r}, reader={case.reader!r}, **{dict(case.options)!r})"

    def _plane(self, name: str, call: str, tail: str = "") -> str:
        plane = dict(CASES[name].plane)
        return (
            f"from scitiff_readers import Reader\nr = {self._spec(name)}\n"
            f"r.{call}('YX' + ('S' if 'S' in r.dims.order else ''), **{plane!r}){tail}\n"
        )

    def timeraw_open(self, name: str) -> str:
        return (
            f"from scitiff_readers import Reader\nr = {self._spec(name)}\n"
            "(r.dims, r.physical_pixel_sizes, r.channel_names)\n"
        )

    def timeraw_open_one_plane(self, name: str) -> str:
        return self._plane(name, "get_image_data")

    def timeraw_open_one_plane_dask(self, name: str) -> str:
        return self._plane(name, "get_image_dask_data", ".compute()")
