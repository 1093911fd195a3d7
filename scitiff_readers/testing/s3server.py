"""An S3 server on loopback (moto in server mode) with a bucket, for tests that read ``s3://`` URLs.

Examples
--------
>>> with S3Server() as s3:  # doctest: +SKIP
...     url = s3.upload(local_path, "prefix")
...     Reader(url, storage_options=s3.options)
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

__all__ = ["BUCKET", "S3Server"]

BUCKET = "scitiff-readers-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """moto's threaded S3 server on 127.0.0.1 with the bucket :data:`BUCKET` (needs ``moto[server]``, ``boto3``)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.client: Any = None

    @property
    def options(self) -> dict[str, Any]:
        """The ``storage_options`` that reach this server through s3fs."""
        return {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
        }

    def __enter__(self) -> Self:
        import importlib

        boto3: Any = importlib.import_module("boto3")  # untyped (no stubs)
        self._server.start()
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        self.client.create_bucket(Bucket=BUCKET)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()

    def upload(self, local: Path, prefix: str) -> str:
        """Upload a file or a folder (with everything in it) under ``prefix``; its ``s3://`` URL."""
        if local.is_file():
            self.client.upload_file(str(local), BUCKET, f"{prefix}/{local.name}")
        else:
            for root, _, files in os.walk(local):
                for name in files:
                    full = os.path.join(root, name)
                    key = f"{prefix}/{local.name}/{os.path.relpath(full, local).replace(os.sep, '/')}"
                    self.client.upload_file(full, BUCKET, key)
        return f"s3://{BUCKET}/{prefix}/{local.name}"
