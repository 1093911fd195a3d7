"""Scenes stacked along a new dim: ``Reader.get_stack`` and its dask / xarray variants (as bioio)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import DimensionSelectionError, MetadataError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._reader import Reader


__all__ = ["generate_stack"]

_MODES = ("data", "dask_data", "xarray_data", "xarray_dask_data")


def generate_stack(
    reader: Reader,
    mode: str,
    drop_non_matching_scenes: bool = False,
    select_scenes: Sequence[str | int] | None = None,
    scene_character: str = "I",
    scene_coord_values: str = "index",
) -> Any:
    """Stack scenes of ``reader`` along a new first dim.

    Parameters
    ----------
    reader
        The reader; its current scene is restored afterwards.
    mode
        ``"data"``, ``"dask_data"``, ``"xarray_data"`` or ``"xarray_dask_data"``: the
        reader property stacked.
    drop_non_matching_scenes
        Leave out scenes whose shape or dtype differ from the first selected scene's
        (default: raise :class:`~scitiff_readers.errors.MetadataError`).
    select_scenes
        Scene indices, IDs or names (default: every scene).
    scene_character
        Name of the new dim (default ``"I"``, as bioio).
    scene_coord_values
        ``"names"``: the new dim's coordinate holds the scene names; ``"index"``
        (default): no coordinate.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}")
    if scene_coord_values not in ("index", "names"):
        raise ValueError(f"scene_coord_values must be 'index' or 'names', not {scene_coord_values!r}")
    selected = list(range(len(reader.scenes))) if select_scenes is None else list(select_scenes)
    if not selected:
        raise DimensionSelectionError(f"{reader.path}: select_scenes selects no scene")
    previous = (reader.current_scene_index, reader.current_resolution_level)
    parts: list[Any] = []
    names: list[str] = []
    try:
        for scene in selected:
            reader.set_scene(scene)
            data = getattr(reader, mode)
            if parts and (data.shape != parts[0].shape or data.dtype != parts[0].dtype):
                if drop_non_matching_scenes:
                    continue
                raise MetadataError(
                    f"{reader.path}: scene {reader.current_scene!r} has shape {data.shape} and dtype "
                    f"{data.dtype}, the first stacked scene {names[0]!r} {parts[0].shape} and "
                    f"{parts[0].dtype}; pass drop_non_matching_scenes=True to leave such scenes out"
                )
            parts.append(data)
            names.append(reader.current_scene)
    finally:
        reader.set_scene(previous[0])
        reader.set_resolution_level(previous[1])
    if mode in ("data", "dask_data"):
        if mode == "data":
            import numpy as np

            return np.stack(parts)
        import dask.array as da

        return da.stack(parts)
    import xarray as xr

    first = parts[0]
    if scene_character in first.dims:
        raise DimensionSelectionError(
            f"scene_character {scene_character!r} is already a dim of the data {first.dims}"
        )
    if mode == "xarray_dask_data":
        import dask.array as da

        stacked = da.stack([p.data for p in parts])
    else:
        import numpy as np

        stacked = np.stack([p.data for p in parts])
    coords = dict(first.coords)
    if scene_coord_values == "names":
        coords[scene_character] = xr.Variable((scene_character,), names)
    return xr.DataArray(
        stacked, dims=(scene_character, *first.dims), coords=coords, attrs=dict(first.attrs), name=first.name
    )
