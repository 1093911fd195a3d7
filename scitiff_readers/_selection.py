"""Selections for ``get_image_data(order, **sel)`` and ``get_image_dask_data``.

A selection gives, per canonical dim, an int, a list of ints or a slice. Dims
left out of ``order`` must end up with one element: unspecified ones default to
index 0 (as in aicsimageio / bioio). The eager path reads only the selected
planes: contiguous runs of T, C and Z are read as regions; steps and lists in Y, X
read their bounding box and subsample.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from ._guards import check_allocation
from ._sources import Region
from .errors import DimensionSelectionError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import dask.array as da

    from ._sources import Region

__all__ = ["Selection", "parse_selection"]


@dataclass(frozen=True)
class Selection:
    """Indices per canonical dim, plus how to reshape the result into ``order``."""

    dims: str
    indices: tuple[np.ndarray, ...]
    order: str

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape in canonical order, before reordering."""
        return tuple(len(i) for i in self.indices)

    @overload
    def finish(self, block: np.ndarray) -> np.ndarray: ...
    @overload
    def finish(self, block: da.Array) -> da.Array: ...
    def finish(self, block: np.ndarray | da.Array) -> np.ndarray | da.Array:
        """Transpose a canonical-order block into ``order`` and drop the other dims."""
        drop = tuple(i for i, d in enumerate(self.dims) if d not in self.order)
        if drop:
            block = block.reshape(tuple(s for i, s in enumerate(block.shape) if i not in drop))
        kept = [d for d in self.dims if d in self.order]
        return block.transpose(tuple(kept.index(d) for d in self.order))

    def dask_index(self) -> tuple[Any, ...]:
        """An index usable on a dask array (slices where possible, lists otherwise)."""
        out: list[Any] = []
        for idx in self.indices:
            if len(idx) > 0 and np.all(np.diff(idx) == 1):
                out.append(slice(int(idx[0]), int(idx[-1]) + 1))
            else:
                out.append(idx)
        return tuple(out)

    def read_jobs(
        self, eager_dims: str = "TCZ"
    ) -> tuple[list[tuple[Region, tuple[Any, ...]]], list[Any], tuple[int, ...]]:
        """Regions to read and where each lands, the post-read subsampling, the buffer shape.

        Returns ``(jobs, post, shape)``: each job is ``(region, out_index)`` into a
        buffer of ``shape``; ``post`` subsamples that buffer into the selection.
        """
        shape: list[int] = []
        runs_per_dim: list[list[tuple[slice, slice]]] = []
        post: list[Any] = []
        for d, idx in zip(self.dims, self.indices, strict=True):
            if d in eager_dims:
                runs: list[tuple[slice, slice]] = []
                pos = 0
                for first, count in _contiguous_runs(idx):
                    runs.append((slice(first, first + count), slice(pos, pos + count)))
                    pos += count
                runs_per_dim.append(runs)
                post.append(slice(None))
                shape.append(pos)
            else:
                lo, hi = int(idx.min()), int(idx.max()) + 1
                runs_per_dim.append([(slice(lo, hi), slice(0, hi - lo))])
                shape.append(hi - lo)
                rel = idx - lo
                post.append(slice(None) if len(rel) == hi - lo and np.all(np.diff(rel) == 1) else rel)
        jobs = [
            (tuple(r for r, _ in combo), tuple(o for _, o in combo))
            for combo in itertools.product(*runs_per_dim)
        ]
        return jobs, post, tuple(shape)


def _contiguous_runs(idx: np.ndarray) -> list[tuple[int, int]]:
    """``(first, count)`` of each run of consecutive increasing indices, in order (vectorised)."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size == 0:
        return []
    starts = np.concatenate(([0], np.flatnonzero(np.diff(idx) != 1) + 1))
    counts = np.diff(np.concatenate((starts, [idx.size])))
    return list(zip(idx[starts].tolist(), counts.tolist(), strict=True))


def parse_selection(
    dims: str,
    shape: Sequence[int],
    order: str | None,
    selection: Mapping[str, Any],
    *,
    path: object = None,
) -> Selection:
    """Validate ``order`` and ``selection`` against ``dims`` / ``shape``."""
    where = f"{path}: " if path is not None else ""
    order = dims if order is None else str(order).upper()
    unknown = [d for d in order if d not in dims]
    if unknown or len(set(order)) != len(order):
        raise DimensionSelectionError(
            f"{where}dimension order {order!r} is not valid for dims {dims!r}; "
            f"use each of {', '.join(dims)} at most once"
        )
    upper = {str(k).upper(): v for k, v in selection.items()}
    bad = [k for k in upper if len(k) != 1 or k not in dims]
    if bad:
        raise DimensionSelectionError(
            f"{where}cannot select on {', '.join(bad)}: the image has dims {dims!r}"
        )
    # Ranges first: sizes come from the file, and an axis of 2**40 (a legal sparse zarr
    # array) must cost nothing unless it is selected whole; what is selected is refused
    # before its index arrays are built if no memory could hold them.
    ranges: dict[str, range] = {}
    for d, size in zip(dims, shape, strict=True):
        value = upper.get(d)
        if isinstance(value, slice):
            ranges[d] = range(*value.indices(size))
        elif value is None and d in order:
            ranges[d] = range(size)
    check_allocation(
        8 * sum(len(r) for r in ranges.values()),
        None if path is None else str(path),
        f"indexing {', '.join(f'{d}={len(r)}' for d, r in ranges.items())}",
        advice="select fewer indices (get_image_data(..., T=0) or a slice)",
    )
    indices: list[np.ndarray] = []
    for d, size in zip(dims, shape, strict=True):
        value = upper.get(d)
        if d in ranges:
            r = ranges[d]
            idx = np.arange(r.start, r.stop, r.step)
        elif value is None:
            idx = np.array([0])
        elif isinstance(value, (int, np.integer)):
            idx = np.array([_check_index(int(value), size, d, where)])
        else:
            idx = np.array([_check_index(int(v), size, d, where) for v in value], dtype=np.int64)
        if d not in order and len(idx) != 1:
            raise DimensionSelectionError(
                f"{where}dimension {d} is not in the requested order {order!r} but "
                f"selects {len(idx)} elements; select a single index or add {d} to the order"
            )
        if len(idx) == 0:
            raise DimensionSelectionError(f"{where}the selection on {d} is empty")
        indices.append(idx.astype(np.int64))
    return Selection(dims=dims, indices=tuple(indices), order=order)


def _check_index(value: int, size: int, dim: str, where: str) -> int:
    if not -size <= value < size:
        raise DimensionSelectionError(
            f"{where}index {value} is out of range for dimension {dim} of size {size}"
        )
    return value % size
