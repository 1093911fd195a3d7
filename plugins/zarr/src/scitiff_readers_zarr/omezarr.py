"""The generic OME-Zarr reader (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3, and older)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from scitiff_readers.backend import Image, Reader, as_location, is_remote, resolve_inside
from scitiff_readers.errors import MetadataError, UnsupportedFormatError

from .hcs import is_hcs_group, plate_fields
from .ngff import ZarrImage, build_image, check_dataset_paths
from .nodes import Node, read_node, subfolders, try_read_node
from .ome import find_multiscales, ome_attrs, parse_multiscale
from .options import ZarrOptions

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from scitiff_readers.backend import ChannelDisplay


__all__ = ["OmeZarrReader"]


def _layout_version(attrs: Mapping[str, Any]) -> Any:
    ome, _ = ome_attrs(attrs)
    return ome.get("bioformats2raw.layout", attrs.get("bioformats2raw.layout"))


def is_ome_zarr_group(path: Path) -> bool:
    """Cheap sniff: a group whose attributes hold ``multiscales`` or the bioformats2raw layout."""
    node = try_read_node(path)
    if node is None or node.kind != "group":
        return False
    ms, _ = find_multiscales(node.attrs)
    return bool(ms) or _layout_version(node.attrs) is not None or is_hcs_group(node.attrs)


def _image_name(folder: str) -> str:
    """The folder name without ``.zarr`` / ``.ome.zarr`` (any case); the whole name if nothing is left."""
    # String tests, not a regular expression: compiling one costs a cold open ~0.1 ms.
    lower = folder.lower()
    for suffix in (".ome.zarr", ".zarr"):
        if lower.endswith(suffix):
            return folder[: -len(suffix)] or folder
    return folder


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}#{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


def images_in_group(root: Path, rel: str, node: Node, default_name: str) -> list[ZarrImage]:
    """The multiscale images declared by one group."""
    raw, version = find_multiscales(node.attrs)
    where = node.attrs_file or (root / rel)
    out = []
    for i, ms in enumerate(raw):
        parsed = parse_multiscale(ms, version, where)
        name = parsed.name or (default_name if len(raw) == 1 else f"{default_name}_{i}")
        out.append(ZarrImage(name, rel, parsed, node.attrs, where))
    return out


def _bioformats2raw_images(root: Path, node: Node) -> list[ZarrImage]:
    ome_dir = root / "OME"
    series: list[str] | None = None
    ome_node = try_read_node(ome_dir)
    if ome_node is not None:
        ome, _ = ome_attrs(ome_node.attrs)
        listed = ome.get("series", ome_node.attrs.get("series"))
        if isinstance(listed, list) and all(isinstance(s, str) for s in listed):
            series = list(listed)
    if series is None:
        # No OME/ series list: the numbered child groups, in numeric order.
        series = sorted((name for name, _ in subfolders(root) if name.isdigit()), key=int)
    names = _ome_xml_image_names(ome_dir / "METADATA.ome.xml")
    out: list[ZarrImage] = []
    for k, s in enumerate(series):
        group = resolve_inside(root, s, what="bioformats2raw series path")
        child = read_node(group)
        rel = group.relative_to(root.resolve()).as_posix()
        # Scenes are named by the OME-XML image names, else by series path (the
        # multiscales' own names are generic, e.g. "image", in bioformats2raw output).
        default = names[k] if names is not None and k < len(names) and names[k] else s
        found = images_in_group(root, rel, child, default)
        if not found:
            raise MetadataError(f"{child.attrs_file}: bioformats2raw series {s!r} has no multiscales")
        out.extend(
            ZarrImage(
                default if len(found) == 1 else f"{default}_{i}", f.rel, f.multiscale, f.attrs, f.attrs_file
            )
            for i, f in enumerate(found)
        )
    return out


def _ome_xml_image_names(path: Path) -> list[str] | None:
    """Image names, in order, from a bioformats2raw ``METADATA.ome.xml`` (None if absent)."""
    try:
        if not path.is_file() or path.stat().st_size > 256 * 2**20:
            return None
        import xml.etree.ElementTree as ET

        names = []
        for _, elem in ET.iterparse(path.open("rb") if is_remote(path) else path, events=("end",)):
            if elem.tag.rsplit("}", 1)[-1] == "Image":
                names.append(elem.get("Name") or elem.get("ID") or "")
                elem.clear()
        return names
    except Exception:  # noqa: BLE001 - names are a nicety; a broken XML falls back to paths
        return None


def discover_images(root: Path) -> tuple[Node, list[ZarrImage]]:
    """All scenes of an OME-Zarr root: its multiscales, or the bioformats2raw series."""
    node = read_node(root)
    if node.kind != "group":
        raise UnsupportedFormatError(
            f"{root}: this is a bare zarr array, not an OME-Zarr image (no multiscales group)"
        )
    default = _image_name(root.name)
    if _layout_version(node.attrs) is not None:
        images = _bioformats2raw_images(root, node)
    elif is_hcs_group(node.attrs) and not find_multiscales(node.attrs)[0]:
        images = _hcs_images(root, node)
    else:
        images = images_in_group(root, "", node, default)
    if not images:
        raise MetadataError(
            f"{node.attrs_file or root}: a zarr group without 'multiscales'; this reader reads OME-Zarr "
            "images (multiscales), HCS plates and wells, and the bioformats2raw layout"
        )
    for im in images:
        check_dataset_paths(root, im)
    names = _unique([im.name for im in images])
    return node, [im._replace(name=n) for n, im in zip(names, images, strict=True)]


def _hcs_images(root: Path, node: Node) -> list[ZarrImage]:
    """One scene per field of view of a plate (or well): ``row/column/field``."""
    out: list[ZarrImage] = []
    for name, rel, facts in plate_fields(root, node):
        child = read_node(resolve_inside(root, rel, what="well image path"))
        found = images_in_group(root, rel, child, name)
        if not found:
            raise MetadataError(f"{child.attrs_file or child.path}: field {name!r} has no multiscales")
        out.extend(
            f._replace(name=name if len(found) == 1 else f"{name}_{i}", extra=facts)
            for i, f in enumerate(found)
        )
    return out


class OmeZarrReader(Reader):
    """OME-Zarr images: NGFF 0.4 (Zarr v2) and 0.5 (Zarr v3), and the bioformats2raw layout.

    Scenes are the multiscale images (several ``multiscales`` entries, the series
    of a bioformats2raw dataset, or the fields of view of an HCS plate or well,
    named ``row/column/field``); their ``datasets`` are the resolution levels.
    Label images are linked arrays of their image (:attr:`labels`), not scenes.
    Without a ``scale`` transform the file states no pixel size: the sizes are
    ``None`` and the dims have no coordinates. Axes map to ``TCZYX`` by name and type (absent dims have size 1);
    scale and translation transforms become coordinates with units; ``omero``
    channel labels name ``C``.

    Options
    -------
    codec_pipeline
        ``"auto"`` (default: the zarrs codec pipeline for zarr-python when the
        ``zarrs`` package is installed, else zarr-python's own), ``"zarrs"`` or
        ``"zarr"``.
    """

    name: ClassVar[str] = "ome-zarr"
    suffixes: ClassVar[tuple[str, ...]] = (".zarr", ".ome.zarr")
    priority: ClassVar[int] = 40
    description: ClassVar[str] = "OME-Zarr (NGFF 0.4 / 0.5, Zarr v2 / v3, bioformats2raw layout)"
    Options = ZarrOptions
    _opts: ZarrOptions

    @classmethod
    def can_open(cls, path: Any) -> bool:
        """Whether ``path`` is a zarr group with OME multiscales or the bioformats2raw layout."""
        try:
            p = as_location(path)
            # A remote folder may not be listable (object stores over HTTP): its metadata decides.
            return (is_remote(p) or p.is_dir()) and is_ome_zarr_group(p)
        except Exception:  # noqa: BLE001 - sniffing never raises
            return False

    def _open(self) -> None:
        from .source import resolve_pipeline

        root = self._path
        if root.is_file() and root.name in ("zarr.json", ".zattrs", ".zgroup"):
            root = root.parent
        if not is_remote(root) and not root.is_dir():
            raise UnsupportedFormatError(f"{self._path}: an OME-Zarr image is a folder, this is a file")
        self._root = root
        self._pipeline = resolve_pipeline(self._opts.codec_pipeline)
        self._root_node, self._zimages = discover_images(root)

    def _scene_names(self) -> Sequence[str]:
        return [im.name for im in self._zimages]

    def _level_count(self, scene: int) -> int:
        return len(self._zimages[scene].multiscale.datasets)

    def _image(self, scene: int, level: int) -> Image:
        image = self._zimages[scene]
        return build_image(self._root, image, level, self._pipeline, scene, attrs=image.extra)

    @property
    def metadata(self) -> dict[str, Any]:
        """The root group's attributes (``.zattrs`` / ``zarr.json`` ``attributes``)."""
        return dict(self._root_node.attrs)

    @property
    def scene_attributes(self) -> dict[str, Any]:
        """Attributes of the current scene's multiscales group."""
        return dict(self._zimages[self.current_scene_index].attrs)

    def channel_display(self) -> list[ChannelDisplay] | None:
        """The current scene's ``omero`` channel colours, windows and visibility (see :mod:`scitiff_readers.backend`)."""
        from .ome import omero_channel_display

        return omero_channel_display(self._zimages[self.current_scene_index].attrs, self.dims.C)

    @property
    def field_metadata(self) -> dict[str, Any]:
        """HCS plates: the current field's plate row and column, field path, acquisition and well metadata.

        Empty for images that are not fields of a plate or well.
        """
        return dict(self._zimages[self.current_scene_index].extra)

    @property
    def label_names(self) -> tuple[str, ...]:
        """Names of the label images of the current scene (its ``labels`` group), in the listed order."""
        return tuple(self._label_images())

    @property
    def labels(self) -> dict[str, Any]:
        """The label images of the current scene at the current resolution level, as lazy DataArrays.

        Keys are the label names; a label image without the current level gives its
        full resolution. Coordinates, units and dims are as for the image itself.
        """
        import xarray as xr

        from scitiff_readers.backend import to_dask

        out = {}
        for name, zimage in self._label_images().items():
            level = min(self.current_resolution_level, len(zimage.multiscale.datasets) - 1)
            image = build_image(self._root, zimage, level, self._pipeline, ("labels", zimage.rel))
            array = to_dask(image.source, self.chunk_bytes, name=f"{self.name}-labels")
            coords = {k: v for k, v in image.resolved_coords().items() if k != "C"}
            out[name] = xr.DataArray(
                array, dims=tuple(image.source.dims), coords=coords, attrs=dict(image.attrs), name=name
            )
        return out

    def _label_images(self) -> dict[str, ZarrImage]:
        scene = self._zimages[self.current_scene_index]
        rel = posixpath.join(scene.rel, "labels") if scene.rel else "labels"
        node = try_read_node(self._root / rel)
        if node is None:
            return {}
        ome, _ = ome_attrs(node.attrs)
        names = ome.get("labels")
        if not isinstance(names, list):
            return {}
        out: dict[str, ZarrImage] = {}
        for name in names:
            if not isinstance(name, str):
                continue
            label_rel = posixpath.join(rel, name)
            group = resolve_inside(self._root, label_rel, what="label image path")
            found = images_in_group(self._root, label_rel, read_node(group), name)
            for image in found:
                check_dataset_paths(self._root, image)
            if found:
                out[name] = found[0]
        return out

    @property
    def ome_xml(self) -> str | None:
        """The bioformats2raw ``OME/METADATA.ome.xml`` text, if present."""
        path = self._root / "OME" / "METADATA.ome.xml"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    @classmethod
    def demo_sample(cls, folder: Path) -> Path:
        """A small NGFF 0.4 image written by ome-zarr-py (zarr directly if it is absent)."""
        import numpy as np

        path = folder / "sample.ome.zarr"
        data = (np.arange(2 * 3 * 4 * 64 * 64) % 4093).astype("uint16").reshape(2, 3, 4, 64, 64)
        write_ngff(path, data, version="0.4")
        return path


def write_ngff(path: Path, data: Any, version: str = "0.4") -> None:
    """Write ``data`` (TCZYX) as OME-Zarr with ome-zarr-py's ``write_image`` (2 levels, µm, labels)."""
    import zarr
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    fmt = FormatV04() if version == "0.4" else FormatV05()
    group = zarr.open_group(str(path), mode="w", zarr_format=2 if version == "0.4" else 3)
    write_image(
        data,
        group,
        axes="tczyx",
        fmt=fmt,
        scale_factors=[2],
        name=path.name.split(".")[0],
        scale={"t": 1.0, "c": 1.0, "z": 2.0, "y": 0.5, "x": 0.5},
        axes_units={"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"},
    )
    omero = {"channels": [{"label": f"channel {i}"} for i in range(data.shape[1])]}
    if version == "0.4":
        group.attrs["omero"] = omero
    else:
        group.attrs["ome"] = {**dict(group.attrs["ome"]), "omero": omero}  # type: ignore[arg-type]  # the "ome" attribute ome-zarr-py just wrote is a JSON object
