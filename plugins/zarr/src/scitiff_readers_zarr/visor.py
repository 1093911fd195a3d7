"""The VISoR reader: light-sheet samples in every VISoR schema version.

Layouts (see ``docs/formats/zarr.md``):

* **2024.11.0 (original)**: ``<SAMPLE>/visor_raw_image.zarr`` (and
  ``visor_reconstructed_image.zarr``), resolution levels ``0 .. n`` holding groups
  ``slice_<i>_stack_<j>`` (raw) or ``<PERSON>_<ROI>_<DATE>`` (reconstructed), each with
  one ``z, y, x`` array per channel (``405nm_10X`` ...).
* **2024.11.1 - 2024.11.3**: ``<SAMPLE>[.vsr]/visor_<type>_images/<image>.zarr``, one
  OME-Zarr 0.4 image per slice with stacks as the first axis (``t``, later ``s``);
  ``.visor``, then ``info.json`` and ``visor_raw_images/selected.json``.
* **2025.5 - 2025.6**: the same tree in Zarr v3 / OME-Zarr 0.5, sharded, axes ``vs``
  and ``ch``, VISoR attributes under ``attributes.visor``.

Scenes are the images (named as visor-py names them); stacks map to ``T`` with the
stack labels as the index coordinate and the stack positions (µm) as non-index
coordinates; channels map to ``C``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from scitiff_readers.backend import Image, Reader, as_location, check_allocation, is_remote, resolve_inside
from scitiff_readers.errors import MetadataError, ScitiffReadersWarning, UnsupportedFormatError

from .nodes import Node, has_zarr_metadata, read_json, read_node, subfolders, try_read_node
from .ome import Multiscale, find_multiscales, parse_multiscale
from .options import ZarrOptions

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["VisorReader", "VisorWarning"]

_ORIGINAL_IMAGES = ("visor_raw_image.zarr", "visor_reconstructed_image.zarr")
_TYPE_DIR = re.compile(r"^visor_(?P<type>[A-Za-z0-9]+)_images$")
# Compiled on first use (re caches it): only the 2024.11.0 layout has stack groups.
_STACK_GROUP = r"^slice_(?P<slice>\d+)_stack_(?P<stack>\d+)$"


class VisorWarning(ScitiffReadersWarning):
    """Something in a VISoR sample is inconsistent but the rest can be read."""


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text)]


def _wavelength(value: Any) -> float | None:
    match = re.search(r"\d+(\.\d+)?", str(value)) if value is not None else None
    return float(match.group(0)) if match else None


class _Scene:
    """One VISoR image (new layouts) or one slice / reconstructed group (original layout)."""

    # A plain class, not a dataclass: cheaper to import (see nodes.Node).
    __slots__ = ("groups", "image_type", "multiscale", "name", "node", "path", "visor")

    def __init__(
        self,
        name: str,
        image_type: str,
        path: Path,
        node: Node,
        multiscale: Multiscale,
        visor: Mapping[str, Any],
        groups: list[str] | None = None,
    ) -> None:
        self.name = name
        #: "raw", "compr", "recon", "projn", ... ("reconstructed" in the original layout)
        self.image_type = image_type
        self.path = path  # the image's zarr root
        self.node = node
        self.multiscale = multiscale
        self.visor = visor
        #: Original layout only: the groups (one per stack) inside each level.
        self.groups: list[str] = [] if groups is None else groups

    def __repr__(self) -> str:
        return f"_Scene({self.name!r}, {self.image_type!r}, {str(self.path)!r})"


def _visor_block(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The VISoR attributes of an image, wherever this schema version keeps them."""
    out: dict[str, Any] = {}
    legacy = attrs.get("visor")
    if isinstance(legacy, Mapping):
        out.update(legacy)  # 2024.11.1 ("visor": {version, channels}) and 2025.x (under attributes)
    for key in ("visor_stacks", "channels", "transforms", "sources", "transform_version"):
        if key in attrs and key not in out:
            out[key] = attrs[key]  # 2024.11.2 / .3: top level of .zattrs
    return out


def _is_visor_attrs(attrs: Mapping[str, Any]) -> bool:
    if isinstance(attrs.get("visor"), Mapping) or "visor_stacks" in attrs:
        return True
    raw, _ = find_multiscales(attrs)
    for ms in raw:
        if isinstance(ms, Mapping):
            for axis in ms.get("axes") or ():
                if isinstance(axis, Mapping) and str(axis.get("type", "")).lower().startswith("visor"):
                    return True
    return False


def _is_sample_dir(p: Path) -> bool:
    try:
        if is_remote(p):
            # One listing (reused by the open) instead of a request per name looked for.
            return any(name in _ORIGINAL_IMAGES or _TYPE_DIR.match(name) for name, _ in subfolders(p))
        if any((p / name).is_dir() for name in _ORIGINAL_IMAGES):
            return True
        return any(_TYPE_DIR.match(name) for name, _ in subfolders(p))
    except OSError:
        return False


@dataclass(frozen=True)
class VisorOptions(ZarrOptions):
    """Options of :class:`VisorReader` (see its docstring)."""

    image: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "image", self.image is None or isinstance(self.image, str), "an image name such as 'slice_1_10x'"
        )


class VisorReader(Reader):
    """VISoR light-sheet samples (every schema version from 2024.11.0 to 2025.6).

    Open the sample folder (``<SAMPLE_ID>.vsr`` or ``<SAMPLE_ID>``), an image's
    ``*.zarr`` inside it, or the sample with ``image="slice_1_10x"``.

    Options
    -------
    image
        Name of the image (scene) to make current, for example ``"slice_1_10x"``;
        images not listed in ``selected.json`` can be opened this way too.
    codec_pipeline
        ``"auto"`` (default: the zarrs codec pipeline for zarr-python when installed,
        as visor-py does), ``"zarrs"`` or ``"zarr"``.
    """

    name: ClassVar[str] = "visor"
    suffixes: ClassVar[tuple[str, ...]] = (".vsr", ".zarr")
    priority: ClassVar[int] = 70
    description: ClassVar[str] = "VISoR light-sheet samples (schemas 2024.11.0 to 2025.6; Zarr v2 / v3)"
    Options = VisorOptions
    _opts: VisorOptions

    # ------------------------------------------------------------------ sniffing
    @classmethod
    def can_open(cls, path: Any) -> bool:
        """Whether ``path`` is a VISoR sample folder or a VISoR image (cheap, never raises)."""
        try:
            p = as_location(path)
            if not p.is_dir():
                return False
            if _is_sample_dir(p):
                return True
            if _TYPE_DIR.match(p.name) and _is_sample_dir(p.parent):
                return True
            if p.name in _ORIGINAL_IMAGES and has_zarr_metadata(p):
                return True
            if not has_zarr_metadata(p):
                return False
            node = try_read_node(p)
            return node is not None and node.kind == "group" and _is_visor_attrs(node.attrs)
        except Exception:  # noqa: BLE001 - sniffing never raises
            return False

    # ------------------------------------------------------------------- opening
    def _open(self) -> None:
        from .source import resolve_pipeline

        self._pipeline = resolve_pipeline(self._opts.codec_pipeline)
        path = self._path
        if not path.is_dir():
            raise UnsupportedFormatError(f"{path}: a VISoR sample is a folder, this is a file")
        self._info: Any = None
        self._selected: Any = None
        self._dot_visor: Any = None
        self._recon: dict[str, Any] = {}
        only: Path | None = None
        only_type: str | None = None
        if _is_sample_dir(path):
            sample: Path | None = path
        elif _TYPE_DIR.match(path.name) and _is_sample_dir(path.parent):
            sample, only_type = path.parent, path.name  # e.g. <SAMPLE>.vsr/visor_raw_images
        elif path.name in _ORIGINAL_IMAGES:
            sample, only = path.parent, path
        elif _TYPE_DIR.match(path.parent.name) and _is_sample_dir(path.parent.parent):
            sample, only = path.parent.parent, path
        else:
            sample, only = None, path  # a VISoR image outside a sample folder
        self._sample = sample
        scenes: list[_Scene] = []
        if sample is not None:
            self._read_sample_files(sample)
        if sample is not None and any((sample / n).is_dir() for n in _ORIGINAL_IMAGES):
            self.layout = "2024.11.0"
            for name in _ORIGINAL_IMAGES:
                img = sample / name
                if img.is_dir() and (only is None or img == only):
                    img = resolve_inside(sample, name, what="image folder")  # never a link out
                    scenes.extend(self._original_scenes(img))
        else:
            if only is not None:
                scenes.append(self._image_scene(only, self._type_of(only)))
            else:
                scenes.extend(self._sample_scenes(sample, only_type))  # type: ignore[arg-type]  # only is None, so a sample folder was found (sample is None only together with only)
            self.layout = self._detect_layout(scenes)
        if not scenes:
            raise MetadataError(f"{path}: the VISoR sample holds no images")
        names = [s.name for s in scenes]
        for s in scenes:
            if names.count(s.name) > 1:
                s.name = f"{s.image_type}:{s.name}"
        self._vscenes = scenes
        wanted = self._opts.image
        self._wanted_scene = 0 if wanted is None else self._find_image(wanted)

    def _read_sample_files(self, sample: Path) -> None:
        if (sample / "info.json").is_file():
            self._info = read_json(resolve_inside(sample, "info.json"), "VISoR sample info file")
        if (sample / "visor_raw_images" / "selected.json").is_file():
            self._selected = read_json(
                resolve_inside(sample, "visor_raw_images/selected.json"), "VISoR selected-images file"
            )
        if (sample / "visor_raw_images" / ".visor").is_file():
            self._dot_visor = read_json(
                resolve_inside(sample, "visor_raw_images/.visor"), "VISoR .visor file"
            )
        transforms = sample / "visor_recon_transforms"
        if transforms.is_dir():
            for version in sorted(transforms.iterdir(), key=lambda p: _natural(p.name)):
                if (version / "recon.json").is_file():
                    recon = resolve_inside(sample, f"visor_recon_transforms/{version.name}/recon.json")
                    self._recon[version.name] = read_json(recon, "VISoR recon.json")

    def _type_of(self, image: Path) -> str:
        match = _TYPE_DIR.match(image.parent.name)
        return match.group("type") if match else "image"

    def _selected_names(self) -> list[str] | None:
        listing: Any = self._selected
        if isinstance(listing, Mapping):  # visor-py's empty template: {"_comment": ...}
            listing = listing.get("selected_images")
        if listing is None and isinstance(self._dot_visor, Mapping):
            listing = self._dot_visor.get("selected_images", self._dot_visor.get("featured_slices"))
        if not isinstance(listing, list):
            return None
        names = []
        for entry in listing:
            value = entry.get("name", entry.get("path")) if isinstance(entry, Mapping) else entry
            if isinstance(value, str) and value:
                names.append(value.replace("\\", "/").rstrip("/").removesuffix(".zarr").split("/")[-1])
        return names

    def _sample_scenes(self, sample: Path, only_type: str | None = None) -> list[_Scene]:
        scenes: list[_Scene] = []
        type_dirs = sorted(
            (
                e
                for e in sample.iterdir()
                if e.is_dir() and _TYPE_DIR.match(e.name) and only_type in (None, e.name)
            ),
            key=lambda p: (p.name != "visor_raw_images", p.name),
        )
        for found in type_dirs:
            # Symbolic links leading out of the sample are refused like paths in metadata.
            folder = resolve_inside(sample, found.name, what="image folder")
            kind = _TYPE_DIR.match(folder.name).group("type")  # type: ignore[union-attr]  # type_dirs kept only names that match, and resolve_inside keeps the name
            selected = self._selected_names() if kind == "raw" else None
            if selected is not None:
                for name in selected:
                    image = resolve_inside(folder, name + ".zarr", what="selected image path")
                    if not image.is_dir():
                        warnings.warn(
                            f"{folder}: selected image {name!r} is missing ({image}); skipped",
                            VisorWarning,
                            stacklevel=4,
                        )
                        continue
                    scenes.append(self._image_scene(image, kind))
                continue
            images = sorted(
                (e.name for e in folder.iterdir() if e.is_dir() and e.suffix == ".zarr"), key=_natural
            )
            scenes.extend(
                self._image_scene(resolve_inside(folder, name, what="image folder"), kind) for name in images
            )
        return scenes

    def _image_scene(self, image: Path, kind: str) -> _Scene:
        node = read_node(image)
        if node.kind != "group":
            raise MetadataError(f"{image}: a VISoR image must be a zarr group, found an array")
        ms = _image_multiscale(node, image)
        for dataset in ms.datasets:
            resolve_inside(image, dataset.path, what=f"multiscales dataset path (in {node.attrs_file})")
        name = image.name.removesuffix(".zarr")
        return _Scene(name, kind, image, node, ms, _visor_block(node.attrs))

    def _original_scenes(self, image: Path) -> list[_Scene]:
        node = read_node(image)
        ms = _image_multiscale(node, image)
        for dataset in ms.datasets:
            resolve_inside(image, dataset.path, what=f"multiscales dataset path (in {node.attrs_file})")
        level0 = resolve_inside(image, ms.datasets[0].path, what="multiscales dataset path")
        if not level0.is_dir():
            raise MetadataError(f"{node.attrs_file}: resolution level folder {level0} is missing")
        groups = sorted((name for name, sub in subfolders(level0) if has_zarr_metadata(sub)), key=_natural)
        kind = "raw" if image.name == "visor_raw_image.zarr" else "reconstructed"
        visor = _visor_block(node.attrs)
        scenes: list[_Scene] = []
        if kind == "raw":
            by_slice: dict[int, list[tuple[int, str]]] = {}
            for g in groups:
                m = re.match(_STACK_GROUP, g)
                if m:
                    by_slice.setdefault(int(m.group("slice")), []).append((int(m.group("stack")), g))
            for s in sorted(by_slice):
                stacks = [g for _, g in sorted(by_slice[s])]
                scenes.append(_Scene(f"slice_{s}", kind, image, node, ms, visor, stacks))
        else:
            scenes.extend(_Scene(g, kind, image, node, ms, visor, [g]) for g in groups)
        return scenes

    def _detect_layout(self, scenes: Sequence[_Scene]) -> str:
        if scenes and scenes[0].node.zarr_format == 3:
            return "2025.5+"
        if self._selected is not None or (self._sample is not None and self._sample.suffix == ".vsr"):
            return "2024.11.3"
        if isinstance(self._dot_visor, Mapping) and "selected_images" in self._dot_visor:
            return "2024.11.2"
        if scenes and "visor_stacks" in scenes[0].visor:
            return "2024.11.2"
        return "2024.11.1"

    def _find_image(self, wanted: str) -> int:
        base = re.sub(r"\.zarr$", "", wanted.replace("\\", "/").rstrip("/").split("/")[-1])
        for i, s in enumerate(self._vscenes):
            if base in (s.name, f"{s.image_type}:{s.name}", s.name.split(":", 1)[-1]):
                return i
        # Not listed (e.g. a raw image left out of selected.json): add it if it exists.
        if self._sample is not None and self.layout != "2024.11.0":
            for folder in sorted(self._sample.iterdir()):
                if _TYPE_DIR.match(folder.name) and folder.is_dir():
                    candidate = resolve_inside(folder, base + ".zarr", what="image name")
                    if candidate.is_dir():
                        self._vscenes.append(self._image_scene(candidate, self._type_of(candidate)))
                        return len(self._vscenes) - 1
        names = ", ".join(repr(s.name) for s in self._vscenes)
        raise MetadataError(f"{self._path}: no VISoR image named {wanted!r}; images: {names}")

    # ---------------------------------------------------------------- scenes
    def _default_scene(self) -> int:
        """The image chosen with ``image=`` is current after opening."""
        return self._wanted_scene

    def _scene_names(self) -> Sequence[str]:
        return [s.name for s in self._vscenes]

    def _level_count(self, scene: int) -> int:
        return len(self._vscenes[scene].multiscale.datasets)

    def _image(self, scene: int, level: int) -> Image:
        s = self._vscenes[scene]
        if s.groups:
            return self._original_image(scene, s, level)
        from .ngff import ZarrImage, build_image

        zimage = ZarrImage(s.name, "", s.multiscale, s.node.attrs, s.node.attrs_file or s.path)
        image = build_image(
            s.path,
            zimage,
            level,
            self._pipeline,
            scene,
            time_always=False,
            attrs={"visor_image_type": s.image_type, "visor_layout": self.layout},
        )
        source = image.source
        coords = dict(image.coords)
        coords.update(self._stack_coords(s, source.shape[0], "T" in source.axes))  # type: ignore[attr-defined]  # a ZarrSource here (build_image of a VISoR OME-Zarr node), which has axes
        names, wavelengths = self._channels(s, source.shape[1])
        if wavelengths is not None:
            coords["wavelength"] = ("C", wavelengths, {"units": "nm"})
        return Image(
            source,
            coords=coords,
            channel_names=names,
            physical_pixel_sizes=image.physical_pixel_sizes,
            attrs=image.attrs,
            name=s.name,
        )

    def _stack_coords(self, s: _Scene, count: int, has_stacks: bool) -> dict[str, Any]:
        if not has_stacks:
            return {}
        # ``count`` is the array's declared stack axis: refuse one no memory could label.
        check_allocation(count * 64, s.node.attrs_file, f"labels for {count} stacks")
        labels = [f"stack_{i + 1}" for i in range(count)]
        xs, ys = [math.nan] * count, [math.nan] * count
        stacks = s.visor.get("visor_stacks")
        if isinstance(stacks, list):
            for k, entry in enumerate(stacks):
                if not isinstance(entry, Mapping):
                    continue
                i = entry.get("index", k)
                if not isinstance(i, int) or not 0 <= i < count:
                    raise MetadataError(
                        f"{s.node.attrs_file}: visor_stacks entry {entry!r} has an index "
                        f"outside 0..{count - 1}"
                    )
                if entry.get("label") is not None:
                    labels[i] = str(entry["label"])
                xs[i], ys[i] = _position_um(entry.get("position"), s)
        else:
            # 2024.11.1: stack positions per channel, implicit index order (mm).
            channels = s.visor.get("channels")
            if isinstance(channels, list) and channels and isinstance(channels[0], Mapping):
                positions = channels[0].get("stack_positions")
                if isinstance(positions, list):
                    for i, pos in enumerate(positions[:count]):
                        xs[i], ys[i] = _position_um(pos, s)
        coords: dict[str, Any] = {"T": ("T", labels)}
        if any(not math.isnan(v) for v in xs + ys):
            coords["stack_x"] = ("T", xs, {"units": "µm"})
            coords["stack_y"] = ("T", ys, {"units": "µm"})
        return coords

    def _channels(self, s: _Scene, count: int) -> tuple[list[str] | None, list[float] | None]:
        channels = s.visor.get("channels")
        if not isinstance(channels, list) or not channels:
            return None, None
        entries = [c for c in channels if isinstance(c, Mapping)]
        if all(isinstance(c.get("index"), int) for c in entries):
            entries = sorted(entries, key=lambda c: c["index"])  # "order is not guaranteed": map by index
        if len(entries) != count:
            warnings.warn(
                f"{s.node.attrs_file}: {len(entries)} channel descriptions for {count} channels; "
                "channel names left generic",
                VisorWarning,
                stacklevel=3,
            )
            return None, None
        names = [str(c.get("wavelength", c.get("wave_length", f"C{i}"))) for i, c in enumerate(entries)]
        waves = [_wavelength(c.get("wavelength", c.get("wave_length"))) for c in entries]
        return names, (
            [math.nan if w is None else w for w in waves] if any(w is not None for w in waves) else None
        )

    def _original_image(self, scene: int, s: _Scene, level: int) -> Image:
        from .ome import spatial_coords
        from .source import GridSource, array_token

        dataset = s.multiscale.datasets[level]
        level_dir = resolve_inside(s.path, dataset.path, what="multiscales dataset path")
        groups = [resolve_inside(level_dir, g, what="stack group") for g in s.groups]
        channel_names = self._original_channels(s, groups)
        grid: list[list[Path | None]] = []
        shape: tuple[int, ...] | None = None
        dtype: Any = None
        storage: tuple[int, ...] | None = None
        fmt = 2
        translations: list[list[float]] = []
        declared = _stack_translations(s, level)
        for g in groups:
            row: list[Path | None] = []
            for ch in channel_names:
                # Channel names come from metadata: the array folder must stay inside the stack.
                arr = resolve_inside(g, ch, what="channel array")
                if not arr.is_dir():
                    row.append(None)  # this stack lacks the channel: fill value
                    continue
                node = read_node(arr)  # broken metadata raises, naming the file
                if node.kind != "array":
                    raise MetadataError(f"{arr}: expected a z, y, x channel array, found a zarr group")
                from .nodes import array_chunks

                chunks, shards = array_chunks(node)
                if shape is None:
                    shape, fmt = node.shape, node.zarr_format
                    storage = shards or chunks
                    dtype = _node_dtype(node)
                elif node.shape != shape:
                    raise MetadataError(
                        f"{arr}: stack array shape {node.shape} differs from the other stacks' {shape}"
                    )
                row.append(arr)
            grid.append(row)
            translations.append(_group_translation(g) or declared.get(g.name) or [0.0, 0.0, 0.0])
        if shape is None or len(shape) != 3:
            raise MetadataError(f"{level_dir}: no z, y, x channel arrays found in the groups of {s.name!r}")
        token = array_token(level_dir, s.name, level)
        source = GridSource(grid, fmt, shape, dtype, storage or shape, token, self._pipeline)
        shape5 = (len(groups), len(channel_names), *shape)
        coords: dict[str, Any]
        coords, pps, _ = spatial_coords(s.multiscale, level, "TCZYX", shape5, s.node.attrs_file or s.path)
        coords = dict(coords)
        coords.pop("T", None)
        if s.image_type == "raw":
            coords["T"] = ("T", list(s.groups))
        if any(any(v != 0 for v in t) for t in translations):
            for k, dim in enumerate("zyx"):
                coords[f"stack_{dim}"] = ("T", [t[k] for t in translations], {"units": "µm"})
        waves = [_wavelength(n.split("nm")[0]) if "nm" in n else None for n in channel_names]
        if any(w is not None for w in waves):
            coords["wavelength"] = ("C", [math.nan if w is None else w for w in waves], {"units": "nm"})
        return Image(
            source,
            coords=coords,
            channel_names=channel_names,
            physical_pixel_sizes=pps,
            attrs={"visor_image_type": s.image_type, "visor_layout": self.layout},
            name=s.name,
        )

    def _original_channels(self, s: _Scene, groups: Sequence[Path]) -> list[str]:
        found: set[str] = set()
        for g in groups:
            found.update(name for name, sub in subfolders(g) if has_zarr_metadata(sub))
        declared = s.visor.get("channels")
        order: list[str] = []
        if isinstance(declared, list):
            for c in declared:
                name = c.get("name") if isinstance(c, Mapping) else c
                if isinstance(name, str) and name in found and name not in order:
                    order.append(name)
        rest = sorted(found - set(order), key=lambda n: (_wavelength(n) or math.inf, n))
        return order + rest

    # ---------------------------------------------------------------- metadata
    @property
    def metadata(self) -> dict[str, Any]:
        """The sample's VISoR metadata.

        Keys: ``layout`` (schema generation), ``schema_versions``, ``info`` (``info.json``), ``selected``
        (``selected.json``), ``visor_file`` (the 2024.11.1/.2 ``.visor`` file),
        ``recon_transforms`` (``recon.json`` per version) and ``images``: per scene its
        type, path and zarr group attributes (OME multiscales and VISoR slice metadata).
        """
        return {
            "layout": self.layout,
            "schema_versions": self.schema_versions,
            "info": self._info,
            "selected": self._selected,
            "visor_file": self._dot_visor,
            "recon_transforms": dict(self._recon),
            "images": {
                s.name: {"type": s.image_type, "path": str(s.path), "attributes": dict(s.node.attrs)}
                for s in self._vscenes
            },
        }

    @property
    def schema_versions(self) -> list[str]:
        """The VISoR schema versions the images declare (``channels[].v_schema``, ``visor.version``).

        Sorted; one sample may mix versions (the shared 2025 sample has 2025.5.1 and 2025.6.1).
        """
        found: set[str] = set()
        for s in self._vscenes:
            if isinstance(s.visor.get("version"), str):
                found.add(s.visor["version"])
            for ch in s.visor.get("channels") or ():
                if isinstance(ch, Mapping) and isinstance(ch.get("v_schema"), str):
                    found.add(ch["v_schema"])
        return sorted(found, key=_natural)

    @property
    def visor_attributes(self) -> dict[str, Any]:
        """VISoR attributes (stacks, channels, sources, transforms) of the current image."""
        return dict(self._vscenes[self.current_scene_index].visor)

    @property
    def image_type(self) -> str:
        """Type of the current image: ``raw``, ``compr``, ``recon``, ``projn``, ..."""
        return self._vscenes[self.current_scene_index].image_type

    @classmethod
    def demo_sample(cls, folder: Path) -> Path:
        """A small VISoR 2025.6 sample written with visor-py."""
        from .visor_writer import write_visor_2025

        return write_visor_2025(folder / "DEMO001.vsr")


def _image_multiscale(node: Node, image: Path) -> Multiscale:
    raw, version = find_multiscales(node.attrs)
    if not raw:
        where = node.attrs_file or image
        if not where.exists():
            raise MetadataError(
                f"{where}: missing; the VISoR image {image.name} has no attributes file, so its "
                "OME multiscales (axes, resolution levels) are unknown"
            )
        raise MetadataError(f"{where}: no OME 'multiscales' in the VISoR image metadata")
    return parse_multiscale(raw[0], version, node.attrs_file or image)


def _position_um(pos: Any, s: _Scene) -> tuple[float, float]:
    if pos is None:
        return math.nan, math.nan
    try:
        x, y = (float(v) * 1000.0 for v in list(pos)[:2])  # millimetres -> micrometres
    except (TypeError, ValueError):
        raise MetadataError(f"{s.node.attrs_file}: unreadable stack position {pos!r}") from None
    return x, y


def _translation_zyx(transforms: Any, where: Path | str) -> list[float] | None:
    """The (z, y, x) part of the first translation in a transform list, if any."""
    for t in transforms if isinstance(transforms, list) else ():
        if (
            isinstance(t, Mapping)
            and t.get("type") == "translation"
            and isinstance(t.get("translation"), list)
        ):
            try:
                values = [float(v) for v in t["translation"]]
            except (TypeError, ValueError):
                raise MetadataError(f"{where}: unreadable translation {t['translation']!r}") from None
            if len(values) < 3:
                raise MetadataError(f"{where}: translation {values} needs at least z, y, x")
            return values[-3:]
    return None


def _stack_translations(s: _Scene, level: int) -> dict[str, list[float]]:
    """Per-stack translations declared in the image root: extra multiscales named like a stack group."""
    out: dict[str, list[float]] = {}
    raw, _ = find_multiscales(s.node.attrs)
    where = s.node.attrs_file or s.path
    for ms in raw[1:]:
        if not isinstance(ms, Mapping) or ms.get("name") not in s.groups:
            continue
        found = _translation_zyx(ms.get("coordinateTransformations"), where)
        datasets = ms.get("datasets")
        if found is None and isinstance(datasets, list) and level < len(datasets):
            entry = datasets[level]
            found = _translation_zyx(
                entry.get("coordinateTransformations") if isinstance(entry, Mapping) else None, where
            )
        if found is not None:
            out[str(ms["name"])] = found
    return out


def _group_translation(group: Path) -> list[float] | None:
    """A stack group's translation (z, y, x) in the axes' unit, from its own attributes."""
    node = try_read_node(group)
    if node is None:
        return None
    return _translation_zyx(node.attrs.get("coordinateTransformations"), node.attrs_file or group)


def _node_dtype(node: Node) -> Any:
    import numpy as np

    if node.zarr_format == 2:
        return np.dtype(node.meta["dtype"])
    return np.dtype(node.meta["data_type"])
