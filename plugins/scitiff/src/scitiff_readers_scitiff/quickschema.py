"""Validating ``scitiffmeta`` without pydantic, for the files a reader meets every day.

Importing pydantic and building the models of :mod:`.schema` costs ~100 ms in a fresh
process, more than the rest of opening a SciTiff file. This module decides, with
plain Python, whether a decoded ``scitiffmeta`` document is one the pydantic models
certainly accept, and if so gives the few fields a reader needs (:class:`QuickMetadata`:
the image's data description, coordinates, masks and name) with the values pydantic
would give (numbers of 1-D and 2-D variables as floats, dims and shapes as tuples).

It is deliberately a *sufficient* check, not a second schema: anything it is not
sure of (a wrong type, a value pydantic would coerce such as ``"5"`` for an int or
``1`` for a bool, a mixed list) makes :func:`quick_metadata` return ``None``, and the
caller validates with pydantic, which accepts or reports errors with its messages.
So a file is never accepted that the models reject, and errors keep their exact
wording. ``tests`` prove the first half against the models over the shared SciTiff
files and generated documents, valid and invalid.

Numbers with a fraction or an exponent may arrive undecoded, as the bytes of their JSON
text (:data:`DEFERRED_FLOAT`; :func:`.metadata.read_metadata` decodes that way, because
turning the thousands of numbers of coordinate lists into floats is most of the JSON
decoding time and opening a file does not need them). They count as floats, and a 1-D
list of them stays undecoded until :attr:`QuickVariable.values` is first read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFERRED_FLOAT",
    "QuickImage",
    "QuickImageData",
    "QuickMetadata",
    "QuickVariable",
    "quick_metadata",
]

#: The type of a JSON number with a fraction or exponent left undecoded: its text, as
#: ``json.JSONDecoder(parse_float=str.encode)`` gives it. ``float()`` of it is the number
#: ``json.loads`` gives (both are Python's correctly rounded conversion of that text).
DEFERRED_FLOAT = bytes

#: The image dims, in the fixed on-disk order (as :data:`.schema.IMAGE_DIMS`).
_IMAGE_DIMS = ("t", "z", "c", "y", "x")
_PLACEHOLDER_VERSION = "{VERSION_PLACEHOLDER}"


class _Unsure(Exception):
    """The document needs pydantic's verdict."""


@dataclass(frozen=True)
class QuickVariable:
    """A coordinate or mask, with the attributes of :class:`.schema.ScippVariable1D` & co."""

    unit: str | None
    dtype: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    #: The values as decoded; a 1-D list of numbers may still hold :data:`DEFERRED_FLOAT` text.
    stored: Any
    #: Whether the values are strings (all of them, as the models' unions allow).
    holds_strings: bool = False
    #: Whether ``stored`` is a 1-D list with undecoded numbers (decoded by :attr:`values`).
    deferred: bool = False

    @functools.cached_property
    def values(self) -> Any:
        """The values as the models give them: numbers of 1-D and 2-D variables as floats."""
        return list(map(float, self.stored)) if self.deferred else self.stored


@dataclass(frozen=True)
class QuickImageData:
    """The pixel data description (as :class:`.schema.ImageData`)."""

    unit: str | None
    dtype: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]


@dataclass(frozen=True)
class QuickImage:
    """The ``image`` block (as :class:`.schema.ImageMetadata`)."""

    data: QuickImageData
    coords: dict[str, QuickVariable] = field(default_factory=dict)
    masks: dict[str, QuickVariable] = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class QuickMetadata:
    """What a reader needs of an accepted ``scitiffmeta`` document."""

    image: QuickImage
    schema_version: str = _PLACEHOLDER_VERSION


def quick_metadata(doc: Any) -> QuickMetadata | None:
    """The reader's view of ``doc`` if the pydantic models surely accept it, else ``None``.

    ``None`` means "ask pydantic" (:func:`.metadata.validate_metadata`), not "invalid".
    """
    try:
        return _metadata(doc)
    except _Unsure:
        return None


# ---------------------------------------------------------------- primitives
def _obj(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Unsure
    return value


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Unsure
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _int(value: Any) -> int:
    # Exactly an int: pydantic would also take 5.0 or "5", but then we let it decide.
    if type(value) is not int:
        raise _Unsure
    return value


def _number(value: Any) -> float:
    # bool is an int subclass, and pydantic's float takes it; leave that to pydantic.
    if type(value) is float:
        return value
    if type(value) is DEFERRED_FLOAT:
        return float(value)
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:  # beyond the float range: pydantic's verdict and message
            raise _Unsure from None
    raise _Unsure


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Unsure
    return value


def _required(block: Mapping[str, Any], key: str) -> Any:
    if key not in block:
        raise _Unsure
    return block[key]


def _str_list(value: Any) -> list[str]:
    return [_str(v) for v in _list(value)]


# ------------------------------------------------------------------ variables
#: The element types a list of numbers may hold (``bool`` is not one: pydantic coerces it).
_NUMBER_TYPES = frozenset({float, int, DEFERRED_FLOAT})
_FLOAT_ONLY = frozenset({float})
#: Lists of these need no check when decoded: ``float()`` of each cannot fail.
_FLOAT_LIKE = frozenset({float, DEFERRED_FLOAT})
_STR_ONLY = frozenset({str})


def _numbers(raw: list[Any], kinds: set[type] | None = None) -> list[float]:
    """``raw`` as floats if every element is exactly a float or an int, as ``_number`` decides per value.

    The element types (``kinds``, if the caller has them) are collected in one C-level
    pass rather than a Python call per value: coordinate lists hold thousands of numbers.
    """
    if kinds is None:
        kinds = set(map(type, raw))
    if kinds <= _FLOAT_ONLY:
        return list(raw)
    if not kinds <= _NUMBER_TYPES:
        raise _Unsure
    try:
        return list(map(float, raw))
    except OverflowError:  # an int beyond the float range: pydantic's verdict and message
        raise _Unsure from None


def _variable(value: Any) -> QuickVariable:
    var = _obj(value)
    unit = _opt_str(_required(var, "unit"))
    dtype = _str(_required(var, "dtype"))
    dims = tuple(_str_list(var.get("dims", [])))
    if len(dims) == 0:
        if _list(var.get("shape", [])):
            raise _Unsure
        scalar = _required(var, "values")
        if type(scalar) is DEFERRED_FLOAT:
            scalar = float(scalar)
        if type(scalar) not in (float, int, str, bool):
            raise _Unsure
        return QuickVariable(unit, dtype, (), (), scalar, holds_strings=type(scalar) is str)
    shape = tuple(_int(n) for n in _list(_required(var, "shape")))
    raw = _list(_required(var, "values"))
    if len(dims) == 1:
        if len(shape) != 1 or len(raw) != shape[0]:
            raise _Unsure
        # All strings (and at least one) or all numbers, as list[float] | list[str] takes them.
        kinds = set(map(type, raw))
        if raw and kinds == _STR_ONLY:
            return QuickVariable(unit, dtype, dims, shape, list(raw), holds_strings=True)
        if DEFERRED_FLOAT in kinds and kinds <= _FLOAT_LIKE:
            # Decoded when the values are first read (building coordinates), not at open.
            return QuickVariable(unit, dtype, dims, shape, list(raw), deferred=True)
        return QuickVariable(unit, dtype, dims, shape, _numbers(raw, kinds))
    if len(dims) != 2 or len(shape) != 2 or len(raw) != shape[0]:
        raise _Unsure
    rows = [_numbers(_list(row)) for row in raw]
    if any(len(row) != shape[1] for row in rows):
        raise _Unsure
    return QuickVariable(unit, dtype, dims, shape, rows)


def _variables(value: Any) -> dict[str, QuickVariable]:
    return {_str(name): _variable(var) for name, var in _obj(value).items()}


# ---------------------------------------------------------------------- image
def _image(value: Any) -> QuickImage:
    image = _obj(value)
    data = _obj(_required(image, "data"))
    unit = _opt_str(_required(data, "unit"))
    dtype = _str(_required(data, "dtype"))
    dims = tuple(_list(_required(data, "dims")))
    shape = tuple(_int(n) for n in _list(_required(data, "shape")))
    if dims != _IMAGE_DIMS or len(shape) != 5 or any(n < 1 for n in shape):
        raise _Unsure
    return QuickImage(
        data=QuickImageData(unit, dtype, dims, shape),
        coords=_variables(image.get("coords", {})),
        masks=_variables(image.get("masks", {})),
        name=_opt_str(image.get("name")),
    )


# ------------------------------------------------- blocks the reader only keeps
def _person(value: Any) -> None:
    person = _obj(value)
    _str(_required(person, "name"))
    for key in ("affiliation", "email", "orcid"):
        _opt_str(person.get(key))


def _identifier(value: Any, *, type_required: bool) -> None:
    ident = _obj(value)
    _str(_required(ident, "type") if type_required else ident.get("type", ""))
    _str(_required(ident, "value"))
    _str(ident.get("description", ""))


def _detector(value: Any) -> None:
    detector = _obj(value)
    _str(_required(detector, "scintillator_type"))
    _opt_str(detector.get("detector_identifier"))


def _daq(value: Any) -> None:
    daq = _obj(value)
    for key in ("facility", "instrument", "detector_type"):
        names = daq.get(key, [])
        if type(names) is not str:
            _str_list(names)
    detector = daq.get("detector")
    if type(detector) is list:
        for item in detector:
            if item is not None:
                _detector(item)
    elif detector is not None:
        _obj(detector)  # a model-shaped dict or any other dict: both accepted
    _opt_str(daq.get("source_type"))
    source = daq.get("source")
    if source is not None:
        _obj(source)
    simulated = daq.get("simulated")
    if simulated is not None and type(simulated) is not bool:
        raise _Unsure
    for key in ("principal_investigators", "team", "local_contacts"):
        for person in _list(daq.get(key, [])):
            _person(person)
    for ident in _list(daq.get("experiment_identifiers", [])):
        _identifier(ident, type_required=True)


def _process(value: Any) -> None:
    process = _obj(value)
    _opt_str(process.get("result_type"))
    _str_list(process.get("processing_steps", []))
    for name, param in _obj(process.get("parameters", {})).items():
        _str(name)
        if type(param) is not str:
            _number(param)
    for ident in _list(process.get("process_identifiers", [])):
        _identifier(ident, type_required=False)
    for name, text in _obj(process.get("coordinate_descriptions", {})).items():
        _str(name)
        _str(text)


def _metadata(value: Any) -> QuickMetadata:
    doc = _obj(value)
    image = _image(_required(doc, "image"))
    if "daq" in doc:
        _daq(doc["daq"])
    if "process" in doc:
        _process(doc["process"])
    extra = doc.get("extra")
    if extra is not None:
        _obj(extra)
    return QuickMetadata(image, _str(doc.get("schema_version", _PLACEHOLDER_VERSION)))
