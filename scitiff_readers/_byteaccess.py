"""Where a dataset's bytes are, and how to read ranges of them: local files and any fsspec URL.

Every backend reads files through this module, so a path may be a local file, any
URL an installed fsspec implementation serves (``http(s)://``, ``s3://``,
``gs://``, ``memory://`` ...) or an ``fsspec.core.OpenFile``:

* :func:`as_location` turns what the user passed into a :class:`~pathlib.Path`
  (local, including ``file://`` URLs) or a :class:`RemotePath`, a small pathlib-like
  object (``name``, ``parent``, ``/``, ``exists``, ``stat``, ``open``) that keeps
  the URL and its ``storage_options``. Secrets among the options (keys, tokens,
  passwords) and in the URL (``user:password@``, query strings) never appear in its
  ``str``/``repr`` nor in error messages, and are dropped when it is pickled: a
  worker re-creates the file system from its environment (as fsspec does).
* :func:`open_bytes` gives a :class:`ByteSource` for a location:
  :class:`scitiff_readers.backend.SharedFile` for a local file (``pread`` and memory
  maps where the OS has them, a portable positioned read elsewhere) or
  :class:`RemoteFile`, which reads through fsspec: several ranges at once are merged
  and fetched together (``cat_ranges``, concurrent on async file systems), small
  reads come from a read-ahead block cache (TIFF headers and IFD chains cost one
  request per 64 KiB, not one per tag) and nothing ever downloads a whole file.
* :func:`file_argument` is what to hand a library that opens files itself
  (tifffile): a path string, or a seekable binary file object reading through the
  same :class:`RemoteFile`.

Network failures become :class:`RemoteAccessError` naming the URL; a protocol with
no installed implementation becomes :class:`~scitiff_readers.errors.MissingDependencyError`
naming the package to install.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast, overload
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .errors import CorruptFileError, MissingDependencyError, RemoteAccessError, ScitiffReadersError

if TYPE_CHECKING:
    from ._files import SharedFile

__all__ = [
    "ByteSource",
    "RemoteAccessError",
    "RemoteFile",
    "RemotePath",
    "as_location",
    "file_argument",
    "is_remote",
    "is_url",
    "location_size",
    "open_bytes",
    "positioned_read",
    "positioned_readinto",
    "read_head",
    "redact",
]

#: Size of one read-ahead block of a remote file (headers, IFD chains, small tags).
BLOCK_SIZE = 64 * 2**10
#: Blocks kept per remote file (LRU).
MAX_BLOCKS = 64
#: Ranges closer than this are fetched as one request.
MERGE_GAP = 16 * 2**10
#: Seconds a remote "not found" is remembered (reader selection probes the same absent names).
MISSING_TTL = 2.0
#: Seconds before a stalled connection or read fails (HTTP), unless the user sets a timeout.
DEFAULT_TIMEOUT = 60.0

# Packages implementing the common fsspec protocols, for the "install ..." hint.
_PROTOCOL_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "http": "aiohttp",
    "https": "aiohttp",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "adl": "adlfs",
    "sftp": "paramiko",
    "ssh": "paramiko",
    "hf": "huggingface_hub",
    "webdav": "webdav4",
    "oci": "ocifs",
    "gdrive": "gdrivefs",
    "dropbox": "dropboxdrivefs",
}
_SECRET_KEY = re.compile(
    r"(key|secret|token|passw|credential|auth|session|signature|cookie|sas)", re.IGNORECASE
)
_URL_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")


def is_url(path: Any) -> bool:
    """Whether ``path`` is a string of the form ``protocol://...``."""
    return isinstance(path, str) and _URL_RE.match(path) is not None


def redact(url: str) -> str:
    """``url`` without a password (``user:***@``) and without its query string (``?…``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0]
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}:***@{host}" if ":" in user else f"***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(
        (parts.scheme, f"{user.split(':', 1)[0]}@{host}", parts.path, parts.query, parts.fragment)
    )


def _public_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` without secrets (recursively): what may be shown and pickled."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if _SECRET_KEY.search(str(key)):
            continue
        out[key] = _public_options(value) if isinstance(value, Mapping) else value
    return out


def _with_default_timeout(protocol: str, options: dict[str, Any]) -> dict[str, Any]:
    """HTTP: a connect / read timeout unless the user set one (aiohttp's default waits 5 minutes)."""
    if protocol not in ("http", "https"):
        return options
    client = dict(options.get("client_kwargs") or {})
    if "timeout" not in client:
        try:
            import aiohttp
        except ImportError:
            return options
        client["timeout"] = aiohttp.ClientTimeout(
            total=None, sock_connect=DEFAULT_TIMEOUT, sock_read=DEFAULT_TIMEOUT
        )
        options = {**options, "client_kwargs": client}
    return options


def _filesystem(protocol: str, options: Mapping[str, Any], url: str) -> Any:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - fsspec is a core dependency
        raise MissingDependencyError(f"{redact(url)}: reading URLs needs fsspec: pip install fsspec") from exc
    from ._fileobjects import PROTOCOL, FileObjectError

    if protocol == PROTOCOL:
        # A file object's location comes with its file system; without it (unpickled
        # in another process) the object is out of reach.
        raise FileObjectError(
            f"{url}: this location is a file object of another process; readers of "
            "file objects cannot be sent to other processes (open a path or URL instead)"
        )
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError) as exc:
        package = _PROTOCOL_PACKAGES.get(protocol)
        hint = f"pip install {package}" if package else f"install the fsspec implementation of {protocol!r}"
        raise MissingDependencyError(
            f"{redact(url)}: no installed file system serves {protocol}:// URLs; {hint} ({exc})"
        ) from None
    try:
        return cls(**_with_default_timeout(protocol, dict(options)))
    except ImportError as exc:
        package = _PROTOCOL_PACKAGES.get(protocol, str(exc.name or "the missing package"))
        raise MissingDependencyError(
            f"{redact(url)}: the {protocol}:// file system needs {package}: pip install {package}"
        ) from None
    except TypeError as exc:
        raise TypeError(f"{redact(url)}: invalid storage_options for {protocol}:// ({exc})") from None


def _wrap_error(exc: BaseException, url: str, what: str) -> BaseException:
    """A typed error naming the (redacted) URL, for an exception raised by fsspec."""
    shown = redact(url)
    if isinstance(exc, ScitiffReadersError):
        return exc
    cause = exc.__cause__ or exc.__context__
    if (
        isinstance(exc, FileNotFoundError)
        and cause is not None
        and getattr(cause, "status", None) not in (404, 410)
    ):
        # fsspec's HTTP file system reports any failure to get a size (timeouts, refused
        # connections) as "not found": name the real cause.
        return RemoteAccessError(f"{shown}: {what} failed: {type(cause).__name__}: {_scrub(str(cause), url)}")
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundError(2, "No such file or directory (remote)", shown)
    if isinstance(exc, PermissionError):
        return PermissionError(13, f"Access denied while {what}", shown)
    return RemoteAccessError(f"{shown}: {what} failed: {type(exc).__name__}: {_scrub(str(exc), url)}")


def _scrub(message: str, url: str) -> str:
    return message.replace(url, redact(url)) if url != redact(url) else message


class RemotePath:
    """A file or folder behind an fsspec URL, with the small pathlib API the backends use.

    Parameters
    ----------
    url
        ``protocol://...`` as fsspec understands it.
    storage_options
        Keyword arguments of the fsspec file system (credentials, endpoint, ...).
    fs
        An fsspec file system to use instead of building one (from an ``OpenFile``).
    """

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None, *, fs: Any = None) -> None:
        match = _URL_RE.match(url)
        if match is None:
            raise ValueError(f"not a URL: {url!r}")
        self.protocol = match.group(1).lower()
        self.url = url
        self._options = dict(storage_options or {})
        self._fs = fs

    # -- the file system, built lazily (and again after unpickling) ----------------
    @property
    def fs(self) -> Any:
        """The fsspec file system serving this URL."""
        if self._fs is None:
            self._fs = _filesystem(self.protocol, self._options, self.url)
        return self._fs

    @property
    def fs_path(self) -> str:
        """The path as the file system names it (``bucket/key`` for S3, the URL for HTTP)."""
        return str(self.fs._strip_protocol(self.url))

    @property
    def storage_options(self) -> dict[str, Any]:
        """The file system options without secrets."""
        return _public_options(self._options)

    @property
    def options_with_secrets(self) -> dict[str, Any]:
        """All file system options, secrets included: for building a file system or store, never to show."""
        return dict(self._options)

    def __getstate__(self) -> dict[str, Any]:
        # Secrets stay in this process; a worker finds its own credentials (environment,
        # config files, instance roles) as fsspec implementations do.
        return {"url": _without_password(self.url), "options": _public_options(self._options)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["url"], state["options"])

    # -- pure path operations ---------------------------------------------------
    def _split(self) -> tuple[str, str]:
        base = self.url.split("?", 1)[0].rstrip("/")
        head, _, tail = base.rpartition("/")
        return head, tail

    @property
    def name(self) -> str:
        """The last component of the path."""
        return self._split()[1]

    @property
    def stem(self) -> str:
        """:attr:`name` without :attr:`suffix`."""
        name, suffix = self.name, self.suffix
        return name[: len(name) - len(suffix)] if suffix else name

    @property
    def suffix(self) -> str:
        """The file suffix of :attr:`name` (``".tif"``), or ``""``."""
        name = self.name
        dot = name.rfind(".")
        return name[dot:] if 0 < dot < len(name) - 1 else ""

    @property
    def parent(self) -> RemotePath:
        """The containing folder."""
        head, _ = self._split()
        if head.endswith((":/", ":")):  # the root of the URL
            return self
        return self._child(head)

    def _child(self, url: str) -> RemotePath:
        return RemotePath(url, self._options, fs=self._fs)

    def __truediv__(self, other: str | os.PathLike[str]) -> RemotePath:
        part = os.fspath(other).replace("\\", "/").strip("/")
        base = self.url.split("?", 1)[0].rstrip("/")
        return self._child(f"{base}/{part}" if part else base)

    def joinpath(self, *parts: str) -> RemotePath:
        """``self / part / ...``."""
        out = self
        for p in parts:
            out = out / p
        return out

    def with_name(self, name: str) -> RemotePath:
        """The path with its last component replaced."""
        return self.parent / name

    def relative_to(self, other: RemotePath) -> PurePosixPath:
        """The path relative to ``other`` (one of its parents)."""
        base = other.url.split("?", 1)[0].rstrip("/") + "/"
        mine = self.url.split("?", 1)[0].rstrip("/")
        if not mine.startswith(base):
            raise ValueError(f"{self} is not inside {other}")
        return PurePosixPath(mine[len(base) :])

    def expanduser(self) -> RemotePath:
        """The same path (URLs have no ``~``)."""
        return self

    def resolve(self) -> RemotePath:
        """The same path (URLs are absolute)."""
        return self

    absolute = resolve

    def __str__(self) -> str:
        return redact(self.url)

    def __repr__(self) -> str:
        opts = self.storage_options
        return f"RemotePath({redact(self.url)!r}" + (f", storage_options={opts!r})" if opts else ")")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __lt__(self, other: RemotePath) -> bool:
        return self.url < other.url

    def __hash__(self) -> int:
        return hash(("RemotePath", self.url))

    # -- file system queries ------------------------------------------------------
    def _call(self, what: str, func: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.fs, func)(self.fs_path, *args, **kwargs)
        except (MissingDependencyError, TypeError):
            raise
        except Exception as exc:  # noqa: BLE001 - every fsspec / network failure is typed here
            raise _wrap_error(exc, self.url, what) from None

    def info(self) -> dict[str, Any]:
        """Fsspec's ``info`` of the path (cached per process for files)."""
        cached = _infos.get(self.url)
        if cached is not None:
            return cached
        missing = _missing.get(self.url)
        if missing is not None and time.monotonic() - missing < MISSING_TTL:
            raise FileNotFoundError(2, "No such file or directory (remote)", str(self))
        try:
            if self._http:
                info = self._probe()
            else:
                info = dict(self._call("getting the file's size", "info"))
        except FileNotFoundError:
            # Selecting a reader probes the same absent names (zarr.json, .zattrs, NDTiff.index)
            # several times; each probe costs a request or two.
            _missing.put(self.url, time.monotonic())
            raise
        if info.get("type") == "file":
            _infos.put(self.url, info)
        return info

    def _probe(self) -> dict[str, Any]:
        """HTTP: size and first block in one request (:mod:`scitiff_readers._httpprobe`)."""
        from ._httpprobe import probe

        try:
            info, head = probe(self.fs, self.fs_path, BLOCK_SIZE)
        except (MissingDependencyError, TypeError):
            raise
        except Exception as exc:  # noqa: BLE001 - every aiohttp / network failure is typed here
            raise _wrap_error(exc, self.url, "getting the file's size") from None
        if info.get("size") is not None and (head or info["size"] == 0):
            found = _remote_files.get(self.url)
            if found is None or found.path._options != self._options:
                found = open_bytes(self)
            found.seed(int(info["size"]), head)
        return info

    @property
    def _http(self) -> bool:
        return self.protocol in ("http", "https")

    def exists(self) -> bool:
        """Whether the file or folder exists (network errors raise, as for a local disk)."""
        try:
            self.info()
            return True
        except FileNotFoundError:
            return False if self._http else bool(self._call("listing", "isdir"))

    def is_file(self) -> bool:
        """Whether this is an existing file."""
        try:
            info = self.info()
        except FileNotFoundError:
            return False
        return info.get("type", "file") == "file" and not self._listed_as_dir(info)

    def is_dir(self) -> bool:
        """Whether this is an existing folder (over HTTP: a URL the server answers with a listing)."""
        try:
            if self._http:
                # Never fsspec's HTTP isdir on a file: it GETs the whole URL to look for links.
                return self._listed_as_dir(self.info())
            return bool(self._call("listing", "isdir"))
        except (FileNotFoundError, RemoteAccessError):
            return False

    def _listed_as_dir(self, info: Mapping[str, Any]) -> bool:
        # An HTTP server answers a folder with an HTML listing (a "file" to fsspec).
        return self._http and info.get("mimetype") == "text/html"

    def stat(self) -> os.stat_result:
        """An ``os.stat_result`` with the mode (file or folder) and size; other fields 0."""
        import stat as stat_mod

        try:
            info = self.info()
        except FileNotFoundError:
            if not self.is_dir():
                raise
            info = {"type": "directory", "size": 0}
        is_dir = info.get("type") == "directory" or self._listed_as_dir(info)
        mode = (stat_mod.S_IFDIR | 0o555) if is_dir else (stat_mod.S_IFREG | 0o444)
        size = int(info.get("size") or 0)
        return os.stat_result((mode, 0, 0, 1, 0, 0, size, 0, 0, 0))

    def iterdir(self) -> Iterator[RemotePath]:
        """The entries of this folder (where the file system can list).

        A listing is reused for :data:`MISSING_TTL` seconds: opening a folder format
        lists the same folder several times (reader selection, then the open), and
        each listing is a request.
        """
        found = _listings.get(self.url)
        if found is not None and time.monotonic() - found[0] < MISSING_TTL:
            names = found[1]
        else:
            names = [
                str(entry).rstrip("/").rsplit("/", 1)[-1]
                for entry in self._call("listing", "ls", detail=False)
            ]
            _listings.put(self.url, (time.monotonic(), names))
        for name in names:
            yield self / name

    def read_bytes(self) -> bytes:
        """The whole file (for small files: indexes, metadata)."""
        return open_bytes(self).pread(0, open_bytes(self).size)

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The whole file decoded."""
        return self.read_bytes().decode(encoding, errors)

    def open(self, mode: str = "rb") -> io.RawIOBase:
        """A seekable binary file object reading through the shared :class:`RemoteFile`."""
        if mode != "rb":
            raise ValueError(f"{self}: remote files open read-only and binary ('rb'), not {mode!r}")
        return RangeStream(open_bytes(self))


Location = Path | RemotePath


def as_location(path: Any, storage_options: Mapping[str, Any] | None = None) -> Path:
    """A :class:`~pathlib.Path` (absolute, ``~`` expanded) or a :class:`RemotePath` for ``path``.

    ``path`` may be a path, a ``file://`` or other fsspec URL, an ``fsspec.core.OpenFile``
    or a :class:`RemotePath`. Typed as ``Path``: a :class:`RemotePath` offers the part of
    the ``Path`` API that backends use (``name``, ``parent``, ``/``, ``exists``,
    ``is_file``, ``is_dir``, ``stat``, ``read_bytes``, ``open``), so backend code
    handles both without a union type at every step.
    """
    return cast("Path", _as_location(path, storage_options))


#: The concrete :class:`~pathlib.Path` class of this platform (``PosixPath`` / ``WindowsPath``).
_PATH_TYPE = type(Path())


def _as_location(path: Any, storage_options: Mapping[str, Any] | None) -> Location:
    if isinstance(path, RemotePath):
        if storage_options:
            return RemotePath(path.url, {**path._options, **storage_options})
        return path
    if isinstance(path, Path):
        if type(path) is _PATH_TYPE and ".." not in str(path) and path.is_absolute():
            return path  # already what abspath makes of it (every selection's sniff passes one)
        return Path(os.path.abspath(path.expanduser()))
    if type(path) is str and not storage_options and not is_url(path):
        # The common argument, a local path string: one Path built, not two.
        return Path(os.path.abspath(os.path.expanduser(path) if path[:1] == "~" else path))
    if hasattr(path, "fs") and hasattr(path, "path") and (hasattr(path, "open") or hasattr(path, "read")):
        # An fsspec OpenFile, or a file fsspec opened (AbstractBufferedFile, LocalFileOpener):
        # read its URL through its file system (concurrent ranges), not through the object.
        fs = path.fs
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        if protocol in ("file", "local"):
            return Path(os.path.abspath(path.path))
        url = fs.unstrip_protocol(path.path)
        return RemotePath(url, dict(getattr(fs, "storage_options", {}) or {}), fs=fs)
    if isinstance(path, str) and is_url(path):
        protocol = _URL_RE.match(path).group(1).lower()  # type: ignore[union-attr]  # is_url(path) just matched the same pattern
        if protocol in ("file", "local"):
            from urllib.parse import unquote
            from urllib.request import url2pathname

            return Path(os.path.abspath(url2pathname(unquote(urlsplit(path).path))))
        known = _known_locations.get(path)
        if known is not None and not storage_options:
            return known
        return RemotePath(path, storage_options)
    if not isinstance(path, (str, bytes, os.PathLike)):
        from ._fileobjects import is_file_object, location_of

        if is_file_object(path):
            return location_of(path)
    if storage_options:
        raise TypeError(
            f"storage_options were given for the local path {os.fspath(path)!r}; they apply to URLs only"
        )
    return Path(os.path.abspath(Path(os.fspath(path)).expanduser()))


def is_remote(path: Any) -> bool:
    """Whether ``path`` is a :class:`RemotePath`."""
    return isinstance(path, RemotePath)


# --------------------------------------------------------------------------------- local
def positioned_read(fd: int, length: int, offset: int, lock: threading.Lock | None = None) -> bytes:
    """``length`` bytes at ``offset`` of descriptor ``fd`` (fewer at the end of the file).

    ``os.pread`` where the OS has it (no shared file position: any number of threads
    may read at once); elsewhere (Windows) ``lseek`` + ``read`` under ``lock``.
    """
    pread = getattr(os, "pread", None)  # looked up per call: tests hide it
    if pread is not None:
        data: bytes = pread(fd, length, offset)
        return data
    with lock if lock is not None else _global_seek_lock:
        os.lseek(fd, offset, os.SEEK_SET)
        chunks = []
        remaining = length
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 30))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


def positioned_readinto(fd: int, view: memoryview, offset: int, lock: threading.Lock | None = None) -> int:
    """Fill ``view`` with the bytes at ``offset``; return how many were read (less at the end)."""
    preadv = getattr(os, "preadv", None)
    length = len(view)
    done = 0
    if preadv is not None:
        while done < length:
            # preadv may return less than asked (signals, >2 GiB requests): continue.
            got = preadv(fd, [view[done : done + (1 << 30)]], offset + done)
            if got <= 0:
                break
            done += got
        return done
    with lock if lock is not None else _global_seek_lock:
        raw = io.FileIO(fd, "rb", closefd=False)
        raw.seek(offset)
        while done < length:
            got = raw.readinto(view[done : done + (1 << 30)])
            if not got:
                break
            done += got
    return done


_global_seek_lock = threading.Lock()


# -------------------------------------------------------------------------------- remote
class ByteSource(Protocol):
    """What backends read pixels and metadata through (local or remote)."""

    path: Any

    @property
    def size(self) -> int: ...

    @property
    def is_open(self) -> bool: ...

    @property
    def mappable(self) -> bool: ...

    def pread(self, offset: int, length: int) -> bytes: ...

    def readinto(self, offset: int, out: np.ndarray) -> None: ...

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]: ...

    def close(self) -> None: ...


class _Counter:
    """Requests and bytes this process fetched from remote files (for tests and benchmarks)."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        self._lock = threading.Lock()

    def add(self, requests: int, nbytes: int) -> None:
        with self._lock:
            self.requests += requests
            self.bytes += nbytes


#: Requests and bytes fetched by :class:`RemoteFile` in this process.
fetched = _Counter()


def merge_ranges(ranges: Sequence[tuple[int, int]], gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """Sorted ``(start, end)`` spans covering ``(offset, length)`` ranges, joining gaps below ``gap``."""
    spans = sorted((o, o + n) for o, n in ranges if n > 0)
    out: list[list[int]] = []
    for start, end in spans:
        if out and start - out[-1][1] <= gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


class RemoteFile:
    """Positioned reads of one remote file through fsspec, shared by all threads of a process.

    Small reads (at most :data:`BLOCK_SIZE`) fetch and keep the aligned 64 KiB blocks
    around them (read-ahead: consecutive IFDs and tags cost one request); larger ones
    fetch exactly their range. :meth:`read_ranges` merges nearby ranges and fetches
    them all in one ``cat_ranges`` call (concurrent requests on async file systems).
    """

    mappable = False

    def __init__(self, path: RemotePath) -> None:
        self.path = path
        self._size: int | None = None
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state["path"])

    @property
    def size(self) -> int:
        """Size of the file in bytes (one ``HEAD`` / ``info`` request, then cached)."""
        if self._size is None:
            self._size = int(self.path.info()["size"])
        return self._size

    @property
    def is_open(self) -> bool:
        """Remote files hold no descriptor: always ``False``."""
        return False

    def fileno(self) -> int:
        """Remote files have no descriptor."""
        raise io.UnsupportedOperation(f"{self.path}: a remote file has no descriptor")

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise CorruptFileError(
                f"{self.path}: a read of {length} bytes at offset {offset} goes beyond the end of the "
                f"file ({self.size} bytes); the file is truncated or its index is corrupt"
            )

    def _fetch(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of ``(start, end)`` spans, all requested together."""
        if not spans:
            return []
        fs, p = self.path.fs, self.path.fs_path
        try:
            if len(spans) == 1:
                data = [fs.cat_file(p, start=spans[0][0], end=spans[0][1])]
            else:
                data = fs.cat_ranges(
                    [p] * len(spans), [s for s, _ in spans], [e for _, e in spans], on_error="raise"
                )
        except Exception as exc:  # noqa: BLE001 - every fsspec / network failure is typed here
            raise _wrap_error(exc, self.path.url, "reading a byte range") from None
        for got, (start, end) in zip(data, spans, strict=True):
            if isinstance(got, BaseException):
                raise _wrap_error(got, self.path.url, "reading a byte range")
            if len(got) != end - start:
                raise CorruptFileError(
                    f"{self.path}: the server returned {len(got)} bytes for the range {start}-{end} "
                    "(it may not support range requests, or the file changed)"
                )
        fetched.add(len(spans), sum(len(d) for d in data))
        return list(data)

    def seed(self, size: int, head: bytes) -> None:
        """Take the size and the first bytes of the file, fetched by a probe of its location."""
        with self._lock:
            self._size = size
            whole = len(head) // BLOCK_SIZE
            if len(head) == size and len(head) % BLOCK_SIZE:
                whole += 1  # the last block of a small file is complete when shorter
            for b in range(whole):
                self._blocks[b] = head[b * BLOCK_SIZE : (b + 1) * BLOCK_SIZE]
                self._blocks.move_to_end(b)
            while len(self._blocks) > MAX_BLOCKS:
                self._blocks.popitem(last=False)

    def _small(self, offset: int, length: int) -> bytes:
        first, last = offset // BLOCK_SIZE, (offset + length - 1) // BLOCK_SIZE
        with self._lock:
            have = {b: self._blocks.get(b) for b in range(first, last + 1)}
        missing = [b for b, v in have.items() if v is None]
        if missing:
            start = missing[0] * BLOCK_SIZE
            end = min(self.size, (missing[-1] + 1) * BLOCK_SIZE)
            (data,) = self._fetch([(start, end)])
            with self._lock:
                for b in range(missing[0], missing[-1] + 1):
                    block = data[(b - missing[0]) * BLOCK_SIZE : (b - missing[0] + 1) * BLOCK_SIZE]
                    have[b] = block
                    self._blocks[b] = block
                    self._blocks.move_to_end(b)
                while len(self._blocks) > MAX_BLOCKS:
                    self._blocks.popitem(last=False)
        joined = b"".join(have[b] for b in range(first, last + 1))  # type: ignore[misc]  # every missing block was filled just above
        skip = offset - first * BLOCK_SIZE
        return joined[skip : skip + length]

    def pread(self, offset: int, length: int) -> bytes:
        """Read ``length`` bytes at ``offset``; raise :class:`CorruptFileError` if beyond the end."""
        self._check(offset, length)
        if length == 0:
            return b""
        if length <= BLOCK_SIZE:
            return self._small(offset, length)
        return self._fetch([(offset, offset + length)])[0]

    def read_at_most(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer at the end of the file)."""
        length = max(0, min(length, self.size - offset))
        return self.pread(offset, length) if length else b""

    def array(self, offset: int, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
        """A (writeable) array of contiguous pixels at ``offset`` (fetched, not mapped)."""
        out = np.empty(shape, dtype=dtype)
        self.readinto(offset, out)
        return out

    def readinto(self, offset: int, out: np.ndarray) -> None:
        """Fill the C-contiguous array ``out`` with the bytes at ``offset``."""
        data = self.pread(offset, out.nbytes)
        out.reshape(-1).view(np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The bytes of each ``(offset, length)``; nearby ranges merged, all fetched together."""
        for offset, length in ranges:
            self._check(offset, length)
        spans = merge_ranges(ranges)
        data = self._fetch(spans)
        starts = [s for s, _ in spans]
        out = []
        for offset, length in ranges:
            i = int(np.searchsorted(starts, offset, side="right")) - 1
            skip = offset - spans[i][0]
            out.append(data[i][skip : skip + length])
        return out

    def close(self) -> None:
        """Forget the read-ahead blocks."""
        with self._lock:
            self._blocks.clear()

    def __repr__(self) -> str:
        return f"RemoteFile({str(self.path)!r})"


class RangeStream(io.RawIOBase):
    """A seekable, read-only binary file object over a :class:`RemoteFile` (for tifffile)."""

    def __init__(self, source: RemoteFile) -> None:
        super().__init__()
        self._source = source
        self._pos = 0
        self.name = source.path.url
        self.mode = "rb"

    def readable(self) -> bool:
        """Always ``True``."""
        return True

    def seekable(self) -> bool:
        """Always ``True``."""
        return True

    def tell(self) -> int:
        """The current position."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (the file is not touched)."""
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        elif whence == io.SEEK_END:
            self._pos = self._source.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        return self._pos

    def readinto(self, buffer: Any) -> int:
        """Read up to ``len(buffer)`` bytes at the position."""
        view = memoryview(buffer).cast("B")
        data = self._source.read_at_most(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        """Read ``size`` bytes (all to the end if negative)."""
        if size is None or size < 0:
            size = self._source.size - self._pos
        data = self._source.read_at_most(self._pos, size)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        """The rest of the file."""
        return self.read(-1)


# One RemoteFile per URL and process: the backends' sniffs and the open share the
# read-ahead blocks, so selecting a reader and opening a remote TIFF cost a few requests.
_V = TypeVar("_V")


class _Lru(Generic[_V]):
    def __init__(self, size: int) -> None:
        self._items: OrderedDict[str, _V] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> _V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: _V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_remote_files: _Lru[RemoteFile] = _Lru(32)
_infos: _Lru[dict[str, Any]] = _Lru(1024)
_known_locations: _Lru[RemotePath] = _Lru(256)
_missing: _Lru[float] = _Lru(1024)  # when the URL was last found missing (time.monotonic)
_listings: _Lru[tuple[float, list[str]]] = _Lru(256)  # when a folder was listed, and its entry names


def forget_remote_state() -> None:
    """Drop the per-process remote caches (sizes, read-ahead blocks)."""
    _remote_files.clear()
    _infos.clear()
    _known_locations.clear()
    _missing.clear()
    _listings.clear()


@overload
def open_bytes(path: RemotePath) -> RemoteFile: ...
@overload
def open_bytes(path: str | os.PathLike[str]) -> SharedFile: ...
def open_bytes(path: RemotePath | str | os.PathLike[str]) -> RemoteFile | SharedFile:
    """A :class:`ByteSource` for ``path``: ``SharedFile`` for local files, :class:`RemoteFile` else."""
    if isinstance(path, RemotePath):
        _known_locations.put(path.url, path)
        found = _remote_files.get(path.url)
        if found is None or found.path._options != path._options:
            found = RemoteFile(path)
            _remote_files.put(path.url, found)
        return found
    from ._files import SharedFile

    return SharedFile(path)


def file_argument(path: Any) -> Any:
    """What to give a library that opens files itself: a path string, or a seekable file object."""
    if isinstance(path, RemotePath):
        return RangeStream(open_bytes(path))
    return os.fspath(path)


def location_size(path: Any) -> int | None:
    """Size of a file in bytes, ``None`` if it cannot be found."""
    try:
        if isinstance(path, RemotePath):
            return open_bytes(path).size
        return os.path.getsize(path)
    except (OSError, ValueError):
        return None


def read_head(path: Any, length: int) -> bytes:
    """Up to ``length`` first bytes of a file (``b""`` if it is not a readable regular file)."""
    try:
        if isinstance(path, RemotePath):
            source = open_bytes(path)
            return source.read_at_most(0, length)
        p = Path(path)
        if not p.is_file():
            return b""
        with open(p, "rb") as fh:
            return fh.read(length)
    except (OSError, ValueError):
        return b""


#: The POSIX-only calls the project uses where they exist (module, attribute).
POSIX_ONLY = (("os", "pread"), ("os", "preadv"), ("mmap", "MADV_WILLNEED"))


@contextmanager
def hidden_posix_calls() -> Iterator[None]:
    """Run the block as on an OS without the :data:`POSIX_ONLY` calls (Windows), for tests."""
    import importlib

    saved = []
    for module_name, name in POSIX_ONLY:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            saved.append((module, name, getattr(module, name)))
            delattr(module, name)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
