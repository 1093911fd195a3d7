"""The ``scitiff-readers`` command line: ``info``, ``plugins``, ``convert``, ``schema``, ``demo``.

Made for scripts as well as people:

* Errors print one line on stderr (no traceback) and exit with a distinct code:
  1 for a library error, 2 for usage errors, 3 for a missing file, 4 for an
  unsupported format, 5 for an output that exists (without ``--overwrite``),
  6 for a damaged or truncated file under ``--strict``, 130 for Ctrl-C.
* ``info --json`` and ``plugins --json`` print documented, stable JSON.
* Warnings (a truncated file, ...) print once each as ``scitiff-readers: warning: ...``;
  tifffile's own log lines are not printed (the readers turn them into warnings).
* Output piped into ``head`` ends quietly (no ``Broken pipe`` message).

Heavy libraries (dask, xarray, zarr, tifffile) are imported inside the commands,
so ``scitiff-readers --version`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import (
    CorruptFileWarning,
    OptionError,
    OutputExistsError,
    ReaderNotFoundError,
    ScitiffReadersError,
    UnsupportedFormatError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNSUPPORTED, EXIT_EXISTS, EXIT_DAMAGED = 1, 2, 3, 4, 5, 6
EXIT_BROKEN_PIPE, EXIT_INTERRUPTED = 141, 130


def _coord_summary(name: str, var: Any) -> str:
    values = np.asarray(var.values)
    units = var.attrs.get("units")
    dims = ",".join(map(str, var.dims)) or "scalar"
    unit_text = f" [{units}]" if units else ""
    if values.size == 0:
        rng = "(empty)"
    elif values.ndim == 0:
        rng = f"= {values.item()!r}"
    elif values.dtype.kind in "iuf" and values.size > 1:
        rng = f"{values.min():g} .. {values.max():g} ({values.size} values)"
    elif values.size <= 6:
        rng = ", ".join(str(v) for v in values.ravel().tolist())
    else:
        flat = values.ravel()
        rng = f"{flat[0]} .. {flat[-1]} ({values.size} values)"
    return f"    {name:<12} ({dims}){unit_text}: {rng}"


def _scene_indices(reader: Any, wanted: Sequence[str] | None, all_scenes: bool) -> list[int]:
    """Scene indices from ``--scene`` values: a scene's exact name, else an index."""
    from .errors import SceneIndexError

    scenes = list(reader.scenes)
    if all_scenes:
        return list(range(len(scenes)))
    out = []
    for value in wanted or ["0"]:
        if value in scenes:
            if scenes.count(value) > 1:
                raise SceneIndexError(
                    f"{reader.path}: scene name {value!r} is used by several scenes; select by index"
                )
            out.append(scenes.index(value))
            continue
        try:
            index = int(value)
        except ValueError:
            shown = ", ".join(map(repr, scenes[:10])) + (" ..." if len(scenes) > 10 else "")
            raise SceneIndexError(f"{reader.path}: no scene named {value!r}; scenes: {shown}") from None
        if not -len(scenes) <= index < len(scenes):
            raise SceneIndexError(
                f"{reader.path}: scene index {index} is out of range; the file has "
                f"{len(scenes)} scene(s), indices 0 to {len(scenes) - 1}"
            )
        out.append(index % len(scenes))
    return out


def _json_scalar(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _coord_json(var: Any) -> dict[str, Any]:
    values = np.asarray(var.values)
    out: dict[str, Any] = {
        "dims": [str(d) for d in var.dims],
        "units": var.attrs.get("units"),
        "dtype": str(values.dtype),
        "size": int(values.size),
    }
    if values.dtype.kind in "iuf" and values.size:
        out["min"], out["max"] = _json_scalar(values.min()), _json_scalar(values.max())
    if values.size <= 16:
        out["values"] = [_json_scalar(v) for v in values.ravel().tolist()]
    return out


def _level_json(reader: Any, level: int) -> dict[str, Any]:
    reader.set_resolution_level(level)
    dask_data = reader.dask_data
    pps = reader.physical_pixel_sizes
    return {
        "level": level,
        "dims": reader.dims.order,
        "shape": [int(n) for n in reader.shape],
        "dtype": str(reader.dtype),
        "chunks": [int(c[0]) for c in dask_data.chunks],
        "channels": list(reader.channel_names),
        "physical_pixel_sizes": {
            d: {"value": v, "unit": u} for d, v, u in zip("ZYX", pps, pps.units, strict=True)
        },
        "coords": {str(n): _coord_json(v) for n, v in reader.xarray_dask_data.coords.items()},
    }


def _info_json(reader: Any, indices: list[int], all_levels: bool) -> dict[str, Any]:
    scenes = []
    for index in indices:
        reader.set_scene(index)
        levels = reader.resolution_levels
        scenes.append(
            {
                "index": index,
                "name": reader.current_scene,
                "level_count": len(levels),
                "levels": [_level_json(reader, lvl) for lvl in (levels if all_levels else [0])],
            }
        )
    return {
        "path": str(reader.path),
        "reader": reader.reader_name,
        "reader_class": f"{type(reader).__module__}.{type(reader).__name__}",
        "scene_count": len(reader.scenes),
        "scenes": scenes,
    }


def _info(args: argparse.Namespace) -> int:
    from ._reader import Reader

    with Reader(args.path, reader=args.reader) as reader:
        indices = _scene_indices(reader, args.scene, args.all_scenes)
        if args.json:
            print(json.dumps(_info_json(reader, indices, args.all_levels), indent=2, ensure_ascii=False))
            return 0
        scenes = reader.scenes
        print(f"path:        {reader.path}")
        print(f"reader:      {reader.reader_name} ({type(reader).__module__}.{type(reader).__name__})")
        print(f"scenes:      {len(scenes)}")
        for index in indices:
            reader.set_scene(index)
            levels = reader.resolution_levels
            print(f"scene {index}: {reader.current_scene!r}  (levels: {len(levels)})")
            for level in levels if args.all_levels else [0]:
                reader.set_resolution_level(level)
                dask_data = reader.dask_data
                chunk = tuple(c[0] for c in dask_data.chunks)
                print(f"  level {level}:")
                print(f"    dims:      {reader.dims.order} {reader.shape}")
                print(f"    dtype:     {reader.dtype}")
                print(
                    f"    chunking:  {chunk} ({dask_data.npartitions} chunks of "
                    f"<= {int(np.prod(chunk)) * reader.dtype.itemsize / 2**20:.2f} MiB)"
                )
                print(f"    channels:  {', '.join(reader.channel_names)}")
                pps = reader.physical_pixel_sizes
                print(
                    "    pixel size: "
                    + ", ".join(
                        f"{d}={v:g} {u or ''}".rstrip() if v is not None else f"{d}=?"
                        for d, v, u in zip("ZYX", pps, pps.units, strict=True)
                    )
                )
                print("    coordinates:")
                for name, var in reader.xarray_dask_data.coords.items():
                    print(_coord_summary(str(name), var))
        if len(scenes) > len(indices) and not args.all_scenes:
            print(f"({len(scenes) - len(indices)} more scene(s); use --all-scenes)")
    return 0


def _writer_options(cls: Any) -> dict[str, Any]:
    return {
        str(k): v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
        for k, v in cls.options.items()
    }


def _plugins(args: argparse.Namespace) -> int:
    from ._registry import feasibility_report, list_readers
    from ._writers import list_writers

    if args.path is not None:
        report = feasibility_report(args.path)
        status = 0 if any(r.opens for r in report.values()) else EXIT_UNSUPPORTED
        if args.json:
            print(
                json.dumps(
                    {
                        "path": str(args.path),
                        "readers": [
                            {"name": name, "opens": bool(item.opens), "reason": item.reason}
                            for name, item in report.items()
                        ],
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return status
        width = max((len(n) for n in report), default=6)
        for name, item in report.items():
            mark = "yes" if item.opens else "no "
            print(f"{name:<{width}}  {mark}  {item.reason}")
        return status
    readers = list_readers()
    writers = list_writers()
    if args.json:
        print(
            json.dumps(
                {
                    "readers": [
                        {
                            "name": i.name,
                            "version": i.version,
                            "priority": i.priority,
                            "suffixes": list(i.suffixes),
                            "distribution": i.distribution or i.origin,
                            "description": str(getattr(i.cls, "description", "") or ""),
                        }
                        for i in sorted(readers.values(), key=lambda i: (-i.priority, i.name))
                    ],
                    "writers": [
                        {
                            "name": w.name,
                            "version": w.version,
                            "priority": w.priority,
                            "suffixes": list(w.suffixes),
                            "distribution": w.distribution or w.origin,
                            "max_scenes": w.cls.max_scenes,
                            "levels": "levels" in w.cls.options,
                            "options": _writer_options(w.cls),
                        }
                        for w in sorted(writers.values(), key=lambda i: i.name)
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    if not readers:
        print("no readers installed")
        return 0
    print(f"{'reader':<10} {'version':<9} {'priority':>8}  {'suffixes':<32} distribution")
    for info in sorted(readers.values(), key=lambda i: (-i.priority, i.name)):
        print(
            f"{info.name:<10} {info.version or '-':<9} {info.priority:>8}  "
            f"{' '.join(info.suffixes) or '(content only)':<32} {info.distribution or info.origin}"
        )
    if writers:
        print()
        print(f"{'writer':<10} {'version':<9} {'priority':>8}  {'suffixes':<32} distribution")
        for w in sorted(writers.values(), key=lambda i: i.name):
            print(
                f"{w.name:<10} {w.version or '-':<9} {w.priority:>8}  {' '.join(w.suffixes):<32} "
                f"{w.distribution or w.origin}"
            )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from ._registry import get_reader_class

    cls = get_reader_class(args.reader)
    method = getattr(cls, "metadata_schema", None)
    if method is None:
        raise ReaderNotFoundError(f"the {args.reader!r} reader publishes no metadata schema")
    print(json.dumps(method(), indent=2, ensure_ascii=False))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(shared=args.shared)


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.replace("x", ",").split(",") if v.strip()]
    except ValueError:
        raise _UsageError(
            f"{what} must be integers separated by commas, e.g. 16,256,256; got {text!r}"
        ) from None


class _UsageError(Exception):
    """A command-line value the command cannot use (exit code 2)."""


def _convert_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.levels is not None:
        options["levels"] = args.levels
    if args.downsample_method is not None:
        options["downsample_method"] = args.downsample_method
    if args.chunks is not None:
        options["chunks"] = _ints(args.chunks, "--chunks")
    if args.shards is not None:
        options["shards"] = "auto" if args.shards == "auto" else _ints(args.shards, "--shards")
    if args.compression is not None:
        options["compression"] = args.compression
    if args.ngff_version is not None:
        options["version"] = args.ngff_version
    for item in args.option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise _UsageError(f"--option takes KEY=VALUE (VALUE as JSON or text), got {item!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


class _Bar:
    """A tqdm progress bar on stderr fed by ``progress(done, total)`` (none when tqdm is absent or disabled)."""

    def __init__(self, enabled: bool | None, label: str) -> None:
        self._bar: Any = None
        self._enabled, self._label = enabled, label

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if self._enabled is False:
                return
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                self._enabled = False
                return
            # disable=None: a bar only on a terminal, unless --progress asked for one.
            self._bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=self._label,
                disable=None if self._enabled is None else False,
                file=sys.stderr,
                leave=True,
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _convert(args: argparse.Namespace) -> int:
    from ._reader import Reader
    from ._writers import _choose, write

    options = _convert_options(args)
    target = Path(args.dst).expanduser()
    if args.split_scenes and args.format is None:
        raise _UsageError("--split-scenes writes a folder of one file per scene: give --format too")
    cls = _choose(target, args.format)
    # levels= is checked by write(), which names the formats that have pyramids.
    unknown = sorted(set(options) - set(cls.options) - {"levels"})
    if unknown:
        raise _UsageError(
            f"the {cls.name} writer has no option(s) {', '.join(unknown)}; its options: "
            f"{', '.join(sorted(cls.options)) or '(none)'}"
        )
    bar = _Bar(args.progress, Path(args.src).name)
    try:
        with Reader(args.src, reader=args.reader) as reader:
            scenes = None if not args.scene else _scene_indices(reader, args.scene, False)
            try:
                out = write(
                    reader,
                    target,
                    format=args.format,
                    overwrite=args.overwrite,
                    scenes=scenes,
                    split_scenes=args.split_scenes,
                    progress=bar,
                    **options,
                )
            except (TypeError, ValueError) as exc:
                # A bad writer option is the command line's fault, like a library's ValueError.
                if isinstance(exc, ScitiffReadersError) and not isinstance(exc, OptionError):
                    raise
                raise _UsageError(str(exc)) from None
    finally:
        bar.close()
    print(out)
    return 0


def _parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("scitiff-readers")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        ours = "0+unknown"
    parser = argparse.ArgumentParser(
        prog="scitiff-readers",
        description="Inspect and convert scientific image files (lazy TCZYX arrays).",
    )
    parser.add_argument("--version", action="version", version=f"scitiff-readers {ours}")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="summarise a file: reader, scenes, dims, chunks, coordinates")
    info.add_argument("path")
    info.add_argument("--reader", default=None, help="force a reader by name")
    info.add_argument(
        "--scene",
        action="append",
        default=None,
        metavar="NAME|INDEX",
        help="scene to describe, by name or index (repeatable; default 0)",
    )
    info.add_argument("--all-scenes", action="store_true", help="describe every scene")
    info.add_argument("--all-levels", action="store_true", help="describe every resolution level")
    info.add_argument("--json", action="store_true", help="print JSON (keys documented in the CLI guide)")
    info.add_argument(
        "--strict",
        action="store_true",
        help=f"exit with {EXIT_DAMAGED} when the file is damaged or truncated",
    )
    info.set_defaults(func=_info)
    plugins = sub.add_parser(
        "plugins", help="list installed readers and writers, or which can open PATH and why"
    )
    plugins.add_argument("path", nargs="?", default=None)
    plugins.add_argument("--json", action="store_true", help="print JSON (keys documented in the CLI guide)")
    plugins.set_defaults(func=_plugins)
    convert = sub.add_parser("convert", help="write SRC (any readable file) as DST with any installed writer")
    convert.add_argument("src")
    convert.add_argument("dst")
    convert.add_argument("--format", default=None, help="writer name (default: from DST's suffix)")
    convert.add_argument("--reader", default=None, help="force a reader by name")
    convert.add_argument(
        "--scene",
        action="append",
        default=None,
        metavar="NAME|INDEX",
        help="scene to write, by name or index (repeatable; default every scene)",
    )
    convert.add_argument(
        "--split-scenes",
        action="store_true",
        help="write each scene to its own file inside the folder DST (needs --format)",
    )
    convert.add_argument("--levels", type=int, default=None, help="reduced-resolution levels to add")
    convert.add_argument("--downsample-method", choices=("mean", "nearest"), default=None)
    convert.add_argument("--chunks", default=None, help="chunk shape, e.g. 16,256,256 (z,y,x) or t,c,z,y,x")
    convert.add_argument("--shards", default=None, help="shard shape (Zarr v3) or 'auto'")
    convert.add_argument(
        "--compression", default=None, help="e.g. blosc-zstd, zstd:3, none (OME-Zarr); zlib, zstd (OME-TIFF)"
    )
    convert.add_argument("--ngff-version", choices=("0.4", "0.5"), default=None, help="OME-Zarr version")
    convert.add_argument("--option", action="append", metavar="KEY=VALUE", help="any other writer option")
    convert.add_argument("--overwrite", action="store_true", help="replace DST if it exists")
    convert.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    convert.add_argument(
        "--strict", action="store_true", help=f"exit with {EXIT_DAMAGED} when SRC is damaged or truncated"
    )
    convert.set_defaults(func=_convert)
    schema = sub.add_parser("schema", help="print a reader's metadata JSON schema (default: scitiff)")
    schema.add_argument("--reader", default="scitiff")
    schema.set_defaults(func=_schema)
    demo = sub.add_parser("demo", help="write and read a sample of every installed format")
    demo.add_argument("--shared", default=None, help="also read the real samples in this folder")
    demo.set_defaults(func=_demo)
    return parser


class _Warnings:
    """Shows each warning once as one line on stderr, and remembers whether a file was damaged."""

    def __init__(self) -> None:
        self.damaged = False
        self._seen: set[str] = set()

    def show(self, message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, CorruptFileWarning):
            self.damaged = True
        text = str(message).strip()
        if text in self._seen:
            return
        self._seen.add(text)
        print(f"scitiff-readers: warning: {text}", file=sys.stderr)


def _quiet_tifffile() -> None:
    """Keep tifffile's log lines out of the output: the readers report what it finds broken as warnings."""
    logger = logging.getLogger("tifffile")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _error(message: str) -> None:
    print(f"scitiff-readers: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    _quiet_tifffile()
    shown = _Warnings()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = shown.show
            code = int(args.func(args))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader of our output (head, grep -m) has gone: stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except _UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except FileNotFoundError as exc:
        _error(f"{exc.filename or exc}: no such file or directory")
        return EXIT_NOT_FOUND
    except UnsupportedFormatError as exc:
        _error(f"{str(exc).splitlines()[0]} (run 'scitiff-readers plugins PATH' for each reader's reason)")
        return EXIT_UNSUPPORTED
    except OutputExistsError as exc:
        _error(str(exc).replace("pass overwrite=True", "use --overwrite"))
        return EXIT_EXISTS
    except (ScitiffReadersError, OSError) as exc:
        _error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("scitiff-readers: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a script gets one line, not a traceback
        if os.environ.get("SCITIFF_READERS_DEBUG"):
            raise
        _error(f"{type(exc).__name__}: {exc} (set SCITIFF_READERS_DEBUG=1 for the traceback)")
        return EXIT_ERROR
    if shown.damaged and getattr(args, "strict", False):
        _error("the file is damaged or truncated (--strict)")
        return EXIT_DAMAGED
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
