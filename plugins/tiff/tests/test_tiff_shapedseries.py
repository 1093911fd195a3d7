"""tifffile "shaped" files opened without tifffile (:mod:`scitiff_readers_tiff.shapedseries`) against tifffile.

Whenever :func:`shaped_file` takes a file, tifffile's ``TiffFile.series`` must say the
same of it: as many series, each of kind ``shaped`` with the same shape, axes, name
and data offset. The ``tiff`` reader opened that way must equal the reader opened
through tifffile's series (forced here) -- dims, shape, dtype, pixels of ``data``,
``get_image_data`` and ``xarray_dask_data``, coordinates, scenes, metadata and
warnings -- and its pixels must be tifffile's own series arrays. Files tifffile reads
otherwise (compressed, tiled, a page list needed, descriptions it logs about, other
pages after the series) must be left to tifffile (``None``).
"""

from __future__ import annotations

import json
import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import tifffile
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scitiff_readers_tiff import plain, shapedseries
from scitiff_readers_tiff.shapedseries import shaped_file

from scitiff_readers import Reader
from scitiff_readers.errors import ScitiffReadersError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def _data(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return (np.arange(math.prod(shape)) % 251).astype(dtype).reshape(shape)


def _write(*calls: tuple[tuple[int, ...], str, dict[str, Any]]) -> Callable[[Path], None]:
    """Writes one series per call (``TiffWriter.write``), with the keywords given."""

    def write(path: Path) -> None:
        extra = calls[0][2].get("_file", {})
        with tifffile.TiffWriter(path, **extra) as tw:
            for shape, dtype, kwargs in calls:
                kwargs = {"photometric": "minisblack", **kwargs}
                tw.write(_data(shape, dtype), **{k: v for k, v in kwargs.items() if k != "_file"})

    return write


_ZYX = {"metadata": {"axes": "ZYX"}, "photometric": "minisblack"}

#: name -> (writer, whether the hand-made open must take the file)
CASES: dict[str, tuple[Callable[[Path], None], bool]] = {
    "2d": (_write(((16, 20), "uint8", {"metadata": {"axes": "YX"}})), True),
    "zyx-u2": (_write(((7, 16, 20), "uint16", _ZYX)), True),
    "tyx-f4": (_write(((5, 8, 9), "float32", {"metadata": {"axes": "TYX"}})), True),
    "cyx-i2": (
        _write(((3, 8, 9), "int16", {"metadata": {"axes": "CYX"}, "photometric": "minisblack"})),
        True,
    ),
    "tzyx-f8": (_write(((2, 3, 8, 9), "float64", {"metadata": {"axes": "TZYX"}})), True),
    "tczyx-u4": (_write(((2, 3, 4, 8, 9), "uint32", {"metadata": {"axes": "TCZYX"}})), True),
    "qyx": (_write(((6, 8, 9), "uint8", {"metadata": {"axes": "QYX"}})), True),
    "iyx-named": (_write(((6, 8, 9), "uint8", {"metadata": {"axes": "IYX", "name": "stack"}})), True),
    "size-one-axes": (_write(((1, 4, 1, 8, 9), "uint16", {"metadata": {"axes": "TZCYX"}})), True),
    "no-axes": (_write(((6, 8, 9), "uint8", {"metadata": {}})), True),
    "no-axes-2d": (_write(((8, 9), "uint8", {"metadata": {}})), True),
    "big-endian": (_write(((4, 8, 9), "uint16", {**_ZYX, "_file": {"byteorder": ">"}})), True),
    "bigtiff": (_write(((4, 8, 9), "int32", {**_ZYX, "_file": {"bigtiff": True}})), True),
    "bigtiff-big-endian": (
        _write(((4, 8, 9), "float32", {**_ZYX, "_file": {"bigtiff": True, "byteorder": ">"}})),
        True,
    ),
    "rgb": (_write(((4, 8, 9, 3), "uint8", {"metadata": {"axes": "ZYXS"}, "photometric": "rgb"})), True),
    "rgb-planar": (
        _write(
            (
                (4, 3, 8, 9),
                "uint8",
                {"metadata": {"axes": "ZSYX"}, "photometric": "rgb", "planarconfig": "separate"},
            )
        ),
        True,
    ),
    "samples-named-c": (
        _write(((4, 8, 9, 3), "uint8", {"metadata": {"axes": "ZYXC"}, "photometric": "rgb"})),
        True,
    ),
    "strips": (_write(((5, 32, 9), "uint16", {**_ZYX, "rowsperstrip": 4})), True),
    "resolution": (
        _write(((3, 8, 9), "uint8", {**_ZYX, "resolution": (2.0, 4.0), "resolutionunit": "CENTIMETER"})),
        True,
    ),
    "two-series": (
        _write(((3, 8, 9), "uint8", _ZYX), ((2, 5, 6, 7), "uint16", {"metadata": {"axes": "TZYX"}})),
        True,
    ),
    "two-single-page-series": (
        _write(
            ((8, 9), "uint8", {"metadata": {"axes": "YX"}}), ((5, 6), "uint8", {"metadata": {"axes": "YX"}})
        ),
        True,
    ),
    "then-plain-page": (_write(((3, 8, 9), "uint8", _ZYX), ((5, 6), "uint8", {"metadata": None})), False),
    "truncated": (_write(((6, 8, 9), "uint8", {**_ZYX, "truncate": True})), True),
    "zlib": (_write(((4, 8, 9), "uint8", {**_ZYX, "compression": "zlib"})), False),
    "tiled": (_write(((4, 32, 32), "uint8", {**_ZYX, "tile": (16, 16)})), False),
    "extratag": (_write(((4, 8, 9), "uint8", {**_ZYX, "extratags": [(65000, "s", 0, "x", True)]})), False),
    "plain-no-description": (_write(((4, 8, 9), "uint8", {"metadata": None})), False),
}


#: Files :func:`shaped_file` takes whose series the reader still opens through tifffile
#: (a series that needs its page list: samples named as a dim).
_TIFFFILE_OPENS = frozenset({"samples-named-c"})


def _series_view(path: Path) -> list[tuple[Any, ...]]:
    with tifffile.TiffFile(path) as tif:
        return [(s.kind, s.shape, s.axes, s.name, s.dataoffset) for s in tif.series]


def _canonical(array: np.ndarray, axes: str) -> np.ndarray:
    """tifffile's series array as ``TCZYX(S)``: size-1 loops dropped, generic letters on the first free of Z, T, C."""
    kept = [i for i, (a, n) in enumerate(zip(axes, array.shape, strict=True)) if n != 1 or a in "YXS"]
    array = array.reshape([array.shape[i] for i in kept])
    letters = [axes[i] for i in kept]
    free = [d for d in "ZTC" if d not in letters]
    letters = [a if a in "TCZYXS" else free.pop(0) for a in letters]
    order = [letters.index(d) for d in "TCZYXS" if d in letters]
    moved = array.transpose(order)
    present = [d for d in "TCZYXS" if d in letters]
    shape = [moved.shape[present.index(d)] if d in present else 1 for d in "TCZYX"]
    if "S" in present:
        shape.append(moved.shape[-1])
    return moved.reshape(shape)


def _reader_view(path: Path) -> tuple[list[Any], list[str]]:
    """What the ``tiff`` reader says of every scene of ``path``, and the warnings it gives."""
    out: list[Any] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            r = Reader(path, reader="tiff")
        except ScitiffReadersError as exc:  # e.g. tifffile shapes a 2x1 page it wrote as 1x2
            return [("open-error", type(exc).__name__, str(exc))], []
        with r:
            out.append((r.scenes, r.metadata))
            for scene in r.scenes:
                r.set_scene(scene)
                try:
                    xr = r.xarray_dask_data
                except ScitiffReadersError as exc:  # a scene tifffile's shape does not fit
                    out.append(("error", type(exc).__name__, str(exc)))
                    continue
                plane = r.get_image_data("YX", T=0, C=0, Z=r.dims.Z - 1) if "S" not in r.dims.order else None
                out.append(
                    (
                        r.dims.order,
                        r.shape,
                        r.dtype,
                        np.asarray(r.data),
                        plane,
                        {k: np.asarray(v.values) for k, v in xr.coords.items()},
                        {k: v.attrs for k, v in xr.coords.items()},
                        r.physical_pixel_sizes,
                        r.channel_names,
                    )
                )
    return out, sorted(f"{w.category.__name__}: {w.message}" for w in caught)


def _assert_equal(a: Any, b: Any) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_equal(x, y)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_equal(a[k], b[k])
    else:
        assert a == b


def _check(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, bool]:
    """Compare both opens and tifffile's arrays; ``(shaped_file took it, the reader opened it without tifffile)``."""
    try:
        with tifffile.TiffFile(path) as tif:
            tif.series  # noqa: B018 - tifffile shapes the file here
    except IndexError:
        # tifffile cannot shape some files it writes (a 1x1 page in loops of 1, no axes):
        # not taken by hand, and the reader's open is a typed error.
        assert shaped_file(path) is None
        with pytest.raises(ScitiffReadersError, match="field of the file is invalid"):
            Reader(path)
        return False, False
    found = shaped_file(path)
    if found is not None:
        theirs = _series_view(path)
        ours = [("shaped", s.shape, s.axes, s.name, s.dataoffset) for s in found.series]
        assert ours == theirs
    opens: list[Path] = []
    with monkeypatch.context() as patch:
        real_open = plain.open_tiff
        patch.setattr(plain, "open_tiff", lambda p, **kw: opens.append(p) or real_open(p, **kw))
        fast, fast_warnings = _reader_view(path)
        patch.setattr(shapedseries, "shaped_file", lambda path: None)
        slow, slow_warnings = _reader_view(path)
    _assert_equal(fast, slow)
    assert fast_warnings == slow_warnings
    if fast[0][0] == "open-error":
        # Both opens refuse the file alike (typed); tifffile's series do not fit its pages.
        assert found is None
        return False, False
    # And tifffile's own arrays of every series.
    with tifffile.TiffFile(path) as tif:
        for series, scene in zip(tif.series, fast[1:], strict=True):
            if scene[0] == "error" or series.is_truncated or len(set(series.axes)) != len(series.axes):
                # tifffile reads one page of a truncated series; a 1x1 page may get axes
                # like 'XYX' (then the two opens above are compared, not this mapping).
                continue
            np.testing.assert_array_equal(scene[3], _canonical(series.asarray(), series.axes))
    return found is not None, len(opens) == 1


@pytest.mark.parametrize("case", list(CASES))
def test_shaped_files_read_like_tifffile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    write, taken = CASES[case]
    path = tmp_path / f"{case}.tif"
    write(path)
    found, fast = _check(path, monkeypatch)
    assert found == taken, (case, _series_view(path))
    assert fast == (taken and case not in _TIFFFILE_OPENS)


def test_generated_shaped_files_read_like_tifffile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis: random series (loops of T, C, Z, Q; RGB or not; axes written or not) in random files."""
    from hypothesis import HealthCheck

    series_st = st.tuples(
        st.lists(st.sampled_from("TCZQ"), max_size=3, unique=True),
        st.lists(st.integers(1, 4), min_size=3, max_size=3),
        st.tuples(st.integers(1, 9), st.integers(1, 9)),
        st.sampled_from(["uint8", "uint16", "int32", "float32", "float64"]),
        st.booleans(),  # RGB pages
        st.booleans(),  # axes in the metadata
    )

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    # Found by this test: a 2x1 page that tifffile writes as 1x2 (both opens refuse it alike),
    # and a 1x1 page in loops of 1 without axes (tifffile's own shaping raises IndexError).
    @example(all_series=[(["T"], [1, 1, 1], (2, 1), "uint8", False, True)], bigtiff=False, byteorder="<")
    @example(
        all_series=[(["T", "C", "Z"], [1, 1, 1], (1, 1), "uint8", False, False)], bigtiff=False, byteorder="<"
    )
    @given(
        all_series=st.lists(series_st, min_size=1, max_size=2),
        bigtiff=st.booleans(),
        byteorder=st.sampled_from("<>"),
    )
    def run(all_series: list[Any], bigtiff: bool, byteorder: str) -> None:
        path = tmp_path / "generated.tif"
        with tifffile.TiffWriter(path, bigtiff=bigtiff, byteorder=byteorder) as tw:
            for letters, sizes, (y, x), dtype, rgb, with_axes in all_series:
                shape = (*sizes[: len(letters)], y, x, *((3,) if rgb else ()))
                axes = "".join(letters) + "YX" + ("S" if rgb else "")
                tw.write(
                    _data(shape, dtype),
                    photometric="rgb" if rgb else "minisblack",
                    metadata={"axes": axes} if with_axes else {},
                )
        _check(path, monkeypatch)

    run()


def test_a_shaped_file_tifffile_cannot_shape_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``(1, 1, 1, 1, 1)`` without axes: left to tifffile, whose IndexError shaping it (2026.3) is our typed error.

    With a tifffile that shapes it, the two opens and tifffile's arrays are compared instead.
    """
    path = tmp_path / "ones.tif"
    tifffile.imwrite(path, np.zeros((1, 1, 1, 1, 1), "uint8"), photometric="minisblack")
    assert _check(path, monkeypatch) == (False, False)


def test_the_50000_page_kind_opens_without_listing_pages(tmp_path: Path) -> None:
    """A long shaped series (IFDs after the data, back to back): one series, tifffile's offsets."""
    path = tmp_path / "long.tif"
    data = _data((3000, 4, 5), "uint8")
    tifffile.imwrite(path, data, metadata={"axes": "ZYX"})
    found = shaped_file(path)
    assert found is not None
    assert [("shaped", s.shape, s.axes, s.name, s.dataoffset) for s in found.series] == _series_view(path)
    with Reader(path) as r:
        assert r.dims.order == "TCZYX"
        assert r.shape == (1, 1, 3000, 4, 5)
        np.testing.assert_array_equal(r.get_image_data("YX", Z=1234), data[1234])
        assert r.metadata["series_axes"] == ["ZYX"]


def test_a_description_tifffile_complains_about_is_left_to_it(tmp_path: Path) -> None:
    for description, why in (
        ({"shape": [4, 8, 9], "axes": "YX"}, "axes do not match shape"),
        ({"shape": [5, 8, 9], "axes": "ZYX"}, "more planes than the file stores back to back"),
        ({"shape": [4, 9, 8], "axes": "ZYX"}, "page shape does not match"),
        ({"shape": [4, 8, 10], "axes": "ZYX"}, "not a multiple of the page size"),
        ({"shape": [4, 8, 9], "axes": "ZYX", "name": 3}, "a name that is not text"),
    ):
        path = tmp_path / "bad.tif"
        tifffile.imwrite(
            path,
            _data((4, 8, 9), "uint8"),
            description=json.dumps(description),
            metadata=None,
            photometric="minisblack",
        )
        assert shaped_file(path) is None, why


def _tifffile_series_axes(
    page_shape: tuple[int, ...], page_axes: str, shape: tuple[int, ...], axes: str | None
) -> str | None:
    """The axes tifffile's ``_series_shaped`` gives such a series (its ``append``), ``None`` where it logs."""
    from tifffile.tifffile import check_shape as their_check
    from tifffile.tifffile import reshape_axes as their_reshape

    if not their_check(page_shape, shape):
        return None  # "shaped series metadata does not match page shape"
    have, have_axes = (page_shape, page_axes) if axes is None else (shape, axes)
    size, resize = math.prod(have), math.prod(shape)
    if resize > size and resize % size == 0:
        have, have_axes = (resize // size, *have), "Q" + have_axes
    try:
        return str(their_reshape(have_axes, have, shape))
    except ValueError:
        return None  # "shaped series failed to reshape"
    except IndexError:
        return None  # tifffile 2026.3 fails on some all-ones shapes (e.g. a 1x1 page, loops of 1)


_PAGES = st.sampled_from(["YX", "YXS", "SYX"]).flatmap(
    lambda axes: st.tuples(st.just(axes), st.tuples(*(st.integers(1, 5) for _ in axes)))
)


@given(
    page=_PAGES,
    loops=st.lists(st.integers(0, 5), max_size=3),
    extra=st.lists(st.integers(1, 5), max_size=2),
    written=st.booleans(),
    split=st.booleans(),
)
@example(page=("YX", (1, 1)), loops=[1, 1, 1], extra=[], written=False, split=False)
@settings(max_examples=400, deadline=None)
def test_series_axes_agree_with_tifffile(
    page: tuple[str, tuple[int, ...]], loops: list[int], extra: list[int], written: bool, split: bool
) -> None:
    """``series_axes`` gives tifffile's axes whenever it decides, and decides every ``imwrite`` layout.

    Shapes are page loops before the page's shape, or (``split``) a shape whose last
    axes cut the page differently; with or without written axes.
    """
    page_axes, page_shape = page
    shape = (*loops, *page_shape)
    if split:
        shape = (*loops, math.prod(page_shape), *extra) if extra else (*loops, *reversed(page_shape))
    axes = "TCZABDEF"[: len(shape) - len(page_axes)] + page_axes if written else None
    if axes is not None and len(axes) != len(shape):
        axes = "TCZABDEFGH"[: len(shape)]
    ours = shapedseries.series_axes(page_shape, page_axes, shape, axes)
    theirs = _tifffile_series_axes(page_shape, page_axes, shape, axes)
    if ours is not None:
        assert ours == theirs
    if shape[len(shape) - len(page_shape) :] == page_shape and 0 not in shape and (axes or 1 not in shape):
        assert ours is not None  # every array imwrite stores page by page
