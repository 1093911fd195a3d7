"""The canonical dimension order and the :class:`Dimensions` view of a shape."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["CANONICAL_DIMS", "DIMS_WITH_SAMPLES", "Dimensions", "dims_for_ndim"]

#: Dimension order of every image read by scitiff_readers.
CANONICAL_DIMS = "TCZYX"
#: Order when pixels have several samples (RGB, RGBA, ...): ``S`` is last.
DIMS_WITH_SAMPLES = "TCZYXS"


def dims_for_ndim(ndim: int) -> str:
    """Return ``"TCZYX"`` for 5-D and ``"TCZYXS"`` for 6-D pixel data."""
    if ndim == 5:
        return CANONICAL_DIMS
    if ndim == 6:
        return DIMS_WITH_SAMPLES
    raise ValueError(f"pixel data must be 5-D (TCZYX) or 6-D (TCZYXS), got {ndim}-D")


class Dimensions:
    """Sizes of an image's dimensions, by name (aicsimageio / bioio compatible).

    Examples
    --------
    >>> d = Dimensions("TCZYX", (1, 2, 3, 4, 5))
    >>> d.order, d.C, d["Z", "Y"]
    ('TCZYX', 2, (3, 4))
    """

    __slots__ = ("_order", "_shape")

    def __init__(self, order: str, shape: tuple[int, ...]) -> None:
        if len(order) != len(shape):
            raise ValueError(f"order {order!r} does not match shape {shape}")
        self._order = order
        self._shape = tuple(int(s) for s in shape)

    @property
    def order(self) -> str:
        """The dimension names, in order, as one string."""
        return self._order

    @property
    def shape(self) -> tuple[int, ...]:
        """The sizes, in :attr:`order`."""
        return self._shape

    def __getattr__(self, name: str) -> int:
        if len(name) == 1 and name in self._order:
            return self._shape[self._order.index(name)]
        raise AttributeError(f"no dimension {name!r} in {self._order!r}")

    def __getitem__(self, key: str | tuple[str, ...]) -> int | tuple[int, ...]:
        if isinstance(key, str) and len(key) == 1:
            return int(getattr(self, key))
        names = key if isinstance(key, tuple) else tuple(key)
        return tuple(int(getattr(self, k)) for k in names)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(zip(self._order, self._shape, strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dimensions):
            return NotImplemented
        return (self._order, self._shape) == (other._order, other._shape)

    def __hash__(self) -> int:
        return hash((self._order, self._shape))

    def __repr__(self) -> str:
        inner = ", ".join(f"{d}: {s}" for d, s in self)
        return f"<Dimensions [{inner}]>"
