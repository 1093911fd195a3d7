"""Mutations of a dataset copy: blind byte damage and format-aware attacks.

Every mutator takes a :class:`Case` (the dataset copy, its entry path and the
decoy folder outside it) and a seeded :class:`random.Random`, changes files in
place and returns a short description. ``Case.kind`` tells the runner how to
judge a successful read: ``"truncate"`` cases (files cut short, broken IFD
chains) must warn, fail, or read exactly the seed's pixels.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["MUTATORS", "Case", "description_of", "mutate", "replace_description", "tiff_ifds"]

#: Integers that break size and offset arithmetic.
EXTREMES = (
    0,
    1,
    2,
    3,
    7,
    255,
    256,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**53 + 1,
    2**62,
    2**63 - 1,
    2**63,
    2**64 - 1,
    -1,
    -(2**31),
    -(2**63),
)


@dataclass
class Case:
    """One dataset copy being mutated."""

    root: Path
    entry: str
    outside: Path
    kind: str = "blind"

    @property
    def entry_path(self) -> Path:
        """The path that is opened."""
        return self.root / self.entry


Mutator = Callable[[Case, random.Random], str]


def _write(path: Path, data: bytes) -> None:
    """Replace ``path``'s content by a new file: case folders hard-link the seed's files, never write through."""
    path.unlink(missing_ok=True)
    with open(path, "xb") as fh:
        fh.write(data)


def _inside(case: Case, pattern: str = "*") -> list[Path]:
    """Paths below the case folder matching ``pattern``, none reached through a link.

    ``rglob`` follows linked folders: after a folder was replaced by a link to its twin
    outside, a later mutation of the same case would otherwise write into (or delete)
    the shared decoys, and the cases after it would meet a different ``outside``.
    """
    return sorted(p for p in case.root.rglob(pattern) if not p.is_symlink() and _no_link_above(case.root, p))


def _no_link_above(root: Path, path: Path) -> bool:
    """Whether no folder between ``root`` and ``path`` is a symbolic link."""
    return not any((root / parent).is_symlink() for parent in list(path.relative_to(root).parents)[:-1])


def _files(case: Case, pattern: str = "*") -> list[Path]:
    return [p for p in _inside(case, pattern) if p.is_file()]


def _pick_file(case: Case, rng: random.Random) -> Path | None:
    files = _files(case)
    if not files:
        return None
    entry = case.entry_path
    # Metadata and the entry file first: that is where the structure is.
    weights = [
        8
        if p == entry
        else 4
        if p.suffix in (".json", ".zattrs", ".zarray", ".zgroup", ".index", ".ome")
        or p.name in ("zarr.json", ".zarray", ".zattrs", ".visor")
        else 1
        for p in files
    ]
    return rng.choices(files, weights)[0]


def _rel_outside(case: Case, src_dir: Path, name: str) -> str:
    return os.path.relpath(case.outside / name, src_dir)


# ------------------------------------------------------------------ blind mutators
def truncate(case: Case, rng: random.Random) -> str:
    path = _pick_file(case, rng)
    if path is None:
        return "no file"
    data = path.read_bytes()
    cut = rng.randrange(len(data)) if data else 0
    _write(path, data[:cut])
    # An NDTiff index cut between entries is a valid index of fewer images (what a
    # running acquisition leaves): only a cut inside an entry is damage to report.
    boundary = path.name == "NDTiff.index" and cut in _entry_ends(data)
    case.kind = "blind" if boundary else "truncate"
    return f"truncate {path.name} at {cut} of {len(data)}"


def _edit_bytes(case: Case, rng: random.Random, change: Callable[[bytearray], str], min_size: int = 1) -> str:
    """Pick a file, let ``change`` edit its bytes in place (it returns what it did), write it back."""
    path = _pick_file(case, rng)
    data = bytearray(path.read_bytes() if path else b"")
    if path is None or len(data) < min_size:
        return "no data"
    what = change(data)
    _write(path, bytes(data))
    return f"{what} in {path.name}"


def bitflip(case: Case, rng: random.Random) -> str:
    def flip(data: bytearray) -> str:
        flips = rng.randint(1, 8)
        for _ in range(flips):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return f"bitflip {flips}"

    return _edit_bytes(case, rng, flip)


def overwrite(case: Case, rng: random.Random) -> str:
    def put(data: bytearray) -> str:
        i = rng.randrange(len(data))
        n = min(rng.choice((1, 2, 4, 8, 16, 64)), len(data) - i)
        data[i : i + n] = bytes(rng.choice((0, 0xFF, rng.randrange(256))) for _ in range(n))
        return f"overwrite {n} at {i}"

    return _edit_bytes(case, rng, put)


def extreme_int(case: Case, rng: random.Random) -> str:
    def put(data: bytearray) -> str:
        width = rng.choice((2, 4, 8))
        i = (
            rng.randrange(0, len(data) - width + 1) & ~(width - 1)
            if rng.random() < 0.7
            else rng.randrange(0, len(data) - width + 1)
        )
        value = rng.choice(EXTREMES) % (1 << (8 * width))
        data[i : i + width] = value.to_bytes(width, rng.choice(("little", "big")))
        return f"extreme {value} ({width} bytes) at {i}"

    return _edit_bytes(case, rng, put, min_size=8)


def splice(case: Case, rng: random.Random) -> str:
    path = _pick_file(case, rng)
    data = path.read_bytes() if path else b""
    if not path or not data:
        return "no data"
    i = rng.randrange(len(data))
    if rng.random() < 0.5:
        n = rng.randint(1, 64)
        _write(path, data[:i] + data[i + n :])
        return f"delete {n} at {i} in {path.name}"
    junk = rng.randbytes(rng.randint(1, 64))
    _write(path, data[:i] + junk + data[i:])
    return f"insert {len(junk)} at {i} in {path.name}"


def empty(case: Case, rng: random.Random) -> str:
    path = _pick_file(case, rng)
    if path is None:
        return "no file"
    _write(path, b"")
    case.kind = "truncate"
    return f"empty {path.name}"


# ------------------------------------------------------------------------- TIFF
@dataclass
class Ifd:
    offset: int
    entries: list[tuple[int, int, int, int]]  # (entry offset, tag, type, count)
    next_at: int  # where the next-IFD pointer is stored


def tiff_ifds(data: bytes, limit: int = 64) -> tuple[str, bool, list[Ifd]]:
    """Byte order, BigTIFF flag and the first ``limit`` IFDs of a TIFF (stops at damage)."""
    if data[:2] not in (b"II", b"MM"):
        return "<", False, []
    bo = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(bo + "H", data, 2)[0] == 43
    try:
        offset = struct.unpack_from(bo + ("Q" if big else "I"), data, 8 if big else 4)[0]
        ifds: list[Ifd] = []
        seen = set()
        while offset and offset not in seen and len(ifds) < limit and offset < len(data):
            seen.add(offset)
            count = struct.unpack_from(bo + ("Q" if big else "H"), data, offset)[0]
            size = 20 if big else 12
            first = offset + (8 if big else 2)
            entries = []
            for k in range(min(count, 4096)):
                at = first + k * size
                tag, typ = struct.unpack_from(bo + "HH", data, at)
                cnt = struct.unpack_from(bo + ("Q" if big else "I"), data, at + 4)[0]
                entries.append((at, tag, typ, cnt))
            next_at = first + count * size
            ifds.append(Ifd(offset, entries, next_at))
            offset = struct.unpack_from(bo + ("Q" if big else "I"), data, next_at)[0]
    except struct.error:
        pass
    return bo, big, ifds


def _tiff_target(case: Case, rng: random.Random) -> tuple[Path, bytearray, str, bool, list[Ifd]] | None:
    tifs = [p for p in _files(case) if p.read_bytes()[:2] in (b"II", b"MM")]
    if not tifs:
        return None
    path = case.entry_path if case.entry_path in tifs and rng.random() < 0.7 else rng.choice(tifs)
    data = bytearray(path.read_bytes())
    bo, big, ifds = tiff_ifds(bytes(data))
    if not ifds:
        return None
    return path, data, bo, big, ifds


def _put(data: bytearray, bo: str, at: int, value: int, width: int) -> None:
    data[at : at + width] = (value % (1 << (8 * width))).to_bytes(width, "little" if bo == "<" else "big")


def tiff_entry(case: Case, rng: random.Random) -> str:
    found = _tiff_target(case, rng)
    if not found:
        return bitflip(case, rng)
    path, data, bo, big, ifds = found
    ifd = rng.choice(ifds)
    if not ifd.entries:
        return "no entries"
    # Size-defining tags most of the time: width, length, bits, samples, strips, tiles.
    sizing = [
        e for e in ifd.entries if e[1] in (256, 257, 258, 273, 277, 278, 279, 322, 323, 324, 325, 32997)
    ]
    at, tag, _, _ = rng.choice(sizing) if sizing and rng.random() < 0.7 else rng.choice(ifd.entries)
    word = 8 if big else 4
    field = rng.choice(("count", "value"))
    pos = at + 4 if field == "count" else at + 4 + word
    value = rng.choice(EXTREMES)
    _put(data, bo, pos, value, word)
    _write(path, bytes(data))
    return f"tiff tag {tag} {field}={value} in IFD@{ifd.offset} of {path.name}"


def tiff_chain(case: Case, rng: random.Random) -> str:
    found = _tiff_target(case, rng)
    if not found:
        return truncate(case, rng)
    path, data, bo, big, ifds = found
    word = 8 if big else 4
    k = rng.randrange(len(ifds))
    choice = rng.random()
    # A broken chain must be reported (warning or error) unless the pixels read are the seed's.
    case.kind = "truncate"
    if choice < 0.4:
        j = rng.randrange(k + 1)
        _put(data, bo, ifds[k].next_at, ifds[j].offset, word)
        what = f"next IFD of {k} -> IFD {j} (loop)"
    elif choice < 0.6:
        _put(data, bo, ifds[k].next_at, len(data) + rng.randint(0, 1 << 20), word)
        what = f"next IFD of {k} beyond the end"
    elif choice < 0.8:
        _put(data, bo, ifds[k].next_at, rng.randrange(len(data)), word)
        what = f"next IFD of {k} -> random offset"
    else:
        k = rng.randrange(1, len(ifds)) if len(ifds) > 1 else 0
        cut = ifds[k].offset + rng.randrange(1, 2 + len(ifds[k].entries) * (20 if big else 12))
        _write(path, bytes(data[:cut]))
        case.kind = "truncate"
        return f"cut {path.name} inside IFD {k} at {cut}"
    _write(path, bytes(data))
    return f"{what} in {path.name}"


def _tiff_description(data: bytes) -> tuple[str, bool, int, int, int] | None:
    """(byte order, big, entry offset, value offset, count) of the first ImageDescription."""
    bo, big, ifds = tiff_ifds(data, limit=1)
    for at, tag, _, cnt in ifds[0].entries if ifds else []:
        if tag == 270:
            word = 8 if big else 4
            inline = cnt <= word
            off = (
                at + 4 + word
                if inline
                else struct.unpack_from(bo + ("Q" if big else "I"), data, at + 4 + word)[0]
            )
            return bo, big, at, off, cnt
    return None


def description_of(path: Path) -> str | None:
    """The first page's ImageDescription text (``None`` if it has none)."""
    data = path.read_bytes()
    found = _tiff_description(data)
    if found is None:
        return None
    _, _, _, off, cnt = found
    return data[off : off + cnt].rstrip(b"\x00").decode("utf-8", "replace")


def replace_description(path: Path, text: str) -> None:
    """Make ``text`` the first page's ImageDescription: written at the end, the tag pointed at it."""
    data = bytearray(path.read_bytes())
    found = _tiff_description(bytes(data))
    if found is None:
        raise ValueError(f"{path}: no ImageDescription to replace")
    bo, big, at, _, _ = found
    raw = text.encode("utf-8") + b"\x00"
    word = 8 if big else 4
    start = len(data) + (len(data) & 1)
    data += b"\x00" * (start - len(data)) + raw
    _put(data, bo, at + 4, len(raw), word)
    _put(data, bo, at + 4 + word, start, word)
    _write(path, bytes(data))


def tiff_description(case: Case, rng: random.Random) -> str:
    """Replace the first page's ImageDescription (OME-XML, ImageJ, scitiffmeta) with a mutated text."""
    tifs = [p for p in _files(case) if p.read_bytes()[:2] in (b"II", b"MM")]
    if not tifs:
        return "no tiff"
    path = case.entry_path if case.entry_path in tifs and rng.random() < 0.7 else rng.choice(tifs)
    text = description_of(path)
    if text is None:
        return "no description"
    new, what = mutate_text(text, case, path.parent, rng)
    replace_description(path, new)
    return f"description of {path.name}: {what}"


# ------------------------------------------------------------------------- text
_NUMBER = re.compile(r'(?<=[="\s:\[,])-?\d+(\.\d+)?(?=[",\s\]}<])')


def _deep(n: int, xml: bool) -> str:
    return "<a>" * n + "</a>" * n if xml else "[" * n + "]" * n


def mutate_text(text: str, case: Case, folder: Path, rng: random.Random) -> tuple[str, str]:
    """A structure-aware change of an XML, ImageJ or JSON text; returns (text, description)."""
    xml = text.lstrip().startswith("<")
    secret = _rel_outside(case, folder, "secret.tif")
    ops = ["number", "number", "delete", "deep", "dimorder", "filename", "xuuid", "sizes", "json"]
    op = rng.choice(ops)
    if op == "number":
        numbers = list(_NUMBER.finditer(text))
        if numbers:
            m = rng.choice(numbers)
            value = str(rng.choice((*EXTREMES, 10**6, 10**9, 10**12, 1e308, "nan", "-0")))
            return text[: m.start()] + value + text[m.end() :], f"number -> {value}"
    if op == "sizes" and "SizeZ" in text:
        attr = rng.choice(("SizeX", "SizeY", "SizeZ", "SizeC", "SizeT"))
        size = rng.choice((0, 2**31 - 1, 10**9, 2**63, 65536, -1))
        return re.sub(rf'{attr}="\d+"', lambda _: f'{attr}="{size}"', text), f"{attr}={size}"
    if op == "dimorder" and "DimensionOrder" in text:
        value = rng.choice(("ZYXCT", "XYXYX", "XYCZT ", "xyzct", "", "XYZCTT", "TCZYX"))
        return re.sub(
            r'DimensionOrder="\w*"', lambda _: f'DimensionOrder="{value}"', text
        ), f"DimensionOrder={value}"
    if op == "filename" and ("FileName" in text or "MetadataFile" in text):
        value = rng.choice(
            (
                secret,
                str(case.outside / "secret.tif"),
                "x" * 5000 + ".tif",
                "../" * 40 + "etc/passwd",
                "sub/../../" + secret,
                "nul\\..\\..\\x.tif",
                "",
            )
        )
        attr = "FileName" if "FileName" in text and rng.random() < 0.8 else "MetadataFile"
        return re.sub(
            rf'{attr}="[^"]*"', lambda _: f'{attr}="{value}"', text, count=rng.choice((0, 1))
        ), f"{attr}={value[:60]}"
    if op == "xuuid" and "UUID" in text and xml:
        tag = rng.choice(("XUUID", "MyUUID", "ns:UUID", "UUIDX"))
        repl = f'<{tag} FileName="{secret}">urn:uuid:99</{tag}>'
        if "<UUID" in text and rng.random() < 0.5:
            new = re.sub(r"<UUID([^>]*)>([^<]*)</UUID>", lambda _: repl, text, count=1)
        else:
            new = re.sub(
                r"(<TiffData[^>]*?)(/?)>",
                lambda m: m.group(1) + ">" + repl + ("</TiffData>" if m.group(2) else ""),
                text,
                count=1,
            )
        return new, f"{tag} FileName={secret}"
    if op == "deep":
        depth = rng.choice((200, 2000, 50000))
        if xml:
            at = text.find("</Pixels>")
            at = at if at >= 0 else max(0, text.rfind("</"))
            return text[:at] + _deep(depth, True) + text[at:], f"xml nested {depth}"
        at = text.find("{")
        if at >= 0:
            return text[: at + 1] + f'"deep": {_deep(depth, False)},' + text[at + 1 :], f"json nested {depth}"
    if op == "json":
        start = text.find("{")
        end = text.rfind("}")
        if start >= 0 and end > start:
            try:
                doc = json.loads(text[start : end + 1])
            except ValueError:
                doc = None
            if doc is not None:
                new, what = mutate_json(doc, case, folder, rng)
                return text[:start] + json.dumps(new) + text[end + 1 :], what
    if text:
        i = rng.randrange(len(text))
        n = rng.randint(1, 200)
        return text[:i] + text[i + n :], f"delete {n} chars at {i}"
    return text, "unchanged"


# ------------------------------------------------------------------------- JSON
def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_leaves(v, (*path, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:50]):
            out.extend(_leaves(v, (*path, i)))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return doc


def mutate_json(doc: Any, case: Case, folder: Path, rng: random.Random) -> tuple[Any, str]:
    """Change one node of a parsed JSON document (values, types, names, nesting)."""
    paths = _leaves(doc)
    path = rng.choice(paths[1:] if len(paths) > 1 else paths)
    secret = _rel_outside(case, folder, rng.choice(("secret.tif", "secret.json", "secret.bin")))
    value: Any = rng.choice(
        (
            *EXTREMES,
            1e308,
            float("nan"),
            -0.5,
            "",
            "x" * 5000,
            None,
            True,
            [],
            {},
            [2**63] * 3,
            [0] * 10,
            secret,
            str(case.outside / "secret.json"),
            "../" * 8,
            "a" * 300,
            [[[]]],
            {"a": {"b": {}}},
            "ZYXCT",
            "float128",
            "|O",
            "<U8",
            [2**40, 2**40, 2**40],
        )
    )
    op = rng.random()
    if op < 0.1 and len(path) and isinstance(doc, (dict, list)):
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        try:
            del parent[path[-1]]
            return doc, f"json delete {path}"
        except (KeyError, IndexError, TypeError):
            pass
    if op < 0.15:
        depth = rng.choice((500, 5000))
        nested: Any = 0
        for _ in range(depth):
            nested = [nested]
        return _set(doc, path, nested), f"json {path} nested {depth}"
    return _set(doc, path, value), f"json {path} = {str(value)[:40]}"


def json_file(case: Case, rng: random.Random) -> str:
    files = [
        p
        for p in _files(case)
        if p.suffix == ".json" or p.name in (".zarray", ".zattrs", ".zgroup", ".visor")
    ]
    if not files:
        return extreme_int(case, rng)
    path = rng.choice(files)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except ValueError:
        return bitflip(case, rng)
    new, what = mutate_json(doc, case, path.parent, rng)
    try:
        text = json.dumps(new)
    except (ValueError, RecursionError):
        text = "[" * 100000
    _write(path, text.encode("utf-8"))
    return f"{path.relative_to(case.root)}: {what}"


def companion_text(case: Case, rng: random.Random) -> str:
    files = [p for p in _files(case) if p.suffix == ".ome" or p.name.endswith(".xml")]
    if not files:
        return tiff_description(case, rng)
    path = rng.choice(files)
    new, what = mutate_text(path.read_text("utf-8", "replace"), case, path.parent, rng)
    _write(path, new.encode("utf-8"))
    return f"{path.name}: {what}"


# ------------------------------------------------------------------------- zarr
def _chunks(case: Case) -> list[Path]:
    meta = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}
    return [p for p in _files(case) if p.name not in meta and p.suffix not in (".json", ".visor", ".txt")]


def zarr_chunk(case: Case, rng: random.Random) -> str:
    chunks = _chunks(case)
    if not chunks:
        return bitflip(case, rng)
    path = rng.choice(chunks)
    data = bytearray(path.read_bytes())
    op = rng.randrange(6)
    if op == 0 and data:
        cut = rng.randrange(len(data))
        _write(path, bytes(data[:cut]))
        case.kind = "truncate"
        return f"chunk {path.relative_to(case.root)} cut at {cut} of {len(data)}"
    if op == 1 and len(data) >= 16:
        field = rng.choice((4, 8, 12))  # blosc nbytes, blocksize, cbytes
        data[field : field + 4] = (rng.choice(EXTREMES) % 2**32).to_bytes(4, "little")
        _write(path, bytes(data))
        return f"chunk {path.relative_to(case.root)} header field {field}"
    if op == 2:
        _write(path, rng.randbytes(rng.choice((0, 1, 16, 100, len(data)))))
        return f"chunk {path.relative_to(case.root)} random bytes"
    if op == 3:
        path.unlink()
        return f"chunk {path.relative_to(case.root)} deleted"
    if op == 4 and data:
        data += rng.randbytes(rng.randint(1, 64))
        _write(path, bytes(data))
        return f"chunk {path.relative_to(case.root)} with trailing bytes"
    return bitflip(case, rng)


# ------------------------------------------------------------------------ NDTiff
def _index_entries(data: bytes) -> list[tuple[bytes, bytes, tuple[int, ...]]]:
    """The entries of an NDTiff index: (axes JSON, file name, the eight numeric fields)."""
    return list(_parsed_index(data))


@functools.lru_cache(maxsize=8)
def _parsed_index(data: bytes) -> tuple[tuple[bytes, bytes, tuple[int, ...]], ...]:
    # Cached: most cases parse one of the few seed indexes (hundreds of entries), and
    # a case that adds 100,000 entries and then cuts the index parses them only once.
    out, pos = [], 0
    while pos + 4 <= len(data):
        (k,) = struct.unpack_from("<I", data, pos)
        if k == 0 or pos + 8 + k > len(data):
            break
        axes = data[pos + 4 : pos + 4 + k]
        (n,) = struct.unpack_from("<I", data, pos + 4 + k)
        name = data[pos + 8 + k : pos + 8 + k + n]
        tail = struct.unpack_from("<8I", data, pos + 8 + k + n)
        out.append((axes, name, tail))
        pos += 8 + k + n + 32
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _entry_ends(data: bytes) -> frozenset[int]:
    """Byte offsets where the entries of an NDTiff index end (0 included)."""
    ends, pos = {0}, 0
    for axes, name, _ in _parsed_index(data):
        pos += 8 + len(axes) + len(name) + 32
        ends.add(pos)
    return frozenset(ends)


def _index_bytes(entries: Sequence[tuple[bytes, bytes, Sequence[int]]]) -> bytes:
    out = bytearray()
    for axes, name, tail in entries:
        out += struct.pack("<I", len(axes)) + axes + struct.pack("<I", len(name)) + name
        out += struct.pack("<8I", *(v % 2**32 for v in tail))
    return bytes(out)


@functools.lru_cache(maxsize=1)
def _bogus_axes() -> tuple[bytes, ...]:
    """The axes JSON of 100,000 made-up index entries (built once per process)."""
    return tuple(
        struct.pack("<I", len(a)) + a
        for a in (json.dumps({"time": k, "channel": "DAPI", "z": k % 7}).encode() for k in range(100000))
    )


def _bogus_entries(name: bytes, tail: tuple[int, ...]) -> bytes:
    """100,000 index entries of made-up axes, all pointing at one image.

    The same bytes as ``_index_bytes`` of those entries, joined from a cached prefix
    per entry and the one image's name and fields (tens of milliseconds, not seconds).
    """
    rest = struct.pack("<I", len(name)) + name + struct.pack("<8I", *(v % 2**32 for v in tail))
    return b"".join(axes + rest for axes in _bogus_axes())


def ndtiff_index(case: Case, rng: random.Random) -> str:
    index = next(iter(_files(case, "NDTiff.index")), None)
    if index is None:
        return bitflip(case, rng)
    entries = _index_entries(index.read_bytes())
    if not entries:
        return truncate(case, rng)
    op = rng.randrange(6)
    i = rng.randrange(len(entries))
    axes, name, tail = entries[i]
    if op == 0:
        _write(index, _index_bytes(entries) + _bogus_entries(name, tuple(tail)))
        return "NDTiff.index: 100,000 bogus entries"
    if op == 1:
        doc = json.loads(axes)
        key = rng.choice(list(doc) or ["time"])
        doc[key] = rng.choice((2**63, -(2**63), 2**62, "x" * 5000, 1.5, None, [1], {"a": 1}))
        entries[i] = (json.dumps(doc).encode(), name, tail)
        what = f"axis {key} = {str(doc[key])[:20]}"
    elif op == 2:
        new = rng.choice(
            (
                "x" * 5000,
                _rel_outside(case, index.parent, "secret.tif"),
                str(case.outside / "secret.tif"),
                "../" + name.decode(),
                "",
            )
        )
        entries[i] = (axes, new.encode(), tail)
        what = f"file name {new[:40]}"
    elif op == 3:
        field = rng.randrange(8)
        fields = list(tail)
        fields[field] = rng.choice(EXTREMES) % 2**32
        entries[i] = (axes, name, tuple(fields))
        what = f"tail field {field} = {fields[field]}"
    elif op == 4:
        doc = {f"axis{k}": 2**40 + k for k in range(rng.choice((1, 8, 64)))}
        entries[i] = (json.dumps(doc).encode(), name, tail)
        what = f"{len(doc)} huge axes"
    else:
        entries.append(entries[i])
        what = "duplicated entry"
    _write(index, _index_bytes(entries))
    return f"NDTiff.index: {what}"  # a re-written index is self-consistent: kind stays "blind"


# ---------------------------------------------------------------------- symlinks
@functools.lru_cache(maxsize=4096)
def _outside_named(outside: Path, name: str) -> tuple[Path, ...]:
    """Decoys named ``name`` (the decoy folder never changes during a campaign: walked once per name)."""
    return tuple((outside / "copies").rglob(name))


def symlink_file(case: Case, rng: random.Random) -> str:
    """Replace a file of the dataset by a link to its twin outside (or to a decoy)."""
    path = _pick_file(case, rng)
    if path is None:
        return "no file"
    rel = path.relative_to(case.root)
    twins = list(_outside_named(case.outside, path.name))
    target = rng.choice(twins) if twins else case.outside / "secret.bin"
    path.unlink()
    link = os.path.relpath(target, path.parent) if rng.random() < 0.5 else str(target)
    os.symlink(link, path)
    case.kind = "escape"
    return f"symlink {rel} -> outside {target.name}"


def symlink_dir(case: Case, rng: random.Random) -> str:
    """Replace a folder of the dataset (a chunk folder, level, ``Full resolution``) by a link out."""
    dirs = [p for p in _inside(case) if p.is_dir()]
    if not dirs:
        return symlink_file(case, rng)
    path = rng.choice(dirs)
    twins = [p for p in _outside_named(case.outside, path.name) if p.is_dir()]
    if not twins:
        return symlink_file(case, rng)
    shutil.rmtree(path)
    os.symlink(rng.choice(twins), path)
    case.kind = "escape"
    return f"symlink folder {path.relative_to(case.root)} -> outside"


def loop_link(case: Case, rng: random.Random) -> str:
    """A link to itself or to its own folder (ELOOP, endless walks)."""
    path = _pick_file(case, rng)
    if path is None:
        return "no file"
    path.unlink()
    os.symlink(path.name if rng.random() < 0.5 else ".", path)
    return f"self link {path.relative_to(case.root)}"


#: Mutators per format, each with a weight.
_COMMON: list[tuple[Mutator, int]] = [
    (truncate, 3),
    (bitflip, 3),
    (overwrite, 2),
    (extreme_int, 3),
    (splice, 1),
    (empty, 1),
    (symlink_file, 1),
    (symlink_dir, 1),
    (loop_link, 1),
]
_TIFF: list[tuple[Mutator, int]] = [(tiff_entry, 6), (tiff_chain, 4), (tiff_description, 5)]
MUTATORS: dict[str, list[tuple[Mutator, int]]] = {
    "tiff": _COMMON + _TIFF,
    "ome-tiff": _COMMON + _TIFF + [(companion_text, 6)],
    "scitiff": _COMMON + _TIFF + [(tiff_description, 5)],
    "ndtiff": [*_COMMON, (tiff_entry, 3), (tiff_chain, 1), (ndtiff_index, 8), (json_file, 1)],
    "ome-zarr": [*_COMMON, (json_file, 8), (zarr_chunk, 6)],
    "visor": [*_COMMON, (json_file, 8), (zarr_chunk, 5)],
}


def mutate(fmt: str, case: Case, rng: random.Random) -> str:
    """Apply one to three mutations of format ``fmt`` to ``case``; return what was done."""
    table = MUTATORS[fmt]
    done = []
    kinds = []
    for _ in range(1 if rng.random() < 0.75 else rng.randint(2, 3)):
        mutator = rng.choices([m for m, _ in table], [w for _, w in table])[0]
        case.kind = "blind"
        try:
            done.append(mutator(case, rng))
        except Exception as exc:  # noqa: BLE001 - a mutator that cannot apply skips, the campaign goes on
            done.append(f"{mutator.__name__} failed: {type(exc).__name__}")
        kinds.append(case.kind)
    # A damaged-structure case is judged as such only if nothing else changed bytes
    # that may legitimately read differently (a bit flip in pixel data).
    case.kind = (
        "escape" if "escape" in kinds else "truncate" if all(k == "truncate" for k in kinds) else "blind"
    )
    return "; ".join(done)
