"""An array's own axis letters mapped to the canonical ``TCZYX(S)`` dims: the one adapter.

Chunked-array formats (zarr, ``.npy``, in-memory arrays) store their axes in any order
and may lack some dims; the core reads every image in ``TCZYX`` (``TCZYXS``) order.
:class:`AxisMap` is the single place that translates between the two: canonical shape
and storage unit, the array index of a canonical region, a block read in the array's
order turned canonical, and a canonical output buffer seen in the array's order (so a
library can decode straight into it). :func:`parse_dim_order` is the one check (and guess)
of the ``dim_order=`` option that readers of unlabelled arrays take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import MetadataError

__all__ = ["AxisMap", "parse_dim_order"]

_LETTERS = "TCZYXS"


class AxisMap:
    """The mapping between an array's axes and the canonical dims.

    Parameters
    ----------
    axes
        One letter of ``T C Z Y X S`` per array axis, in the array's order, or ``"_"``
        for a size-1 axis that is no dim (an OME-Zarr axis of another kind). Dims
        absent from ``axes`` are size 1 in canonical order.

    Raises
    ------
    ValueError
        A letter outside ``TCZYXS_`` or a repeated letter.

    Examples
    --------
    >>> m = AxisMap("ZCYX")
    >>> m.canonical, m.shape((3, 2, 4, 5))
    ('TCZYX', (1, 2, 3, 4, 5))
    """

    __slots__ = ("_drop", "_from_native", "_letters", "_size1", "_to_native", "axes", "canonical")

    def __init__(self, axes: str) -> None:
        letters = axes.replace("_", "")
        unknown = set(letters) - set(_LETTERS)
        if unknown:
            raise ValueError(f"axes {axes!r} use letters outside TCZYXS: {sorted(unknown)}")
        if len(set(letters)) != len(letters):
            raise ValueError(f"axes {axes!r} repeat a letter")
        self.axes = axes
        self._letters = letters
        #: ``"TCZYXS"`` when the array has samples (``S``), else ``"TCZYX"``.
        self.canonical = "TCZYXS" if "S" in letters else "TCZYX"
        present = [d for d in self.canonical if d in letters]
        # Array order (its letters only) -> canonical order, and back.
        self._from_native = tuple(letters.index(d) for d in present)
        to_native = tuple(present.index(d) for d in letters)
        self._to_native = to_native if to_native != tuple(range(len(to_native))) else None
        self._drop = tuple(slice(None) if d in letters else 0 for d in self.canonical)
        self._size1 = tuple(i for i, a in enumerate(axes) if a == "_")

    def _check(self, native: Sequence[int], what: str) -> None:
        if len(native) != len(self.axes):
            raise ValueError(f"axes {self.axes!r} do not match array {what} {tuple(native)}")

    def shape(self, native_shape: Sequence[int]) -> tuple[int, ...]:
        """The canonical shape of an array of ``native_shape``."""
        self._check(native_shape, "shape")
        return tuple(int(native_shape[self.axes.index(d)]) if d in self.axes else 1 for d in self.canonical)

    def chunks(self, native_chunks: Sequence[int], native_shape: Sequence[int]) -> tuple[int, ...]:
        """The canonical storage unit of chunks ``native_chunks``, each within 1 and the dim's size."""
        self._check(native_chunks, "chunks")
        shape = self.shape(native_shape)
        return tuple(
            max(1, min(int(native_chunks[self.axes.index(d)]), shape[i])) if d in self.axes else 1
            for i, d in enumerate(self.canonical)
        )

    def index(self, region: Sequence[slice]) -> tuple[slice, ...]:
        """The array index (one slice per array axis) of a canonical ``region``."""
        return tuple(region[self.canonical.index(a)] if a != "_" else slice(0, 1) for a in self.axes)

    def to_canonical(self, block: Any, region: Sequence[slice]) -> np.ndarray:
        """``block`` (``array[self.index(region)]``) in canonical order: a view where numpy can."""
        out = np.asarray(block)
        if self._size1:
            out = out.squeeze(self._size1)
        return out.transpose(self._from_native).reshape(tuple(s.stop - s.start for s in region))

    def native_view(self, out: np.ndarray) -> np.ndarray:
        """``out`` (a block in canonical order) as a view in the array's own axis order."""
        view = out[self._drop]
        if self._to_native is not None:
            view = view.transpose(self._to_native)
        if self._size1:
            view = np.expand_dims(view, self._size1)
        return view

    def __repr__(self) -> str:
        return f"AxisMap({self.axes!r})"


def parse_dim_order(value: str | None, shape: Sequence[int], where: object) -> str:
    """The ``dim_order=`` option checked against an array of ``shape``, or guessed.

    Parameters
    ----------
    value
        Letters of ``TCZYXS`` (either case), one per axis, or ``None`` to guess the
        trailing dims of ``TCZYX`` (``TCZYXS`` for 6-D), as bioio guesses.
    shape
        The array's shape.
    where
        The file (or ``"<in-memory array>"``) named in errors.

    Raises
    ------
    MetadataError
        ``value`` does not fit ``shape`` (length, letters, repeats, no ``Y``/``X``), or
        no guess exists for an array of that many dims.
    """
    ndim = len(shape)
    if value is None:
        if ndim == 6:
            return _LETTERS
        if 2 <= ndim <= 5:
            return "TCZYX"[-ndim:]
        raise MetadataError(
            f"{where}: cannot guess the dims of a {ndim}-D array; it needs dim_order= (letters of TCZYXS)"
        )
    order = str(value).upper()
    if len(order) != ndim or set(order) - set(_LETTERS) or len(set(order)) != len(order):
        raise MetadataError(
            f"{where}: dim_order {order!r} does not fit shape {tuple(shape)}: give one distinct letter "
            "of T, C, Z, Y, X, S per axis"
        )
    if "Y" not in order or "X" not in order:
        raise MetadataError(f"{where}: dim_order {order!r} has no Y and X dims; images need both")
    return order
