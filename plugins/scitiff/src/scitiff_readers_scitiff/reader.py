"""The ``scitiff`` reader: SciTiff files as lazy TCZYX data with their metadata coordinates.

Pixels are read through the TIFF backends' shared page path
(:func:`scitiff_readers_tiff.series.hyperstack_source`); this module only parses
the ``scitiffmeta`` JSON and turns it into the view's shape, coordinates, units,
name and channel semantics. Nothing heavy is imported at module level: the
registry imports this module just to read the class attributes.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from scitiff_readers.backend import FirstIfd, Image, Reader, ReaderOptions, read_first_ifd, tiff_head
from scitiff_readers.errors import CorruptFileError, MetadataError, ScitiffReadersWarning

from .metadata import (
    SCITIFF_KEY,
    SciTiffMetadataError,
    check_against_file,
    decode_metadata,
    has_scitiffmeta,
    parse_description,
    read_metadata,
    validate_metadata,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import xarray as xr

    from scitiff_readers.backend import PixelSource

    from .quickschema import QuickMetadata
    from .schema import SciTiffMetadata

__all__ = ["SciTiffFallbackWarning", "SciTiffReader"]

_METADATA_ERRORS = ("raise", "fallback")


class SciTiffFallbackWarning(ScitiffReadersWarning):
    """The SciTiff metadata was unusable; the file was read as a plain ImageJ hyperstack."""


def _hyperstack_source(path: Path, shape: tuple[int, ...]) -> PixelSource:
    # The one TIFF page reader of the project lives in the TIFF plugin.
    from scitiff_readers_tiff.series import hyperstack_source

    # Absolute, so dask workers with another working directory find the file.
    return hyperstack_source(path.absolute(), shape, page_order="TZC")


@dataclass(frozen=True)
class SciTiffOptions(ReaderOptions):
    """Options of :class:`SciTiffReader` (see its docstring)."""

    resolve_channels: bool = True
    metadata_errors: str = "raise"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect_flag("resolve_channels")
        self.expect(
            "metadata_errors",
            self.metadata_errors in _METADATA_ERRORS,
            f"one of {', '.join(map(repr, _METADATA_ERRORS))}",
        )


class SciTiffReader(Reader):
    """Read SciTiff files (scipp/scitiff): ImageJ hyperstacks with a ``scitiffmeta`` JSON block.

    The view has dims ``T, C, Z, Y, X``; the JSON's coordinates become xarray
    coordinates with ``attrs["units"]``, its masks boolean coordinates, the data
    unit ``attrs["units"]`` of the DataArray and ``name`` its name.

    Options
    -------
    resolve_channels : bool, default True
        Resolve the ``intensities / stdevs / mask`` channel convention as
        ``scitiff.load_scitiff`` does: the view holds the intensities only, and
        :attr:`stdevs`, :attr:`variances` and :attr:`mask` give the other channels.
        ``False`` keeps the raw channels in the view.
    metadata_errors : {"raise", "fallback"}, default "raise"
        What to do with missing, broken or inconsistent SciTiff metadata:
        raise :class:`~scitiff_readers_scitiff.metadata.SciTiffMetadataError`
        (a ``MetadataError`` naming the JSON path), or warn with
        :class:`SciTiffFallbackWarning` and read the pixels as a plain ImageJ
        hyperstack without SciTiff coordinates.
    """

    name: ClassVar[str] = "scitiff"
    suffixes: ClassVar[tuple[str, ...]] = (".tif", ".tiff")
    priority: ClassVar[int] = 100
    description: ClassVar[str] = "SciTiff (scipp/scitiff): ImageJ hyperstack + scitiffmeta JSON coordinates"
    Options = SciTiffOptions
    _opts: SciTiffOptions

    # ------------------------------------------------------------------ sniffing
    @classmethod
    def can_open(cls, path: str | os.PathLike[str]) -> bool:
        """True if the first IFD's ImageDescription is ImageJ's and has a ``scitiffmeta`` line."""
        try:
            # tiff_head is shared with the other TIFF backends' sniffs: one parse per file.
            head = tiff_head(path)
            return head is not None and has_scitiffmeta(head.description)
        except Exception:  # noqa: BLE001 - a sniff never raises for foreign files
            return False

    @classmethod
    def metadata_schema(cls) -> dict[str, Any]:
        """The JSON schema of the SciTiff metadata (``scitiff-readers schema``)."""
        from .schema import metadata_schema

        return metadata_schema()

    @classmethod
    def demo_sample(cls, folder: Path) -> Path:
        """A small time-of-flight stack written by ``scitiff.save_scitiff`` (else by our writer)."""
        from .samples import write_demo_sample

        return write_demo_sample(folder / "sample-scitiff.tiff")

    # --------------------------------------------------------------------- open
    def _open(self) -> None:
        mode = self._opts.metadata_errors
        try:
            # The sniff's cached parse when the file is unchanged; else parse (and raise) here.
            ifd = tiff_head(self._path) or read_first_ifd(self._path)
        except ValueError as exc:
            raise CorruptFileError(f"{self._path}: cannot read the TIFF header: {exc}") from None
        self._ifd = ifd
        parsed = parse_description(ifd.description)
        self._imagej = parsed.imagej
        # Usually the pydantic-free QuickMetadata: the models are built on first use of
        # .metadata (importing pydantic and building them costs more than the open).
        self._model: SciTiffMetadata | QuickMetadata | None = None
        self._raw_json: dict[str, Any] | None = None
        try:
            if parsed.scitiffmeta is None:
                raise SciTiffMetadataError(
                    self._path,
                    [("$", "the first page's ImageDescription has no 'scitiffmeta=' line")],
                    what="no SciTiff metadata",
                )
            model, raw = read_metadata(self._path, parsed.scitiffmeta)
            check_against_file(self._path, model, ifd, parsed.imagej)
        except MetadataError as exc:
            if mode == "raise":
                raise
            warnings.warn(
                f"{exc} Reading it as a plain ImageJ hyperstack instead (no SciTiff "
                "coordinates, units or channel semantics).",
                SciTiffFallbackWarning,
                stacklevel=4,
            )
            self._fallback_error: MetadataError | None = exc
        else:
            self._model, self._raw_json, self._fallback_error = model, raw, None
        self._build()

    def _build(self) -> None:
        from scitiff_readers.backend import LazyCoords

        from .channels import ChannelSubsetSource, channel_roles
        from .xcoords import channel_subset, metadata_coords

        if self._model is None:
            self._fallback_image()
            return
        image = self._model.image
        t, z, c, y, x = image.data.shape
        sizes = dict(zip(image.data.dims, image.data.shape, strict=True))
        self._raw_source = _hyperstack_source(self._path, (t, c, z, y, x))
        meta = metadata_coords(image, sizes)
        attrs = {} if image.data.unit is None else {"units": image.data.unit}
        name = image.name or None
        self._raw_image = Image(
            source=self._raw_source,
            coords=meta.coords,
            channel_names=meta.channel_names,
            attrs=attrs,
            name=name,
        )
        c_coord = image.coords.get("c")
        labels = c_coord.values if (c_coord is not None and list(c_coord.dims) == ["c"]) else None
        labels = labels if isinstance(labels, list) else None
        self._roles = channel_roles(labels, c) if self._opts.resolve_channels else None
        if self._roles is None:
            self._view_image = self._raw_image
            return
        keep = self._roles["intensities"]
        coords = LazyCoords(functools.partial(channel_subset, meta.coords, [keep]))
        self._view_image = Image(
            source=ChannelSubsetSource(self._raw_source, [keep]), coords=coords, attrs=attrs, name=name
        )

    def _fallback_image(self) -> None:
        """Read the file as the TIFF plugin's plain ImageJ reader does (its coordinates too)."""
        import numpy as np

        self._roles = None
        self._fallback_reader: Reader | None = None
        try:
            from scitiff_readers_tiff.plain import TiffReader

            self._fallback_reader = TiffReader(self._path.absolute())
            image = self._fallback_reader.image(0, 0)
            self._raw_source = image.source
        except ImportError:  # an older TIFF plugin without the reader: pixels only
            t, z, c, y, x = _imagej_sizes(self._imagej, self._ifd, self._path)
            self._raw_source = _hyperstack_source(self._path, (t, c, z, y, x))
            dtype = self._ifd.numpy_dtype
            if dtype is not None and self._raw_source.dtype != np.dtype(dtype):
                raise CorruptFileError(f"{self._path}: page dtype mismatch in the TIFF structure") from None
            image = Image(source=self._raw_source)
        self._raw_image = self._view_image = image

    def _scene_names(self) -> Sequence[str]:
        return ("Image:0",)

    def _image(self, scene: int, level: int) -> Image:
        return self._view_image

    def _close(self) -> None:
        self._raw_source.close()
        fallback = getattr(self, "_fallback_reader", None)
        if fallback is not None:
            fallback.close()

    # ----------------------------------------------------------------- metadata
    @property
    def metadata(self) -> SciTiffMetadata | dict[str, Any]:
        """The validated ``scitiffmeta`` block, or the ImageJ keys in fallback mode.

        A :class:`~scitiff_readers_scitiff.schema.SciTiffMetadata` with ``image``,
        ``daq``, ``extra``, ``process`` and ``schema_version``.
        """
        model = self.scitiff_metadata
        return model if model is not None else dict(self._imagej)

    @property
    def scitiff_metadata(self) -> SciTiffMetadata | None:
        """The validated ``scitiffmeta`` block, or ``None`` when read in fallback mode."""
        from .quickschema import QuickMetadata

        if not isinstance(self._model, QuickMetadata):
            return self._model
        model, _ = validate_metadata(self._path, self._imagej["scitiffmeta"])
        self._model = model
        return model

    @property
    def scitiff_json(self) -> dict[str, Any] | None:
        """The ``scitiffmeta`` JSON exactly as stored (``None`` in fallback mode)."""
        if self._raw_json is None and self._model is not None:
            # The open decoded it with its numbers left as text: decode it in full now.
            self._raw_json = decode_metadata(self._path, self._imagej[SCITIFF_KEY])
        return self._raw_json

    @property
    def imagej_metadata(self) -> dict[str, Any]:
        """The ImageJ description keys (``images``, ``frames``, ..., raw ``scitiffmeta`` text)."""
        return dict(self._imagej)

    @property
    def schema_version(self) -> str | None:
        """The file's ``schema_version`` (``"{VERSION_PLACEHOLDER}"`` for releases <= 25.12)."""
        return None if self._model is None else self._model.schema_version

    @property
    def metadata_error(self) -> MetadataError | None:
        """Why the SciTiff metadata was unusable, when read with ``metadata_errors="fallback"``."""
        return self._fallback_error

    @property
    def is_fallback(self) -> bool:
        """Whether the SciTiff metadata was unusable and the file was read as plain ImageJ."""
        return self._model is None

    # ------------------------------------------------------------------ channels
    @property
    def channel_roles(self) -> dict[str, int] | None:
        """Raw channel index of ``intensities``/``stdevs``/``mask`` if the convention was resolved."""
        return None if self._roles is None else dict(self._roles)

    @property
    def raw_channels(self) -> xr.DataArray:
        """All channels as stored (lazy), whatever ``resolve_channels`` says."""
        cached = self.__dict__.get("_raw_cache")
        if cached is None:
            import xarray as xr

            from scitiff_readers.backend import to_dask

            image = self._raw_image
            array = to_dask(image.source, self.chunk_bytes, name=f"{self.name}-raw")
            cached = xr.DataArray(
                array,
                dims=tuple(image.source.dims),
                coords=image.resolved_coordinates(),
                attrs=dict(image.attrs),
            )
            cached.name = image.name
            self.__dict__["_raw_cache"] = cached
        return cached

    def _channel(self, role: str) -> xr.DataArray | None:
        if self._roles is None or role not in self._roles:
            return None
        index = self._roles[role]
        return self.raw_channels.isel(C=slice(index, index + 1))

    @property
    def stdevs(self) -> xr.DataArray | None:
        """The ``stdevs`` channel (lazy, same units as the data), or ``None``."""
        return self._channel("stdevs")

    @property
    def variances(self) -> xr.DataArray | None:
        """``stdevs ** 2`` (lazy; units squared), as scitiff stores them in scipp, or ``None``."""
        stdevs = self._channel("stdevs")
        if stdevs is None:
            return None
        out = stdevs**2
        unit = stdevs.attrs.get("units")
        out.attrs = {} if unit is None else {"units": f"{unit}**2"}
        return out.rename(None)

    @property
    def mask(self) -> xr.DataArray | None:
        """The ``mask`` channel as booleans (lazy), named ``scitiff-mask`` as in scitiff, or ``None``."""
        mask = self._channel("mask")
        if mask is None:
            return None
        out = mask.astype(bool)
        out.attrs = {}
        return out.rename("scitiff-mask")

    def bin_edges(self, name: str) -> xr.Variable:
        """The N + 1 edges of a bin-edge coordinate (``"T"`` or any coordinate with bounds)."""
        import xarray as xr

        from .xcoords import bounds_pair_edges, bounds_pair_names

        coords = self.coords
        bounds_name = coords[name].attrs.get("bounds") if name in coords else None
        start_name, end_name = bounds_pair_names(str(bounds_name))
        if bounds_name is None or start_name not in coords or end_name not in coords:
            raise KeyError(f"{self._path}: coordinate {name!r} is not a bin-edge coordinate")
        start, end = coords[start_name], coords[end_name]
        edge_dim = next(str(d) for d in start.dims if str(d) in ("T", "Z", "C", "Y", "X"))
        edges = bounds_pair_edges(start, end, edge_dim)
        dims = tuple(f"{d}_edges" if d == edge_dim else d for d in start.dims)
        return xr.Variable(dims, edges, attrs=dict(start.attrs))

    def save(self, path: str | os.PathLike[str], *, scenes: Any = None, **options: Any) -> Path:
        """Write this image: as SciTiff to a plain ``.tif`` / ``.tiff`` path (or with ``format="scitiff"``).

        SciTiff output keeps ``daq``, ``process``, ``extra`` and the raw ``stdevs`` /
        ``mask`` channels of the file. Other suffixes (``.ome.tif``, ``.ome.zarr``)
        and formats use their writers, as :meth:`Reader.save` does.
        """
        from scitiff_readers.backend import write

        name = os.fspath(path).lower()
        if "format" not in options and name.endswith((".tif", ".tiff")) and ".ome." not in name:
            options["format"] = "scitiff"
        if options.get("format") != "scitiff":
            return super().save(path, scenes=scenes, **options)
        data = self.xarray_dask_data
        if self._roles is not None:
            data = self.raw_channels
        model = self.scitiff_metadata
        if model is not None:
            options.setdefault("daq", model.daq)
            options.setdefault("process", model.process)
            options.setdefault("extra", model.extra)
        return write(data, path, scenes=scenes, **options)

    def to_cf_dataset(self, name: str | None = None) -> xr.Dataset:
        """The lazy view as an ``xarray.Dataset`` with CF bounds, ready for netCDF / zarr.

        Each bin-edge coordinate keeps its centres and ``attrs["bounds"]``; its
        ``<bounds>_start`` / ``<bounds>_end`` coordinates become the CF ``(..., "bnds")``
        bounds variable named by that attribute (a layout a DataArray cannot hold).
        """
        from .xcoords import cf_bounds_dataset

        view = self.xarray_dask_data
        return cf_bounds_dataset(view, name or (str(view.name) if view.name is not None else "image"))

    # --------------------------------------------------------------------- scipp
    def to_scipp(self, *, squeeze: bool = True, only_image: bool = True, **selection: Any) -> Any:
        """The image as a ``scipp.DataArray`` equal to ``scitiff.load_scitiff(path, only_image=True)``.

        Channels are resolved (variances from ``stdevs``, mask ``scitiff-mask``) if
        this reader resolves them. With ``only_image=False`` a ``scipp.DataGroup`` like
        ``load_scitiff``'s default is returned; its ``daq`` and ``process`` are
        scitiff's own model objects when scitiff is installed, so the group can be
        saved with ``scitiff.io.save_scitiff``. Needs the ``scipp`` extra.

        ``selection`` reads part of a large stack: an int or a step-1 slice per dim
        ``T``, ``Z``, ``Y``, ``X`` (either case), e.g. ``T=slice(10, 20)``. The result
        equals ``load_scitiff(...)[...]`` indexed the same way (coordinates, bin edges
        and masks sliced by scipp), but only the selected pixels are read.
        """
        from .scipp_interop import to_scipp

        return to_scipp(self, squeeze=squeeze, only_image=only_image, **selection)


def _imagej_sizes(imagej: dict[str, Any], ifd: FirstIfd, path: Path) -> tuple[int, int, int, int, int]:
    if ifd.height is None or ifd.width is None or ifd.numpy_dtype is None:
        raise CorruptFileError(f"{path}: the first TIFF page has no usable size or sample format")
    if ifd.samples_per_pixel != 1:
        raise CorruptFileError(f"{path}: RGB pages cannot be read as a SciTiff / ImageJ hyperstack")

    def count(key: str) -> int:
        value = imagej.get(key, 1)
        return value if isinstance(value, int) and value > 0 else 1

    t, z, c = count("frames"), count("slices"), count("channels")
    images = imagej.get("images")
    if isinstance(images, int) and images > 0 and images != t * z * c:
        t, z, c = images, 1, 1
    return t, z, c, ifd.height, ifd.width
