"""Finding, parsing and validating the ``scitiffmeta`` block of a SciTiff file.

A SciTiff file is an ImageJ hyperstack whose ImageDescription has one more
``key=value`` line, ``scitiffmeta={...json...}``. Here that line is found, the JSON
is decoded and validated against :mod:`.schema`, and the result is checked
against the file itself (pixel dtype, plane size, number of images). Every
problem is a :class:`SciTiffMetadataError` (a ``MetadataError``) naming the file
and the JSON path of the offending value, e.g. ``$.image.coords.t.shape``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import FirstIfd, is_remote, load_json
from scitiff_readers.errors import MetadataError

from .quickschema import QuickVariable, quick_metadata

if TYPE_CHECKING:
    from scitiff_readers.backend import FirstIfd

    from .quickschema import QuickMetadata
    from .schema import SciTiffMetadata

__all__ = [
    "KNOWN_DTYPES",
    "SCITIFF_KEY",
    "ParsedDescription",
    "SciTiffMetadataError",
    "check_against_file",
    "decode_metadata",
    "has_scitiffmeta",
    "parse_description",
    "read_metadata",
    "validate_metadata",
]

#: The ImageJ description key of the JSON block.
SCITIFF_KEY = "scitiffmeta"
_MARKER = b"\n" + SCITIFF_KEY.encode() + b"="

#: scipp dtype names a coordinate or mask may use in a SciTiff file.
KNOWN_DTYPES = frozenset({"float64", "float32", "int64", "int32", "bool", "string", "datetime64"})


class SciTiffMetadataError(MetadataError):
    """Invalid or inconsistent SciTiff metadata.

    Attributes
    ----------
    path
        The file.
    json_path
        Where in the ``scitiffmeta`` JSON the (first) problem is, e.g. ``$.image.coords.t``.
    problems
        Every ``(json_path, message)`` found.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        problems: Sequence[tuple[str, str]],
        what: str = "invalid SciTiff metadata",
    ) -> None:
        self.path = str(path) if is_remote(path) else os.fspath(path)
        self.problems = list(problems)
        self.json_path = self.problems[0][0] if self.problems else "$"
        shown = "; ".join(f"at {p}: {m}" for p, m in self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(
            f"{self.path}: {what} in the '{SCITIFF_KEY}' JSON block, {shown}{more}. "
            "Fix the file, or open it with Reader(path, metadata_errors='fallback') to read the "
            "pixels as a plain ImageJ hyperstack without the SciTiff metadata."
        )


def has_scitiffmeta(description: bytes) -> bool:
    """Whether an ImageJ description carries the SciTiff JSON line."""
    return description.startswith(b"ImageJ=") and (
        _MARKER in description or description.startswith(SCITIFF_KEY.encode() + b"=")
    )


def _convert(value: str) -> Any:
    # ImageJ values: ints, floats, booleans, else text (as tifffile does).
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    return value


@dataclass(frozen=True)
class ParsedDescription:
    """The ImageJ description split into its keys and the raw ``scitiffmeta`` JSON text."""

    imagej: dict[str, Any]
    scitiffmeta: str | None


def parse_description(description: bytes) -> ParsedDescription:
    """Split an ImageJ description into ``key=value`` pairs; keep the JSON text raw."""
    text = description.decode("utf-8", errors="replace")
    imagej: dict[str, Any] = {}
    meta: str | None = None
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key = key.strip()
        if key == SCITIFF_KEY:
            meta = value.strip()
            imagej[key] = meta
        else:
            imagej[key] = _convert(value.strip())
    return ParsedDescription(imagej, meta)


def _jsonpath(doc: Any, loc: Sequence[Any], missing: bool) -> str:
    # pydantic locations contain union tags ("1d", "list[float]"); keep only the
    # parts that exist in the document so the path is a real JSON path.
    parts = ["$"]
    cur = doc
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, Mapping) and isinstance(part, str) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            parts.append(f"[{part}]")
            cur = cur[part]
            continue
        elif missing and last and isinstance(part, str):
            pass
        else:
            continue
        parts.append(f".{part}" if part.isidentifier() else f"[{json.dumps(part)}]")
    return "".join(parts)


def decode_metadata(path: str | os.PathLike[str], text: str) -> dict[str, Any]:
    """Decode the ``scitiffmeta`` JSON text into a dict; raise :class:`SciTiffMetadataError`."""
    try:
        doc = load_json(text, path, "scitiffmeta JSON")
    except json.JSONDecodeError as exc:
        raise SciTiffMetadataError(
            path,
            [("$", f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")],
            what="unreadable SciTiff metadata",
        ) from None
    except RecursionError:
        # A hostile file: nesting deep enough to exhaust the parser's stack.
        raise SciTiffMetadataError(
            path, [("$", "nested too deeply to be SciTiff metadata")], what="unreadable SciTiff metadata"
        ) from None
    if not isinstance(doc, dict):
        raise SciTiffMetadataError(path, [("$", f"expected a JSON object, got {type(doc).__name__}")])
    return doc


#: ``json.loads`` that leaves numbers with a fraction or exponent as their text (bytes):
#: the scanner still checks their syntax, but makes no float of each.
_DEFERRING_DECODER = json.JSONDecoder(parse_float=str.encode)


def _decode_deferring_floats(text: str) -> dict[str, Any] | None:
    """The JSON object of ``text`` with :data:`.quickschema.DEFERRED_FLOAT` numbers, or ``None``.

    ``None`` for anything but a valid JSON object: :func:`decode_metadata` then decodes
    again and words the error.
    """
    try:
        doc = _DEFERRING_DECODER.decode(text)
    except (ValueError, RecursionError):
        return None
    return doc if type(doc) is dict else None


def read_metadata(
    path: str | os.PathLike[str], text: str
) -> tuple[SciTiffMetadata | QuickMetadata, dict[str, Any] | None]:
    """Decode and validate the ``scitiffmeta`` JSON text, without pydantic when it can.

    A document :func:`.quickschema.quick_metadata` surely accepts gives its
    :class:`~.quickschema.QuickMetadata` (what opening a file needs; the models accept
    it too, proven by the tests) and ``None``: it was decoded with its non-integer
    numbers left as text (decoded when the coordinates are built), so the caller
    decodes the text again if it wants the document (:func:`decode_metadata`).
    Anything else is decoded in full and validated by the pydantic models, which raise
    with their messages, as :func:`validate_metadata`; the document is returned too.
    """
    deferred = _decode_deferring_floats(text)
    quick = None if deferred is None else quick_metadata(deferred)
    if quick is not None:
        return quick, None
    doc = decode_metadata(path, text)
    return _validate_doc(path, doc), doc


def validate_metadata(path: str | os.PathLike[str], text: str) -> tuple[SciTiffMetadata, dict[str, Any]]:
    """Decode and validate the ``scitiffmeta`` JSON text; return the model and the raw dict."""
    doc = decode_metadata(path, text)
    return _validate_doc(path, doc), doc


def _validate_doc(path: str | os.PathLike[str], doc: dict[str, Any]) -> SciTiffMetadata:
    import pydantic

    from .schema import SciTiffMetadata

    try:
        model = SciTiffMetadata.model_validate(doc)
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = _jsonpath(doc, err["loc"], err["type"] == "missing")
            problems.append((where, err["msg"]))
        # One problem per path (unions report each alternative).
        unique = list(dict.fromkeys(problems))
        raise SciTiffMetadataError(path, unique) from None
    return model


def _quoted(name: str) -> str:
    return f".{name}" if name.isidentifier() else f"[{json.dumps(name)}]"


def _holds_str(var: Any) -> bool:
    """Whether the values of a variable hold a string (``any(isinstance(v, str) ...)``, faster).

    :func:`.quickschema.quick_metadata` already looked at every value's type and says so;
    the models' variables are looked at here, in one C-level pass over the element types.
    """
    # isinstance, not getattr: the models keep unknown JSON keys as attributes.
    if isinstance(var, QuickVariable):
        return var.holds_strings
    values = var.values
    flat = values if isinstance(values, list) else [values]
    return any(issubclass(kind, str) for kind in set(map(type, flat)))


def check_against_file(
    path: str | os.PathLike[str],
    model: SciTiffMetadata | QuickMetadata,
    ifd: FirstIfd,
    imagej: Mapping[str, Any],
) -> None:
    """Check the metadata against the file and itself; raise :class:`SciTiffMetadataError`."""
    problems: list[tuple[str, str]] = []
    image = model.image
    sizes = dict(zip(image.data.dims, image.data.shape, strict=True))
    data = image.data
    file_dtype = ifd.numpy_dtype
    try:
        meta_dtype = np.dtype(data.dtype)
    except TypeError:
        meta_dtype = None
    if meta_dtype is None or meta_dtype.kind not in "uif":
        problems.append(("$.image.data.dtype", f"unsupported pixel dtype {data.dtype!r}"))
    elif file_dtype is not None and np.dtype(file_dtype).newbyteorder("=") != meta_dtype.newbyteorder("="):
        problems.append(
            ("$.image.data.dtype", f"says {data.dtype!r} but the TIFF pages hold {np.dtype(file_dtype).name}")
        )
    if ifd.samples_per_pixel != 1:
        problems.append(
            (
                "$.image.data.shape",
                (
                    f"the TIFF pages have {ifd.samples_per_pixel} samples per "
                    "pixel; SciTiff images are single-sample"
                ),
            )
        )
    if (
        ifd.height is not None
        and ifd.width is not None
        and (sizes["y"], sizes["x"]) != (ifd.height, ifd.width)
    ):
        problems.append(
            (
                "$.image.data.shape",
                (
                    f"y, x = {sizes['y']}, {sizes['x']} but the TIFF pages are "
                    f"{ifd.height} x {ifd.width} pixels"
                ),
            )
        )
    planes = sizes["t"] * sizes["z"] * sizes["c"]
    images = imagej.get("images", 1)
    if isinstance(images, int) and images != planes:
        problems.append(
            (
                "$.image.data.shape",
                (f"t * z * c = {planes} planes but the ImageJ header says images={images}"),
            )
        )
    for group, variables in (("coords", image.coords), ("masks", image.masks)):
        for name, var in variables.items():
            where = f"$.image.{group}{_quoted(name)}"
            if var.dtype not in KNOWN_DTYPES:
                problems.append(
                    (
                        where + ".dtype",
                        (
                            f"unsupported dtype {var.dtype!r}; expected one of "
                            f"{', '.join(sorted(KNOWN_DTYPES))}"
                        ),
                    )
                )
            unknown = [d for d in var.dims if d not in sizes]
            if unknown:
                problems.append((where + ".dims", f"dims {unknown} are not image dims (t, z, c, y, x)"))
                continue
            if len(set(var.dims)) != len(var.dims):
                problems.append((where + ".dims", f"repeated dims {list(var.dims)}"))
                continue
            edges = [d for d, n in zip(var.dims, var.shape, strict=True) if n == sizes[d] + 1]
            wrong = [
                (d, n) for d, n in zip(var.dims, var.shape, strict=True) if n not in (sizes[d], sizes[d] + 1)
            ]
            if wrong or len(edges) > 1 or (group == "masks" and edges):
                want = ", ".join(f"{d}: {sizes[d]}" for d in var.dims)
                problems.append(
                    (
                        where + ".shape",
                        (
                            f"shape {list(var.shape)} does not fit the image sizes "
                            f"({want}{'' if group == 'masks' else '; bin edges may have one more'})"
                        ),
                    )
                )
            elif edges and var.dtype in ("string", "bool"):
                problems.append(
                    (
                        where + ".shape",
                        (
                            f"{var.dtype} values cannot be bin edges (shape "
                            f"{list(var.shape)}, image {', '.join(f'{d}: {sizes[d]}' for d in var.dims)})"
                        ),
                    )
                )
            if var.dtype != "string" and var.dtype != "datetime64" and _holds_str(var):
                problems.append((where + ".values", f"strings given for dtype {var.dtype!r}"))
            if var.dtype == "datetime64":
                values = var.values
                try:
                    np.asarray(values if isinstance(values, list) else [values], dtype="datetime64")
                except ValueError as exc:
                    problems.append((where + ".values", f"not ISO 8601 datetimes: {exc}"))
    if problems:
        raise SciTiffMetadataError(path, problems)
