"""Writer dispatch, overwrite protection, atomic output and dim normalisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest
import xarray as xr

import scitiff_readers
from scitiff_readers import DimensionSelectionError, OutputExistsError, Writer, WriterNotFoundError, write
from scitiff_readers._writers import _choose, _writers, to_canonical
from scitiff_readers.backend import ReaderOptions, WriterOptions
from scitiff_readers.errors import OptionError

if TYPE_CHECKING:
    from pathlib import Path


class NpyWriter(Writer):
    name: ClassVar[str] = "test-npy"
    suffixes: ClassVar[tuple[str, ...]] = (".npy",)
    options: ClassVar[dict[str, Any]] = {"fail": False}

    @classmethod
    def _write(cls, data: xr.DataArray, path: Path, **options: Any) -> None:
        with open(path, "wb") as fh:
            np.save(fh, data.values)
        if options["fail"]:
            raise RuntimeError("disk full")


class LongerSuffixWriter(NpyWriter):
    name: ClassVar[str] = "test-special"
    suffixes: ClassVar[tuple[str, ...]] = (".special.npy",)


@pytest.fixture(autouse=True)
def _writers_registered() -> Any:
    _writers.register(NpyWriter, clobber=True)
    _writers.register(LongerSuffixWriter, clobber=True)
    yield
    _writers.unregister("test-npy")
    _writers.unregister("test-special")


def test_to_canonical_any_case_and_subset() -> None:
    arr = xr.DataArray(np.zeros((3, 4, 5)), dims=("z", "y", "x"))
    out = to_canonical(arr)
    assert out.dims == ("T", "C", "Z", "Y", "X")
    assert out.shape == (1, 1, 3, 4, 5)
    rgb = xr.DataArray(np.zeros((4, 5, 3)), dims=("Y", "X", "S"))
    assert to_canonical(rgb).dims == ("T", "C", "Z", "Y", "X", "S")
    swapped = xr.DataArray(np.zeros((2, 3)), dims=("x", "c"))
    assert to_canonical(swapped).shape == (1, 3, 1, 1, 2)
    with pytest.raises(DimensionSelectionError, match="'wavelength'"):
        to_canonical(xr.DataArray(np.zeros(2), dims=("wavelength",)))


def test_write_by_suffix_and_read_back(tmp_path: Path) -> None:
    data = xr.DataArray(np.arange(24, dtype="uint8").reshape(2, 3, 4), dims=("c", "y", "x"))
    out = write(data, tmp_path / "a.npy")
    with scitiff_readers.Reader(out) as r:
        assert r.shape == (1, 2, 1, 3, 4)
        np.testing.assert_array_equal(r.get_image_data("CYX"), data.values)


def test_longest_suffix_wins_and_format_overrides(tmp_path: Path) -> None:
    assert _choose(tmp_path / "a.special.npy", None) is LongerSuffixWriter
    assert _choose(tmp_path / "b.NPY", None) is NpyWriter
    assert _choose(tmp_path / "c.special.npy", "test-npy") is NpyWriter
    data = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"))
    assert write(data, tmp_path / "d.special.npy").exists()


def test_no_silent_overwrite_and_failed_write_keeps_old_file(tmp_path: Path) -> None:
    data = xr.DataArray(np.ones((2, 2)), dims=("y", "x"))
    target = tmp_path / "a.npy"
    write(data, target)
    before = target.read_bytes()
    with pytest.raises(OutputExistsError):
        write(data * 2, target)
    with pytest.raises(RuntimeError, match="disk full"):
        write(data * 3, target, overwrite=True, fail=True)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]
    write(data * 4, target, overwrite=True)
    assert np.load(target).max() == 4


def test_writer_errors(tmp_path: Path) -> None:
    data = xr.DataArray(np.ones((2, 2)), dims=("y", "x"))
    with pytest.raises(WriterNotFoundError, match="no installed writer produces this suffix"):
        write(data, tmp_path / "a.unknown")
    with pytest.raises(WriterNotFoundError, match="no writer for format 'bogus'"):
        write(data, tmp_path / "a.npy", format="bogus")
    with pytest.raises(TypeError, match="valid options: fail"):
        write(data, tmp_path / "a.npy", compression="zlib")


@dataclass(frozen=True)
class ScaledOptions(WriterOptions):
    scale: int = 1
    note: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect_count("scale", 1)


class ScaledWriter(Writer):
    """A writer with typed options: it gets them as one checked object, ``opts``."""

    name: ClassVar[str] = "test-scaled"
    suffixes: ClassVar[tuple[str, ...]] = (".scaled",)
    Options = ScaledOptions
    seen: ClassVar[list[Any]] = []

    @classmethod
    def _write(cls, data: xr.DataArray, path: Path, *, opts: ScaledOptions) -> None:
        cls.seen.append(opts)
        with open(path, "wb") as fh:
            np.save(fh, data.values * opts.scale)


def test_typed_writer_options_are_built_and_checked_before_writing(tmp_path: Path) -> None:
    assert ScaledWriter.options == {"scale": 1, "note": None}  # the defaults, derived from Options
    assert NpyWriter.options == {"fail": False}
    assert NpyWriter.Options().as_dict() == {"fail": False}
    data = xr.DataArray(np.arange(4, dtype="int16").reshape(2, 2), dims=("y", "x"))
    _writers.register(ScaledWriter, clobber=True)
    try:
        ScaledWriter.seen.clear()
        out = write(data, tmp_path / "a.scaled", scale=3)
        assert ScaledWriter.seen == [ScaledOptions(scale=3)]
        np.testing.assert_array_equal(np.load(out)[0, 0, 0], data.values * 3)
        target = tmp_path / "b.scaled"
        for bad, message in [
            (
                {"scale": 0},
                r"b\.scaled: writer 'test-scaled': option scale=0 is not valid; scale takes an integer >= 1",
            ),
            ({"scale": True}, "scale takes an integer >= 1"),
            (
                {"colour": "red"},
                r"b\.scaled: writer 'test-scaled' got unknown option\(s\) 'colour'; valid options: note, scale",
            ),
        ]:
            with pytest.raises(OptionError, match=message) as info:
                write(data, target, **bad)
            assert isinstance(info.value, TypeError)
            assert isinstance(info.value, ValueError)
        assert len(ScaledWriter.seen) == 1, "the writer ran with bad options"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.scaled"]
    finally:
        _writers.unregister("test-scaled")


def test_writer_options_must_be_writer_options() -> None:
    with pytest.raises(
        TypeError, match=r"Bad\.Options must subclass scitiff_readers\.backend\.WriterOptions"
    ):

        class Bad(Writer):
            Options = ReaderOptions  # type: ignore[assignment]  # the mistake under test


def test_reader_save_uses_writers(tmp_path: Path) -> None:
    src = tmp_path / "src.npy"
    np.save(src, np.arange(60, dtype="int16").reshape(3, 4, 5))
    with scitiff_readers.Reader(src) as r:
        out = r.save(tmp_path / "copy.npy")
    np.testing.assert_array_equal(np.load(out).reshape(3, 4, 5), np.load(src))


def test_writer_may_receive_the_final_target(tmp_path: Path) -> None:
    seen: dict[str, Path] = {}

    class TargetAware(Writer):
        name: ClassVar[str] = "test-target"
        suffixes: ClassVar[tuple[str, ...]] = (".tgt",)

        @classmethod
        def _write(cls, data: xr.DataArray, path: Path, *, target: Path, **options: Any) -> None:
            seen["path"], seen["target"] = path, target
            path.write_bytes(b"x")

    _writers.register(TargetAware, clobber=True)
    try:
        out = write(xr.DataArray(np.zeros((1, 1)), dims=("y", "x")), tmp_path / "a.tgt")
    finally:
        _writers.unregister("test-target")
    assert seen["target"] == out == tmp_path / "a.tgt"
    assert seen["path"] != out
    assert seen["path"].parent == tmp_path


# ------------------------------------------------------------------ scenes, progress, folders
class FolderWriter(Writer):
    """Any number of scenes per output: one .npy per scene inside a folder."""

    name: ClassVar[str] = "test-folder"
    suffixes: ClassVar[tuple[str, ...]] = (".npyd",)
    max_scenes: ClassVar[int | None] = None
    options: ClassVar[dict[str, Any]] = {"levels": 0}

    @classmethod
    def _write(cls, data: xr.DataArray, path: Path, **options: Any) -> None:
        raise AssertionError("several-scene writers get _write_scenes")

    @classmethod
    def _write_scenes(cls, scenes: Any, path: Path, *, target: Path, progress: Any, **options: Any) -> None:
        path.mkdir()
        for i, scene in enumerate(scenes):
            np.save(path / f"{i}-{scene.name}.npy", scene.data.values)
            progress.advance(scene.data.nbytes)


@pytest.fixture
def folder_writer() -> Any:
    _writers.register(FolderWriter, clobber=True)
    yield FolderWriter
    _writers.unregister("test-folder")


def test_reader_save_writes_every_scene_or_those_chosen(
    tmp_path: Path, multiscene_file: Path, folder_writer: Any
) -> None:
    with scitiff_readers.Reader(multiscene_file) as r:
        names = list(r.scenes)
        expected = []
        for i in range(len(names)):
            r.set_scene(i)
            expected.append(r.data)
        r.set_scene(1)
        out = r.save(tmp_path / "all.npyd")
        assert r.current_scene_index == 1  # the reader's scene is kept
        files = sorted(out.iterdir())
        assert [f.name for f in files] == [f"{i}-{n}.npy" for i, n in enumerate(names)]
        for f, e in zip(files, expected, strict=True):
            np.testing.assert_array_equal(np.load(f), e)
        picked = r.save(tmp_path / "picked.npyd", scenes=[names[1], 0])
        assert sorted(f.name for f in picked.iterdir()) == [f"0-{names[1]}.npy", f"1-{names[0]}.npy"]
        with pytest.raises(scitiff_readers.SceneIndexError, match="no scene named 'nope'"):
            r.save(tmp_path / "x.npyd", scenes="nope")
        with pytest.raises(scitiff_readers.SceneIndexError, match="out of range"):
            r.save(tmp_path / "x.npyd", scenes=9)
        # One scene per file: a clear error, or one file per scene in a folder.
        with pytest.raises(scitiff_readers.UnsupportedWriteError, match="holds 1 image per file"):
            r.save(tmp_path / "x.npy")
        split = r.save(tmp_path / "split", split_scenes=True, format="test-npy")
        assert sorted(f.name for f in split.iterdir()) == sorted(f"{n}.npy" for n in names)
        one = r.save(tmp_path / "one.npy", scenes=names[0])
        np.testing.assert_array_equal(np.load(one).reshape(expected[0].shape), expected[0])
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_levels_and_progress(tmp_path: Path, folder_writer: Any) -> None:
    data = xr.DataArray(np.zeros((4, 5), dtype="uint16"), dims=("y", "x"))
    with pytest.raises(scitiff_readers.UnsupportedWriteError, match="stores no resolution levels"):
        write(data, tmp_path / "a.npy", levels=2)
    write(data, tmp_path / "b.npy", levels=0)  # no pyramid asked: fine for any writer
    seen: list[tuple[int, int]] = []
    write([data, data * 2], tmp_path / "c.npyd", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 80), (40, 80), (80, 80)]
    seen.clear()
    write(data, tmp_path / "d.npy", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 40), (40, 40)]


def test_overwrite_replaces_a_folder_atomically(tmp_path: Path, folder_writer: Any) -> None:
    data = xr.DataArray(np.ones((2, 2)), dims=("y", "x"))
    out = write({"a": data, "b": data}, tmp_path / "o.npyd")
    with pytest.raises(OutputExistsError):
        write({"c": data}, out)
    write({"c": data * 2}, out, overwrite=True)
    assert [f.name for f in out.iterdir()] == ["0-c.npy"]
    # A file in the way of a folder, and a folder in the way of a file.
    (tmp_path / "f.npyd").write_bytes(b"old")
    write({"c": data}, tmp_path / "f.npyd", overwrite=True)
    assert (tmp_path / "f.npyd").is_dir()
    write(data, tmp_path / "o.npyd", format="test-npy", overwrite=True)
    assert (tmp_path / "o.npyd").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npyd", "o.npyd"]
