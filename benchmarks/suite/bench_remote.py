"""asv suite: remote reads over a range-capable HTTP server on loopback (see ``remote_side_by_side.py``).

Times ``open``, one plane and the full read of each case of
``benchmarks/remote_side_by_side.py`` through ``Reader(url)``, and tracks the
requests and bytes one plane costs (counted by the server).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import remote_side_by_side as remote

from scitiff_readers import Reader
from scitiff_readers._byteaccess import forget_remote_state
from scitiff_readers.testing.httpserver import RangeServer


class RemoteSuite:
    """Ours over loopback HTTP, per remote case."""

    params = [sorted(remote.CASES)]
    param_names = ["case"]
    timeout = 600
    number = 1
    repeat = 3

    def setup_cache(self) -> dict[str, str]:
        return {name: str(remote.make(name)) for name in remote.CASES}

    def setup(self, paths: dict[str, str], name: str) -> None:
        path = Path(paths[name])
        self.server = RangeServer(path.parent)
        self.url = self.server.url(path.name)
        self.plane = remote.CASES[name]["plane"]
        forget_remote_state()

    def teardown(self, paths: dict[str, str], name: str) -> None:
        self.server.close()

    def time_open(self, paths: dict[str, str], name: str) -> None:
        with Reader(self.url) as r:
            _ = r.dims

    def time_one_plane(self, paths: dict[str, str], name: str) -> None:
        with Reader(self.url) as r:
            r.get_image_data("YX", **self.plane)

    def time_full_read(self, paths: dict[str, str], name: str) -> None:
        with Reader(self.url) as r:
            _ = r.data

    def track_open_requests(self, paths: dict[str, str], name: str) -> Any:
        self.server.reset()
        with Reader(self.url) as r:
            _ = r.dims
        return self.server.requests

    track_open_requests.unit = "requests"  # type: ignore[attr-defined]

    def track_one_plane_requests(self, paths: dict[str, str], name: str) -> Any:
        with Reader(self.url) as r:
            self.server.reset()
            r.get_image_data("YX", **self.plane)
            return self.server.requests

    track_one_plane_requests.unit = "requests"  # type: ignore[attr-defined]

    def track_one_plane_mib(self, paths: dict[str, str], name: str) -> Any:
        with Reader(self.url) as r:
            self.server.reset()
            r.get_image_data("YX", **self.plane)
            return self.server.bytes_sent / 2**20

    track_one_plane_mib.unit = "MiB"  # type: ignore[attr-defined]
