"""The hand-over of what selecting a reader parsed to the open of the same ``Reader()`` call."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from scitiff_readers import Reader, _handoff
from scitiff_readers._filecache import clear_file_caches, file_stamp
from scitiff_readers._tiffhead import take_sniffed_chain, tiff_head
from scitiff_readers.testing.handles import open_handles_under

if TYPE_CHECKING:
    from pathlib import Path

tifffile = pytest.importorskip("tifffile")


class _Closable:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_an_offer_not_taken_is_released_when_the_scope_ends() -> None:
    value = _Closable()
    offers = _handoff.enter()
    try:
        assert _handoff.active()
        assert _handoff.offer("kind", "key", (1, 2), value)
    finally:
        _handoff.leave(offers)
    assert value.closed == 1
    assert not _handoff.active()
    # Without a scope nothing is kept: the caller keeps (and releases) what it offered.
    assert not _handoff.offer("kind", "key", (1, 2), _Closable())
    assert _handoff.take("kind", "key", (1, 2)) is None


def test_an_offer_is_taken_once_and_only_for_the_same_stamp() -> None:
    first, second = _Closable(), _Closable()
    offers = _handoff.enter()
    try:
        _handoff.offer("kind", "a", (1, 2), first)
        _handoff.offer("kind", "b", (1, 2), second)
        assert _handoff.take("kind", "a", (1, 2)) is first
        assert _handoff.take("kind", "a", (1, 2)) is None  # taken already
        # Another stamp: the file changed since the offer was read; it is released, not given.
        assert _handoff.take("kind", "b", (1, 3)) is None
        assert second.closed == 1
    finally:
        _handoff.leave(offers)
    assert first.closed == 0  # the taker owns it


def test_a_second_offer_replaces_and_releases_the_first() -> None:
    first, second = _Closable(), _Closable()
    offers = _handoff.enter()
    try:
        _handoff.offer("kind", "a", (1, 2), first)
        _handoff.offer("kind", "a", (1, 2), second)
        assert first.closed == 1
        assert _handoff.take("kind", "a", (1, 2)) is second
    finally:
        _handoff.leave(offers)


def test_nested_scopes_keep_their_own_offers() -> None:
    outer_value, inner_value = _Closable(), _Closable()
    outer = _handoff.enter()
    try:
        _handoff.offer("kind", "a", 1, outer_value)
        inner = _handoff.enter()
        try:
            assert _handoff.take("kind", "a", 1) is None  # not this scope's
            _handoff.offer("kind", "a", 1, inner_value)
        finally:
            _handoff.leave(inner)
        assert inner_value.closed == 1
        assert _handoff.take("kind", "a", 1) is outer_value
    finally:
        _handoff.leave(outer)


def _ome(path: Path, data: np.ndarray) -> None:
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "ZYX"})


def test_the_sniffed_chain_is_not_handed_over_once_the_file_changed(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    _ome(path, np.zeros((2, 8, 8), np.uint16))
    clear_file_caches()
    offers = _handoff.enter()
    try:
        stamp = file_stamp(path)
        assert tiff_head(path) is not None  # the sniff's parse, offered
        # The file is rewritten (another size) between the sniff and the open.
        _ome(path, np.ones((3, 8, 9), np.uint16))
        assert file_stamp(path) != stamp
        assert take_sniffed_chain(path, file_stamp(path)) is None
        assert open_handles_under(tmp_path) == []  # the stale chain was closed
    finally:
        _handoff.leave(offers)


def test_a_file_rewritten_between_two_reader_calls_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    first = (np.arange(2 * 8 * 8) % 251).astype(np.uint16).reshape(2, 8, 8)
    second = (np.arange(3 * 8 * 9) % 241).astype(np.uint16).reshape(3, 8, 9) + 7
    _ome(path, first)
    with Reader(path) as reader:
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=1), first[1])
    _ome(path, second)
    with Reader(path) as reader:
        assert reader.dims.shape == (1, 1, 3, 8, 9)
        np.testing.assert_array_equal(reader.get_image_data("YX", Z=2), second[2])


def test_outside_a_reader_call_the_sniff_keeps_no_handle(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    _ome(path, np.zeros((2, 8, 8), np.uint16))
    clear_file_caches()
    assert not _handoff.active()
    assert tiff_head(path) is not None
    assert open_handles_under(tmp_path) == []


def test_a_backend_that_takes_nothing_leaves_no_handle_open(tmp_path: Path) -> None:
    # A plain TIFF: the SciTiff and OME sniffs parse (and offer) its first IFD; the plain
    # TIFF reader takes nothing, so the offers are closed when Reader() returns.
    path = tmp_path / "plain.tif"
    data = (np.arange(3 * 8 * 8) % 199).astype(np.uint8).reshape(3, 8, 8)
    tifffile.imwrite(path, data, photometric="minisblack")
    clear_file_caches()
    reader = Reader(path, keep_handles=False)
    assert reader.reader_name == "tiff"
    assert open_handles_under(tmp_path) == []
    np.testing.assert_array_equal(reader.get_image_data("YX", Z=2), data[2])
    assert open_handles_under(tmp_path) == []


def test_a_failed_open_releases_what_the_sniff_offered(tmp_path: Path) -> None:
    path = tmp_path / "a.ome.tif"
    _ome(path, np.zeros((2, 8, 8), np.uint16))
    clear_file_caches()
    with pytest.raises(TypeError, match="no_such_option"):
        Reader(path, no_such_option=1)
    assert open_handles_under(tmp_path) == []
    assert not _handoff.active()
