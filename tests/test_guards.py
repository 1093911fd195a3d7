"""scitiff_readers._guards: typed library errors, allocation bounds, path confinement, JSON nesting."""

from __future__ import annotations

import ast
import errno
import json
import os
import struct
import sys
from pathlib import Path

import pytest

from scitiff_readers._guards import check_allocation, check_inside, library_errors, load_json, typed_error
from scitiff_readers.errors import CorruptFileError, ImageTooLargeError, MetadataError, ScitiffReadersError


@pytest.mark.parametrize(
    ("raised", "expected", "builtin"),
    [
        (RuntimeError("Zstd decompression error: invalid input data"), CorruptFileError, ValueError),
        (struct.error("unpack requires a buffer of 2 bytes"), CorruptFileError, ValueError),
        (ZeroDivisionError("integer division or modulo by zero"), CorruptFileError, ValueError),
        (OverflowError("Python int too large to convert to C long"), CorruptFileError, ValueError),
        (KeyError("Z"), CorruptFileError, ValueError),
        (RecursionError("maximum recursion depth exceeded"), MetadataError, ValueError),
        (MemoryError("Unable to allocate 32.0 GiB"), ImageTooLargeError, MemoryError),
        (OSError(errno.ENAMETOOLONG, "File name too long"), CorruptFileError, ValueError),
        (OSError(errno.ELOOP, "Too many levels of symbolic links"), CorruptFileError, ValueError),
    ],
)
def test_library_errors_become_typed_errors_naming_file_and_place(raised, expected, builtin) -> None:
    with (
        pytest.raises(expected, match=r"^/data/x\.tif: decoding chunk 0/1: ") as info,
        library_errors("/data/x.tif", "decoding chunk 0/1"),
    ):
        raise raised
    assert isinstance(info.value, ScitiffReadersError)
    assert isinstance(info.value, builtin)
    assert info.value.__cause__ is raised
    assert type(raised).__name__ in str(info.value)


@pytest.mark.parametrize(
    "kept",
    [
        FileNotFoundError(2, "gone"),
        PermissionError(13, "no"),
        OSError(errno.EIO, "io"),
        CorruptFileError("ours"),
    ],
)
def test_own_errors_and_real_io_errors_pass_unchanged(kept) -> None:
    assert typed_error(kept, "f", "w") is kept
    with pytest.raises(type(kept)) as info, library_errors("f", "w"):
        raise kept
    assert info.value is kept


def test_long_library_messages_are_cut() -> None:
    error = typed_error(OSError(errno.ENAMETOOLONG, "x" * 5000), "f", "opening")
    assert len(str(error)) < 500
    assert "characters)" in str(error)


def test_check_allocation_refuses_more_than_memory_before_allocating() -> None:
    check_allocation(2**20, "f", "small")  # small: no question asked
    with pytest.raises(ImageTooLargeError, match=r"f: reading it would need .* GiB, more than this process"):
        check_allocation(2**62, "f", "reading it")


@pytest.mark.skipif(sys.platform != "linux", reason="address-space limits (Linux)")
def test_check_allocation_honours_an_address_space_limit() -> None:
    import resource

    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            with open("/proc/self/statm") as fh:
                used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            resource.setrlimit(resource.RLIMIT_AS, (used + 2**30, used + 2**30))
            try:
                check_allocation(3 * 2**30, "f", "x")
            except ImageTooLargeError:
                check_allocation(2**28, "f", "x")  # fits under the limit
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_check_inside_refuses_links_out_and_accepts_a_linked_dataset(tmp_path: Path) -> None:
    data, outside = tmp_path / "data", tmp_path / "outside"
    (data / "sub").mkdir(parents=True)
    outside.mkdir()
    (data / "sub" / "a").write_bytes(b"a")
    (outside / "b").write_bytes(b"b")
    os.symlink(outside / "b", data / "link")
    os.symlink(outside, data / "dirlink")
    os.symlink(data / "sub" / "a", data / "inner")
    os.symlink("loop", data / "loop")
    assert check_inside(data, data / "sub" / "a", "chunk") == data / "sub" / "a"
    assert check_inside(data, data / "inner", "chunk") == data / "inner"  # a link inside the dataset
    assert (
        check_inside(data, data / "missing", "chunk") == data / "missing"
    )  # missing: the caller's to report
    with pytest.raises(
        CorruptFileError, match=r"link: the chunk is a symbolic link .* outside the dataset folder"
    ):
        check_inside(data, data / "link", "chunk")
    with pytest.raises(CorruptFileError, match="outside the dataset folder"):
        check_inside(data, data / "dirlink" / "b", "chunk")
    with pytest.raises(CorruptFileError, match="cannot be resolved"):
        check_inside(data, data / "loop", "chunk")
    # A link the user made to the whole dataset is followed: its real folder is the root.
    os.symlink(data, tmp_path / "mine")
    assert check_inside(tmp_path / "mine", tmp_path / "mine" / "sub" / "a", "chunk")


def test_load_json_types_nesting_and_keeps_syntax_errors() -> None:
    assert load_json('{"a": [1, 2]}', "f", "attributes") == {"a": [1, 2]}
    with pytest.raises(MetadataError, match=r"f: the \.zattrs is nested too deeply"):
        load_json("[" * 100_000 + "]" * 100_000, "f", ".zattrs")
    with pytest.raises(json.JSONDecodeError):
        load_json("{", "f", "attributes")


def test_npy_declaring_more_pixels_than_its_bytes_is_refused_at_open(tmp_path: Path) -> None:
    from numpy.lib import format as npformat

    from scitiff_readers import Reader

    path = tmp_path / "huge.npy"
    with open(path, "wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": "|u1", "fortran_order": False, "shape": (2**20, 2**20)})
        fh.write(b"\x00" * 16)
    with pytest.raises(
        CorruptFileError, match="header says 1099511627776 bytes of pixels but the file has 16"
    ):
        Reader(path)


# ------------------------------------------------------------ one entry point per library
ROOT = Path(__file__).resolve().parents[1]

#: Where each library that parses file content may be called directly: the one guarded
#: entry point (typed errors naming file and place, size and IFD-chain guards).
ENTRY_POINTS = {
    "tifffile": {"scitiff_readers/_tifffile.py"},
    "json": {
        "scitiff_readers/_guards.py",  # load_json
        "scitiff_readers/cli.py",  # option values typed on the command line, not file content
        "scitiff_readers/_plugincache.py",  # the project's own cache, rebuilt when unreadable
    },
    "zarr": {"plugins/zarr/src/scitiff_readers_zarr/source.py"},  # open_zarr_array
    "numcodecs": set(),  # chunks decode only inside zarr's read, guarded by the zarr plugin's ChunkGuard
}

#: Calls that parse or decode: ``tifffile.TiffFile(...)``, ``json.loads(...)``, ``zarr.open_array(...)``.
PARSING_CALLS = {
    "tifffile": {"TiffFile", "TiffPage", "TiffFrame", "imread", "memmap", "TiffSequence", "FileSequence"},
    "json": {"loads", "load"},
    "zarr": {"open", "open_array", "open_group", "open_consolidated", "Array", "Group"},
    "numcodecs": None,  # any call
}


#: Methods of the objects those libraries return that read and decode pixels:
#: ``page.asarray()``, ``array.get_basic_selection(...)`` (any receiver but a module).
READING_METHODS = {
    "tifffile": {"asarray", "aszarr"},
    "zarr": {
        "get_basic_selection",
        "get_orthogonal_selection",
        "get_coordinate_selection",
        "get_block_selection",
        "get_mask_selection",
    },
}

#: Where those methods may be called: the zarr plugin's read function (which only
#: ``ChunkGuard.read`` calls) and the guard itself, when it looks for the failing chunk.
READING_ENTRY_POINTS = {
    "tifffile": ENTRY_POINTS["tifffile"],
    "zarr": {
        "plugins/zarr/src/scitiff_readers_zarr/source.py",
        "plugins/zarr/src/scitiff_readers_zarr/chunkguard.py",
    },
}


def _is_writing_module(rel: str) -> bool:
    """Writers parse no foreign file; benchmarks and test helpers run reference code on purpose."""
    name = rel.rsplit("/", 1)[-1]
    return "writer" in name or name in ("benchmarks.py", "_demo.py", "savecompat.py") or "/testing" in rel


def _direct_calls(path: Path) -> list[str]:
    """``library.name(...)`` calls in ``path`` (also through ``from library import name``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    aliases: dict[str, tuple[str, str | None]] = {}  # local name -> (library, attribute or None)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top in PARSING_CALLS and a.name == top:
                    aliases[a.asname or top] = (top, None)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            if top in PARSING_CALLS and node.module == top:
                for a in node.names:
                    aliases[a.asname or a.name] = (top, a.name)
    modules = {
        a.asname or a.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        method = func.attr if isinstance(func, ast.Attribute) else ""
        receiver = func.value if isinstance(func, ast.Attribute) else None
        if not (isinstance(receiver, ast.Name) and receiver.id in modules):
            for library, methods in READING_METHODS.items():
                if method in methods:
                    found.append((node.lineno, f"{library} .{method}() at line {node.lineno}"))
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in aliases:
            library, attr = aliases[func.value.id][0], func.attr
        elif isinstance(func, ast.Name) and func.id in aliases and aliases[func.id][1] is not None:
            library, attr = aliases[func.id][0], str(aliases[func.id][1])
        else:
            continue
        names = PARSING_CALLS[library]
        if names is not None and attr not in names:
            continue
        mode = next((k.value for k in node.keywords if k.arg == "mode"), None)
        if library == "zarr" and isinstance(mode, ast.Constant) and mode.value in ("w", "w-", "a"):
            continue  # writing a store
        found.append((node.lineno, f"{library}.{attr} at line {node.lineno}"))
    return [text for _, text in sorted(found)]


def _modules() -> list[Path]:
    roots = [ROOT / "scitiff_readers", *sorted((ROOT / "plugins").glob("*/src"))]
    return sorted(p for r in roots for p in r.rglob("*.py"))


def test_each_library_is_called_from_its_one_guarded_entry_point() -> None:
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if _is_writing_module(rel):
            continue
        for call in _direct_calls(path):
            library = call.split(" ")[0].split(".")[0]
            allowed = READING_ENTRY_POINTS[library] if " ." in call else ENTRY_POINTS[library]
            if rel not in allowed:
                offenders.append(f"{rel}: {call}")
    assert not offenders, (
        "call tifffile through scitiff_readers.backend.open_tifffile / tifffile_errors / page_decoder, "
        "json through load_json, zarr through the zarr plugin's open_zarr_array: " + "; ".join(offenders)
    )


def test_the_entry_point_check_catches_direct_calls(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import json, zarr\nimport tifffile as tf\nfrom tifffile import TiffFile\n"
        "def f(p):\n    tf.TiffFile(p)\n    TiffFile(p)\n    json.loads(p)\n"
        "    zarr.open_array(p, mode='r')\n    zarr.open_group(p, mode='w')\n    tf.TiffFileError\n"
        "    import numpy as np\n    np.asarray(p)\n    p.pages[0].asarray()\n    p.get_basic_selection(())\n"
    )
    assert _direct_calls(module) == [
        "tifffile.TiffFile at line 5",
        "tifffile.TiffFile at line 6",
        "json.loads at line 7",
        "zarr.open_array at line 8",
        "tifffile .asarray() at line 13",
        "zarr .get_basic_selection() at line 14",
    ]
