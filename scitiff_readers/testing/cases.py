"""What a backend's test says about one sample: :class:`SampleCase` and :class:`Expected`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    import numpy as np

__all__ = ["Expected", "SampleCase"]


@dataclass(frozen=True)
class Expected:
    """Expected facts about one scene / level of a sample.

    Fields left as ``None`` are not checked. ``reference`` is the full pixel array of
    that scene / level in ``TCZYX(S)`` order, as read by the format's reference
    implementation (or a callable returning it, so it is computed only when needed).
    ``coords`` maps a coordinate name to ``(values, units)``; units ``None`` means
    the coordinate must have no ``units`` attribute.
    """

    shape: tuple[int, ...]
    dtype: Any
    dims: str = "TCZYX"
    scenes: Sequence[str] | None = None
    resolution_levels: Sequence[int] | None = None
    channel_names: Sequence[str] | None = None
    physical_pixel_sizes: Sequence[float | None] | None = None
    pixel_size_units: Sequence[str | None] | None = None
    coords: Mapping[str, tuple[Any, str | None]] | None = None
    reference: np.ndarray | Callable[[], np.ndarray] | None = None

    def reference_array(self) -> np.ndarray | None:
        """The reference pixels, computed on first use."""
        ref = self.reference
        return ref() if callable(ref) else ref


@dataclass(frozen=True)
class SampleCase:
    """A sample file or dataset, how to open it, and what it must contain.

    Parameters
    ----------
    path
        The file or folder a user would pass to ``Reader``.
    expected
        Facts about scene ``scene`` at level ``level``.
    options
        Reader options to pass when opening.
    scene, level
        Which scene (index or name) and level ``expected`` describes.
    auto_select
        Whether ``Reader(path)`` without ``reader=`` must pick this backend.
    remote
        Whether the sample reads from a URL (else opening its URL must raise
        :class:`~scitiff_readers.errors.UnsupportedFormatError`).
    """

    path: Path
    expected: Expected
    options: Mapping[str, Any] = field(default_factory=dict)
    scene: int | str = 0
    level: int = 0
    auto_select: bool = True
    id: str = ""
    remote: bool = True
