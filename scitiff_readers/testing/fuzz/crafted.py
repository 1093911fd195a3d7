"""Crafted path-escape cases: every way a seed can point out of its dataset, enumerated.

Random mutations find escapes by chance; these cases try each vector on purpose,
once per seed, deterministically:

* every metadata file, the entry file and a spread of the other files replaced by
  a symbolic link (absolute, and relative) to its twin outside the dataset;
* a spread of the folders (chunk folders, levels, ``Full resolution``, VISoR
  images) replaced by a link to their twin outside;
* every file name written in metadata pointed outside: OME ``FileName`` and
  ``MetadataFile`` (relative, absolute, ``sub/../..``), ``UUID``-like tags that
  tifffile also follows (``XUUID``, ``MyUUID``), NDTiff index entries, and every
  JSON string that names a file or folder of the dataset (zarr dataset paths,
  VISoR image and channel paths).

A case passes when nothing outside the dataset is opened; whether the reader then
refuses (``typed``) or simply never uses the name (``ok``) is reported too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .mutators import Case, _index_bytes, _index_entries, _write, description_of, replace_description

if TYPE_CHECKING:
    from pathlib import Path

    from .seeds import Seed

__all__ = ["CraftedCase", "crafted_cases"]

#: ``(description, apply)``: ``apply`` changes a copy of the seed (a :class:`.mutators.Case`).
CraftedCase = tuple[str, Callable[[Case], None]]

#: Most files / folders of one seed replaced by links (evenly spread; metadata always).
_SPREAD = 12
_METADATA = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata", "NDTiff.index", "selected.json"}


def _spread(items: list[str], keep: Callable[[str], bool]) -> list[str]:
    kept = [i for i in items if keep(i)]
    rest = [i for i in items if not keep(i)]
    step = max(1, len(rest) // _SPREAD)
    return kept + rest[::step][:_SPREAD]


def _tree(root: Path) -> tuple[list[str], list[str]]:
    files, dirs = [], []
    for here, subdirs, names in os.walk(root):
        rel = os.path.relpath(here, root)
        subdirs.sort()
        dirs += [os.path.normpath(os.path.join(rel, d)) for d in subdirs]
        files += [os.path.normpath(os.path.join(rel, n)) for n in sorted(names)]
    return files, dirs


def _twin(seed: Seed, outside: Path, rel: str) -> Path:
    return outside / "copies" / seed.format / seed.name / rel


def _link(rel: str, target: Path, relative: bool, folder: bool) -> Callable[[Case], None]:
    def apply(case: Case) -> None:
        path = case.root / rel
        if folder:
            import shutil

            shutil.rmtree(path)
        else:
            path.unlink()
        os.symlink(os.path.relpath(target, path.parent) if relative else target, path)

    return apply


def _edit_text(
    rel: str, change: Callable[[str, Case, Path], str], description: bool
) -> Callable[[Case], None]:
    def apply(case: Case) -> None:
        path = case.root / rel
        if description:
            text = description_of(path) or ""
            replace_description(path, change(text, case, path.parent))
        else:
            _write(path, change(path.read_text("utf-8"), case, path.parent).encode("utf-8"))

    return apply


def _names(seed: Seed, outside: Path, rel_target: str) -> list[tuple[str, Callable[[Case, Path], str]]]:
    """Ways to write a name that leads to ``rel_target``'s twin outside: relative, absolute, through ``sub/..``."""
    twin = _twin(seed, outside, rel_target)
    return [
        ("relative", lambda case, folder: os.path.relpath(twin, folder)),
        ("absolute", lambda case, folder: str(twin)),
        ("sub/..", lambda case, folder: "sub/../" + os.path.relpath(twin, folder)),
    ]


def _xml_cases(seed: Seed, outside: Path, rel: str, text: str, description: bool) -> Iterator[CraftedCase]:
    for attr in ("FileName", "MetadataFile"):
        values = sorted(set(re.findall(rf'{attr}="([^"]*)"', text)))
        for value in values:
            target = os.path.normpath(os.path.join(os.path.dirname(rel), value))
            for how, name in _names(seed, outside, target):

                def change(
                    t: str,
                    case: Case,
                    folder: Path,
                    attr: str = attr,
                    value: str = value,
                    name: Callable[[Case, Path], str] = name,
                ) -> str:
                    return t.replace(f'{attr}="{value}"', f'{attr}="{name(case, folder)}"')

                yield f"{rel}: {attr} {value} -> {how} outside", _edit_text(rel, change, description)
    if "<TiffData" in text:
        first = re.search(r'FileName="([^"]*)"', text)
        target = os.path.normpath(
            os.path.join(os.path.dirname(rel), first.group(1) if first else os.path.basename(rel))
        )
        for tag in ("XUUID", "MyUUID"):

            def add(t: str, case: Case, folder: Path, tag: str = tag, target: str = target) -> str:
                name = os.path.relpath(_twin(seed, outside, target), folder)
                element = f'<{tag} FileName="{name}">urn:uuid:99</{tag}>'
                if "<UUID" in t:
                    return re.sub(r"<UUID([^>]*)>([^<]*)</UUID>", lambda _: element, t, count=1)
                return re.sub(
                    r"(<TiffData[^>]*?)(/?)>",
                    lambda m: m.group(1) + ">" + element + ("</TiffData>" if m.group(2) else ""),
                    t,
                    count=1,
                )

            yield f"{rel}: <{tag} FileName> outside", _edit_text(rel, add, description)


def _json_strings(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _json_strings(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _json_strings(v, (*path, i))
    elif isinstance(doc, str):
        yield path, doc


def _json_cases(seed: Seed, outside: Path, rel: str) -> Iterator[CraftedCase]:
    path = seed.root / rel
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return
    folder = os.path.dirname(rel)
    for where, value in _json_strings(doc):
        if not value.strip("./") or value.startswith("/") or len(value) > 255 or "dimension_names" in where:
            continue
        # A string naming something of the dataset, seen from the document's folder or the root.
        for base in (folder, ""):
            target = os.path.normpath(os.path.join(base, value))
            if target != "." and not target.startswith("..") and (seed.root / target).exists():
                break
        else:
            continue
        for how, name in _names(seed, outside, target):

            def change(
                t: str,
                case: Case,
                here: Path,
                where: tuple[Any, ...] = where,
                name: Callable[[Case, Path], str] = name,
                base: str = base,
            ) -> str:
                new = json.loads(t)
                node = new
                for k in where[:-1]:
                    node = node[k]
                node[where[-1]] = name(case, case.root / base)
                return json.dumps(new)

            yield (
                f"{rel}: {'/'.join(map(str, where))} = {value} -> {how} outside",
                _edit_text(rel, change, False),
            )


def _ndtiff_cases(seed: Seed, outside: Path, rel: str) -> Iterator[CraftedCase]:
    entries = _index_entries((seed.root / rel).read_bytes())
    for name in sorted({e[1] for e in entries}):
        target = os.path.normpath(os.path.join(os.path.dirname(rel), name.decode()))
        for how, make in _names(seed, outside, target):

            def apply(case: Case, name: bytes = name, make: Callable[[Case, Path], str] = make) -> None:
                index = case.root / rel
                new = make(case, index.parent).encode()
                _write(index, _index_bytes([(a, new if n == name else n, t) for a, n, t in entries]))

            yield f"{rel}: image file {name.decode()} -> {how} outside", apply


def crafted_cases(seed: Seed, outside: Path) -> list[CraftedCase]:
    """Every crafted escape of ``seed`` (see the module docstring), in a stable order."""
    files, dirs = _tree(seed.root)
    entry = os.path.normpath(seed.entry)
    out: list[CraftedCase] = []
    for rel in _spread(
        files,
        lambda f: (
            f == entry
            or os.path.basename(f) in _METADATA
            or f.endswith((".json", ".ome", ".xml", ".tif", ".tiff", ".index", ".visor"))
        ),
    ):
        target = _twin(seed, outside, rel)
        out.append((f"{rel} -> absolute link outside", _link(rel, target, relative=False, folder=False)))
        out.append((f"{rel} -> relative link outside", _link(rel, target, relative=True, folder=False)))
    for rel in _spread(dirs, lambda d: d.count(os.sep) < 1):
        out.append(
            (f"{rel}/ -> link outside", _link(rel, _twin(seed, outside, rel), relative=False, folder=True))
        )
    for rel in files:
        path = seed.root / rel
        base = os.path.basename(rel)
        head = path.read_bytes()[:4]
        if head[:2] in (b"II", b"MM"):
            text = description_of(path)
            if text and text.lstrip().startswith("<"):
                out.extend(_xml_cases(seed, outside, rel, text, description=True))
        elif base.endswith((".ome", ".xml")):
            out.extend(_xml_cases(seed, outside, rel, path.read_text("utf-8", "replace"), description=False))
        elif base == "NDTiff.index":
            out.extend(_ndtiff_cases(seed, outside, rel))
        elif base in _METADATA or base.endswith(".json"):
            out.extend(_json_cases(seed, outside, rel))
    return out
