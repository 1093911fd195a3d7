"""Opening single-file OME-TIFF without reading every IFD.

tifffile's OME series reads every page's IFD at open (about 20 us per page: 40 ms for
2000 pages). For the common single-file layout the OME-XML already says which IFD holds
which plane (``TiffData``), so the reader needs only the first IFD of each image at open.
The strip / tile offsets of the other pages are looked up through tifffile when pixels
are first read: one page for a one-plane read, all pages (one pass) for anything larger.

Anything unusual -- several files, SubIFD pyramids, Micro-Manager files, TiffData that
does not cover the planes exactly, pages that do not match the OME sizes -- returns
``None`` from :func:`plan_images`, and the reader uses tifffile's series instead.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scitiff_readers.errors import CorruptFileError

from .omexml import OmeImageInfo
from .pages import PageLayout, TiffPageSource, _layout_of

__all__ = ["ImagePlan", "LazyPageSource", "plan_images"]

_OME_DTYPES = {"float": "float32", "double": "float64", "bit": "bool"}


@dataclass(frozen=True)
class ImagePlan:
    """Where one OME image's planes are: IFD index per ``(t, c, z)`` and the page layout."""

    ifd_grid: np.ndarray
    layout: PageLayout
    shape: tuple[int, ...]
    segments: int


def plan_images(tif: Any, infos: Sequence[OmeImageInfo] | None, path: Path) -> list[ImagePlan] | None:
    """Plans for every image of a simple single-file OME-TIFF, or ``None`` (use tifffile's series)."""
    if not infos or tif.is_micromanager or tif.is_ndtiff:
        return None
    plans = []
    own = path.name.lower()
    for info in infos:
        plan = _plan_one(tif, info, own)
        if plan is None:
            return None
        plans.append(plan)
    return plans


def _plan_one(tif: Any, info: OmeImageInfo, own: str) -> ImagePlan | None:
    order = info.dimension_order[2:]  # fastest first, e.g. "ZCT"
    size = info.size
    blocks = info.tiff_data
    if not blocks:
        return None
    for block in blocks:
        name = block.get("FileName")
        if name is not None and name.lower() != own:
            return None
    try:
        firsts = [int(b.get("IFD", 0)) for b in blocks]
        first_page = tif.pages[min(firsts)]
    except (ValueError, IndexError, Exception):  # noqa: BLE001 - any oddity: let tifffile decide
        return None
    if getattr(first_page, "subifds", None) or first_page.shaped[1] != 1:
        return None
    samples = int(first_page.samplesperpixel)
    if size["C"] % samples or first_page.imagewidth != size["X"] or first_page.imagelength != size["Y"]:
        return None
    wanted = info.pixel_type
    if wanted and np.dtype(first_page.dtype).name != _OME_DTYPES.get(wanted, wanted):
        return None
    sizes = {"Z": size["Z"], "C": size["C"] // samples, "T": size["T"]}
    n = sizes["Z"] * sizes["C"] * sizes["T"]
    # Linear plane index in DimensionOrder (fastest first) -> (t, c, z).
    dims_slow_first = order[::-1]
    loop_shape = tuple(sizes[d] for d in dims_slow_first)
    ifds = np.full(n, -1, dtype=np.int64)
    for block in blocks:
        try:
            ifd = int(block.get("IFD", 0))
            count = int(block.get("PlaneCount", block.get("NumPlanes", 1 if "IFD" in block else 0)))
            start_index = [int(block.get(f"First{d}", 0)) for d in dims_slow_first]
            start = int(np.ravel_multi_index(start_index, loop_shape))
        except ValueError:
            return None
        if count == 0:
            if len(blocks) != 1:
                return None
            count = n - start
        if count < 0 or start + count > n or np.any(ifds[start:start + count] >= 0):
            return None
        ifds[start:start + count] = ifd + np.arange(count, dtype=np.int64)
    by_order = ifds.reshape(loop_shape)
    grid = by_order.transpose([dims_slow_first.index(d) for d in "TCZ"])
    layout = _layout_of(first_page, 0)
    shape = (sizes["T"], sizes["C"], sizes["Z"], size["Y"], size["X"]) + ((samples,) if samples > 1 else ())
    segments = len(first_page.dataoffsets)
    return ImagePlan(np.ascontiguousarray(grid), layout, shape, segments)


class LazyPageSource(TiffPageSource):
    """A :class:`TiffPageSource` whose page offsets are looked up on first read.

    Parameters
    ----------
    path
        The OME-TIFF file.
    plan
        Which IFD holds each plane, and the pages' shared layout.
    token
        Stable graph name.
    """

    def __init__(self, path: Path, plan: ImagePlan, token: str) -> None:
        grid_ifd = plan.ifd_grid
        present = grid_ifd.ravel() >= 0
        n = int(present.sum())
        grid = np.full(grid_ifd.size, -1, dtype=np.int64)
        grid[present] = np.arange(n, dtype=np.int64)
        nseg = max(1, plan.segments)
        super().__init__(
            [path], [plan.layout], grid.reshape(grid_ifd.shape), np.zeros(n, dtype=np.int32),
            np.arange(n, dtype=np.int64) * nseg, np.full(n, nseg, dtype=np.int32),
            np.zeros(n * nseg, dtype=np.int64), np.zeros(n * nseg, dtype=np.int64), plan.shape, token,
        )
        self.plane_ifd = grid_ifd.ravel()[present].copy()
        self.resolved = np.zeros(n, dtype=bool)
        self._strided = None

    def _init_runtime(self) -> None:
        super()._init_runtime()
        self._resolve_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_resolve_lock", None)
        return state

    # ---------------------------------------------------------------- resolving
    def _planes_in(self, region: Any) -> np.ndarray:
        planes = self.grid[region[0], region[1], region[2]].ravel()
        return planes[planes >= 0]

    def _ensure(self, planes: np.ndarray) -> None:
        if planes.size == 0 or self.resolved[planes].all():
            return
        with self._resolve_lock:
            # One plane: look up just that page. More: look up every page in one
            # pass (tifffile walks the IFD chain once), so later reads find them.
            todo = planes if planes.size == 1 else np.arange(len(self.resolved))
            todo = todo[~self.resolved[todo]]
            if todo.size:
                self._resolve(todo)
            if self.resolved.all() and self._strided is None:
                self._strided = self._find_strided()

    def _resolve(self, planes: np.ndarray) -> None:
        import tifffile

        path = self.files[0].path
        nseg = int(self.plane_count[0]) if len(self.plane_count) else 1
        try:
            with tifffile.TiffFile(path) as tif:
                pages = tif.pages
                pages.useframes = True  # frames: only the offsets, not every tag
                # Frames are read against a keyframe of the same structure: this image's first page.
                pages.set_keyframe(int(self.plane_ifd.min()))
                for p in planes[np.argsort(self.plane_ifd[planes], kind="stable")]:
                    ifd = int(self.plane_ifd[p])
                    try:
                        page = pages[ifd]
                    except IndexError as exc:
                        raise CorruptFileError(
                            f"{path}: the OME-XML puts a plane in IFD {ifd}, which the file does not have "
                            "(the file is truncated or its OME-XML is wrong)"
                        ) from exc
                    offsets, counts = page.dataoffsets, page.databytecounts
                    if len(offsets) != nseg:
                        raise CorruptFileError(
                            f"{path}: IFD {ifd} has {len(offsets)} strips/tiles, the image's first page "
                            f"{nseg}; pages of one OME image must share their structure"
                        )
                    first = int(self.plane_first[p])
                    self.seg_offsets[first:first + nseg] = offsets
                    self.seg_counts[first:first + nseg] = counts
                    self.resolved[p] = True
        except (tifffile.TiffFileError, RuntimeError, ValueError) as exc:
            raise CorruptFileError(f"{path}: cannot read the page index: {exc}") from exc

    # ------------------------------------------------------------------ reading
    def read(self, region: Any) -> np.ndarray:
        """Like :meth:`TiffPageSource.read`, looking up page offsets first if needed."""
        self._ensure(self._planes_in(region))
        return super().read(region)

    def read_into(self, out: np.ndarray, region: Any) -> None:
        """Like :meth:`TiffPageSource.read_into`, looking up page offsets first if needed."""
        self._ensure(self._planes_in(region))
        super().read_into(out, region)

    def read_plane(self, t: int, c: int, z: int, ys: slice, xs: slice) -> np.ndarray | None:
        """Like :meth:`TiffPageSource.read_plane`, looking up the page's offsets first if needed."""
        self._ensure(self._planes_in((slice(t, t + 1), slice(c, c + 1), slice(z, z + 1))))
        return super().read_plane(t, c, z, ys, xs)

    @property
    def is_strided(self) -> bool:
        """Whether the pixels form one strided array (known once every page was looked up)."""
        self._ensure(np.arange(len(self.resolved)))
        return self._strided is not None

