"""The ``tiff`` reader: ImageJ hyperstacks and any other TIFF tifffile can shape.

ImageJ hyperstacks (pages in ``TZC`` order) become ``TCZYX(S)`` with the
calibration as coordinates: ``spacing`` (Z step), ``finterval`` (T step),
``XResolution`` / ``YResolution`` (pixels per unit) and ``unit``, channel labels as
channel names. Other TIFFs are shaped as tifffile shapes them (every tifffile series
is a scene); ``dim_order=`` renames their axes and ``channel_names=`` names channels.
This is the generic fallback: OME-TIFF, SciTiff and NDTiff have their own readers
with higher priority.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from scitiff_readers.backend import (
    ArrayLayoutOptions,
    Image,
    PhysicalPixelSizes,
    Reader,
    normalize_unit,
    parse_dim_order,
    uniform_coordinate_spec,
)
from scitiff_readers.errors import CorruptFileError, MetadataError, UnsupportedFormatError

from .calibration import calibration, imagej_channel_names, resolution
from .common import TiffScenes, damage_reported, level_factor, open_tiff, sniff_head

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["TiffReader"]

# tifffile series axis letters that are already canonical.
_TIFFFILE_LETTERS = set("TCZYXSIQPRHEALVMBOGFDKNJW")


class TiffReader(TiffScenes, Reader):
    """Read ImageJ hyperstacks and plain (multi-page) TIFF files.

    Options
    -------
    dim_order
        Letters of ``TCZYXS`` replacing tifffile's axes of the series (same length
        as tifffile's ``series.axes``), e.g. ``"TYX"`` for a time series that
        tifffile shapes as ``"IYX"``. Default: tifffile's own axes, with its generic
        page axes (``I``, ``Q``, ...) read as ``Z`` (then ``T``, ``C``).
    channel_names
        Names of the channels (overrides ImageJ labels).
    """

    name: ClassVar[str] = "tiff"
    suffixes: ClassVar[tuple[str, ...]] = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
    priority: ClassVar[int] = 0
    description: ClassVar[str] = "ImageJ hyperstacks and plain TIFF (tifffile), calibrated coordinates"
    Options = ArrayLayoutOptions
    _opts: ArrayLayoutOptions

    @classmethod
    def can_open(cls, path: str | os.PathLike[str]) -> bool:
        """Any TIFF that tifffile can open and that has at least one image page."""
        return sniff_head(
            path,
            lambda head: True,
            lambda tif: tif.pages.first.imagewidth > 0 and tif.pages.first.imagelength > 0,
        )

    def _open(self) -> None:
        with damage_reported(self._path):
            self._open_pages()

    def _open_pages(self) -> None:
        self._imagej: dict[str, Any] | None = None
        if self._open_shaped():
            return
        # is_ome=False: the plain reader reads this file's pages only. tifffile's OME
        # handling would open every file the OME-XML names (relative, absolute, linked).
        tif = open_tiff(self._path, is_ome=False)
        try:
            self._imagej = tif.imagej_metadata if tif.is_imagej else None
            self._resolution = resolution(tif.pages.first)
            first = tif.pages.first
            self._description = first.description if isinstance(first.description, str) else ""
            self._open_series(tif.series)
        finally:
            tif.close()

    def _open_shaped(self) -> bool:
        """Open a tifffile "shaped" file whose series lie back to back without tifffile (see :mod:`.shapedseries`).

        ``False`` (nothing set up) when the file is not surely of that kind, or a
        series would need its page list: tifffile then opens it.
        """
        from .series import reads_back_to_back
        from .shapedseries import resolution_page, shaped_file

        shaped = shaped_file(self._path)
        if shaped is None:
            return False
        dim_order = self._opts.dim_order
        try:
            for series in shaped.series:
                mapping = _user_axes_map(series, dim_order, self._path) if dim_order else None
                if not reads_back_to_back(series, self._path, mapping):
                    return False
        except MetadataError:
            return False  # tifffile's series say what does not fit
        self._resolution = resolution(resolution_page(shaped))
        self._description = shaped.description
        self._open_series(shaped.series)
        return True

    def _open_series(self, all_series: Sequence[Any]) -> None:
        """Sources, names and axes of tifffile's series (or of series found as tifffile finds them)."""
        from .series import series_source
        from .source import tiff_token

        dim_order = self._opts.dim_order
        self._sources: list[list[Any]] = []
        self._errors: dict[int, Exception] = {}
        self._names: list[str] = []
        self._series_axes: list[str] = []
        for i, series in enumerate(all_series):
            self._names.append(series.name or f"Series{i}")
            self._series_axes.append(series.axes)
            try:
                mapping = _user_axes_map(series, dim_order, self._path) if dim_order else None
                levels = []
                for k, level in enumerate(series.levels):
                    source, _ = series_source(
                        level,
                        self._path,
                        tiff_token(self._path, "tiff", i, k, dim_order),
                        axes_map=mapping,
                    )
                    levels.append(source)
                self._sources.append(levels)
            except (MetadataError, CorruptFileError, UnsupportedFormatError) as exc:
                if len(all_series) == 1:
                    raise
                self._errors[i] = exc
                self._sources.append([])
        if not self._names:
            raise CorruptFileError(f"{self._path}: tifffile finds no image series in the file")
        if len(set(self._names)) != len(self._names):
            self._names = [f"{n} [{i}]" for i, n in enumerate(self._names)]

    def _image(self, scene: int, level: int) -> Image:
        source, base = self._level_sources(scene, level)
        coords: dict[str, Any] = {}
        steps: dict[str, float | None] = {"Z": None, "Y": None, "X": None}
        units: dict[str, str | None] = {"Z": None, "Y": None, "X": None}
        names: list[str] | None = None
        steps_of = calibration(self._imagej, self._resolution) if scene == 0 else {}
        for dim, (step, unit, origin) in steps_of.items():
            axis = "TCZYX".index(dim)
            n = source.shape[axis]
            factor = level_factor(base.shape[axis], n) if dim in "ZYX" else 1.0
            coords[dim] = uniform_coordinate_spec(dim, n, step * factor, -origin * step, unit)
            if dim in steps:
                steps[dim], units[dim] = step * factor, normalize_unit(unit)
        if self._imagej is not None and scene == 0:
            names = imagej_channel_names(self._imagej, source.shape[1])
        user_names = self._opts.channel_names
        if user_names is not None:
            user_names = [str(n) for n in user_names]
            if len(user_names) != source.shape[1]:
                raise MetadataError(
                    f"{self._path}: channel_names has {len(user_names)} names but the image has "
                    f"{source.shape[1]} channels"
                )
            names = user_names
        pps = PhysicalPixelSizes(steps["Z"], steps["Y"], steps["X"], (units["Z"], units["Y"], units["X"]))
        return Image(
            source=source,
            coords=coords,
            channel_names=names,
            physical_pixel_sizes=pps,
            name=self._names[scene],
        )

    @property
    def metadata(self) -> dict[str, Any]:
        """``{"imagej": ImageJ metadata dict or None, "description": str, "series_axes": [...]}``."""
        return {
            "imagej": self._imagej,
            "description": self._description,
            "series_axes": list(self._series_axes),
        }

    @property
    def imagej_metadata(self) -> dict[str, Any] | None:
        """Tifffile's ImageJ metadata dict (``None`` for non-ImageJ files)."""
        return self._imagej

    @classmethod
    def demo_sample(cls, folder: Path) -> Path:
        """A small calibrated ImageJ hyperstack written by tifffile."""
        import tifffile

        path = folder / "sample_imagej.tif"
        data = (np.arange(2 * 3 * 2 * 32 * 40) % 4093).astype(np.uint16).reshape(2, 3, 2, 32, 40)
        tifffile.imwrite(
            path,
            data,
            imagej=True,
            resolution=(1 / 0.5, 1 / 0.5),
            metadata={
                "axes": "TZCYX",
                "spacing": 2.0,
                "unit": "um",
                "finterval": 1.5,
                "Labels": ["DAPI", "GFP"] * 6,
            },
        )
        return path


def _user_axes_map(series: Any, dim_order: str, path: Path) -> dict[str, str]:
    """Map tifffile's loop axes to the user's ``dim_order`` letters."""
    order = parse_dim_order(
        dim_order, series.shape, f"{path} (tifffile shapes the series as {series.axes!r})"
    )
    axes = series.axes
    mapping: dict[str, str] = {}
    for theirs, ours in zip(axes, order, strict=True):
        if theirs in "YXS" or ours in "YXS":
            if theirs != ours:
                raise MetadataError(
                    f"{path}: dim_order={dim_order!r} moves the page axes {theirs!r}->{ours!r}; the "
                    "last axes (Y, X and samples S) are fixed by the TIFF pages"
                )
            continue
        mapping[theirs] = ours
    return mapping
