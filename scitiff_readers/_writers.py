"""Writers: the ``scitiff_readers.writers`` entry-point group and :func:`write`.

A writer plugin subclasses :class:`Writer` and implements :meth:`Writer._write`
(one image) or :meth:`Writer._write_scenes` (several), which receive DataArrays
already normalised to canonical ``TCZYX(S)`` dims (see :func:`to_canonical`) and a
temporary path, and the writer's typed options (an instance of its
:attr:`Writer.Options`, built from ``write``'s keywords and checked before any output
is made) as ``opts``. The core picks the writer, selects the scenes, refuses to replace
an existing output unless ``overwrite=True``, counts progress, and renames the
temporary file or folder to the target only when the writer succeeded.
"""

from __future__ import annotations

import inspect
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from ._files import atomic_output
from ._options import WriterOptions, derived_options_class
from ._plugins import PluginInfo, PluginRegistry
from ._slabs import Progress, ProgressCallback
from .errors import DimensionSelectionError, SceneIndexError, UnsupportedWriteError, WriterNotFoundError

if TYPE_CHECKING:
    import xarray as xr

    from ._reader import Reader

__all__ = ["WRITERS_GROUP", "SceneData", "Writer", "list_writers", "register_writer", "to_canonical", "write"]

#: Entry-point group of writer plugins; each value names a :class:`Writer` subclass.
WRITERS_GROUP = "scitiff_readers.writers"


class SceneData(NamedTuple):
    """One scene handed to a writer: its name and its pixels (canonical dims, possibly dask-backed)."""

    name: str
    data: xr.DataArray


class Writer(ABC):
    """Base class of writer plugins.

    A writer whose format holds one image per output implements :meth:`_write`; one
    whose format holds several (``max_scenes`` other than 1) also overrides
    :meth:`_write_scenes`. Writers that make pyramids declare a ``levels`` option
    (and ``downsample`` / ``downsample_method``) and reduce with
    :class:`scitiff_readers.backend.Pyramid`.

    A writer declares its options as :attr:`Options`, a frozen dataclass subclassing
    :class:`~scitiff_readers.backend.WriterOptions` (or
    :class:`~scitiff_readers.backend.PyramidOptions`); its ``_write`` /
    ``_write_scenes`` then receive the checked instance as the keyword ``opts``. A
    writer that declares only the older ``options`` mapping of defaults receives the
    options as keywords, as before.
    """

    #: Format name used with ``write(..., format=name)``.
    name: ClassVar[str] = ""
    #: Lower-case dotted suffixes this writer produces by default.
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: Among writers claiming the same suffix, the highest priority is used.
    priority: ClassVar[int] = 0
    #: The writer's typed options: a frozen dataclass subclassing :class:`WriterOptions`.
    Options: ClassVar[type[WriterOptions]] = WriterOptions
    #: Writer-specific options and their defaults (derived from :attr:`Options`; a
    #: writer that declares this mapping instead gets an unchecked option class).
    options: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    #: How many scenes one output can hold (``None``: any number).
    max_scenes: ClassVar[int | None] = 1
    # Whether ``_write`` / ``_write_scenes`` take the options as keywords (writers
    # that declare only ``options``) rather than as ``opts``.
    _sr_keyword_options: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Options" in cls.__dict__:
            if not issubclass(cls.Options, WriterOptions):
                raise TypeError(f"{cls.__name__}.Options must subclass scitiff_readers.backend.WriterOptions")
            cls.options = MappingProxyType(cls.Options.defaults())
            cls._sr_keyword_options = False
        elif "options" in cls.__dict__:
            cls.Options = derived_options_class(cls.__name__, cls.options, WriterOptions)
            cls._sr_keyword_options = True

    @classmethod
    @abstractmethod
    def _write(cls, data: xr.DataArray, path: Path, *, opts: Any) -> None:
        """Write ``data`` (canonical dims, possibly dask-backed) to ``path``.

        ``path`` is a temporary file beside the target; ``opts`` is the writer's
        checked :attr:`Options` (a writer declaring only the older ``options``
        mapping receives its options as keywords instead). A writer that declares a
        keyword-only parameter ``target`` also receives the final path, to name it
        in messages or metadata, and one that declares ``progress`` receives a
        :class:`~scitiff_readers.backend.Progress` to advance by the bytes it writes.
        """

    @classmethod
    def _write_scenes(
        cls, scenes: Sequence[SceneData], path: Path, *, target: Path, progress: Progress, opts: Any
    ) -> None:
        """Write every scene of ``scenes`` to ``path`` (the default: the one scene, with :meth:`_write`)."""
        options = opts.as_dict() if cls._sr_keyword_options else {"opts": opts}
        (scene,) = scenes
        params = inspect.signature(cls._write).parameters
        extra: dict[str, Any] = {}
        if "target" in params:
            extra["target"] = target
        if "progress" in params:
            extra["progress"] = progress
        cls._write(scene.data, path, **options, **extra)
        if "progress" not in params:
            progress.advance(scene.data.nbytes)


_BASE_WRITE_SCENES = vars(Writer)["_write_scenes"].__func__
_writers: PluginRegistry[type[Writer]] = PluginRegistry(WRITERS_GROUP, Writer, "writer")


def list_writers() -> Mapping[str, PluginInfo[type[Writer]]]:
    """Installed writers by name."""
    return _writers.all()


def register_writer(cls: type[Writer], *, clobber: bool = False) -> None:
    """Register a Writer class in this process."""
    _writers.register(cls, clobber=clobber)


def _choose(path: Path, format: str | None) -> type[Writer]:  # noqa: A002
    if format is not None:
        return _writers.require(
            format,
            lambda installed: WriterNotFoundError(
                f"{path}: no writer for format {format!r}; installed writers: {installed}"
            ),
        )
    writers = list_writers()
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
    data: xr.DataArray | Reader | Sequence[xr.DataArray] | Mapping[str, xr.DataArray],
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the natural name, as in pandas/xarray
    overwrite: bool = False,
    scenes: int | str | Sequence[int | str] | None = None,
    split_scenes: bool = False,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> Path:
    """Write images with the writer for ``format`` or for the path's suffix.

    The output is written under a temporary name in the target folder and renamed on
    success (nothing is left behind on an error or Ctrl-C); an existing target is
    replaced only with ``overwrite=True``.

    Parameters
    ----------
    data
        A DataArray (one image); a :class:`~scitiff_readers.Reader` (its scenes, at
        full resolution); a sequence of DataArrays or a mapping ``name -> DataArray``
        (several scenes). Dims are any subset of ``T, C, Z, Y, X, S`` in either case.
    path
        The output file (or folder, for folder formats such as OME-Zarr).
    format
        A writer name (see :func:`list_writers`); default: chosen by the suffix.
    overwrite
        Replace an existing output.
    scenes
        Which scenes of a Reader (or sequence / mapping) to write: an index, a
        name, or a list of them; default every scene. A format that holds one image
        per file (SciTiff) needs one scene, or ``split_scenes``.
    split_scenes
        Write each scene to its own output inside the folder ``path``, named after
        the scene (``<scene><suffix>``).
    progress
        Called as ``progress(done, total)`` with the bytes of full-resolution
        pixels written so far and in all.
    **options
        The writer's options (the fields of its ``Options`` class), for example
        ``levels``, ``compression`` or ``chunks``; an unknown one or a bad value
        raises :class:`~scitiff_readers.errors.OptionError` (a ``TypeError`` and a
        ``ValueError``) before any output is made.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    UnsupportedWriteError
        If the format cannot hold what was asked (several scenes in one file,
        pyramid levels).
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false.
    OptionError
        If an option is unknown or has a bad value.
    """
    target = Path(os.fspath(path)).expanduser()
    cls = _choose(target, format) if not split_scenes or format is not None else _choose_for_folder(target)
    if "levels" in options and "levels" not in cls.options and options["levels"]:
        raise UnsupportedWriteError(
            f"{target}: the {cls.name} format stores no resolution levels (levels={options['levels']!r}); "
            f"writers with pyramids: {', '.join(_pyramid_writers()) or 'none installed'}"
        )
    if "levels" in options and "levels" not in cls.options:
        options.pop("levels")
    opts = cls.Options.from_keywords(f"{target}: writer {cls.name!r}", options)
    chosen = [SceneData(s.name, to_canonical(s.data)) for s in _select_scenes(data, scenes, target)]
    if not chosen:
        raise SceneIndexError(f"{target}: no scene selected to write")
    limit = cls.max_scenes
    if not split_scenes and limit is not None and len(chosen) > limit:
        raise UnsupportedWriteError(
            f"{target}: the {cls.name} format holds {limit} image per file and {len(chosen)} scenes were "
            f"given ({', '.join(repr(s.name) for s in chosen[:5])}{' ...' if len(chosen) > 5 else ''}); "
            "choose one with scenes=NAME or INDEX, or write one file per scene with split_scenes=True"
        )
    report = Progress(sum(int(s.data.nbytes) for s in chosen), progress)
    with atomic_output(target, overwrite=overwrite) as tmp:
        if split_scenes:
            tmp.mkdir()
            suffix = cls.suffixes[0] if cls.suffixes else ""
            for name, scene in zip(_file_names([s.name for s in chosen]), chosen, strict=True):
                _run(cls, [scene], tmp / f"{name}{suffix}", target / f"{name}{suffix}", report, opts)
        else:
            _run(cls, chosen, tmp, target, report, opts)
    return target


def _run(
    cls: type[Writer],
    scenes: Sequence[SceneData],
    path: Path,
    target: Path,
    progress: Progress,
    opts: WriterOptions,
) -> None:
    """Call the writer: with ``opts``, or with keywords for an older writer's own ``_write_scenes``."""
    if cls._sr_keyword_options and getattr(cls._write_scenes, "__func__", None) is not _BASE_WRITE_SCENES:
        cls._write_scenes(scenes, path, target=target, progress=progress, **opts.as_dict())
    else:
        cls._write_scenes(scenes, path, target=target, progress=progress, opts=opts)


def _choose_for_folder(target: Path) -> type[Writer]:
    raise WriterNotFoundError(
        f"{target}: with split_scenes the output is a folder of one file per scene; pass format= one of "
        f"{', '.join(sorted(list_writers())) or '(none installed)'}"
    )


def _pyramid_writers() -> list[str]:
    return sorted(name for name, info in list_writers().items() if "levels" in info.cls.options)


def _is_reader(data: Any) -> bool:
    return all(hasattr(data, a) for a in ("scenes", "set_scene", "xarray_dask_data", "current_scene_index"))


def _select_scenes(
    data: Any, scenes: int | str | Sequence[int | str] | None, target: Path
) -> list[SceneData]:
    """The scenes to write, in the order asked, as ``(name, DataArray)``."""
    import xarray as xr  # here, not at import: importing the package never needs it

    if isinstance(data, xr.DataArray):
        available: list[tuple[str, Any]] = [(str(data.name) if data.name is not None else "image", data)]
    elif _is_reader(data):
        available = [(str(n), i) for i, n in enumerate(data.scenes)]
    elif isinstance(data, Mapping):
        available = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        available = [
            (str(v.name) if getattr(v, "name", None) is not None else f"image{i}", v)
            for i, v in enumerate(data)
        ]
    else:
        raise TypeError(
            f"{target}: cannot write a {type(data).__name__}; pass a DataArray, a Reader, "
            "or a list or dict of DataArrays"
        )
    if scenes is None:
        picked = list(range(len(available)))
    else:
        wanted = [scenes] if isinstance(scenes, (int, str, np.integer)) else list(scenes)
        picked = [_scene_index(w, [n for n, _ in available], target) for w in wanted]
    if not _is_reader(data):
        return [SceneData(available[i][0], _as_dataarray(available[i][1], target)) for i in picked]
    current = data.current_scene_index
    out = []
    try:
        for i in picked:
            data.set_scene(i)
            out.append(SceneData(available[i][0], data.xarray_dask_data))
    finally:
        data.set_scene(current)
    return out


def _as_dataarray(value: Any, target: Path) -> xr.DataArray:
    import xarray as xr

    if not isinstance(value, xr.DataArray):
        raise TypeError(f"{target}: scenes must be xarray DataArrays, got a {type(value).__name__}")
    return value


def _scene_index(wanted: int | str, names: list[str], target: Path) -> int:
    if isinstance(wanted, (int, np.integer)) and not isinstance(wanted, bool):
        index = int(wanted)
        if not -len(names) <= index < len(names):
            raise SceneIndexError(
                f"{target}: scene index {index} is out of range; there are {len(names)} scene(s)"
            )
        return index % len(names)
    matches = [i for i, n in enumerate(names) if n == str(wanted)]
    if len(matches) != 1:
        shown = ", ".join(map(repr, names[:10])) + (" ..." if len(names) > 10 else "")
        what = "no scene named" if not matches else "several scenes are named"
        raise SceneIndexError(f"{target}: {what} {wanted!r}; scenes: {shown}")
    return matches[0]


def _file_names(names: Sequence[str]) -> list[str]:
    """Safe, distinct file names for scenes (unsafe characters become ``_``)."""
    out: list[str] = []
    for i, name in enumerate(names):
        safe = re.sub(r"[^\w.-]+", "_", name).strip("._") or f"scene{i}"
        out.append(safe if safe not in out else f"{safe}_{i}")
    return out
