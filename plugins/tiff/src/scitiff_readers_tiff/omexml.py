"""Fast, lenient reading of the OME-XML facts the reader needs.

The full model (:func:`ome_types.from_xml`) is built only when a user asks for
``ome_metadata``: it costs tens to hundreds of milliseconds on files with thousands of
``Plane`` elements, more than opening the file itself. Here :mod:`xml.etree` picks out
image names, sizes, physical sizes, time steps, channel names, planes and ``TiffData``
blocks, ignoring namespaces (Bio-Formats and Micro-Manager use several schema
versions) and tolerating missing or malformed attributes. No schema is fetched.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scitiff_readers.errors import ScitiffReadersWarning

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

__all__ = ["OmeImageInfo", "OmePlane", "OmeXmlWarning", "parse_ome_xml"]


class OmeXmlWarning(ScitiffReadersWarning):
    """The OME-XML is invalid or non-conforming; the file is read on a best-effort basis."""


@dataclass
class OmePlane:
    """One ``Plane`` element (indices and the optional per-plane facts)."""

    t: int
    c: int
    z: int
    delta_t: float | None = None
    delta_t_unit: str | None = None
    position: dict[str, tuple[float, str | None]] = field(default_factory=dict)


@dataclass
class OmeImageInfo:
    """The facts about one OME ``Image`` that the reader maps to coordinates."""

    id: str
    name: str | None
    dimension_order: str = "XYZCT"
    size: dict[str, int] = field(default_factory=dict)
    pixel_type: str | None = None
    physical_size: dict[str, tuple[float, str]] = field(default_factory=dict)
    time_increment: tuple[float, str] | None = None
    channel_names: list[str | None] = field(default_factory=list)
    #: ``Channel@ID`` of every channel (the name when a channel has none, as in bioio).
    channel_ids: list[str | None] = field(default_factory=list)
    channel_samples: list[int] = field(default_factory=list)
    #: The ``Plane`` elements coordinates use: ``TheC = 0`` and ``TheT = 0`` or ``TheZ = 0``.
    planes: list[OmePlane] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: ``TiffData`` blocks: their attributes plus ``"FileName"`` of the first UUID.
    tiff_data: list[dict[str, str]] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    # ``_local(e.tag) == name``, without splitting every tag (this runs for every element).
    suffix = "}" + name
    return [e for e in elem if e.tag == name or e.tag.endswith(suffix)]


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


_SIZES = tuple((d, f"Size{d}") for d in "XYZCT")
_PHYSICAL_SIZES = tuple((d, f"PhysicalSize{d}", f"PhysicalSize{d}Unit") for d in "XYZ")
_DEFAULT_LENGTH_UNIT = "µm"
_DEFAULT_TIME_UNIT = "s"


def parse_ome_xml(
    xml: str, where: str, notes: list[str] | None = None, own_name: str | None = None
) -> list[OmeImageInfo] | None:
    """Parse ``xml``; return one :class:`OmeImageInfo` per ``Image``, or ``None`` if unreadable.

    Problems are reported as :class:`OmeXmlWarning` naming ``where`` (the file); when
    a ``notes`` list is given, their messages are appended to it instead (the caller
    warns, and can warn again when it re-uses the parse for the unchanged file).

    ``own_name`` is the name of the TIFF file holding ``xml``: a ``TiffData`` whose
    ``UUID`` is the root's ``OME/@UUID`` is that file, whatever its ``FileName`` says
    (the UUID identifies a file; a renamed file keeps its old name in the XML).
    """
    import xml.etree.ElementTree as ET  # imported here: the registry imports this module cheaply

    def report(message: str) -> None:
        if notes is not None:
            notes.append(message)
        else:
            warnings.warn(message, OmeXmlWarning, stacklevel=4)

    try:
        root = _parse_tree(xml)
    except ET.ParseError as exc:
        report(
            f"{where}: the OME-XML is not well-formed ({exc}); reading pixels as tifffile shapes "
            "them, without OME coordinates"
        )
        return None
    if _local(root.tag) != "OME":
        report(f"{where}: the OME-XML root element is {_local(root.tag)!r}, not 'OME'; best-effort reading")
    own_uuid = (root.get("UUID") or "").strip() if own_name else ""
    images = []
    problems: list[str] = []
    for n, img in enumerate(_children(root, "Image")):
        px = next((e for e in img if e.tag == "Pixels" or e.tag.endswith("}Pixels")), None)
        if px is None:
            problems.append(f"Image {n} has no Pixels element")
            continue
        info = _pixels_info(img.get("ID") or f"Image:{n}", img.get("Name"), px.attrib, problems)
        # One pass over the children, in document order within each kind.
        for child in px:
            kind = _local(child.tag)
            if kind == "Channel":
                info.channel_names.append(child.get("Name"))
                info.channel_ids.append(child.get("ID"))
                info.channel_samples.append(max(1, _int(child.get("SamplesPerPixel"), 1)))
            elif kind == "Plane":
                _add_plane(info, child.attrib)
            elif kind == "TiffData":
                _add_tiff_data(info, child, own_uuid, own_name)
        images.append(info)
    if problems:
        report(f"{where}: non-conforming OME-XML, read on a best-effort basis: " + "; ".join(problems[:5]))
    return images


_XYZCT = sorted("XYZCT")


def _pixels_info(image_id: str, name: str | None, attrs: dict[str, str], problems: list[str]) -> OmeImageInfo:
    """An image's facts from its ``Pixels`` attributes (its children are added by the caller)."""
    info = OmeImageInfo(id=image_id, name=name)
    order = (attrs.get("DimensionOrder") or "XYZCT").upper()
    if sorted(order) != _XYZCT or not order.startswith("XY"):
        problems.append(f"Image {info.id} has DimensionOrder {order!r}; using XYZCT")
        order = "XYZCT"
    info.dimension_order = order
    info.size = {d: max(1, _int(attrs.get(attribute), 1)) for d, attribute in _SIZES}
    info.pixel_type = attrs.get("Type")
    for d, attribute, unit_attribute in _PHYSICAL_SIZES:
        raw = attrs.get(attribute)
        if raw is None:
            continue
        value = _float(raw)
        if value is not None and value > 0:
            info.physical_size[d] = (value, attrs.get(unit_attribute) or _DEFAULT_LENGTH_UNIT)
        else:
            problems.append(f"Image {info.id}: {attribute}={raw!r} ignored")
    ti = _float(attrs.get("TimeIncrement"))
    if ti is not None:
        info.time_increment = (ti, attrs.get("TimeIncrementUnit") or _DEFAULT_TIME_UNIT)
    return info


def _add_plane(info: OmeImageInfo, attrs: dict[str, str]) -> None:
    """Keep a ``Plane`` if coordinates use it: ``TheC = 0`` and ``TheT = 0`` or ``TheZ = 0``."""
    # Skipping the rest keeps files with 10^5 planes fast to open.
    c = _int(attrs.get("TheC"), 0)
    if c != 0:
        return
    t, z = _int(attrs.get("TheT"), 0), _int(attrs.get("TheZ"), 0)
    if t != 0 and z != 0:
        return
    plane = OmePlane(t=t, c=c, z=z, delta_t=_float(attrs.get("DeltaT")), delta_t_unit=attrs.get("DeltaTUnit"))
    for d in "XYZ":
        value = _float(attrs.get(f"Position{d}"))
        if value is not None:
            plane.position[d] = (value, attrs.get(f"Position{d}Unit"))
    info.planes.append(plane)


def _add_tiff_data(info: OmeImageInfo, td: ET.Element, own_uuid: str, own_name: str | None) -> None:
    """Add a ``TiffData`` block and the files its ``UUID`` children name."""
    block = dict(td.attrib)
    # tifffile opens the FileName of any child whose tag ends in "UUID" (XUUID,
    # ns:UUID ...): every one is listed, so the reader checks them all.
    for uuid in td:
        if not _local(uuid.tag).endswith("UUID"):
            continue
        name = uuid.get("FileName")
        if own_uuid and (uuid.text or "").strip() == own_uuid:
            name = own_name
        if name and name not in info.files:
            info.files.append(name)
        if "FileName" not in block:
            block["FileName"] = name or ""
    info.tiff_data.append(block)


_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _parse_tree(xml: str) -> ET.Element:
    """The element tree of ``xml``, without the control characters some writers leave in it.

    Those characters are never well-formed XML, so a document that parses as it is has
    none: it is scanned for them (a regular expression over the whole text, longer than
    the rest of a small file's parse) only when the first parse fails.
    """
    import xml.etree.ElementTree as ET

    try:
        return ET.fromstring(xml)
    except ET.ParseError:
        stripped = _strip_bad_chars(xml)
        if stripped is xml or stripped == xml:
            raise
    return ET.fromstring(stripped)


def _strip_bad_chars(xml: str) -> str:
    """Remove control characters some writers leave in descriptions (invalid in XML 1.0)."""
    return _BAD_XML_CHARS.sub("", xml)


def image_info_dict(info: OmeImageInfo) -> dict[str, Any]:
    """A plain dict of ``info`` (for attributes and debugging)."""
    return {
        "id": info.id,
        "name": info.name,
        "dimension_order": info.dimension_order,
        "size": dict(info.size),
        "type": info.pixel_type,
    }
