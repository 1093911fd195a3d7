r"""What each installed plugin declares, remembered between processes.

Choosing a reader needs every plugin's ``suffixes`` and ``priority`` to rank them,
but only the plugins actually asked ``can_open`` need to be imported. Without a
memory of those declarations, the first ``Reader(path)`` of every process reads the
entry points of every installed distribution and imports every plugin (together
about 60-150 ms of a 2-core machine's cold start) to then use one of them.

The declarations are stored as JSON in the user's cache folder (``$SCITIFF_READERS_CACHE_DIR``,
else ``$XDG_CACHE_HOME/scitiff_readers`` or ``~/.cache/scitiff_readers``; on Windows
``%LOCALAPPDATA%\scitiff_readers``), one file per interpreter, entry-point group and search path.
A stored list is used only while nothing it was made from changed:

- the modification times of every ``sys.path`` folder (installing, upgrading or
  removing any distribution adds or removes a ``*.dist-info`` folder there, which
  changes its folder's time), except the working folder that ``python -c`` and
  ``python -m`` put first;
- the file and modification time of each plugin's module (so editing a plugin in a
  development checkout re-reads it), and of the core package itself.

Anything unexpected (no cache folder, a read-only home, a corrupt or foreign file)
falls back to a full scan; ``SCITIFF_READERS_PLUGIN_CACHE=0`` turns the memory off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Declaration", "cache_enabled", "load_declarations", "module_stamp", "store_declarations"]

_FORMAT = 1


@dataclass(frozen=True)
class Declaration:
    """One entry point and what its class declares, without importing it."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    suffixes: tuple[str, ...]
    priority: int
    module_file: str | None
    module_mtime: int | None


def cache_enabled() -> bool:
    """Whether declarations may be remembered (``SCITIFF_READERS_PLUGIN_CACHE=0`` disables)."""
    return os.environ.get("SCITIFF_READERS_PLUGIN_CACHE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def _cache_dir() -> Path:
    explicit = os.environ.get("SCITIFF_READERS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "scitiff_readers"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "scitiff_readers"


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def module_stamp(module_name: str) -> tuple[str | None, int | None]:
    """The file of an imported module and its modification time."""
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    return (file, _mtime(file)) if file else (None, None)


def _search_folders() -> list[str]:
    """The ``sys.path`` folders plugins are found in."""
    cwd = os.getcwd()
    folders = []
    for i, entry in enumerate(sys.path):
        folder = entry or cwd
        if i == 0 and folder == cwd:
            # ``python -c`` / ``-m`` / the REPL put the working folder first: files created
            # there (outputs, logs) must not invalidate what the installed plugins declare.
            continue
        folders.append(folder)
    return folders


def _environment_stamp() -> list[Any]:
    stamp: list[Any] = [sys.executable, sys.version, _FORMAT, module_stamp("scitiff_readers")[1]]
    stamp += [[folder, _mtime(folder)] for folder in _search_folders()]
    return stamp


def _file_for(group: str) -> Path:
    # One file per interpreter, group and search path: processes of one interpreter with
    # another ``PYTHONPATH`` (a development checkout, a benchmark's baseline) see other
    # plugins, and sharing a file would make each of them rescan after the other.
    folders = "\0".join(_search_folders())
    key = hashlib.sha256(f"{sys.executable}\0{group}\0{folders}".encode()).hexdigest()[:16]
    return _cache_dir() / f"plugins-{group}-{key}.json"


def load_declarations(group: str) -> list[Declaration] | None:
    """The remembered declarations of ``group``, or ``None`` if absent or out of date."""
    if not cache_enabled():
        return None
    try:
        raw = json.loads(_file_for(group).read_text(encoding="utf-8"))
        if raw.get("stamp") != json.loads(json.dumps(_environment_stamp())):
            return None
        out = []
        for item in raw["plugins"]:
            decl = Declaration(**{**item, "suffixes": tuple(item["suffixes"])})
            if decl.module_file is not None and _mtime(decl.module_file) != decl.module_mtime:
                return None
            out.append(decl)
        return out
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # absent, unreadable or from another version: scan again


def store_declarations(group: str, declarations: list[Declaration]) -> None:
    """Remember ``declarations`` (atomically; silently skipped where the cache is not writable)."""
    if not cache_enabled():
        return
    target = _file_for(group)
    payload = json.dumps({"stamp": _environment_stamp(), "plugins": [asdict(d) for d in declarations]})
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only or full home only costs the next process a scan
