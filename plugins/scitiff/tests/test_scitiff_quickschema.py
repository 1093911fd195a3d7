"""The pydantic-free metadata check against the pydantic models (differential) and its cold-start effect.

:func:`quick_metadata` may only accept what :class:`SciTiffMetadata` accepts, and must
then give the same values the reader uses; everything else it leaves to the models.
The documents: the shared SciTiff files of every released schema version, written by
scitiff, and thousands of mutations of them (wrong types, coercible values, missing and
extra keys, wrong shapes), most of which the models reject.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pydantic = pytest.importorskip("pydantic")

from scitiff_readers_scitiff.quickschema import QuickMetadata, quick_metadata  # noqa: E402
from scitiff_readers_scitiff.schema import SciTiffMetadata  # noqa: E402

#: The real SciTiff files beside the repository, one per released schema version.
SHARED_FILES = sorted((Path(__file__).resolve().parents[4] / "shared" / "data" / "scitiff").glob("*.tiff"))
needs_shared = pytest.mark.skipif(
    not SHARED_FILES, reason="the shared SciTiff samples (../shared) are absent"
)


def _doc(path: Path) -> dict[str, Any]:
    """The file's ``scitiffmeta`` JSON, as tifffile reads the ImageJ description."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        doc: dict[str, Any] = json.loads(tif.imagej_metadata["scitiffmeta"])
    return doc


def _generated() -> dict[str, Any]:
    # Every kind of variable the schema has: 0-D, 1-D numbers and strings, bin edges, 2-D, masks.
    return {
        "image": {
            "data": {
                "unit": "counts",
                "dtype": "float32",
                "dims": ["t", "z", "c", "y", "x"],
                "shape": [4, 2, 3, 2, 2],
            },
            "coords": {
                "t": {
                    "unit": "µs",
                    "dtype": "float64",
                    "dims": ["t"],
                    "shape": [5],
                    "values": [1, 2.5, 4, 8, 9.25],
                },
                "c": {
                    "unit": None,
                    "dtype": "string",
                    "dims": ["c"],
                    "shape": [3],
                    "values": ["intensities", "stdevs", "mask"],
                },
                "start": {"unit": None, "dtype": "datetime64", "values": "2025-01-01T00:00:00"},
                "energy": {"unit": "meV", "dtype": "float64", "dims": [], "shape": [], "values": 3},
                "pixel-id": {
                    "unit": None,
                    "dtype": "int64",
                    "dims": ["y", "x"],
                    "shape": [2, 2],
                    "values": [[0, 1], [2, 3.0]],
                },
            },
            "masks": {"bad": {"unit": None, "dtype": "bool", "dims": ["x"], "shape": [2], "values": [0, 1]}},
            "name": "sample",
        },
        "daq": {
            "facility": ["ESS"],
            "instrument": "ODIN",
            "detector_type": [],
            "detector": [{"scintillator_type": "LiF", "detector_identifier": None}, None],
            "source_type": "neutron",
            "source": {"neutron_type": "short-pulse"},
            "simulated": False,
            "principal_investigators": [{"name": "A", "email": None}],
            "team": [],
            "local_contacts": [],
            "experiment_identifiers": [{"type": "RUN_NUMBER", "value": "7"}],
        },
        "process": {
            "result_type": "NORMALIZED",
            "processing_steps": ["a"],
            "parameters": {"k": 1, "s": "x"},
            "process_identifiers": [{"value": "v"}],
            "coordinate_descriptions": {"t": "tof"},
        },
        "extra": {"anything": {"goes": [1, None]}},
        "schema_version": "26.7.0",
    }


def _documents() -> list[dict[str, Any]]:
    return [_doc(p) for p in SHARED_FILES] + [_generated()]


# Values that trip up hand-written validators: coercible ones, wrong types, edge sizes.
_POOL: list[Any] = [
    None,
    0,
    1,
    -1,
    2,
    1.0,
    2.5,
    True,
    False,
    "",
    "5",
    "t",
    "true",
    "1.5",
    [],
    [1],
    [1.0, 2.0],
    ["a"],
    [1, "a"],
    [True],
    [[1]],
    [[1, 2], [3]],
    ["t"],
    ["t", "z"],
    ["t", "z", "c", "y", "x"],
    [4, 2, 3, 2, 2],
    [4, 2, 3, 2, 0],
    {},
    {"a": 1},
    {"scintillator_type": "x"},
    {"name": "n"},
    {"unit": None, "dtype": "float64", "values": 1},
    float("nan"),
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice((1, 1, 2))):
        path = rng.choice(_paths(doc)[1:])
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = rng.random()
        if action < 0.2 and isinstance(parent, dict):
            del parent[last]
        elif action < 0.3 and isinstance(parent[last], list):
            parent[last].append(copy.deepcopy(rng.choice(_POOL)))
        elif action < 0.35 and isinstance(parent, dict):
            parent[f"unknown{rng.randrange(3)}"] = copy.deepcopy(rng.choice(_POOL))
        else:
            parent[last] = copy.deepcopy(rng.choice(_POOL))
    return doc


def _typed(value: Any) -> Any:
    # Compare values with their types: 1 and 1.0 and True must not pass for each other.
    if isinstance(value, (list, tuple)):
        return [_typed(v) for v in value]
    if isinstance(value, float) and value != value:
        return ("nan", float)
    return (value, type(value))


def _same_variable(quick: Any, model: Any) -> None:
    assert (quick.unit, quick.dtype) == (model.unit, model.dtype)
    assert quick.dims == tuple(model.dims)
    assert quick.shape == tuple(model.shape)
    assert _typed(quick.values) == _typed(model.values)


def _assert_agrees(doc: dict[str, Any]) -> QuickMetadata | None:
    """quick accepts => the models accept and give the same values. Returns quick's verdict."""
    quick = quick_metadata(doc)
    if quick is None:
        return None
    try:
        model = SciTiffMetadata.model_validate(doc)
    except pydantic.ValidationError as exc:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"quick_metadata accepted a document the models reject: {exc}\n{json.dumps(doc)[:2000]}")
    data, mdata = quick.image.data, model.image.data
    assert (data.unit, data.dtype, data.dims, data.shape) == (
        mdata.unit,
        mdata.dtype,
        tuple(mdata.dims),
        tuple(mdata.shape),
    )
    assert quick.image.name == model.image.name
    assert quick.schema_version == model.schema_version
    for group in ("coords", "masks"):
        ours, theirs = getattr(quick.image, group), getattr(model.image, group)
        assert list(ours) == list(theirs)
        for name in ours:
            _same_variable(ours[name], theirs[name])
    return quick


@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_every_released_file_takes_the_quick_path(path: Path) -> None:
    assert _assert_agrees(_doc(path)) is not None


def test_generated_document_takes_the_quick_path() -> None:
    quick = _assert_agrees(_generated())
    assert quick is not None
    assert quick.image.coords["t"].values == [1.0, 2.5, 4.0, 8.0, 9.25]
    assert quick.image.coords["energy"].values == 3
    assert type(quick.image.coords["energy"].values) is int


def test_mutated_documents_never_accepted_when_the_models_reject() -> None:
    rng = random.Random(18)
    bases = _documents()
    verdicts = {"quick": 0, "models only": 0, "rejected": 0}
    for _ in range(3000):
        doc = _mutate(rng.choice(bases), rng)
        if _assert_agrees(doc) is not None:
            verdicts["quick"] += 1
            continue
        try:
            SciTiffMetadata.model_validate(doc)
            verdicts["models only"] += 1
        except pydantic.ValidationError:
            verdicts["rejected"] += 1
    # Both kinds occur, so the comparison above was exercised on each side.
    assert verdicts["quick"] > 300, verdicts
    assert verdicts["rejected"] > 300, verdicts


def test_coercions_left_to_the_models() -> None:
    # Values pydantic converts ("5" -> 5, 1 -> True): quick defers, so the model's result is used.
    for path, value in (
        (("image", "data", "shape", 0), "4"),
        (("daq", "simulated"), 1),
        (("image", "coords", "t", "values", 0), "1"),
        (("image", "data", "shape", 1), 2.0),
    ):
        doc = _generated()
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = value
        assert quick_metadata(doc) is None, path
        SciTiffMetadata.model_validate(doc)  # accepted by the models all the same


@needs_shared
def test_opening_a_file_imports_no_pydantic_until_metadata_is_asked_for() -> None:
    code = (
        "import sys\nfrom scitiff_readers import Reader\n"
        f"r = Reader({str(SHARED_FILES[-1])!r}, reader='scitiff')\n"
        "r.get_image_data('YX', T=0, Z=0); coords = r.coords\n"
        "print('pydantic' in sys.modules)\n"
        "print(type(r.metadata).__name__, 'pydantic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "SciTiffMetadata", "True"]


# ------------------------------------------- value lists: one type pass, same verdicts
# quickschema looks at the element types of a value list in one C-level pass. These
# tests hold it to the per-value rule it replaced (one Python call per value), and
# to the models, over random lists of every JSON type.


def _per_value_rule(raw: list[Any]) -> list[Any] | None:
    """The former per-value verdict on 1-D values: all strings, or all floats / ints as floats."""
    if raw and all(type(v) is str for v in raw):
        return list(raw)
    out: list[Any] = []
    for v in raw:
        if type(v) is float:
            out.append(v)
        elif type(v) is int:
            try:
                out.append(float(v))
            except OverflowError:  # the former rule crashed here; now the models decide
                return None
        else:
            return None
    return out


_json_scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, -(10**400)]),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)
_json_values = st.one_of(_json_scalars, st.lists(_json_scalars, max_size=2), st.just({}))
# Mostly homogeneous lists (what files hold), with a stray element of another type now and then.
_value_lists = st.one_of(
    st.lists(st.floats(allow_nan=False), max_size=20),
    st.lists(st.integers(-(2**60), 2**60), max_size=20),
    st.lists(st.text(max_size=3), max_size=20),
    st.tuples(st.lists(st.floats(), max_size=20), _json_values, st.integers(0, 20)).map(
        lambda t: [*t[0][: t[2]], t[1], *t[0][t[2] :]]
    ),
    st.lists(_json_values, max_size=8),
)


def _with_t_values(values: Any, dims: list[str], shape: list[int]) -> dict[str, Any]:
    doc = _generated()
    doc["image"]["coords"] = {
        "t": {"unit": "µs", "dtype": "float64", "dims": dims, "shape": shape, "values": values}
    }
    doc["image"]["masks"] = {}
    return doc


@settings(max_examples=300, deadline=None, database=None)
@given(raw=_value_lists)
def test_one_dimensional_values_as_the_per_value_rule(raw: list[Any]) -> None:
    doc = _with_t_values(raw, ["t"], [len(raw)])
    expected = _per_value_rule(raw)
    quick = _assert_agrees(doc)  # accepted => the models accept, with the same values
    if expected is None:
        assert quick is None
    else:
        assert quick is not None
        var = quick.image.coords["t"]
        assert _typed(var.values) == _typed(expected)
        assert var.holds_strings == any(isinstance(v, str) for v in raw)


@settings(max_examples=200, deadline=None, database=None)
@given(rows=st.lists(_value_lists, min_size=1, max_size=4), width=st.integers(0, 4))
def test_two_dimensional_values_as_the_per_value_rule(rows: list[list[Any]], width: int) -> None:
    rows = [row[:width] for row in rows]
    doc = _with_t_values(rows, ["t", "x"], [len(rows), width])
    per_row = [None if any(type(v) is str for v in row) else _per_value_rule(row) for row in rows]
    expected = None if any(r is None or len(r) != width for r in per_row) else per_row
    quick = _assert_agrees(doc)
    if expected is None:
        assert quick is None
    else:
        assert quick is not None
        assert _typed(quick.image.coords["t"].values) == _typed(expected)
        assert not quick.image.coords["t"].holds_strings


@settings(max_examples=200, deadline=None, database=None)
@given(raw=_value_lists, dtype=st.sampled_from(["float64", "int64", "string", "datetime64", "bool"]))
def test_string_refusal_same_on_the_quick_and_the_model_path(raw: list[Any], dtype: str) -> None:
    """``check_against_file`` refuses strings for numeric dtypes whichever validator ran."""
    from scitiff_readers_scitiff.metadata import SciTiffMetadataError, check_against_file

    from scitiff_readers.backend import FirstIfd

    doc = _with_t_values(raw, ["t"], [len(raw)])
    doc["image"]["data"]["shape"] = [max(len(raw), 1), 1, 1, 2, 2]
    doc["image"]["coords"]["t"]["dtype"] = dtype
    quick = quick_metadata(doc)
    try:
        model = SciTiffMetadata.model_validate(doc)
    except pydantic.ValidationError:
        assert quick is None
        return
    ifd = FirstIfd(b"", 2, 2, 32, 3, 1, 1, False, "<")
    imagej = {"images": max(len(raw), 1)}

    def problems(meta: Any) -> list[tuple[str, str]]:
        try:
            check_against_file("f.tif", meta, ifd, imagej)
        except SciTiffMetadataError as exc:
            return exc.problems
        return []

    by_model = problems(model)
    refused = dtype not in ("string", "datetime64") and any(
        isinstance(v, str) for v in model.model_dump()["image"]["coords"]["t"]["values"]
    )
    assert (("$.image.coords.t.values", f"strings given for dtype {dtype!r}") in by_model) == refused
    if quick is not None:
        assert problems(quick) == by_model


# ------------------------------------ read_metadata: numbers decoded when first read
# read_metadata decodes with the non-integer numbers left as their text (bytes), and
# QuickVariable.values turns them into floats when first read. Held here to the plain
# json.loads + quick_metadata path: same verdicts, same values (typed), same errors.


def _eager(text: str) -> Any:
    """What read_metadata gave before: quick_metadata of json.loads, else the models' verdict."""
    from scitiff_readers_scitiff.metadata import SciTiffMetadataError, decode_metadata, validate_metadata

    try:
        quick = quick_metadata(decode_metadata("f.tif", text))
        return quick if quick is not None else validate_metadata("f.tif", text)[0]
    except SciTiffMetadataError as exc:
        return ("error", str(exc))


def _outcome(text: str) -> Any:
    from scitiff_readers_scitiff.metadata import SciTiffMetadataError, read_metadata

    try:
        return read_metadata("f.tif", text)[0]
    except SciTiffMetadataError as exc:
        return ("error", str(exc))


def _assert_same_outcome(text: str) -> None:
    before, after = _eager(text), _outcome(text)
    if isinstance(before, tuple):
        assert after == before
        return
    assert type(after) is type(before)
    if isinstance(before, QuickMetadata):
        for group in ("coords", "masks"):
            ours, theirs = getattr(after.image, group), getattr(before.image, group)
            assert list(ours) == list(theirs)
            for name in ours:
                _same_variable(ours[name], theirs[name])


# JSON number text with a fraction or exponent, as other writers spell them.
_float_text = st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?", fullmatch=True)
_number_text = st.one_of(
    _float_text, st.integers(-(2**70), 2**70).map(str), st.sampled_from(["NaN", "-Infinity"])
)


@settings(max_examples=300, deadline=None, database=None)
@given(numbers=st.lists(_number_text, max_size=30), dims=st.sampled_from([["t"], ["t", "x"], []]))
def test_numbers_left_as_text_decode_as_json_loads_does(numbers: list[str], dims: list[str]) -> None:
    if dims == ["t", "x"]:
        values = "[" + ", ".join(f"[{n}]" for n in numbers) + "]"
        shape = [len(numbers), 1]
    elif dims:
        values, shape = "[" + ", ".join(numbers) + "]", [len(numbers)]
    else:
        values, shape = (numbers[0] if numbers else "1.5"), []
    doc = _with_t_values("@", dims, shape)
    doc["process"]["parameters"] = {"k": "@p"}
    text = json.dumps(doc).replace('"@"', values).replace('"@p"', numbers[-1] if numbers else "2e3")
    _assert_same_outcome(text)


def test_mutated_documents_read_as_before() -> None:
    rng = random.Random(23)
    bases = _documents()
    for _ in range(600):
        text = json.dumps(_mutate(rng.choice(bases), rng))
        _assert_same_outcome(text)
    for broken in ('{"image": {"data": ', "[1.5, 2.5]", "1.5", '{"a": 1.5e}', '{"a": 01.5}'):
        assert _eager(broken)[0] == "error"
        _assert_same_outcome(broken)
