"""The SciTiff metadata schema (``scitiffmeta``) as pydantic v2 models.

The models accept every released schema version, 25.3 to 26.7:

* 25.3 - 25.6 carry only ``image`` and ``schema_version``;
* 25.7 adds ``daq`` (single strings, ``"Unknown"`` defaults) and ``extra``;
* 26.6 allows 2-D coordinates and masks;
* 26.7 turns the DAQ names into lists, adds people, experiment identifiers and
  the ``process`` block.

Files written up to 25.12 store the literal version string
``"{VERSION_PLACEHOLDER}"``; it is accepted and reported as an unknown version.
Unknown keys are kept (``extra="allow"``), so newer files still validate and no
information is dropped. Values are validated only as far as a reader needs
(types, shapes, dims); descriptive fields stay lenient, as in the reference
package.

The JSON schema of :class:`SciTiffMetadataContainer` (``metadata_schema()``) is
compatible with the one published by ``scitiff``: it accepts what that accepts. The
models add checks JSON schema cannot express (``values`` must match ``shape``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

__all__ = [
    "IMAGE_DIMS",
    "PLACEHOLDER_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "DAQMetadata",
    "ExperimentIdentifier",
    "ImageData",
    "ImageMetadata",
    "ImageProcessMetadata",
    "NeutronSource",
    "Person",
    "PhotonConvertDetector",
    "ProcessIdentifier",
    "SciTiffMetadata",
    "SciTiffMetadataContainer",
    "ScippVariable",
    "ScippVariable0D",
    "ScippVariable1D",
    "ScippVariable2D",
    "metadata_schema",
    "parse_version",
]

#: The fixed on-disk order of the image dims (ImageJ hyperstack order, outermost first).
IMAGE_DIMS: tuple[str, str, str, str, str] = ("t", "z", "c", "y", "x")

#: The version string written by scitiff releases up to 25.12.0 (a packaging bug upstream).
PLACEHOLDER_VERSION = "{VERSION_PLACEHOLDER}"

#: Schema versions whose files were checked against these models.
SUPPORTED_SCHEMA_VERSIONS: tuple[str, ...] = (
    "25.3.0",
    "25.4.0",
    "25.5.0",
    "25.6.0",
    "25.7.0",
    "25.12.0",
    "26.1.0",
    "26.6.0",
    "26.7.0",
)

_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """``"26.7.0"`` -> ``(26, 7, 0)``; the placeholder or anything unparsable -> ``None``."""
    if not text:
        return None
    match = _VERSION_RE.match(str(text))
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


class _Lenient(BaseModel):
    """Base of every model: unknown keys are kept, not rejected."""

    model_config = ConfigDict(extra="allow")


Scalar = float | int | str | bool


class _VariableBase(_Lenient):
    unit: str | None = Field(description="scipp unit string, e.g. 'µs', 'mm', 'counts'; null = no unit")
    dtype: str = Field(
        description="scipp dtype name: float64, float32, int64, int32, bool, string, datetime64"
    )


class ScippVariable0D(_VariableBase):
    """A scalar variable (0-D coordinate, mask or ``extra`` entry)."""

    dims: tuple[()] = ()
    shape: tuple[()] = ()
    values: Scalar = Field(description="the value; datetimes as ISO 8601 strings, ints may be floats")


class ScippVariable1D(_VariableBase):
    """A 1-D variable; along its dim it has the image's size or size + 1 (bin edges)."""

    dims: tuple[str]
    shape: tuple[int]
    values: list[float] | list[str] = Field(description="numbers or strings (datetimes as ISO strings)")

    @model_validator(mode="after")
    def _length_matches_shape(self) -> ScippVariable1D:
        if len(self.values) != self.shape[0]:
            raise ValueError(f"'values' has {len(self.values)} entries but 'shape' is {list(self.shape)}")
        return self


class ScippVariable2D(_VariableBase):
    """A 2-D variable (numbers only), allowed since schema 26.6, e.g. ``pixel-id`` over x, y."""

    dims: tuple[str, str]
    shape: tuple[int, int]
    values: list[list[float]]

    @model_validator(mode="after")
    def _nesting_matches_shape(self) -> ScippVariable2D:
        rows = len(self.values)
        if rows != self.shape[0] or any(len(row) != self.shape[1] for row in self.values):
            lengths = sorted({len(row) for row in self.values})
            raise ValueError(f"'values' is {rows} rows of {lengths} but 'shape' is {list(self.shape)}")
        return self


def _variable_kind(value: Any) -> str:
    # Dispatch on the number of dims so errors name one model, not three.
    dims = value.get("dims", ()) if isinstance(value, dict) else getattr(value, "dims", ())
    try:
        n = len(dims)
    except TypeError:
        n = 1
    return {0: "0d", 1: "1d"}.get(n, "2d")


#: A coordinate, mask or ``extra`` variable of 0, 1 or 2 dims.
ScippVariable = Annotated[
    Annotated[ScippVariable0D, Tag("0d")]
    | Annotated[ScippVariable1D, Tag("1d")]
    | Annotated[ScippVariable2D, Tag("2d")],
    Discriminator(_variable_kind),
]


class ImageData(_VariableBase):
    """The pixel data: always five dims in the fixed order ``t, z, c, y, x``."""

    dims: tuple[Literal["t"], Literal["z"], Literal["c"], Literal["y"], Literal["x"]]
    shape: tuple[int, int, int, int, int]

    @model_validator(mode="after")
    def _positive_shape(self) -> ImageData:
        if any(s < 1 for s in self.shape):
            raise ValueError(f"every entry of 'shape' must be >= 1, got {list(self.shape)}")
        return self


class ImageMetadata(_Lenient):
    """The image: data description, coordinates, masks and name."""

    data: ImageData
    masks: dict[str, ScippVariable] = Field(default_factory=dict)
    coords: dict[str, ScippVariable] = Field(default_factory=dict)
    name: str | None = None


class NeutronSource(_Lenient):
    """Neutron source description."""

    neutron_type: Literal["continuous", "long-pulse", "short-pulse"] | str
    wavelength_range: tuple[ScippVariable0D, ScippVariable0D] | None = None


class PhotonConvertDetector(_Lenient):
    """A detector that converts particles to photons (scintillator + camera)."""

    scintillator_type: str
    detector_identifier: str | None = None


class Person(_Lenient):
    """A person involved in the acquisition (26.7)."""

    name: str
    affiliation: str | None = None
    email: str | None = None
    orcid: str | None = None


class ExperimentIdentifier(_Lenient):
    """Proposal id, run number or a custom identifier (26.7)."""

    type: Literal["PROPOSAL_ID", "RUN_NUMBER", "CUSTOM"] | str
    value: str
    description: str = ""


class DAQMetadata(_Lenient):
    """Data acquisition metadata (25.7+; list-valued names since 26.7)."""

    facility: str | list[str] = Field(default_factory=list)
    instrument: str | list[str] = Field(default_factory=list)
    detector_type: str | list[str] = Field(default_factory=list)
    # left_to_right: a dict that fits the model becomes the model, any other dict stays a dict
    detector: PhotonConvertDetector | list[PhotonConvertDetector | None] | dict[str, Any] | None = Field(
        default=None, union_mode="left_to_right"
    )
    source_type: Literal["neutron", "x-ray", "electron"] | str | None = None
    source: NeutronSource | dict[str, Any] | None = Field(default=None, union_mode="left_to_right")
    simulated: bool | None = None
    principal_investigators: list[Person] = Field(default_factory=list)
    team: list[Person] = Field(default_factory=list)
    local_contacts: list[Person] = Field(default_factory=list)
    experiment_identifiers: list[ExperimentIdentifier] = Field(default_factory=list)


class ProcessIdentifier(_Lenient):
    """Identifier of a processing job or workflow version (26.7)."""

    type: str = ""
    value: str
    description: str = ""


class ImageProcessMetadata(_Lenient):
    """How the image was derived and what it represents (26.7)."""

    result_type: Literal["NORMALIZED", "SAMPLE", "OPENBEAM", "DARKCURRENT"] | str | None = None
    processing_steps: list[str] = Field(default_factory=list)
    parameters: dict[str, str | float] = Field(default_factory=dict)
    process_identifiers: list[ProcessIdentifier] = Field(default_factory=list)
    coordinate_descriptions: dict[str, str] = Field(default_factory=dict)


class SciTiffMetadata(_Lenient):
    """The ``scitiffmeta`` JSON block of a SciTiff file."""

    image: ImageMetadata
    daq: DAQMetadata = Field(default_factory=DAQMetadata)
    process: ImageProcessMetadata = Field(default_factory=ImageProcessMetadata)
    extra: dict[str, Any] | None = None
    schema_version: str = PLACEHOLDER_VERSION

    @property
    def version(self) -> tuple[int, int, int] | None:
        """The schema version as a tuple, ``None`` for ``{VERSION_PLACEHOLDER}`` (releases <= 25.12)."""
        return parse_version(self.schema_version)


class SciTiffMetadataContainer(_Lenient):
    """The ImageJ description of a SciTiff file: ``scitiffmeta`` plus ImageJ's own keys."""

    scitiffmeta: SciTiffMetadata


def metadata_schema() -> dict[str, Any]:
    """The JSON schema of :class:`SciTiffMetadataContainer` (what ``scitiff-readers schema`` prints)."""
    schema = SciTiffMetadataContainer.model_json_schema()
    schema["$id"] = "https://scitiff-readers/schemas/scitiff-metadata-container.json"
    schema["description"] = (
        "SciTiff metadata as read by scitiff_readers: the ImageJ description keys of a SciTiff "
        "file, with the JSON block 'scitiffmeta'. Accepts schema versions 25.3 to 26.7 "
        "(including the literal '{VERSION_PLACEHOLDER}' version of releases up to 25.12). "
        "Unknown keys are allowed everywhere."
    )
    return schema
