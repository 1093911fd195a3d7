"""Schema models, JSON schema, metadata errors with JSON paths, fallback, sniffing and the CLI."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from scitiff_readers import MetadataError, Reader, select_reader
from scitiff_readers.cli import main as cli_main

sc = pytest.importorskip("scipp")
scitiff = pytest.importorskip("scitiff")
jsonschema = pytest.importorskip("jsonschema")

from scitiff_readers_scitiff.metadata import SciTiffMetadataError  # noqa: E402
from scitiff_readers_scitiff.reader import SciTiffFallbackWarning, SciTiffReader  # noqa: E402
from scitiff_readers_scitiff.schema import (  # noqa: E402
    PLACEHOLDER_VERSION,
    SciTiffMetadata,
    metadata_schema,
    parse_version,
)

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "scitiff"
SHARED_FILES = sorted(SHARED.glob("*.tiff")) if SHARED.is_dir() else []
needs_shared = pytest.mark.skipif(not SHARED_FILES, reason=f"real SciTiff samples not found in {SHARED}")


def _doc(path: Path) -> dict[str, Any]:
    with tifffile.TiffFile(path) as tif:
        return json.loads(tif.imagej_metadata["scitiffmeta"])


def _pixels() -> np.ndarray:
    return np.arange(4 * 2 * 1 * 3 * 5, dtype=np.float32).reshape(4, 2, 1, 3, 5)  # t z c y x


def _valid_doc() -> dict[str, Any]:
    return {
        "image": {
            "data": {
                "unit": "counts",
                "dtype": "float32",
                "dims": ["t", "z", "c", "y", "x"],
                "shape": [4, 2, 1, 3, 5],
            },
            "masks": {},
            "coords": {
                "t": {
                    "unit": "µs",
                    "dtype": "float64",
                    "dims": ["t"],
                    "shape": [4],
                    "values": [1.0, 2.0, 4.0, 8.0],
                },
                "z": {"unit": "mm", "dtype": "int64", "dims": ["z"], "shape": [2], "values": [1.0, 2.0]},
            },
            "name": "sample",
        },
        "schema_version": "26.7.0",
    }


def _write(path: Path, doc: dict[str, Any] | str, pixels: np.ndarray | None = None) -> Path:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    tifffile.imwrite(
        path,
        _pixels() if pixels is None else pixels,
        imagej=True,
        metadata={"axes": "TZCYX", "scitiffmeta": text},
    )
    return path


# --------------------------------------------------------------------------- models
@needs_shared
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: p.name)
def test_every_released_version_validates(path: Path) -> None:
    doc = _doc(path)
    model = SciTiffMetadata.model_validate(doc)
    assert model.image.data.shape == (4, 2, 3, 10, 10)
    # our JSON schema accepts every real document, as does the published one
    jsonschema.validate({"scitiffmeta": doc, "ImageJ": "1.11a"}, metadata_schema())
    scitiff.validate_scitiff_metadata_container({"scitiffmeta": doc})


def test_version_strings() -> None:
    assert parse_version(PLACEHOLDER_VERSION) is None
    assert parse_version("26.7.0") == (26, 7, 0)
    assert parse_version("25.12") == (25, 12, 0)
    doc = _valid_doc()
    doc["schema_version"] = PLACEHOLDER_VERSION
    assert SciTiffMetadata.model_validate(doc).version is None
    del doc["schema_version"]
    assert SciTiffMetadata.model_validate(doc).schema_version == PLACEHOLDER_VERSION


def test_full_26_7_metadata_written_by_scitiff(tmp_path: Path) -> None:
    from scitiff._schema import NeutronMetadata, PhotonConvertDetectorMetadata, ScippVariable0D

    wavelengths = tuple(ScippVariable0D(unit="Å", dtype="float64", values=v) for v in (1.0, 9.5))
    daq = scitiff.DAQMetadata(
        facility=["ESS"],
        instrument=["ODIN"],
        detector_type=["timepix3"],
        source_type="neutron",
        source=NeutronMetadata(neutron_type="long-pulse", wavelength_range=wavelengths),
        detector=PhotonConvertDetectorMetadata(scintillator_type="LiF/ZnS", detector_identifier="tpx3-1"),
        simulated=False,
        principal_investigators=[
            scitiff.Person(name="Ada", email="ada@example.org", orcid="0000-0002-1825-0097")
        ],
        team=[scitiff.Person(name="Bob")],
        experiment_identifiers=[scitiff.ExperimentIdentifier(type="PROPOSAL_ID", value="P-123")],
    )
    process = scitiff.ImageProcessMetadata(
        result_type="NORMALIZED",
        processing_steps=["dark", "flat"],
        parameters={"threshold": 0.5},
        process_identifiers=[scitiff.ProcessIdentifier(value="job-7")],
        coordinate_descriptions={"t": "time of flight"},
    )
    image = sc.DataArray(
        sc.ones(dims=["t", "y", "x"], shape=[2, 3, 4], dtype="float32", unit="counts"),
        coords={"t": sc.array(dims=["t"], values=[1.0, 2.0], unit="ms")},
    )
    path = tmp_path / "full.tiff"
    scitiff.save_scitiff(
        sc.DataGroup(
            image=image,
            daq=daq,
            process=process,
            extra={"temperature": sc.scalar(293.0, unit="K"), "note": "hi"},
        ),
        path,
    )
    with Reader(path) as r:
        meta = r.metadata
        assert meta.schema_version == scitiff.__version__
        assert meta.daq.facility == ["ESS"]
        assert meta.daq.source_type == "neutron"
        assert meta.daq.principal_investigators[0].orcid == "0000-0002-1825-0097"
        assert meta.daq.source.neutron_type == "long-pulse"
        assert meta.daq.source.wavelength_range[1].values == 9.5
        assert meta.daq.source.wavelength_range[1].unit == "Å"
        assert meta.daq.detector.scintillator_type == "LiF/ZnS"
        assert meta.daq.experiment_identifiers[0].type == "PROPOSAL_ID"
        assert meta.process.result_type == "NORMALIZED"
        assert meta.process.processing_steps == ["dark", "flat"]
        assert meta.process.coordinate_descriptions == {"t": "time of flight"}
        assert meta.extra["note"] == "hi"
        assert meta.extra["temperature"]["unit"] == "K"
        group = r.to_scipp(only_image=False)
        assert sc.identical(group["extra"]["temperature"], sc.scalar(293.0, unit="K"))


def test_unknown_keys_are_tolerated_and_kept(tmp_path: Path) -> None:
    doc = _valid_doc()
    doc["future_block"] = {"anything": [1, 2]}
    doc["image"]["coords"]["t"]["long_name"] = "time of flight"
    doc["daq"] = {"facility": "ESS", "beamline_mood": "happy"}
    with Reader(_write(tmp_path / "x.tiff", doc)) as r:
        assert r.metadata.model_extra == {"future_block": {"anything": [1, 2]}}
        assert r.metadata.daq.model_extra == {"beamline_mood": "happy"}
        assert r.xarray_dask_data.name == "sample"
        assert r.coords["T"].attrs == {"units": "µs"}
        assert r.coords["Z"].values.tolist() == [1, 2]


def test_published_schema_accepts_what_the_writer_writes(tmp_path: Path) -> None:
    import xarray as xr
    from scitiff_readers_scitiff import save_scitiff

    data = xr.DataArray(
        np.ones((2, 3, 4), np.float32),
        dims=("t", "y", "x"),
        coords={
            "t": ("t", [0.5, 1.5], {"units": "s"}),
            "when": np.datetime64("2025-01-01", "s"),
            "roi": (("y", "x"), np.eye(3, 4, dtype=bool)),
        },
    )
    path = save_scitiff(data, tmp_path / "w.tiff")
    doc = _doc(path)
    scitiff.validate_scitiff_metadata_container({"scitiffmeta": doc})
    jsonschema.validate({"scitiffmeta": doc}, metadata_schema())


def test_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(SciTiffReader.metadata_schema()))
    assert printed["properties"]["scitiffmeta"] == {"$ref": "#/$defs/SciTiffMetadata"}
    assert {
        "ScippVariable0D",
        "ScippVariable1D",
        "ScippVariable2D",
        "DAQMetadata",
        "ImageProcessMetadata",
    } <= set(printed["$defs"])


# --------------------------------------------------------------------------- errors
def _mutated(mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(_valid_doc())
    mutate(doc)
    return doc


BAD_DOCS = {
    "values-not-numbers": (
        lambda d: d["image"]["coords"]["t"].update(values=[1.0, "x", 3.0, 4.0]),
        "$.image.coords.t.values[1]",
    ),
    "values-length": (lambda d: d["image"]["coords"]["t"].update(values=[1.0, 2.0]), "$.image.coords.t"),
    "missing-data": (lambda d: d["image"].pop("data"), "$.image.data"),
    "wrong-dim-order": (
        lambda d: d["image"]["data"].update(dims=["t", "c", "z", "y", "x"]),
        "$.image.data.dims[1]",
    ),
    "four-dims": (
        lambda d: d["image"]["data"].update(dims=["t", "z", "y", "x"], shape=[4, 2, 3, 5]),
        "$.image.data.dims[2]",
    ),
    "coord-too-long": (
        lambda d: d["image"]["coords"]["t"].update(shape=[6], values=[1.0] * 6),
        "$.image.coords.t.shape",
    ),
    "coord-foreign-dim": (
        lambda d: d["image"]["coords"].update(
            q={"unit": None, "dtype": "float64", "dims": ["q"], "shape": [2], "values": [1.0, 2.0]}
        ),
        "$.image.coords.q.dims",
    ),
    "odd-coord-name": (
        lambda d: d["image"]["coords"].update(
            {"pixel-id": {"unit": None, "dtype": "vector3", "dims": ["x"], "shape": [5], "values": [0.0] * 5}}
        ),
        '$.image.coords["pixel-id"].dtype',
    ),
    "mask-edges": (
        lambda d: d["image"]["masks"].update(
            m={"unit": None, "dtype": "bool", "dims": ["t"], "shape": [5], "values": [0.0] * 5}
        ),
        "$.image.masks.m.shape",
    ),
    "string-edges": (
        lambda d: d["image"]["coords"].update(
            z={"unit": None, "dtype": "string", "dims": ["z"], "shape": [3], "values": ["a", "b", "c"]}
        ),
        "$.image.coords.z.shape",
    ),
    "data-shape-vs-pages": (lambda d: d["image"]["data"].update(shape=[4, 2, 1, 3, 6]), "$.image.data.shape"),
    "planes-vs-pages": (lambda d: d["image"]["data"].update(shape=[2, 2, 1, 3, 5]), "$.image.data.shape"),
    "dtype-vs-pages": (lambda d: d["image"]["data"].update(dtype="int16"), "$.image.data.dtype"),
    "bad-datetime": (
        lambda d: d["image"]["coords"].update(
            when={"unit": "s", "dtype": "datetime64", "dims": [], "shape": [], "values": "yesterday"}
        ),
        "$.image.coords.when.values",
    ),
    "daq-type": (lambda d: d.update(daq={"simulated": "perhaps"}), "$.daq.simulated"),
    # Strings for a numeric dtype: the models take list[str], the check against the file refuses.
    "strings-for-float64": (
        lambda d: d["image"]["coords"]["t"].update(values=["1", "2", "4", "8"]),
        "$.image.coords.t.values",
    ),
    "scalar-string-for-int64": (
        lambda d: d["image"]["coords"].update(
            run={"unit": None, "dtype": "int64", "dims": [], "shape": [], "values": "seven"}
        ),
        "$.image.coords.run.values",
    ),
    # An integer beyond the float range raised a bare OverflowError before.
    "int-beyond-float": (
        lambda d: d["image"]["coords"]["t"].update(values=[1.0, 10**400, 4.0, 8.0]),
        "$.image.coords.t.values[1]",
    ),
    "parameter-beyond-float": (
        lambda d: d.update(process={"parameters": {"k": -(10**400)}}),
        "$.process.parameters.k",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCS))
def test_invalid_metadata_names_file_and_json_path(case: str, tmp_path: Path) -> None:
    mutate, where = BAD_DOCS[case]
    path = _write(tmp_path / f"{case}.tiff", _mutated(mutate))
    assert SciTiffReader.can_open(path)
    with pytest.raises(MetadataError) as info:
        Reader(path)
    err = info.value
    assert isinstance(err, SciTiffMetadataError)
    assert str(path) in str(err)
    assert err.json_path == where, err.problems
    assert where in str(err)
    assert "metadata_errors='fallback'" in str(err)


def test_broken_json(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.tiff", '{"image": {"data": {"unit": "counts",')
    with pytest.raises(SciTiffMetadataError, match=r"not valid JSON") as info:
        Reader(path)
    assert info.value.json_path == "$"
    assert str(path) in str(info.value)


@pytest.mark.parametrize("case", ["broken-json", "planes-vs-pages", "values-length"])
def test_fallback_reads_plain_imagej_with_a_warning(case: str, tmp_path: Path) -> None:
    doc: Any = '{"image": ' if case == "broken-json" else _mutated(BAD_DOCS[case][0])
    path = _write(tmp_path / f"{case}.tiff", doc)
    with pytest.warns(SciTiffFallbackWarning, match="plain ImageJ"):
        reader = Reader(path, metadata_errors="fallback")
    with reader:
        assert reader.is_fallback
        assert reader.scitiff_metadata is None
        assert isinstance(reader.metadata_error, SciTiffMetadataError)
        assert reader.metadata["images"] == 8
        assert "scitiffmeta" in reader.metadata
        assert reader.shape == (4, 1, 2, 3, 5)
        np.testing.assert_array_equal(
            reader.data, tifffile.imread(path).reshape(4, 2, 1, 3, 5).transpose(0, 2, 1, 3, 4)
        )
        assert set(reader.coords) == {"C"}


def test_bad_option_value(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.tiff", _valid_doc())
    with pytest.raises(ValueError, match="metadata_errors"):
        Reader(path, metadata_errors="ignore")


# -------------------------------------------------------------------------- sniffing
def test_selected_ahead_of_other_tiff_readers(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.tif", _valid_doc())
    assert select_reader(path) is SciTiffReader
    assert SciTiffReader.priority == 100
    plain = tmp_path / "plain-imagej.tif"
    tifffile.imwrite(plain, _pixels(), imagej=True, metadata={"axes": "TZCYX"})
    assert not SciTiffReader.can_open(plain)
    big = tmp_path / "big.tif"
    tifffile.imwrite(
        big,
        _pixels(),
        imagej=False,
        bigtiff=True,
        description="ImageJ=1.11a\nimages=8\nscitiffmeta=" + json.dumps(_valid_doc()),
    )
    assert SciTiffReader.can_open(big)  # BigTIFF, description read through its offset


def test_sniff_is_cheap(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.tif", _valid_doc())
    code = (
        "import sys; from scitiff_readers_scitiff.reader import SciTiffReader as R; "
        f"assert R.can_open({str(path)!r}); "
        "heavy = [m for m in ('tifffile', 'pydantic', 'scipp', 'scitiff') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mangled_json_gives_documented_errors_only(tmp_path: Path) -> None:
    """Cut, flipped or retyped JSON: the file opens or raises MetadataError, nothing else."""
    import random
    import warnings

    from scitiff_readers import CorruptFileError

    text = json.dumps(_valid_doc())
    rng = random.Random(4)
    outcomes = {"opened": 0, "metadata error": 0}
    for i in range(80):
        chars = list(text)
        kind = i % 3
        if kind == 0:
            chars = chars[: rng.randrange(len(chars))]
        elif kind == 1:
            for _ in range(3):
                chars[rng.randrange(len(chars))] = rng.choice('{}[]":,0123456789.-aeEtn ')
        else:
            digits = [j for j, ch in enumerate(chars) if ch.isdigit()]
            j = rng.choice(digits)
            chars[j : j + 1] = list(rng.choice(["9", "-1", "1e308", "NaN", "null", "true", '"x"']))
        path = _write(tmp_path / f"m{i}.tiff", "".join(chars))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Reader(path, reader="scitiff") as r:
                    _ = (r.xarray_dask_data, r.coords, r.data, r.channel_names, r.physical_pixel_sizes)
            outcomes["opened"] += 1
        except (MetadataError, CorruptFileError):
            outcomes["metadata error"] += 1
    assert outcomes["metadata error"] > 20
    assert outcomes["opened"] > 5


def test_plain_imagej_file_forced_through_the_scitiff_reader(tmp_path: Path) -> None:
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, _pixels(), imagej=True, metadata={"axes": "TZCYX"})
    with pytest.raises(SciTiffMetadataError, match="no 'scitiffmeta=' line") as info:
        Reader(plain, reader="scitiff")
    assert info.value.json_path == "$"
    with pytest.warns(SciTiffFallbackWarning):
        reader = Reader(plain, reader="scitiff", metadata_errors="fallback")
    with reader:
        assert reader.shape == (4, 1, 2, 3, 5)
        np.testing.assert_array_equal(reader.data[:, 0], _pixels()[:, :, 0])


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deeply_nested_scitiffmeta_is_a_metadata_error(tmp_path: Path, depth: int) -> None:
    """Nesting that exhausts the JSON parser's stack (a RecursionError) is reported as bad metadata."""
    from scitiff_readers_scitiff.samples import write_demo_sample

    from scitiff_readers.testing.fuzz.mutators import description_of, replace_description

    path = tmp_path / "deep.tiff"
    write_demo_sample(path)
    text = description_of(path)
    assert text is not None
    assert "{" in text
    at = text.index("{")
    replace_description(path, text[: at + 1] + '"deep": ' + "[" * depth + "]" * depth + "," + text[at + 1 :])
    with pytest.raises(MetadataError), Reader(path) as r:
        r.get_image_data()
