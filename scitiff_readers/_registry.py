"""Reader discovery and selection.

Selection: readers whose suffixes match the path are sniffed first, in descending
``priority``; then all others (a file with an unusual suffix is still recognised by
content). The first ``can_open`` that returns True wins, so a specific format
(OME-TIFF, SciTiff, NDTiff) is never taken by the generic TIFF reader, which has the
lowest priority.
"""

from __future__ import annotations

import errno
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _handoff
from ._byteaccess import as_location, is_remote
from ._plugincache import Declaration
from ._plugins import PluginInfo, PluginRegistry
from ._reader import Reader
from .errors import ReaderNotFoundError, UnsupportedFormatError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

__all__ = [
    "READERS_GROUP",
    "Feasibility",
    "feasibility_report",
    "get_reader_class",
    "list_readers",
    "refresh_readers",
    "register_reader",
    "select_reader",
    "unregister_reader",
]

#: Entry-point group of reader plugins; each value names a :class:`Reader` subclass.
READERS_GROUP = "scitiff_readers.readers"

_readers: PluginRegistry[type[Reader]] = PluginRegistry(READERS_GROUP, Reader, "reader")

#: Readers this project knows of, for install hints when one is missing.
KNOWN_READERS: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "scitiff": ("scitiff-readers-scitiff", "plugins/scitiff", (".tif", ".tiff")),
    "ome-tiff": (
        "scitiff-readers-tiff",
        "plugins/tiff",
        (".ome.tif", ".ome.tiff", ".ome.btf", ".companion.ome", ".tif", ".tiff"),
    ),
    "tiff": ("scitiff-readers-tiff", "plugins/tiff", (".tif", ".tiff", ".btf")),
    "ndtiff": ("scitiff-readers-ndtiff", "plugins/ndtiff", (".tif", ".index", "")),
    "ome-zarr": ("scitiff-readers-zarr", "plugins/zarr", (".zarr", "")),
    "visor": ("scitiff-readers-zarr", "plugins/zarr", (".vsr", ".zarr", "")),
}


def list_readers() -> Mapping[str, PluginInfo[type[Reader]]]:
    """Installed readers by name (read-only; discovered on first use and cached)."""
    return _readers.all()


def refresh_readers() -> None:
    """Re-scan the ``scitiff_readers.readers`` entry points on next use."""
    _readers.refresh()


def register_reader(cls: type[Reader], *, clobber: bool = False) -> None:
    """Register a Reader class in this process (no packaging needed)."""
    _readers.register(cls, clobber=clobber)


def unregister_reader(name: str) -> None:
    """Remove a reader registered with :func:`register_reader`."""
    _readers.unregister(name)


def get_reader_class(name: str) -> type[Reader]:
    """The Reader class registered as ``name``."""
    return _readers.require(
        name,
        lambda installed: ReaderNotFoundError(
            f"no reader named {name!r} is installed; installed readers: {installed}{_install_hint_for_name(name)}"
        ),
    )


def _suffix_match(path: Path, cls: type[Reader]) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in cls.suffixes)


def _candidates(path: Path) -> list[tuple[PluginInfo[type[Reader]], bool]]:
    infos = list(list_readers().values())
    ranked = [(info, _suffix_match(path, info.cls)) for info in infos]
    ranked.sort(key=lambda pair: (not pair[1], -pair[0].priority, pair[0].name))
    return ranked


def _sniff(cls: type[Reader], path: Path) -> tuple[bool, str | None]:
    try:
        return bool(cls.can_open(path)), None
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as exc:  # noqa: BLE001 - a buggy sniff must not break selection
        warnings.warn(
            f"scitiff_readers: {cls.__name__}.can_open raised {type(exc).__name__}: {exc} "
            f"on {path}; treating it as 'cannot open'",
            RuntimeWarning,
            stacklevel=3,
        )
        return False, f"can_open raised {type(exc).__name__}: {exc}"


def _require_exists(path: Path) -> None:
    if not path.exists():
        if not is_remote(path) and os.path.lexists(path):
            from .errors import CorruptFileError

            raise CorruptFileError(f"{path}: a symbolic link that loops or leads to nothing")
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))


def select_reader(
    path: str | os.PathLike[str],
    reader: str | type[Reader] | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> type[Reader]:
    """Return the Reader class that will read ``path``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ReaderNotFoundError
        If ``reader`` names no installed reader.
    UnsupportedFormatError
        If no reader (or not the requested one) can open ``path``.
    """
    p = _location(path, storage_options)
    _require_exists(p)
    if isinstance(path, (str, os.PathLike)) and not is_remote(p):
        # The open of this Reader() call resolves the same argument: hand it over.
        _handoff.offer(_handoff.LOCATION, "", path, p)
    if reader is not None:
        cls = get_reader_class(reader) if isinstance(reader, str) else reader
        if not (isinstance(cls, type) and issubclass(cls, Reader)):
            raise TypeError(f"reader must be a registered name or a Reader subclass, got {reader!r}")
        return cls
    for info in _ranked_lazily(p):
        ok, _reason = _sniff(info.cls, p)
        if ok:
            return info.cls
    raise UnsupportedFormatError(_unsupported_message(p))


def _ranked_lazily(path: Path) -> Iterator[PluginInfo[type[Reader]]]:
    """Readers in selection order, each imported only when its turn comes.

    The order is :func:`_candidates`' (suffix match, then priority, then name), taken
    from the plugins' remembered declarations, so a process that opens an OME-TIFF
    imports the readers ranked before the one that accepts it, not every plugin.
    """
    name = path.name.lower()
    runtime = _readers.runtime()
    ranked: list[tuple[bool, int, str, Declaration | PluginInfo[type[Reader]]]] = []
    for decl in _readers.declarations():
        if decl.name not in runtime:
            ranked.append((any(name.endswith(s) for s in decl.suffixes), decl.priority, decl.name, decl))
    for info in runtime.values():
        ranked.append((_suffix_match(path, info.cls), info.priority, info.name, info))
    ranked.sort(key=lambda item: (not item[0], -item[1], item[2]))
    for *_, entry in ranked:
        loaded = _readers.load_declared(entry) if isinstance(entry, Declaration) else entry
        if loaded is not None:
            yield loaded


@dataclass(frozen=True)
class Feasibility:
    """Whether one reader can read a path, and why not."""

    reader: str
    suffix_match: bool
    can_open: bool
    opens: bool
    reason: str

    def __str__(self) -> str:
        verdict = "yes" if self.opens else "no"
        return f"{self.reader}: {verdict} ({self.reason})"


def _location(path: Any, storage_options: dict[str, Any] | None = None) -> Path:
    return as_location(path, storage_options)


def feasibility_report(path: str | os.PathLike[str], *, try_open: bool = True) -> dict[str, Feasibility]:
    """For each installed reader: can it open ``path``, and if not, why.

    With ``try_open`` (default), readers whose sniff accepts the file also open it,
    so a file that is recognised but broken reports the error.
    """
    p = _location(path)
    _require_exists(p)
    report: dict[str, Feasibility] = {}
    for info, suffix_ok in _candidates(p):
        ok, reason = _sniff(info.cls, p)
        opens = False
        if not ok:
            why = reason or (
                "content not recognised"
                if suffix_ok
                else f"suffix not in {', '.join(info.cls.suffixes) or '(none)'} and content not recognised"
            )
        elif try_open:
            try:
                info.cls(p).close()
                opens, why = True, "opens"
            except Exception as exc:  # noqa: BLE001 - the report shows any failure
                why = f"recognised, but opening failed: {type(exc).__name__}: {exc}"
        else:
            opens, why = True, "recognised"
        report[info.name] = Feasibility(info.name, suffix_ok, ok, opens, why)
    return report


def _missing_known_readers(path: Path) -> list[str]:
    installed = set(list_readers())
    name = path.name.lower()
    out = []
    for reader, (dist, folder, suffixes) in KNOWN_READERS.items():
        if reader in installed:
            continue
        if any((s and name.endswith(s)) or (not s and path.is_dir()) for s in suffixes):
            out.append(
                f"the {reader!r} reader is not installed: pip install {dist} (from a source checkout: pip install ./{folder})"
            )
    return out


def _install_hint_for_name(name: str) -> str:
    known = KNOWN_READERS.get(name)
    if known is None:
        return ""
    return f"; install it with: pip install {known[0]} (from a source checkout: pip install ./{known[1]})"


def _unsupported_message(path: Path) -> str:
    lines = [f"{path}: no installed reader can open this {'folder' if path.is_dir() else 'file'}."]
    report = feasibility_report(path, try_open=False)
    if report:
        lines.append("Installed readers and why they refused it:")
        lines.extend(f"  - {r.reader}: {r.reason}" for r in report.values())
    else:
        lines.append("No reader plugins are installed.")
    hints = _missing_known_readers(path)
    from ._fileobjects import LIMITS, is_file_object_location

    if is_file_object_location(path):
        hints.append(f"this is a file object: {LIMITS}")
    if hints:
        lines.append("Hint: " + "; ".join(hints))
    return "\n".join(lines)
