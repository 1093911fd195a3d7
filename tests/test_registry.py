"""Reader discovery and selection: entry points, ordering, duplicates, broken plugins, hints."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import scitiff_readers
from scitiff_readers import (
    PluginLoadWarning,
    Reader,
    UnsupportedFormatError,
    feasibility_report,
    list_readers,
    select_reader,
)
from scitiff_readers._plugins import PluginRegistry
from scitiff_readers._registry import _readers

from .conftest import MultiSceneReader

HERE = Path(__file__).parent


class _Fake(Reader):
    """Base of the fake readers below: accepts files whose first bytes equal ``magic``."""

    magic: ClassVar[bytes] = b""

    @classmethod
    def can_open(cls, path: Any) -> bool:
        try:
            with open(path, "rb") as fh:
                return fh.read(len(cls.magic)) == cls.magic
        except OSError:
            return False

    def _open(self) -> None: ...
    def _scene_names(self) -> tuple[str, ...]:
        return ("s",)

    def _image(self, scene: int, level: int) -> Any:
        raise NotImplementedError

    @property
    def metadata(self) -> None:
        return None


class GenericTiff(_Fake):
    name = "generic"
    suffixes = (".tif", ".tiff")
    priority = 0
    magic = b"II*\x00"


class SpecificTiff(_Fake):
    name = "specific"
    suffixes = (".tif",)
    priority = 100
    magic = b"II*\x00SPECIFIC"


class NoSuffixSniffer(_Fake):
    name = "sniffer"
    suffixes = (".weird",)
    priority = 1
    magic = b"SNIFF"


class Exploding(_Fake):
    name = "exploding"
    suffixes = (".tif",)
    priority = 50

    @classmethod
    def can_open(cls, path: Any) -> bool:
        raise RuntimeError("bug in sniff")


def _entry_point(name: str, cls: type, group: str = "scitiff_readers.readers") -> metadata.EntryPoint:
    module = sys.modules[cls.__module__]
    setattr(module, cls.__name__, cls)
    return metadata.EntryPoint(name=name, value=f"{cls.__module__}:{cls.__name__}", group=group)


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Replace the installed entry points with in-memory ones."""

    def install(*eps: metadata.EntryPoint) -> None:
        monkeypatch.setattr(_readers, "_entry_points", lambda: list(eps))
        _readers.refresh()

    yield install
    _readers.refresh()


def test_import_does_not_load_plugins() -> None:
    code = textwrap.dedent(
        """
        import sys, scitiff_readers
        heavy = [m for m in ("tifffile", "zarr", "scitiff_readers_tiff", "scitiff_readers_zarr",
                             "scitiff_readers_ndtiff", "scitiff_readers_scitiff", "distributed")
                 if m in sys.modules]
        print(heavy)
        print(scitiff_readers._registry._readers._discovered is None)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"], out.stdout


def test_specific_reader_wins_over_generic(tmp_path: Path, fake_entry_points: Any) -> None:
    fake_entry_points(_entry_point("generic", GenericTiff), _entry_point("specific", SpecificTiff))
    specific = tmp_path / "a.tif"
    specific.write_bytes(b"II*\x00SPECIFIC....")
    plain = tmp_path / "b.tif"
    plain.write_bytes(b"II*\x00 plain")
    assert select_reader(specific) is SpecificTiff
    assert select_reader(plain) is GenericTiff


def test_content_sniff_when_suffix_matches_nothing(tmp_path: Path, fake_entry_points: Any) -> None:
    fake_entry_points(_entry_point("generic", GenericTiff), _entry_point("sniffer", NoSuffixSniffer))
    path = tmp_path / "data.bin"
    path.write_bytes(b"SNIFF...")
    assert select_reader(path) is NoSuffixSniffer
    folder_tiff = tmp_path / "image.TIF"  # suffix matching is case-insensitive
    folder_tiff.write_bytes(b"II*\x00")
    assert select_reader(folder_tiff) is GenericTiff


def test_broken_plugin_warns_and_others_keep_working(tmp_path: Path, fake_entry_points: Any) -> None:
    broken = metadata.EntryPoint(
        name="broken", value="no_such_module_xyz:Reader", group="scitiff_readers.readers"
    )
    not_a_reader = metadata.EntryPoint(name="notreader", value="os:path", group="scitiff_readers.readers")
    fake_entry_points(broken, not_a_reader, _entry_point("generic", GenericTiff))
    with pytest.warns(PluginLoadWarning) as record:
        readers = list_readers()
    messages = " ".join(str(w.message) for w in record)
    assert "'broken'" in messages
    assert "no_such_module_xyz" in messages
    assert "'notreader'" in messages
    assert "not a subclass" in messages
    assert list(readers) == ["generic"]
    path = tmp_path / "x.tif"
    path.write_bytes(b"II*\x00")
    assert select_reader(path) is GenericTiff


def test_duplicate_names_warn_and_first_wins(fake_entry_points: Any) -> None:
    fake_entry_points(_entry_point("generic", GenericTiff), _entry_point("generic", SpecificTiff))
    with pytest.warns(PluginLoadWarning, match="two reader plugins are named 'generic'"):
        readers = list_readers()
    assert readers["generic"].cls is GenericTiff


def test_discovery_is_cached(fake_entry_points: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    eps = [_entry_point("generic", GenericTiff)]

    def counting() -> list[metadata.EntryPoint]:
        calls.append(1)
        return eps

    monkeypatch.setattr(_readers, "_entry_points", counting)
    _readers.refresh()
    list_readers()
    list_readers()
    assert len(calls) == 1
    scitiff_readers.refresh_readers()
    list_readers()
    assert len(calls) == 2


def test_sniff_that_raises_is_a_warning_not_a_crash(tmp_path: Path, fake_entry_points: Any) -> None:
    fake_entry_points(_entry_point("exploding", Exploding), _entry_point("generic", GenericTiff))
    path = tmp_path / "x.tif"
    path.write_bytes(b"II*\x00")
    with pytest.warns(RuntimeWarning, match="can_open raised RuntimeError"):
        assert select_reader(path) is GenericTiff


def test_unsupported_format_lists_each_reader_and_hints(tmp_path: Path, fake_entry_points: Any) -> None:
    fake_entry_points(_entry_point("generic", GenericTiff), _entry_point("sniffer", NoSuffixSniffer))
    path = tmp_path / "image.tif"
    path.write_bytes(b"GIF89a")
    with pytest.raises(UnsupportedFormatError) as info:
        Reader(path)
    message = str(info.value)
    assert str(path) in message
    assert "generic: content not recognised" in message
    assert "sniffer: suffix not in .weird and content not recognised" in message
    assert "pip install scitiff-readers-tiff" in message  # known, missing plugin
    assert isinstance(info.value, ValueError)


def test_feasibility_report_opens_candidates(tmp_path: Path, multiscene_reader_cls: type) -> None:
    path = tmp_path / "a.ms"
    path.write_bytes(b"MULTISCENE\n")
    report = feasibility_report(path)
    assert report["multiscene"].opens
    assert report["multiscene"].suffix_match
    assert not report["npy"].can_open
    assert "content not recognised" in report["npy"].reason
    with pytest.raises(FileNotFoundError):
        feasibility_report(tmp_path / "missing")


def test_register_reader_rules(multiscene_reader_cls: type) -> None:
    with pytest.raises(ValueError, match="already registered"):
        scitiff_readers.register_reader(MultiSceneReader)
    with pytest.raises(TypeError):
        scitiff_readers.register_reader(int)  # type: ignore[arg-type]
    assert list_readers()["multiscene"].origin == "runtime"


def test_bad_suffix_declaration_is_rejected() -> None:
    with pytest.raises(TypeError, match="lower-case"):
        type("Bad", (_Fake,), {"suffixes": (".TIF",)})


def test_plugin_registry_is_generic() -> None:
    reg: PluginRegistry[type] = PluginRegistry("nonexistent.group.for.tests", Reader, "thing")
    assert dict(reg.all()) == {}


@pytest.mark.slow
def test_third_party_distribution_is_picked_up(tmp_path: Path) -> None:
    """Install the example plugin with pip into a throw-away folder and use it from a fresh process."""
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(HERE / "example_plugin"),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    assert list(target.glob("scitiff_readers_rawstack-*.dist-info/entry_points.txt"))
    sample = tmp_path / "cells.rawstack"
    script = textwrap.dedent(
        f"""
        import numpy as np, scitiff_readers
        from scitiff_readers_rawstack import write_rawstack
        data = np.arange(2*3*4*5*6, dtype="uint16").reshape(2, 3, 4, 5, 6)
        write_rawstack({str(sample)!r}, data, channels=["a", "b", "c"], pixel_size_um=(2, .5, .25))
        info = scitiff_readers.list_readers()["rawstack"]
        print(info.origin, info.distribution, info.version)
        with scitiff_readers.Reader({str(sample)!r}) as r:
            print(type(r).__module__, r.reader_name, r.channel_names, tuple(r.physical_pixel_sizes))
            assert (r.get_image_data("ZYX", T=1, C=2) == data[1, 2]).all()
            print(float(r.xarray_dask_data.coords["X"][-1]), r.xarray_dask_data.coords["X"].attrs["units"])
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sys.path])}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "entry point scitiff-readers-rawstack 1.0.0"
    assert lines[1] == "scitiff_readers_rawstack rawstack ['a', 'b', 'c'] (2.0, 0.5, 0.25)"
    assert lines[2] == "1.25 µm"
    np.testing.assert_equal(len(lines), 3)


def test_companion_file_hints_the_tiff_plugin(tmp_path: Path, fake_entry_points: Any) -> None:
    fake_entry_points(_entry_point("generic", GenericTiff))
    path = tmp_path / "slide.companion.ome"
    path.write_text("<OME/>")
    with pytest.raises(
        UnsupportedFormatError, match=r"'ome-tiff' reader is not installed: pip install scitiff-readers-tiff"
    ):
        Reader(path)
