"""asv suite: writing and converting (OME-Zarr 0.5 / 0.4, OME-TIFF) with pyramid levels.

The source is the 2 GiB OME-TIFF of ``benchmarks/convert_bench.py`` (T=8, C=2, Z=64,
1024 x 1024 uint16), made once in ``$SCITIFF_READERS_BENCH_DATA``; the outputs go to
a temporary folder. ``peakmem_`` is the peak memory of the whole process.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from scitiff_readers import Reader
from scitiff_readers._benchmarking import benchmark_data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from convert_bench import make_source


class ConvertSuite:
    """``Reader(src).save(dst, levels=1)`` for each writer."""

    params = [["ome-zarr-0.5", "ome-zarr-0.5-sharded", "ome-zarr-0.4", "ome-tiff"]]
    param_names = ["output"]
    timeout = 1800
    number = 1
    repeat = 1

    def setup_cache(self) -> str:
        return str(make_source(benchmark_data_dir() / "convert-2gib.ome.tif"))

    def setup(self, src: str, output: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="scitiff-convert-bench-", dir=benchmark_data_dir()))

    def teardown(self, src: str, output: str) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _convert(self, src: str, output: str) -> None:
        options: dict[str, object] = {"levels": 1}
        if output == "ome-tiff":
            dst = self.folder / "out.ome.tif"
        else:
            dst = self.folder / "out.ome.zarr"
            options["version"] = "0.4" if output.endswith("0.4") else "0.5"
            if output.endswith("sharded"):
                options["shards"] = "auto"
        with Reader(src) as r:
            r.save(dst, **options)

    def time_convert(self, src: str, output: str) -> None:
        self._convert(src, output)

    def peakmem_convert(self, src: str, output: str) -> None:
        self._convert(src, output)
