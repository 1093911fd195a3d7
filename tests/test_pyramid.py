"""Pyramid reduction: exact block means (partial edge blocks too) and nearest sampling."""

from __future__ import annotations

import numpy as np
import pytest

from scitiff_readers._pyramid import Pyramid, level_shape, max_levels


def _reference_means(a: np.ndarray, block: int) -> np.ndarray:
    """Means of block x block tiles over the last two axes (edge tiles smaller), float64."""
    ny, nx = a.shape[-2:]
    out = np.empty((*a.shape[:-2], -(-ny // block), -(-nx // block)))
    for i, y in enumerate(range(0, ny, block)):
        for j, x in enumerate(range(0, nx, block)):
            out[..., i, j] = a[..., y : y + block, x : x + block].astype(np.float64).mean(axis=(-2, -1))
    return out


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "int32", "uint64", "float32", "float64"])
@pytest.mark.parametrize("factor", [2, 3])
def test_block_means_match_a_direct_computation(dtype: str, factor: int) -> None:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    low, high = (info.min, min(info.max, 2**40)) if info else (-1000, 1000)
    a = rng.integers(low, high, (1, 2, 3, 29, 41), dtype=np.int64, endpoint=True).astype(dtype)
    if info is None:
        a = a + rng.random(a.shape).astype(dtype)
    p = Pyramid.checked(a.shape, 2, factor)
    levels = p.reduce(a)
    for k, level in enumerate(levels, start=1):
        expected = _reference_means(a, factor**k)
        if np.dtype(dtype).kind in "iu":
            expected = np.rint(expected).astype(dtype)
            np.testing.assert_array_equal(level, expected)
        else:
            np.testing.assert_allclose(level, expected.astype(dtype), rtol=1e-6)
        assert level.shape == level_shape(a.shape, factor**k)
        assert level.dtype == a.dtype


def test_halves_round_to_even_and_bool_by_majority() -> None:
    a = np.array([[1, 2, 3, 4], [0, 1, 4, 5]], dtype=np.uint8)[None, None, None]  # block means 1.0, 4.0
    b = np.array([[1, 2, 2, 3]], dtype=np.uint8)[None, None, None]  # 1.5 -> 2, 2.5 -> 2
    assert Pyramid.checked(a.shape, 1).reduce(a)[0].ravel().tolist() == [1, 4]
    assert Pyramid.checked(b.shape, 1).reduce(b)[0].ravel().tolist() == [2, 2]
    mask = np.array([[True, True, False, True], [True, False, False, True]])[None, None, None]
    assert Pyramid.checked(mask.shape, 1).reduce(mask)[0].ravel().tolist() == [True, True]  # 3/4, 2/4


def test_nearest_and_rgb_samples() -> None:
    a = np.arange(2 * 17 * 13 * 3, dtype=np.uint16).reshape(1, 1, 2, 17, 13, 3)
    near = Pyramid.checked(a.shape, 2, 2, "nearest").reduce(a)
    np.testing.assert_array_equal(near[1], a[:, :, :, ::4, ::4])
    mean = Pyramid.checked(a.shape, 1).reduce(a)[0]
    np.testing.assert_array_equal(mean[..., 0], np.rint(_reference_means(a[..., 0], 2)).astype(np.uint16))


def test_bad_options_are_clear() -> None:
    shape = (1, 1, 1, 10, 10)
    with pytest.raises(ValueError, match="levels must be an integer >= 0"):
        Pyramid.checked(shape, -1)
    with pytest.raises(ValueError, match="downsample must be an integer >= 2"):
        Pyramid.checked(shape, 1, 1)
    with pytest.raises(ValueError, match="downsample_method must be one of"):
        Pyramid.checked(shape, 1, 2, "max")
    with pytest.raises(ValueError, match=r"below one pixel \(largest possible: 3\)"):
        Pyramid.checked(shape, 4)
    assert max_levels(10, 2) == 3
