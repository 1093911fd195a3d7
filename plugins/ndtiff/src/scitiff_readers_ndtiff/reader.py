"""The ``ndtiff`` reader: Micro-Manager / pycro-manager / Micro-Magellan NDTiff datasets."""

from __future__ import annotations

import math
import os
import stat
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from scitiff_readers.backend import (
    Image,
    PhysicalPixelSizes,
    Reader,
    ReaderOptions,
    as_location,
    check_inside,
    coordinate_spec,
    is_remote,
    read_head,
)
from scitiff_readers.errors import (
    CorruptFileError,
    DimensionSelectionError,
    MetadataError,
    ScitiffReadersWarning,
)

from .axes import DIM_AXES, TILE_AXES, distinct_values, scene_axes, value_order
from .dataset import Level, data_file, load_level
from .index import PIXEL_TYPES
from .layout import FULL_RESOLUTION, INDEX_NAME, Header, is_ndtiff_tif, locate, looks_like_v1, read_header
from .mosaic import Grid, single_image, stitched
from .source import NDTiffSource

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from scitiff_readers.backend import ChannelDisplay


__all__ = ["NDTiffReader"]

_UNITS_UM = "µm"
#: Micro-Manager's per-channel display settings, beside the index at the dataset root.
DISPLAY_SETTINGS = "display_settings.txt"
# A real one is a few hundred bytes per channel; a larger file is not display settings.
_DISPLAY_SETTINGS_MAX = 1 << 20


def _number(value: Any) -> float | None:
    """A finite float from a metadata value (numbers or numeric strings), else None."""
    if isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


# Tile index of images without an integer row / column.
_NO_TILE = np.iinfo(np.int64).min


def _index_looks_valid(path: Path) -> bool:
    """Whether ``path`` is a file that starts with an NDTiff index entry (a JSON object)."""
    if not is_remote(path):
        if not path.is_file():
            return False
        if os.path.islink(path) or os.path.islink(path.parent):
            # Never read through a link while sniffing: if it leads out of the dataset,
            # opening refuses it with a clear error (and reads nothing).
            return True
    head = read_head(path, 5)
    return (
        len(head) == 5
        and head[4:5] == b"{"
        and (
            0 < int.from_bytes(head[:4], "little") < 1 << 20 or 0 < int.from_bytes(head[:4], "big") < 1 << 20
        )
    )


@dataclass(frozen=True)
class NDTiffOptions(ReaderOptions):
    """Options of :class:`NDTiffReader` (see its docstring)."""

    stitch: bool = False
    reconstruct_mosaic: bool | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect_flag("stitch")
        self.expect_flag("reconstruct_mosaic", optional=True)


class NDTiffReader(Reader):
    """Read an NDTiff dataset (v2 or v3) lazily as ``T, C, Z, Y, X`` (+ ``S`` for RGB).

    Open the dataset folder, its ``NDTiff.index`` or any of its ``.tif`` files.
    ``time`` -> T, ``channel`` -> C (coordinate = channel names), ``z`` -> Z; every
    other axis (``position``, ``row``/``column`` tiles, custom axes) selects a scene.
    Images that were never acquired read as zeros. Pyramid folders
    (``Downsampled_x2`` ...) are resolution levels of stitched mosaics and of
    datasets without tiles.

    Options
    -------
    stitch
        Lay ``row`` / ``column`` tiles out as one mosaic per scene, cropping half
        the tile overlap on each side (like ``ndstorage``'s ``as_array(stitched=True)``),
        instead of one scene per tile. Default False.
    reconstruct_mosaic
        aicsimageio / bioio's name for ``stitch`` (when given, it wins).

    Tiles as scenes answer the aicsimageio / bioio mosaic API: ``mosaic_tile_dims``,
    ``get_mosaic_tile_position(s)`` (where each tile's first pixel lies in the
    stitched mosaic) and ``mosaic_dask_data`` / ``mosaic_data`` (the stitched
    mosaic the current tile belongs to, as ``stitch=True`` reads it).
    """

    name: ClassVar[str] = "ndtiff"
    suffixes: ClassVar[tuple[str, ...]] = (".tif", ".tiff", ".index")
    priority: ClassVar[int] = 90
    description: ClassVar[str] = "NDTiff datasets (Micro-Manager, pycro-manager, Micro-Magellan), v2 and v3"
    Options = NDTiffOptions
    _opts: NDTiffOptions

    # ------------------------------------------------------------------ sniffing
    @classmethod
    def can_open(cls, path: Any) -> bool:
        """Whether ``path`` is an NDTiff dataset folder, its index or one of its TIFF files."""
        try:
            p = as_location(path)
            # One stat for "folder or file": every TIFF reader's sniff runs on each .tif.
            mode = p.stat().st_mode
            if stat.S_ISDIR(mode):
                return (
                    _index_looks_valid(p / INDEX_NAME)
                    or _index_looks_valid(p / FULL_RESOLUTION / INDEX_NAME)
                    or looks_like_v1(p)
                )
            if not stat.S_ISREG(mode):
                return False
            name = p.name.lower()
            if name == INDEX_NAME.lower():
                return _index_looks_valid(p)
            if name.endswith((".tif", ".tiff")):
                if is_remote(p):
                    # The file's first bytes are already fetched (shared read-ahead); a missing
                    # index costs requests.
                    return is_ndtiff_tif(p) and _index_looks_valid(p.parent / INDEX_NAME)
                return _index_looks_valid(p.parent / INDEX_NAME) and is_ndtiff_tif(p)
            return False
        except Exception:  # noqa: BLE001 - sniffing must never raise for foreign files
            return False

    # ------------------------------------------------------------------- opening
    def _open(self) -> None:
        wanted = self._opts.reconstruct_mosaic
        self._stitch = bool(self._opts.stitch if wanted is None else wanted)
        self._layout = locate(self._path)
        # Level folders and their index must be real parts of the dataset, not links out of it.
        for folder in self._layout.levels:
            check_inside(self._layout.root, folder, "resolution level folder")
            check_inside(self._layout.root, folder / INDEX_NAME, "NDTiff.index")
        self._level_cache: dict[int, Level] = {}
        level0 = self._level_data(0)
        table = level0.table
        if table.image_count == 0:
            raise CorruptFileError(
                f"{level0.folder / INDEX_NAME}: the index lists no images (the acquisition has not "
                "written any image yet, or the index is empty)"
            )
        # A throw-away handle: opening (and restoring a pickled reader) keeps no file open.
        first = data_file(level0.files[int(table.file_id[0])].path)
        try:
            self._header: Header = read_header(first)
        finally:
            first.close()
        if self._header.major not in (2, 3):
            warnings.warn(
                f"{self._path}: NDTiff major version {self._header.major} is newer than this reader "
                "knows (2, 3); reading it with the v3 index layout",
                ScitiffReadersWarning,
                stacklevel=2,
            )
        self._values = distinct_values(table.axes)
        self._axis_names = tuple(self._values)
        self._dim_order = {a: value_order(self._values[a]) for a in DIM_AXES if a in self._values}
        self._tiles = all(a in self._values for a in TILE_AXES)
        self._scene_axes = scene_axes(self._axis_names, self._stitch and self._tiles)
        orders = [value_order(self._values[a]) for a in self._scene_axes]
        keys = {tuple(axes.get(a) for a in self._scene_axes) for axes in table.axes}
        self._scene_keys = sorted(keys, key=lambda k: tuple(o[v] for o, v in zip(orders, k, strict=True)))
        self._scene_where = {k: s for s, k in enumerate(self._scene_keys)}
        self._indices: dict[int, tuple[np.ndarray, list[np.ndarray]]] = {}
        self._overlap = (
            int(_number(self._header.summary.get("GridPixelOverlapY")) or 0),
            int(_number(self._header.summary.get("GridPixelOverlapX")) or 0),
        )
        self._channel_names: list[str] | None = None

    def _level_data(self, level: int) -> Level:
        cached = self._level_cache.get(level)
        if cached is None:
            cached = self._level_cache[level] = load_level(self._layout.levels[level])
        return cached

    def _level_index(self, level: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Per image of ``level``: ``(t, c, z, row, column)`` (-1 = not on this axis); images per scene."""
        cached = self._indices.get(level)
        if cached is not None:
            return cached
        all_axes = self._level_data(level).table.axes
        n = len(all_axes)
        columns = []
        for axis in ("time", "channel", "z"):
            m = self._dim_order.get(axis)
            columns.append([0] * n if m is None else [m.get(a.get(axis), -1) for a in all_axes])
        for axis in TILE_AXES:
            values = [a.get(axis) for a in all_axes]
            columns.append([v if type(v) is int else _NO_TILE for v in values])
        index = np.array(columns, dtype=np.int64).reshape(5, n).T.copy()
        if self._scene_axes:
            where, names = self._scene_where, self._scene_axes
            scene_of = [where.get(tuple(a.get(x) for x in names), -1) for a in all_axes]
        else:
            scene_of = [0] * n
        scenes = np.asarray(scene_of, dtype=np.int64)
        order = np.argsort(scenes, kind="stable")
        bounds = np.searchsorted(scenes[order], np.arange(len(self._scene_keys) + 1))
        groups = [order[bounds[s] : bounds[s + 1]] for s in range(len(self._scene_keys))]
        cached = self._indices[level] = (index, groups)
        return cached

    def _numbers(self, scene: int, level: int) -> np.ndarray:
        """Image numbers of ``scene`` in the index of ``level``, in index order."""
        return self._level_index(level)[1][scene]

    # ------------------------------------------------------------------- scenes
    def _scene_names(self) -> Sequence[str]:
        if not self._scene_axes:
            return (self._layout.root.name,)
        labels = self._position_labels() if "position" in self._scene_axes else {}
        names = []
        for key in self._scene_keys:
            parts = []
            for axis, value in zip(self._scene_axes, key, strict=True):
                label = labels.get(value) if axis == "position" else None
                parts.append(label or f"{axis}={value}")
            names.append(", ".join(parts))
        seen: dict[str, int] = {}
        unique = []
        for n in names:
            seen[n] = seen.get(n, 0) + 1
            unique.append(n if seen[n] == 1 else f"{n} #{seen[n]}")
        return unique

    def _position_labels(self) -> dict[Any, str]:
        """Position value -> label: summary ``StagePositions`` or per-image ``PositionName``."""
        out: dict[Any, str] = {}
        stage = self._header.summary.get("StagePositions")
        unlabelled = []
        for value in self._values["position"]:
            if isinstance(value, str):
                out[value] = value
                continue
            label = None
            if isinstance(value, int) and isinstance(stage, list) and 0 <= value < len(stage):
                entry = stage[value]
                if isinstance(entry, dict):
                    label = entry.get("Label") or entry.get("label")
            if label:
                out[value] = str(label)
            else:
                unlabelled.append(value)
        for value, md in zip(unlabelled, self._first_metadata("position", unlabelled), strict=True):
            for key in ("PositionName", "Position"):
                cand = md.get(key)
                if isinstance(cand, str) and cand and cand != "Default":
                    out[value] = cand
                    break
        return out

    def _first_metadata(self, axis: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        """Per-image metadata of the first image with each value of ``axis`` ({} if unreadable)."""
        if not values:
            return []
        level0 = self._level_data(0)
        wanted = set(values)
        first: dict[Any, int] = {}
        for n, axes in enumerate(level0.table.axes):
            v = axes.get(axis)
            if v in wanted and v not in first:
                first[v] = n
                if len(first) == len(wanted):
                    break
        numbers = [first[v] for v in values if v in first]
        try:
            found = dict(
                zip([v for v in values if v in first], level0.image_metadata_many(numbers), strict=True)
            )
        except (CorruptFileError, OSError):
            found = {}
        return [found.get(v, {}) for v in values]

    def _safe_metadata(self, level: Level, number: int) -> dict[str, Any]:
        try:
            return level.image_metadata(number)
        except (CorruptFileError, OSError):
            return {}

    def _level_count(self, scene: int) -> int:
        if self._tiles and not self._stitch:
            # A downsampled tile merges 2 x 2 tiles of the level above: levels of a
            # single tile do not exist as such. Stitched mosaics have them.
            return 1
        return len(self._layout.levels)

    # --------------------------------------------------------------- channels
    def _channels(self) -> list[str]:
        if self._channel_names is not None:
            return self._channel_names
        values = self._values.get("channel")
        if values is None:
            names = ["C0"]
        else:
            # Images without a channel axis (next to images with one) form their own channel.
            names = [v if isinstance(v, str) else "(none)" for v in values]
            ch_names = self._header.summary.get("ChNames")
            unnamed = []
            for i, v in enumerate(values):
                if not isinstance(v, int):
                    continue
                if isinstance(ch_names, list) and 0 <= v < len(ch_names) and str(ch_names[v]):
                    names[i] = str(ch_names[v])
                else:
                    unnamed.append(i)
            metadata = self._first_metadata("channel", [values[i] for i in unnamed])
            for i, md in zip(unnamed, metadata, strict=True):
                name = md.get("Channel")
                names[i] = name if isinstance(name, str) and name and name != "Default" else f"C{values[i]}"
            if len(set(names)) != len(names):
                names = [
                    n if names.count(n) == 1 else f"{n} ({v})" for n, v in zip(names, values, strict=True)
                ]
            if values == [None]:
                names = ["C0"]
        self._channel_names = names
        return names

    # ------------------------------------------------------------------ images
    def _grid(self, scene: int, level: int) -> tuple[np.ndarray, np.ndarray, Grid, tuple[int, int]]:
        """Image numbers of the scene, their plane indices, the tile layout and the image shape.

        Plane indices are ``(t, c, z, tile row, tile column)`` per image, -1 where an
        image has no place in this scene / level.
        """
        lvl = self._level_data(level)
        table = lvl.table
        numbers = self._numbers(scene, level)
        if len(numbers) == 0:
            numbers_for_shape = np.arange(table.image_count)
            if len(numbers_for_shape) == 0:
                raise MetadataError(f"{lvl.folder / INDEX_NAME}: this resolution level has no images")
        else:
            numbers_for_shape = numbers
        shapes = set(
            zip(
                table.height[numbers_for_shape].tolist(), table.width[numbers_for_shape].tolist(), strict=True
            )
        )
        if len(shapes) != 1:
            raise MetadataError(
                f"{lvl.folder / INDEX_NAME}: the images of scene {self.scenes[scene]!r} have different "
                f"sizes {sorted(shapes)}; one scene must have one image size"
            )
        h, w = shapes.pop()
        index = self._level_index(level)[0][numbers]
        if not (self._stitch and self._tiles):
            index[:, 3:] = 0
            return numbers, index, single_image(h, w), (h, w)
        level0 = self._level_data(0).table
        rows0 = [v for v in self._values["row"] if type(v) is int]
        cols0 = [v for v in self._values["column"] if type(v) is int]
        if not rows0 or not cols0:
            raise MetadataError(f"{self._path}: stitching needs integer row and column axes")
        tile0 = (int(level0.height[0]), int(level0.width[0]))
        if min(tile0[0] - self._overlap[0], tile0[1] - self._overlap[1]) <= 0:
            raise MetadataError(
                f"{self._path}: the tile overlap {self._overlap} is not smaller than the tiles"
            )
        grid = stitched(
            level, (min(rows0), max(rows0)), (min(cols0), max(cols0)), tile0, self._overlap, (h, w)
        )
        first_row, first_col, n_rows, n_cols = grid.first_row, grid.first_column, grid.rows, grid.columns
        tiled = (index[:, 3] != _NO_TILE) & (index[:, 4] != _NO_TILE)
        tr = np.where(tiled, index[:, 3] - first_row, -1)
        tc = np.where(tiled, index[:, 4] - first_col, -1)
        inside = (tr >= 0) & (tr < n_rows) & (tc >= 0) & (tc < n_cols)
        index[:, 3] = np.where(inside, tr, -1)
        index[:, 4] = np.where(inside, tc, -1)
        return numbers, index, grid, (h, w)

    def _image(self, scene: int, level: int) -> Image:
        lvl = self._level_data(level)
        table = lvl.table
        numbers, index, grid, (h, w) = self._grid(scene, level)
        sizes = [len(self._values.get(a, [None])) for a in ("time", "channel", "z")]
        planes = np.full((*sizes, grid.rows, grid.columns), -1, dtype=np.int32)
        keep = np.all(index >= 0, axis=1)
        local = np.arange(len(numbers), dtype=np.int32)
        ti, ci, zi, ri, cc = index[keep].T
        planes[ti, ci, zi, ri, cc] = local[keep]
        ptypes = table.pixel_type[numbers]
        rgb = bool(len(ptypes)) and bool(np.all(ptypes == 2))
        if len(ptypes) and not rgb and np.any(ptypes == 2):
            raise MetadataError(
                f"{lvl.folder / INDEX_NAME}: scene {self.scenes[scene]!r} mixes RGB and monochrome images"
            )
        if not len(ptypes):
            rgb = bool(np.all(table.pixel_type == 2))
        token = f"ndtiff:{lvl.token}:s{scene}:l{level}:stitch{int(self._stitch)}"
        source = NDTiffSource(
            lvl.files,
            table.file_id[numbers],
            table.pixel_offset[numbers],
            table.pixel_type[numbers],
            planes,
            (h, w),
            grid.mosaic,
            rgb,
            self._header.byteorder,
            token,
        )
        coords, pps = self._coords(scene, level, numbers, index, grid, source)
        bits = sorted({int(b) for b in table.pixel_type[numbers]})
        attrs = {
            "ndtiff_version": self._header.version,
            "bits_per_sample": max(PIXEL_TYPES[b][1] for b in bits) if bits else None,
        }
        return Image(
            source,
            coords=coords,
            channel_names=self._channels(),
            physical_pixel_sizes=pps,
            attrs=attrs,
            name=self.scenes[scene],
        )

    # ------------------------------------------------------------- coordinates
    def _pixel_size(self) -> float | None:
        summary = self._header.summary
        size = _number(summary.get("PixelSize_um"))
        if not size:
            md = self._safe_metadata(self._level_data(0), 0)
            size = _number(md.get("PixelSizeUm")) or _number(md.get("PixelSize_um"))
        return size if size and size > 0 else None

    def _per_value_metadata(
        self, numbers: np.ndarray, column: np.ndarray, count: int, keys: Sequence[str], level: Level
    ) -> list[float] | None:
        """One metadata number per plane index along a dim: first image with that index."""
        first: dict[int, int] = {}
        for n, v in zip(numbers.tolist(), column.tolist(), strict=True):
            if v >= 0 and v not in first:
                first[v] = n
        if len(first) != count:
            return None
        try:
            metadata = level.image_metadata_many([first[v] for v in range(count)])
        except (CorruptFileError, OSError):
            return None
        out = []
        for md in metadata:
            value = next((_number(md[k]) for k in keys if k in md and _number(md[k]) is not None), None)
            if value is None:
                return None
            out.append(value)
        return out

    def _coords(
        self, scene: int, level: int, numbers: np.ndarray, index: np.ndarray, grid: Grid, source: NDTiffSource
    ) -> tuple[dict[str, Any], PhysicalPixelSizes]:
        summary = self._header.summary
        coords: dict[str, Any] = {}
        level0 = self._level_data(0)
        numbers0 = self._numbers(scene, 0)
        index0 = index if level == 0 else self._grid(scene, 0)[1]
        shape = source.shape
        # Y / X: pixel size times the downsampling factor.
        size = self._pixel_size()
        f = 2**level
        y_step = x_step = None
        if size is not None:
            y_step = x_step = size * f
            # Downsampled pixels are centred on the full-resolution pixels they average.
            origin_y = (grid.origin_y + (f - 1) / 2) * size
            origin_x = (grid.origin_x + (f - 1) / 2) * size
            coords["Y"] = coordinate_spec("Y", origin_y + np.arange(shape[3]) * y_step, _UNITS_UM)
            coords["X"] = coordinate_spec("X", origin_x + np.arange(shape[4]) * x_step, _UNITS_UM)
        # Z: index x z-step, else the per-image intended / actual Z position.
        z_values = self._values.get("z")
        z_step = _number(summary.get("z-step_um"))
        if z_values is not None and z_values != [None]:
            raw = np.asarray([v if isinstance(v, int) else i for i, v in enumerate(z_values)])
            coords["z_index"] = (("Z",), np.asarray(z_values, dtype=object if raw.dtype == object else None))
            if z_step:
                coords["Z"] = coordinate_spec("Z", raw * z_step, _UNITS_UM)
            else:
                pos = self._per_value_metadata(
                    numbers0,
                    index0[:, 2],
                    len(z_values),
                    ("ZPosition_um_Intended", "ZPositionUm", "ZPosition_um"),
                    level0,
                )
                coords["Z"] = (
                    coordinate_spec("Z", pos, _UNITS_UM)
                    if pos is not None
                    else coordinate_spec("Z", z_values)
                )
        # T: index x interval, else the per-image elapsed time.
        t_values = self._values.get("time")
        if t_values is not None and t_values != [None]:
            coords["t_index"] = (("T",), np.asarray(t_values))
            interval = _number(summary.get("Interval_ms"))
            if interval and all(isinstance(v, int) for v in t_values):
                coords["T"] = coordinate_spec("T", np.asarray(t_values) * interval, "ms")
            else:
                times = self._per_value_metadata(
                    numbers0, index0[:, 0], len(t_values), ("ElapsedTime-ms",), level0
                )
                coords["T"] = (
                    coordinate_spec("T", times, "ms") if times is not None else coordinate_spec("T", t_values)
                )
        # The scene's values of its selecting axes, as scalar coordinates.
        for axis, value in zip(self._scene_axes, self._scene_keys[scene], strict=True):
            name = axis if axis not in ("T", "C", "Z", "Y", "X", "S") else f"{axis}_axis"
            coords[name] = ((), value if value is not None else "")
        z_size = abs(z_step) if z_step else None
        pps = PhysicalPixelSizes(
            z_size,
            y_step,
            x_step,
            (_UNITS_UM if z_size else None, _UNITS_UM if y_step else None, _UNITS_UM if x_step else None),
        )
        if z_size is None and "Z" in coords and coords["Z"][2].get("units"):
            pps = PhysicalPixelSizes(None, y_step, x_step, (None, pps.units.Y, pps.units.X))
            zc = coords["Z"][1]
            if len(zc) >= 2:
                d = np.diff(zc.astype(float))
                if np.allclose(d, d[0]):
                    pps = PhysicalPixelSizes(
                        abs(float(d[0])), y_step, x_step, (_UNITS_UM, pps.units.Y, pps.units.X)
                    )
        return coords, pps

    # ------------------------------------------------------------ public extras
    def channel_display(self) -> list[ChannelDisplay] | None:
        """Micro-Manager's ``display_settings.txt`` per channel of the current scene, if the dataset has it.

        ``Min`` / ``Max`` are the contrast limits, ``Color`` (Java ARGB) the colour,
        ``Active`` the visibility; channels are matched by name.
        """
        from scitiff_readers.backend import ChannelDisplay, argb_int_to_rgb, load_json

        path = self._layout.root / DISPLAY_SETTINGS
        if not path.is_file() or path.stat().st_size > _DISPLAY_SETTINGS_MAX:
            return None
        settings = load_json(path.read_text(encoding="utf-8"), path, "display settings")
        if not isinstance(settings, dict):
            return None
        out = []
        for name in self.channel_names:
            entry = settings.get(name)
            entry = entry if isinstance(entry, dict) else {}
            low, high = _number(entry.get("Min")), _number(entry.get("Max"))
            color = entry.get("Color")
            active = entry.get("Active")
            out.append(
                ChannelDisplay(
                    color=argb_int_to_rgb(color) if type(color) is int else None,
                    contrast_limits=(low, high)
                    if low is not None and high is not None and high > low
                    else None,
                    visible=active if isinstance(active, bool) else None,
                )
            )
        return out

    @property
    def metadata(self) -> dict[str, Any]:
        """The summary metadata (JSON header of the dataset's TIFF files)."""
        return self._header.summary

    @property
    def ndtiff_version(self) -> str:
        """NDTiff format version of the dataset, ``"major.minor"`` (v2: ``"2.0"``)."""
        return self._header.version

    @property
    def axes(self) -> dict[str, list[Any]]:
        """Every NDTiff axis of the dataset and its values (as ordered along T/C/Z / scenes)."""
        return {a: list(v) for a, v in self._values.items()}

    @property
    def dataset_path(self) -> Path:
        """The dataset's top folder."""
        return self._layout.root

    def image_metadata(
        self,
        T: int = 0,  # noqa: N803
        C: int = 0,  # noqa: N803
        Z: int = 0,  # noqa: N803
        *,
        row: int | None = None,
        column: int | None = None,
    ) -> dict[str, Any] | None:
        """Per-image metadata of plane ``(T, C, Z)`` of the current scene / level.

        Indices are positions along the dims (``T=0`` is the first time point, even
        when its NDTiff value is negative). With ``stitch=True``, ``row`` and
        ``column`` (the NDTiff tile indices) pick a tile; by default the first tile
        with an image. Returns ``None`` for an image that was never acquired.
        """
        source = self.image().source
        assert isinstance(source, NDTiffSource)
        for dim, value, size in zip("TCZ", (T, C, Z), source.planes.shape[:3], strict=True):
            if not isinstance(value, (int, np.integer)) or not 0 <= int(value) < size:
                raise DimensionSelectionError(
                    f"{self._path}: {dim}={value!r} is out of range; {dim} has {size} index(es)"
                )
        cells = source.planes[int(T), int(C), int(Z)]
        numbers = self._numbers(self.current_scene_index, self.current_resolution_level)
        level = self._level_data(self.current_resolution_level)
        if row is not None or column is not None:
            wanted = [
                i
                for i in cells.ravel().tolist()
                if i >= 0
                and (row is None or level.table.axes[int(numbers[i])].get("row") == row)
                and (column is None or level.table.axes[int(numbers[i])].get("column") == column)
            ]
        else:
            wanted = [i for i in cells.ravel().tolist() if i >= 0]
        if not wanted:
            return None
        return level.image_metadata(int(numbers[wanted[0]]))

    def _mosaic(self) -> Any:
        """The tiles of the mosaic the current scene (a tile) belongs to, at full resolution."""
        from scitiff_readers.backend import MosaicTiles

        if self._stitch or not self._tiles:
            return None
        key = dict(zip(self._scene_axes, self._scene_keys[self.current_scene_index], strict=True))
        if type(key.get("row")) is not int or type(key.get("column")) is not int:
            return None
        others = {a: v for a, v in key.items() if a not in TILE_AXES}
        members: list[dict[str, int]] = []
        for k in self._scene_keys:
            m = dict(zip(self._scene_axes, k, strict=True))
            row, column = m["row"], m["column"]
            if type(row) is int and type(column) is int and all(m[a] == v for a, v in others.items()):
                members.append({"row": row, "column": column})
        r0 = min(v for v in self._values["row"] if type(v) is int)
        c0 = min(v for v in self._values["column"] if type(v) is int)
        h, w = self.image(self.current_scene_index, 0).source.shape[3:5]
        cell_h, cell_w = h - self._overlap[0], w - self._overlap[1]
        # Stitching crops floor(overlap / 2) before each tile: a tile's first pixel lies that
        # far before its cell (so the first row and column of tiles start at negative positions).
        positions = [
            (
                (m["row"] - r0) * cell_h - self._overlap[0] // 2,
                (m["column"] - c0) * cell_w - self._overlap[1] // 2,
            )
            for m in members
        ]
        return MosaicTiles((h, w), positions, lambda: self._stitched_view(others))

    def _stitched_view(self, others: dict[str, Any]) -> Any:
        stitched = self.__dict__.get("_stitched_reader")
        if stitched is None:
            options = {
                k: v for k, v in self._sr_given_options.items() if k not in ("stitch", "reconstruct_mosaic")
            }
            stitched = self.__dict__["_stitched_reader"] = NDTiffReader(self._path, stitch=True, **options)
        for index, key in enumerate(stitched._scene_keys):
            if dict(zip(stitched._scene_axes, key, strict=True)) == others:
                stitched.set_scene(index)
                return stitched.xarray_dask_data
        raise MetadataError(f"{self._path}: no stitched mosaic holds the tile {self.current_scene!r}")

    def _close(self) -> None:
        for level in self._level_cache.values():
            level.close()
        stitched = self.__dict__.get("_stitched_reader")
        if stitched is not None:
            stitched.close()

    # --------------------------------------------------------------------- demo
    @classmethod
    def demo_sample(cls, folder: Path) -> Path:
        """A small dataset written by ndstorage: 2 time points x channels DAPI, GFP x 3 z."""
        from .samples import write_sample

        return write_sample(folder, "demo", times=2, channels=("DAPI", "GFP"), zs=3, height=48, width=64)
