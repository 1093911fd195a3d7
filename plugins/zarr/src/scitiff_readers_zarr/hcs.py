"""OME-Zarr high-content screening layouts: a plate (or a single well) as one scene per field of view.

NGFF ``plate`` metadata lists the wells (``path`` ``"A/1"``, ``rowIndex``,
``columnIndex``); each well's ``well.images`` lists its fields (``path``, optional
``acquisition``); each field is an ordinary multiscales image. Scenes are named
``row/column/field`` (``"A/1/0"``), in the plate's well order and the well's field
order, and carry the plate, well and field facts as attributes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scitiff_readers.backend import resolve_inside
from scitiff_readers.errors import MetadataError

from .nodes import Node, read_node
from .ome import ome_attrs

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["is_hcs_group", "plate_fields", "well_fields"]


def is_hcs_group(attrs: Mapping[str, Any]) -> bool:
    """Whether a group's attributes describe an HCS plate or well."""
    ome, _ = ome_attrs(attrs)
    return isinstance(ome.get("plate"), Mapping) or isinstance(ome.get("well"), Mapping)


def _name(entries: Any, index: Any, fallback: str) -> str:
    if isinstance(entries, list) and isinstance(index, int) and 0 <= index < len(entries):
        entry = entries[index]
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            return str(entry["name"])
    return fallback


def plate_fields(root: Path, node: Node) -> list[tuple[str, str, dict[str, Any]]]:
    """``(scene name, image group path, attributes)`` of every field of every well of a plate (or well)."""
    ome, _ = ome_attrs(node.attrs)
    where = node.attrs_file or root
    well = ome.get("well")
    if isinstance(well, Mapping):  # a single well opened directly
        return well_fields(root, "", node, {"plate_row": None, "plate_column": None}, where)
    plate = ome.get("plate")
    if not isinstance(plate, Mapping):
        raise MetadataError(f"{where}: no 'plate' or 'well' metadata")
    wells = plate.get("wells")
    if not isinstance(wells, list) or not wells:
        raise MetadataError(f"{where}: the plate lists no wells")
    out: list[tuple[str, str, dict[str, Any]]] = []
    acquisitions = plate.get("acquisitions") if isinstance(plate.get("acquisitions"), list) else []
    for entry in wells:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise MetadataError(f"{where}: a plate well has no 'path': {entry!r}")
        path = str(entry["path"])
        parts = path.split("/")
        row = _name(plate.get("rows"), entry.get("rowIndex"), parts[0] if len(parts) == 2 else path)
        column = _name(plate.get("columns"), entry.get("columnIndex"), parts[-1])
        group = resolve_inside(root, path, what="plate well path")
        facts = {
            "plate_name": plate.get("name"),
            "plate_row": row,
            "plate_column": column,
            "well_path": path,
            "plate_acquisitions": acquisitions,
        }
        out.extend(well_fields(root, path, read_node(group), facts, where))
    return out


def well_fields(
    root: Path, rel: str, node: Node, facts: dict[str, Any], where: Path | str
) -> list[tuple[str, str, dict[str, Any]]]:
    """The fields of one well (``rel`` its path from the root, ``""`` for the root itself)."""
    ome, _ = ome_attrs(node.attrs)
    well = ome.get("well")
    images = well.get("images") if isinstance(well, Mapping) else None
    if not isinstance(images, list):
        raise MetadataError(f"{node.attrs_file or where}: the well has no 'well.images' list")
    out = []
    for image in images:
        if not isinstance(image, Mapping) or not isinstance(image.get("path"), str):
            raise MetadataError(f"{node.attrs_file or where}: a well image has no 'path': {image!r}")
        field = str(image["path"])
        field_rel = posixpath.join(rel, field) if rel else field
        resolve_inside(root, field_rel, what="well image path")
        row, column = facts.get("plate_row"), facts.get("plate_column")
        name = "/".join(str(p) for p in (row, column, field) if p is not None)
        attrs = {
            **facts,
            "field": field,
            "acquisition": image.get("acquisition"),
            "well": dict(well) if isinstance(well, Mapping) else {},
        }
        out.append((name, field_rel, attrs))
    return out
