"""bioio's summary types: :class:`StandardMetadata`, :class:`Scale` and :class:`DimensionProperties`.

They have the fields and field order of ``bioio_base`` (3.x) so code written for
bioio reads them unchanged; bioio itself is not needed. Values come from the
reader's dims, coordinates and units and, for OME files, from the OME model (the
same OME elements bioio reads).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from ._units import normalize_unit, to_micrometre_factor, to_seconds_factor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._reader import Reader


__all__ = [
    "DimensionProperties",
    "DimensionProperty",
    "Scale",
    "StandardMetadata",
    "dimension_properties",
    "scale",
    "standard_metadata",
    "time_interval",
]

log = logging.getLogger(__name__)


class Scale(NamedTuple):
    """Per-dimension step ``T, C, Z, Y, X`` (``T`` in seconds, ``Z, Y, X`` in their own units)."""

    T: float | None
    C: float | None
    Z: float | None
    Y: float | None
    X: float | None


class DimensionProperty(NamedTuple):
    """What one dimension is (``"space"``, ``"time"``, ``"channel"``) and its unit.

    ``unit`` is the unit's string (``"µm"``, ``"s"``); bioio gives a ``pint.Unit``,
    which ``pint.Unit(prop.unit)`` makes from it.
    """

    type: str | None
    unit: str | None


class DimensionProperties(NamedTuple):
    """One :class:`DimensionProperty` per dim ``T, C, Z, Y, X``."""

    T: DimensionProperty
    C: DimensionProperty
    Z: DimensionProperty
    Y: DimensionProperty
    X: DimensionProperty


@dataclass
class StandardMetadata:
    """A few acquisition facts in one flat record, as bioio's ``StandardMetadata``.

    Fields the file does not state are ``None``.
    """

    binning: str | None = None
    column: str | None = None
    dimensions_present: Sequence[str] | None = None
    image_size_c: int | None = None
    image_size_t: int | None = None
    image_size_x: int | None = None
    image_size_y: int | None = None
    image_size_z: int | None = None
    imaged_by: str | None = None
    imaging_datetime: datetime | None = None
    objective: str | None = None
    pixel_size_x: float | None = None
    pixel_size_y: float | None = None
    pixel_size_z: float | None = None
    position_index: int | None = None
    row: str | None = None
    stage_position_x: float | None = None
    stage_position_y: float | None = None
    timelapse: bool | None = None
    timelapse_interval: timedelta | None = None
    total_time_duration: timedelta | None = None

    FIELD_LABELS: ClassVar[dict[str, str]] = {
        "binning": "Binning",
        "column": "Column",
        "dimensions_present": "Dimensions Present",
        "image_size_c": "Image Size C",
        "image_size_t": "Image Size T",
        "image_size_x": "Image Size X",
        "image_size_y": "Image Size Y",
        "image_size_z": "Image Size Z",
        "imaged_by": "Imaged By",
        "imaging_datetime": "Imaging Datetime",
        "objective": "Objective",
        "pixel_size_x": "Pixel Size X",
        "pixel_size_y": "Pixel Size Y",
        "pixel_size_z": "Pixel Size Z",
        "position_index": "Position Index",
        "row": "Row",
        "stage_position_x": "Stage Position X",
        "stage_position_y": "Stage Position Y",
        "timelapse": "Timelapse",
        "timelapse_interval": "Timelapse Interval",
        "total_time_duration": "Total Time Duration",
    }

    def to_dict(self) -> dict[str, Any]:
        """The fields by their readable labels (``"Image Size X"`` ...)."""
        return {label: getattr(self, name) for name, label in self.FIELD_LABELS.items()}


def _time_steps(reader: Reader) -> tuple[np.ndarray, float] | None:
    """The ``T`` coordinate in seconds and its unit factor, when it is numeric with a time unit."""
    var = reader.coords.get("T")
    if var is None or var.ndim != 1 or not np.issubdtype(var.dtype, np.number):
        return None
    factor = to_seconds_factor(var.attrs.get("units"))
    if factor is None:
        return None
    return var.values.astype(np.float64) * factor, factor


def time_interval(reader: Reader) -> timedelta | None:
    """The step of a uniform ``T`` coordinate with a time unit, as a :class:`~datetime.timedelta`."""
    found = _time_steps(reader)
    if found is None or found[0].shape[0] < 2:
        return None
    diffs = np.diff(found[0])
    if not np.allclose(diffs, diffs[0], rtol=1e-6, atol=0):
        return None
    return timedelta(seconds=float(diffs[0]))


def scale(reader: Reader) -> Scale:
    """The bioio ``Scale``: ``T`` = :func:`time_interval` in seconds, ``C`` None, Z/Y/X the pixel sizes."""
    interval = time_interval(reader)
    z, y, x = reader.physical_pixel_sizes
    return Scale(interval.total_seconds() if interval is not None else None, None, z, y, x)


def dimension_properties(reader: Reader) -> DimensionProperties:
    """Type and unit of each dim, from the coordinates; ``(None, None)`` where nothing is known."""
    coords = reader.coords
    pps = reader.physical_pixel_sizes

    def spatial(dim: str, size: float | None, unit: str | None) -> DimensionProperty:
        var = coords.get(dim)
        if size is None and (var is None or to_micrometre_factor(var.attrs.get("units")) is None):
            return DimensionProperty(None, None)
        return DimensionProperty(
            "space", normalize_unit(unit or (var.attrs.get("units") if var is not None else None))
        )

    t = coords.get("T")
    t_unit = normalize_unit(t.attrs.get("units")) if t is not None else None
    t_prop = (
        DimensionProperty("time", t_unit)
        if to_seconds_factor(t_unit) is not None
        else DimensionProperty(None, None)
    )
    return DimensionProperties(
        T=t_prop,
        C=DimensionProperty("channel", None),
        Z=spatial("Z", pps.Z, pps.units.Z),
        Y=spatial("Y", pps.Y, pps.units.Y),
        X=spatial("X", pps.X, pps.units.X),
    )


def standard_metadata(reader: Reader) -> StandardMetadata:
    """The bioio ``StandardMetadata`` of the current scene, with the OME facts when there is an OME model."""
    dims = reader.dims
    order = dims.order
    size_t = dims.T if "T" in order else None
    pps = reader.physical_pixel_sizes
    found = _time_steps(reader)
    total = None
    if found is not None and found[0].shape[0] >= 2:
        # From the first time point to the last; bioio's OME path takes the last DeltaT
        # (counted from the acquisition start) instead.
        total = timedelta(seconds=float(found[0][-1] - found[0][0]))
    ome = _ome_model(reader)
    meta = StandardMetadata(
        dimensions_present=order,
        image_size_c=dims.C if "C" in order else None,
        image_size_t=size_t,
        image_size_x=dims.X,
        image_size_y=dims.Y,
        image_size_z=dims.Z if "Z" in order else None,
        timelapse=size_t is not None and size_t > 1,
        pixel_size_x=pps.X,
        pixel_size_y=pps.Y,
        pixel_size_z=pps.Z,
        # The average step, as bioio defines it (also for uneven time points).
        timelapse_interval=None if total is None or found is None else total / (found[0].shape[0] - 1),
        total_time_duration=total,
    )
    if ome is not None:
        _add_ome_facts(meta, ome, _ome_image_index(reader, ome))
    return meta


def _ome_model(reader: Reader) -> Any:
    model = getattr(type(reader), "ome_metadata", None)
    if model is None:
        return None
    try:
        return reader.ome_metadata  # type: ignore[attr-defined]  # only OME backends define it: the getattr on the class above checked this one does
    except Exception as exc:  # noqa: BLE001 - standard metadata is best effort, as in bioio
        log.warning("%s: no OME metadata for standard_metadata: %s", reader.path, exc)
        return None


def _ome_image_index(reader: Reader, ome: Any) -> int:
    image_id = reader.image().attrs.get("ome_image_id")
    for i, image in enumerate(ome.images):
        if image.id == image_id:
            return i
    return reader.current_scene_index


def _add_ome_facts(meta: StandardMetadata, ome: Any, index: int) -> None:
    """Binning, experimenter, date, objective: read from the OME elements bioio reads."""
    if not 0 <= index < len(ome.images):
        return
    image = ome.images[index]
    for channel in image.pixels.channels or []:
        settings = channel.detector_settings
        if settings is not None and settings.binning is not None:
            meta.binning = str(settings.binning.value)
            break
    experimenters = ome.experimenters or []
    if image.experimenter_ref is not None:
        chosen = next((e for e in experimenters if e.id == image.experimenter_ref.id), None)
        if chosen is not None and chosen.user_name:
            meta.imaged_by = chosen.user_name
    if meta.imaged_by is None and experimenters:
        meta.imaged_by = experimenters[0].user_name
    meta.imaging_datetime = image.acquisition_date
    instruments = ome.instruments or []
    instrument = None
    if image.instrument_ref is not None:
        instrument = next((i for i in instruments if i.id == image.instrument_ref.id), None)
    if instrument is None and instruments:
        instrument = instruments[0]
    if instrument is not None and instrument.objectives:
        objective = instrument.objectives[0]
        if objective.nominal_magnification is not None:
            immersion = objective.immersion.value if objective.immersion else ""
            meta.objective = (
                f"{round(float(objective.nominal_magnification))}x/{objective.lens_na}{immersion}"
            )
