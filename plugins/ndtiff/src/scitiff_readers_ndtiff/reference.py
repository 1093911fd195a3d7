"""Reference pixels read by ``ndstorage`` (the format's own Python reader), for tests.

``reference_array`` asks ndstorage for every ``(t, c, z)`` image of one scene with
``read_image`` / ``has_image`` and stacks them in our ``TCZYX(S)`` order, so tests
compare our reader with the reference implementation image by image.
"""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

__all__ = ["close_reference", "open_reference", "reference_array", "reference_image"]


def open_reference(path: Path) -> Any:
    """``ndstorage.Dataset(path)`` without its progress output."""
    from ndstorage import Dataset

    with contextlib.redirect_stdout(io.StringIO()):
        return Dataset(str(path))


def close_reference(ds: Any) -> None:
    """Close an ndstorage dataset (its pyramid class's ``close`` iterates dict keys: closes nothing)."""
    levels = getattr(ds, "res_levels", None)
    if isinstance(levels, dict):
        for level in levels.values():
            level.close()
    else:
        ds.close()


def _call(ds: Any, method: str, axes: Mapping[str, Any], level: int) -> Any:
    kwargs = dict(axes)
    if type(ds).__name__ == "NDTiff_v2_0":
        if "column" in kwargs:
            kwargs["col"] = kwargs.pop("column")
        kwargs.setdefault("channel", None)
    if (hasattr(ds, "res_levels") and type(ds).__name__ != "NDTiff_v2_0") or level:
        kwargs["resolution_level"] = level
    return getattr(ds, method)(**kwargs)


def reference_image(ds: Any, axes: Mapping[str, Any], level: int = 0) -> np.ndarray | None:
    """Ndstorage's ``read_image`` of the image at ``axes`` (None if it has none)."""
    if not _call(ds, "has_image", axes, level):
        return None
    return np.asarray(_call(ds, "read_image", axes, level))


def reference_array(
    path: Path,
    *,
    times: Sequence[Any] | None,
    channels: Sequence[Any] | None,
    zs: Sequence[Any] | None,
    scene: Mapping[str, Any] | None = None,
    shape: tuple[int, ...],
    dtype: Any,
    level: int = 0,
) -> np.ndarray:
    """TCZYX(S) pixels of one scene, image by image from ndstorage (zeros where missing).

    ``times`` / ``channels`` / ``zs`` are the NDTiff axis values in our order along
    T / C / Z, ``None`` when the dataset lacks the axis.
    """
    ds = open_reference(path)
    try:
        out = np.zeros((len(times or [0]), len(channels or [0]), len(zs or [0]), *shape), dtype=dtype)
        for i, t in enumerate(times or [None]):
            for j, c in enumerate(channels or [None]):
                for k, z in enumerate(zs or [None]):
                    axes = {n: v for n, v in (("time", t), ("channel", c), ("z", z)) if v is not None}
                    axes.update(scene or {})
                    image = reference_image(ds, axes, level)
                    if image is not None:
                        out[i, j, k] = image
        return out
    finally:
        close_reference(ds)
