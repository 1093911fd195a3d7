"""The ``scitiff-readers`` command line: ``info``, ``plugins``, ``schema``, ``demo``.

Errors print one line on stderr (no traceback) and exit with a distinct code:
1 for a library error, 2 for usage errors, 3 for a missing file, 4 for an
unsupported format.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ReaderNotFoundError, ScitiffReadersError, UnsupportedFormatError

__all__ = ["main"]

EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNSUPPORTED = 1, 2, 3, 4


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


def _info(args: argparse.Namespace) -> int:
    from .reader import Reader

    with Reader(args.path, reader=args.reader) as reader:
        scenes = reader.scenes
        print(f"path:        {reader.path}")
        print(f"reader:      {reader.reader_name} ({type(reader).__module__}.{type(reader).__name__})")
        print(f"scenes:      {len(scenes)}")
        shown = range(len(scenes)) if args.all_scenes else [args.scene]
        for index in shown:
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
                print(f"    chunking:  {chunk} ({dask_data.npartitions} chunks of "
                      f"<= {int(np.prod(chunk)) * reader.dtype.itemsize / 2**20:.2f} MiB)")
                print(f"    channels:  {', '.join(reader.channel_names)}")
                pps = reader.physical_pixel_sizes
                print("    pixel size: " + ", ".join(
                    f"{d}={v:g} {u or ''}".rstrip() if v is not None else f"{d}=?"
                    for d, v, u in zip("ZYX", pps, pps.units, strict=True)))
                print("    coordinates:")
                for name, var in reader.xarray_dask_data.coords.items():
                    print(_coord_summary(str(name), var))
        if len(scenes) > 1 and not args.all_scenes:
            print(f"({len(scenes) - 1} more scene(s); use --all-scenes)")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from .registry import feasibility_report, list_readers
    from .writers import list_writers

    if args.path is not None:
        report = feasibility_report(args.path)
        width = max((len(n) for n in report), default=6)
        for name, item in report.items():
            mark = "yes" if item.opens else "no "
            print(f"{name:<{width}}  {mark}  {item.reason}")
        return 0 if any(r.opens for r in report.values()) else EXIT_UNSUPPORTED
    readers = list_readers()
    if not readers:
        print("no readers installed")
        return 0
    print(f"{'reader':<10} {'version':<9} {'priority':>8}  {'suffixes':<32} distribution")
    for info in sorted(readers.values(), key=lambda i: (-i.priority, i.name)):
        print(f"{info.name:<10} {info.version or '-':<9} {info.priority:>8}  "
              f"{' '.join(info.suffixes) or '(content only)':<32} {info.distribution or info.origin}")
    writers = list_writers()
    if writers:
        print()
        print(f"{'writer':<10} {'version':<9} {'priority':>8}  {'suffixes':<32} distribution")
        for w in sorted(writers.values(), key=lambda i: i.name):
            print(f"{w.name:<10} {w.version or '-':<9} {w.priority:>8}  {' '.join(w.suffixes):<32} "
                  f"{w.distribution or w.origin}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from .registry import get_reader_class

    cls = get_reader_class(args.reader)
    method = getattr(cls, "metadata_schema", None)
    if method is None:
        raise ReaderNotFoundError(f"the {args.reader!r} reader publishes no metadata schema")
    print(json.dumps(method(), indent=2, ensure_ascii=False))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(shared=args.shared)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scitiff-readers",
        description="Inspect scientific image files as lazy TCZYX arrays.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="summarise a file: reader, scenes, dims, chunks, coordinates")
    info.add_argument("path")
    info.add_argument("--reader", default=None, help="force a reader by name")
    info.add_argument("--scene", type=int, default=0, help="scene index to describe (default 0)")
    info.add_argument("--all-scenes", action="store_true", help="describe every scene")
    info.add_argument("--all-levels", action="store_true", help="describe every resolution level")
    info.set_defaults(func=_info)
    plugins = sub.add_parser("plugins", help="list installed readers, or which can open PATH and why")
    plugins.add_argument("path", nargs="?", default=None)
    plugins.set_defaults(func=_plugins)
    schema = sub.add_parser("schema", help="print a reader's metadata JSON schema (default: scitiff)")
    schema.add_argument("--reader", default="scitiff")
    schema.set_defaults(func=_schema)
    demo = sub.add_parser("demo", help="write and read a sample of every installed format")
    demo.add_argument("--shared", default=None, help="also read the real samples in this folder")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FileNotFoundError as exc:
        print(f"scitiff-readers: error: {exc.filename or exc}: no such file or directory", file=sys.stderr)
        return EXIT_NOT_FOUND
    except UnsupportedFormatError as exc:
        print(f"scitiff-readers: error: {str(exc).splitlines()[0]} "
              f"(run 'scitiff-readers plugins PATH' for each reader's reason)", file=sys.stderr)
        return EXIT_UNSUPPORTED
    except (ScitiffReadersError, OSError) as exc:
        print(f"scitiff-readers: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
