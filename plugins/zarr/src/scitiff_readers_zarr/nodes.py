"""Zarr node metadata (groups and arrays, Zarr v2 and v3) read as plain JSON.

Reading the small JSON documents ourselves keeps opening cheap (no zarr import
just to look at attributes) and lets every error name the exact file that is
missing or malformed. Pixels are always read by zarr-python.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from scitiff_readers.backend import check_inside, is_remote, load_json
from scitiff_readers.errors import CorruptFileError, MetadataError

__all__ = [
    "Node",
    "has_zarr_metadata",
    "read_json",
    "read_node",
    "subfolders",
    "try_read_node",
    "zarr_metadata",
]

#: Largest metadata document we parse (real ones are a few KiB; a huge "zarr.json"
#: is not metadata, and parsing it could take a long time).
MAX_JSON_BYTES = 64 * 2**20


def read_json(path: Path, what: str = "metadata file") -> Any:
    """Parse the JSON document ``path``; errors name the file and the problem."""
    # A metadata file is read from its node's folder, never through a link out of it
    # (the folders themselves are checked by resolve_inside where they are found).
    check_inside(path.parent, path, what)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MetadataError(f"{path}: the {what} is missing") from None
    if size > MAX_JSON_BYTES:
        raise CorruptFileError(f"{path}: the {what} is {size} bytes, too large to be zarr metadata")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{path}: the {what} is not UTF-8 text ({exc})") from exc
    try:
        return load_json(text, path, what)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(
            f"{path}: the {what} is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); the dataset is damaged or was not written completely"
        ) from exc


# NamedTuples rather than dataclasses: a dataclass costs about half a millisecond
# to create at import (it compiles its methods), which a cold "open one plane" pays.
class Node(NamedTuple):
    """One zarr node: where it is, its format, its kind and its attributes."""

    path: Path
    zarr_format: int
    kind: str  # "group" or "array"
    attrs: dict[str, Any]
    #: The array metadata document (``.zarray`` or ``zarr.json``), for arrays.
    meta: dict[str, Any]
    #: The file the attributes came from (for error messages).
    attrs_file: Path | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape."""
        return tuple(int(s) for s in self.meta.get("shape", ()))


def subfolders(path: Any) -> list[tuple[str, Any]]:
    """``(name, path)`` of the sub-folders of ``path``.

    Remote folders are listed where the file system can (S3, an HTTP server's listing);
    every entry is returned, so callers check what they need (zarr metadata, a name).
    """
    if is_remote(path):
        return [(entry.name, entry) for entry in path.iterdir()]
    with os.scandir(path) as entries:
        return [(e.name, Path(e.path)) for e in entries if e.is_dir()]


def has_zarr_metadata(path: Path) -> bool:
    """Whether ``path`` is a folder holding zarr node metadata (cheap, never raises)."""
    try:
        return any((path / name).is_file() for name in ("zarr.json", ".zgroup", ".zarray", ".zattrs"))
    except OSError:
        return False


def read_node(path: Path) -> Node:
    """Read the node at ``path`` (Zarr v3 ``zarr.json`` first, then v2 files)."""
    v3 = path / "zarr.json"
    if v3.is_file():
        doc = read_json(v3, "zarr.json")
        if not isinstance(doc, dict):
            raise CorruptFileError(f"{v3}: expected a JSON object, found {type(doc).__name__}")
        kind = doc.get("node_type")
        if doc.get("zarr_format") != 3 or kind not in ("group", "array"):
            raise CorruptFileError(
                f"{v3}: not Zarr v3 node metadata (zarr_format={doc.get('zarr_format')!r}, "
                f"node_type={kind!r})"
            )
        attrs = doc.get("attributes") or {}
        if not isinstance(attrs, dict):
            raise CorruptFileError(f"{v3}: 'attributes' must be a JSON object")
        return Node(path, 3, str(kind), attrs, doc if kind == "array" else {}, v3)
    zarray, zgroup, zattrs = path / ".zarray", path / ".zgroup", path / ".zattrs"
    if zarray.is_file() or zgroup.is_file() or zattrs.is_file():
        v2_attrs: Any = {}
        if zattrs.is_file():
            v2_attrs = read_json(zattrs, ".zattrs")
            if not isinstance(v2_attrs, dict):
                raise CorruptFileError(f"{zattrs}: expected a JSON object, found {type(v2_attrs).__name__}")
        if zarray.is_file():
            meta = read_json(zarray, ".zarray")
            if not isinstance(meta, dict) or "shape" not in meta:
                raise CorruptFileError(f"{zarray}: not zarr v2 array metadata (no 'shape')")
            return Node(path, 2, "array", v2_attrs, meta, zattrs)
        return Node(path, 2, "group", v2_attrs, {}, zattrs)
    if not path.exists():
        raise MetadataError(f"{path}: the zarr node does not exist")
    raise MetadataError(
        f"{path}: no zarr metadata here (neither zarr.json nor .zgroup / .zarray / .zattrs); "
        "is this the right folder?"
    )


def try_read_node(path: Path) -> Node | None:
    """:func:`read_node`, or ``None`` for anything that is not a readable node."""
    try:
        return read_node(path)
    except Exception:  # noqa: BLE001 - sniffing must never raise
        return None


def zarr_metadata(node: Node) -> dict[str, Any]:
    """The array metadata document as zarr-python reads it (for ``open_zarr_array``).

    Zarr v3: the ``zarr.json`` document; Zarr v2: ``.zarray`` with the ``.zattrs``
    attributes under ``"attributes"``.
    """
    if node.zarr_format == 3:
        return dict(node.meta)
    return {**node.meta, "attributes": dict(node.attrs)}


def node_dtype(node: Node) -> Any:
    """The numpy dtype an array node's metadata declares, or ``None`` if numpy cannot say.

    Plain numeric types (``"<u2"`` in v2, ``"uint16"`` in v3) need no zarr; anything
    else (v3 extension types, structured v2 types) is left to zarr to interpret.
    """
    import numpy as np

    raw = node.meta.get("dtype" if node.zarr_format == 2 else "data_type")
    if not isinstance(raw, str):
        return None
    try:
        dtype = np.dtype(raw)
    except TypeError:
        return None
    if node.zarr_format == 2 and not dtype.isnative and dtype.itemsize > 1:
        return None  # zarr decides how it presents non-native v2 byte orders
    return dtype


def array_chunks(node: Node) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """``(chunks, shards)`` of an array node from its metadata (shards ``None`` if unsharded)."""
    meta = node.meta
    if node.zarr_format == 2:
        return tuple(int(c) for c in meta["chunks"]), None
    try:
        outer = tuple(int(c) for c in meta["chunk_grid"]["configuration"]["chunk_shape"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"{node.path / 'zarr.json'}: unreadable chunk_grid ({exc})") from exc
    for codec in meta.get("codecs", ()):
        if isinstance(codec, dict) and codec.get("name") == "sharding_indexed":
            inner = tuple(int(c) for c in codec.get("configuration", {}).get("chunk_shape", outer))
            return inner, outer
    return outer, None
