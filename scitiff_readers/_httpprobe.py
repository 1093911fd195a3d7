"""One request to learn an HTTP file's size and read its first bytes.

fsspec's HTTP ``info`` sends a ``HEAD`` and, when that fails (a missing file), a
``GET`` too; reading the file's header then costs another request. Opening a
dataset probes many names (reader selection looks for ``zarr.json``, ``.zattrs``,
``NDTiff.index`` ... and reads the ones present), so :func:`probe` does both in one
ranged ``GET``: the status says whether the file exists, ``Content-Range`` (or
``Content-Length``) gives its size, and the body is its first block, kept as the
first read-ahead block (see :class:`scitiff_readers._byteaccess.RemoteFile`). At most
``nbytes`` are read even from a server that ignores ``Range``.

It uses the fsspec file system's own aiohttp session (its timeouts, headers and
authentication) and event loop.
"""

from __future__ import annotations

from typing import Any

__all__ = ["probe"]


class _NotFound(FileNotFoundError):
    """The server answered 404 / 410."""


async def _probe(fs: Any, url: str, nbytes: int) -> tuple[dict[str, Any], bytes]:
    session = await fs.set_session()
    kwargs = dict(fs.kwargs)
    headers = dict(kwargs.pop("headers", None) or {})
    headers["Range"] = f"bytes=0-{nbytes - 1}"
    headers["Accept-Encoding"] = "identity"  # sizes of the bytes as stored
    allow_redirects = kwargs.pop("allow_redirects", True)
    async with session.get(
        fs.encode_url(url), headers=headers, allow_redirects=allow_redirects, **kwargs
    ) as r:
        if r.status in (404, 410):
            raise _NotFound(2, "No such file or directory (remote)", url)
        if r.status == 416:  # an empty file: no byte 0
            return {"name": url, "size": 0, "type": "file"}, b""
        r.raise_for_status()
        info: dict[str, Any] = {"name": url, "type": "file", "url": str(r.url)}
        if "Content-Type" in r.headers:
            info["mimetype"] = r.headers["Content-Type"].partition(";")[0]
        for field in ("ETag", "Content-MD5", "Digest", "Last-Modified"):
            if r.headers.get(field):
                info[field] = r.headers[field]
        encoded = r.headers.get("Content-Encoding", "identity") not in ("identity", "")
        if r.status == 206 and "/" in r.headers.get("Content-Range", ""):
            total = r.headers["Content-Range"].rsplit("/", 1)[1]
            info["size"] = int(total) if total.isdigit() else None
        elif r.status == 200 and "Content-Length" in r.headers and not encoded:
            info["size"] = int(r.headers["Content-Length"])  # the server sends the whole file
        else:
            info["size"] = None
        body = await r.content.read(nbytes)
        if encoded or info["size"] is None:
            body = b""  # not the stored bytes, or their place unknown: keep nothing
        return info, body


def probe(fs: Any, url: str, nbytes: int) -> tuple[dict[str, Any], bytes]:
    """``(info, first bytes)`` of ``url`` in one ranged ``GET`` through fsspec's HTTP file system ``fs``.

    ``info`` has fsspec's keys (``size``, ``type``, ``mimetype``, ``ETag`` ...);
    the bytes are at most ``nbytes`` from offset 0 (empty when they are not the
    stored bytes). A missing file raises :class:`FileNotFoundError`; other failures
    raise what aiohttp raises (the caller types them).
    """
    from fsspec.asyn import sync

    return sync(fs.loop, _probe, fs, url, nbytes)  # type: ignore[no-any-return]  # fsspec's sync is untyped; _probe returns the annotated tuple
