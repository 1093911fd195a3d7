"""A range-capable HTTP file server on loopback that counts requests and bytes, for tests and benchmarks.

Python's ``http.server`` ignores ``Range`` headers (every read would download the
whole file), so this one answers ``GET`` with ``Range: bytes=a-b`` by ``206 Partial
Content``, ``HEAD`` with the size, and folders with an HTML listing of links (which
fsspec's HTTP file system can list), the way static web servers and object stores do.

Examples
--------
>>> with RangeServer("/data") as server:  # doctest: +SKIP
...     url = server.url("image.ome.tif")
...     server.reset()
...     ...  # read url
...     server.requests, server.bytes_sent
"""

from __future__ import annotations

import html
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote, unquote, urlsplit

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["RangeServer"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as web servers set it (nginx's tcp_nodelay): headers and body go out
    # in two writes, and with Nagle's algorithm the body waits for the client's delayed
    # ACK of the headers, ~40 ms per response on loopback, which would make request
    # counts, not bytes, dominate every timing.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _target(self) -> Path | None:
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        root = self.server.root
        target = (root / rel).resolve()
        if target != root and root not in target.parents:
            return None
        return target

    def _send(self, status: int, headers: dict[str, str], body: bytes = b"", head: bool = False) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header(
            "Content-Length", str(len(body)) if not head else headers.get("X-Size", str(len(body)))
        )
        self.end_headers()
        if not head and body:
            self.wfile.write(body)
        self.server.count(len(body) if not head else 0)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        target = self._target()
        if target is None or not target.exists():
            self._send(404, {"Content-Type": "text/plain"}, b"not found", head)
            return
        if target.is_dir():
            base = self.path.split("?", 1)[0]
            if not base.endswith("/"):
                base += "/"
            links = "".join(
                f'<a href="{base}{quote(e.name)}{"/" if e.is_dir() else ""}">{html.escape(e.name)}</a>\n'
                for e in sorted(os.scandir(target), key=lambda e: e.name)
            )
            self._send(
                200, {"Content-Type": "text/html"}, f"<html><body>{links}</body></html>".encode(), head
            )
            return
        size = target.stat().st_size
        wanted = self.headers.get("Range")
        common = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": f'"{target.stat().st_mtime_ns}-{size}"',
        }
        if head:
            self._send(200, {**common, "X-Size": str(size)}, b"", head=True)
            return
        match = _RANGE.match(wanted or "")
        if match is None:
            with open(target, "rb") as fh:
                self._send(200, common, fh.read())
            return
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size
        else:
            start, end = int(first), min(size, int(last) + 1) if last else size
        if start >= size or start >= end:
            self._send(416, {"Content-Range": f"bytes */{size}"}, b"")
            return
        with open(target, "rb") as fh:
            fh.seek(start)
            body = fh.read(end - start)
        self._send(206, {**common, "Content-Range": f"bytes {start}-{end - 1}/{size}"}, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the connections of a client that opens
    # many at once (zarr fetches all chunks of a region concurrently): the dropped SYNs
    # are retried after 1 s. Web servers listen with a backlog of hundreds (nginx: 511).
    request_queue_size = 512

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.requests = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing a connection early (it had enough of a whole-file GET) is normal.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def count(self, nbytes: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_sent += nbytes


class RangeServer:
    """Serve the folder ``root`` over HTTP on 127.0.0.1 (a free port) in a background thread.

    Parameters
    ----------
    root
        The folder whose files and sub-folders are served.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._server = _Server(Path(root))
        self._thread = threading.Thread(target=self._server.serve_forever, name="RangeServer", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def url(self, relative: str | os.PathLike[str]) -> str:
        """The URL of a file or folder under ``root`` (given relative to it, or absolute inside it)."""
        p = Path(relative)
        if p.is_absolute():
            p = p.resolve().relative_to(self._server.root)
        return f"{self.base_url}/{quote(p.as_posix())}"

    @property
    def requests(self) -> int:
        """Requests answered since the start or the last :meth:`reset`."""
        return self._server.requests

    @property
    def bytes_sent(self) -> int:
        """Body bytes sent since the start or the last :meth:`reset`."""
        return self._server.bytes_sent

    def reset(self) -> None:
        """Set the request and byte counters to zero."""
        with self._server._lock:
            self._server.requests = 0
            self._server.bytes_sent = 0

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
