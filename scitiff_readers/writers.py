"""Writers: the ``scitiff_readers.writers`` entry-point group and :func:`write`.

A writer plugin subclasses :class:`Writer` and implements :meth:`Writer._write`,
which receives a DataArray already normalised to canonical ``TCZYX(S)`` dims (see
:func:`to_canonical`) and a temporary path. The core picks the writer, refuses to
replace an existing file unless ``overwrite=True``, and renames the temporary file
to the target only when the writer succeeded.
"""

from __future__ import annotations

import inspect
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import DimensionSelectionError, WriterNotFoundError
from .files import atomic_output
from .plugins import PluginInfo, PluginRegistry

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["WRITERS_GROUP", "Writer", "list_writers", "register_writer", "to_canonical", "write"]

#: Entry-point group of writer plugins; each value names a :class:`Writer` subclass.
WRITERS_GROUP = "scitiff_readers.writers"


class Writer(ABC):
    """Base class of writer plugins."""

    #: Format name used with ``write(..., format=name)``.
    name: ClassVar[str] = ""
    #: Lower-case dotted suffixes this writer produces by default.
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: Among writers claiming the same suffix, the highest priority is used.
    priority: ClassVar[int] = 0
    #: Writer-specific options and their defaults.
    options: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    @classmethod
    @abstractmethod
    def _write(cls, data: xr.DataArray, path: Path, **options: Any) -> None:
        """Write ``data`` (canonical dims, possibly dask-backed) to ``path``.

        ``path`` is a temporary file beside the target. A writer that declares a
        keyword-only parameter ``target`` also receives the final path, to name it
        in messages or metadata.
        """


_writers: PluginRegistry[type[Writer]] = PluginRegistry(WRITERS_GROUP, Writer, "writer")


def list_writers() -> Mapping[str, PluginInfo[type[Writer]]]:
    """Installed writers by name."""
    return _writers.all()


def register_writer(cls: type[Writer], *, clobber: bool = False) -> None:
    """Register a Writer class in this process."""
    _writers.register(cls, clobber=clobber)


def _choose(path: Path, format: str | None) -> type[Writer]:  # noqa: A002
    writers = list_writers()
    if format is not None:
        info = writers.get(format)
        if info is None:
            raise WriterNotFoundError(
                f"{path}: no writer for format {format!r}; installed writers: "
                f"{', '.join(sorted(writers)) or 'none'}"
            )
        return info.cls
    name = path.name.lower()
    matches = [
        (max(len(s) for s in info.cls.suffixes if name.endswith(s)), info.priority, info.cls)
        for info in writers.values()
        if any(name.endswith(s) for s in info.cls.suffixes)
    ]
    if not matches:
        raise WriterNotFoundError(
            f"{path}: no installed writer produces this suffix; pass format= one of "
            f"{', '.join(sorted(writers)) or '(none installed)'}"
        )
    matches.sort(key=lambda m: (m[0], m[1]), reverse=True)
    return matches[0][2]


def to_canonical(data: xr.DataArray) -> xr.DataArray:
    """Return ``data`` with dims renamed to upper case and ordered ``TCZYX(S)``.

    Any subset of ``t, c, z, y, x, s`` (either case) is accepted; missing dims are
    added with size 1. Other dims raise :class:`DimensionSelectionError`. Coordinates
    over several dims keep their own dim order.
    """
    extra = [d for d in data.dims if len(str(d)) != 1 or str(d).upper() not in "TCZYXS"]
    if extra:
        raise DimensionSelectionError(
            f"cannot write dims {extra}: only T, C, Z, Y, X and S (either case) are supported"
        )
    rename = {d: str(d).upper() for d in data.dims if str(d).upper() != d}
    upper = data.rename(rename) if rename else data
    order = [d for d in "TCZYXS" if d in upper.dims or d != "S"]
    missing = [d for d in order if d not in upper.dims]
    if missing:
        upper = upper.expand_dims(missing)
    # Coordinates keep their own dim order (a ``pixel-id`` over ``X, Y`` stays so).
    return upper.transpose(*order, transpose_coords=False)


def write(
    data: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the natural name, as in pandas/xarray
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Write a DataArray with the writer for ``format`` or for the path's suffix.

    The file is written under a temporary name in the target folder and renamed on
    success; an existing target is replaced only with ``overwrite=True``.

    Returns
    -------
    Path
        The written path.
    """
    target = Path(os.fspath(path)).expanduser()
    cls = _choose(target, format)
    unknown = sorted(set(options) - set(cls.options))
    if unknown:
        raise TypeError(
            f"writer {cls.name!r} got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"valid options: {', '.join(sorted(cls.options)) or '(none)'}"
        )
    canonical = to_canonical(data)
    extra = {"target": target} if "target" in inspect.signature(cls._write).parameters else {}
    with atomic_output(target, overwrite=overwrite) as tmp:
        cls._write(canonical, tmp, **{**cls.options, **options}, **extra)
    return target
