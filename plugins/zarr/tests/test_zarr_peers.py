"""OME-Zarr metadata on real files and HCS plates, against zarr, ome-zarr-py and bioio-ome-zarr.

* Pixel sizes: what the NGFF ``scale`` transforms state (bioio-ome-zarr's values),
  ``None`` where a file states none (NGFF 0.1 / 0.2, old bioformats2raw).
* HCS plates written by ome-zarr-py's ``write_plate_metadata`` / ``write_well_metadata``:
  one scene per field, pixels as zarr reads them at the field's path, label images
  as zarr reads them.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import zarr

from scitiff_readers import Reader

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "corpus"


def _zarr_entries() -> list[str]:
    if not (CORPUS / "manifest.json").is_file():
        return []
    return [e["path"] for e in json.loads((CORPUS / "manifest.json").read_text()) if e["format"] == "zarr"]


def _stated_scale(attrs: dict) -> bool:
    """Whether the first multiscales entry states a ``scale`` transform (read from the raw JSON)."""
    ome = attrs.get("ome", attrs)
    ms = ome["multiscales"][0]
    lists = [ms.get("coordinateTransformations") or []] + [
        d.get("coordinateTransformations") or [] for d in ms["datasets"][:1]
    ]
    return any(t.get("type") == "scale" for ts in lists for t in ts)


@pytest.mark.skipif(not _zarr_entries(), reason=f"corpus not found in {CORPUS}")
@pytest.mark.parametrize("rel", _zarr_entries())
def test_corpus_pixel_sizes_as_stated_or_none(rel: str) -> None:
    bioio = pytest.importorskip("bioio")
    bioio_ome_zarr = pytest.importorskip("bioio_ome_zarr")
    path = CORPUS / rel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = Reader(path)
    group = zarr.open_group(
        str(path / r.image().attrs["multiscale_path"].lstrip("/"))
        if r.image().attrs["multiscale_path"] != "/"
        else str(path),
        mode="r",
    )
    attrs = dict(group.attrs)
    if not _stated_scale(attrs):
        assert tuple(r.physical_pixel_sizes) == (None, None, None)
        assert tuple(r.physical_pixel_sizes.units) == (None, None, None)
        assert not {"Z", "Y", "X"} & set(r.coords)  # plain indices
        assert r.scale == (None, None, None, None, None)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ref = bioio.BioImage(path, reader=bioio_ome_zarr.Reader)
            ref_sizes = ref.physical_pixel_sizes
        except Exception:  # noqa: BLE001 - bioio cannot read it (bioformats2raw root): the JSON decides
            ref_sizes = None
    if ref_sizes is None:
        # bioio-ome-zarr gives up on this file (an "identity" transform first, or a
        # bioformats2raw root): the JSON's own scale of each spatial axis is the truth.
        ome = attrs.get("ome", attrs)
        ms = ome["multiscales"][0]
        names = [a["name"] if isinstance(a, dict) else a for a in ms["axes"]]
        scale = np.ones(len(names))
        for t in [
            *(ms["datasets"][0].get("coordinateTransformations") or []),
            *(ms.get("coordinateTransformations") or []),
        ]:
            if t.get("type") == "scale":
                scale = scale * np.asarray(t["scale"], dtype=float)
        ref_sizes = tuple(float(scale[names.index(d)]) if d in names else None for d in "zyx")
    dims = r.dims
    for d, ours, theirs in zip("ZYX", r.physical_pixel_sizes, ref_sizes, strict=True):
        if getattr(dims, d) > 1 or theirs is not None:
            assert ours == theirs, d


def _write_v01_like(path: Path, with_transforms: bool) -> Path:
    """An old bioformats2raw layout: series ``0`` with multiscales but no coordinateTransformations."""
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    root.attrs["bioformats2raw.layout"] = 3
    series = root.create_group("0")
    datasets = [{"path": "0"}, {"path": "1"}]
    if with_transforms:
        for k, d in enumerate(datasets):
            d["coordinateTransformations"] = [
                {"type": "scale", "scale": [1.0, 1.0, 0.3, 0.2 * 2**k, 0.2 * 2**k]}
            ]
    series.attrs["multiscales"] = [
        {
            "version": "0.4" if with_transforms else "0.2",
            "datasets": datasets,
            **(
                {
                    "axes": [
                        {"name": n, "type": t, **({"unit": "micrometer"} if t == "space" else {})}
                        for n, t in zip("tczyx", ["time", "channel", "space", "space", "space"], strict=True)
                    ]
                }
                if with_transforms
                else {}
            ),
        }
    ]
    data = (np.arange(2 * 16 * 12) % 255).astype("uint8").reshape(1, 1, 2, 16, 12)
    series.create_array("0", data=data, chunks=(1, 1, 1, 16, 12))
    series.create_array("1", data=data[..., ::2, ::2], chunks=(1, 1, 1, 8, 6))
    return path


def test_old_bioformats2raw_without_transforms_has_no_pixel_sizes(tmp_path: Path) -> None:
    path = _write_v01_like(tmp_path / "old.zarr", with_transforms=False)
    with Reader(path) as r:
        assert r.reader_name == "ome-zarr"
        assert tuple(r.physical_pixel_sizes) == (None, None, None)
        assert not {"Z", "Y", "X"} & set(r.coords)
        np.testing.assert_array_equal(r.data, zarr.open_array(str(path / "0" / "0"), mode="r")[...])
        r.set_resolution_level(1)
        assert tuple(r.physical_pixel_sizes) == (None, None, None)
    path = _write_v01_like(tmp_path / "new.zarr", with_transforms=True)
    with Reader(path) as r:
        assert tuple(r.physical_pixel_sizes) == (0.3, 0.2, 0.2)
        assert r.physical_pixel_sizes.units.X == "µm"


def _level(image_group: Path, level: int = 0) -> np.ndarray:
    """What zarr reads at the image group's ``datasets[level].path`` (ome-zarr-py writes ``s0``, ``s1``)."""
    group = zarr.open_group(str(image_group), mode="r")
    path = group.attrs["multiscales"][0]["datasets"][level]["path"]
    return np.asarray(group[path][...])


# ------------------------------------------------------------------------- plates
ROWS, COLUMNS, WELLS, FIELDS = ["A", "B"], ["1", "2", "3"], ["A/1", "A/3", "B/2"], ["0", "1"]


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NGFF 0.4 plate written by ome-zarr-py: 3 wells x 2 fields, a label image on A/1/0."""
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image, write_labels, write_plate_metadata, write_well_metadata

    path = tmp_path_factory.mktemp("hcs") / "plate.ome.zarr"
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    write_plate_metadata(
        root,
        ROWS,
        COLUMNS,
        WELLS,
        field_count=2,
        fmt=FormatV04(),
        name="test plate",
        acquisitions=[{"id": 0, "name": "first run"}],
    )
    k = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ome-zarr-py: "no scale for axis c"
        for well in WELLS:
            row, column = well.split("/")
            wg = root.require_group(row).require_group(column)
            write_well_metadata(wg, [{"path": f, "acquisition": 0} for f in FIELDS], fmt=FormatV04())
            for field in FIELDS:
                g = wg.require_group(field)
                data = ((np.arange(2 * 16 * 20) + 1000 * k) % 65521).astype("uint16").reshape(2, 16, 20)
                k += 1
                write_image(
                    data,
                    g,
                    axes="cyx",
                    fmt=FormatV04(),
                    scale_factors=[2],
                    scale={"y": 0.5, "x": 0.5},
                    axes_units={"y": "micrometer", "x": "micrometer"},
                )
                if (well, field) == ("A/1", "0"):
                    write_labels(
                        (data[0] > 900).astype("uint8")[None], g, name="cells", axes="cyx", fmt=FormatV04()
                    )
    return path


def test_plate_opens_at_the_root_with_one_scene_per_field(plate: Path) -> None:
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader as OmeZarrPyReader

    nodes = list(OmeZarrPyReader(parse_url(str(plate)))())
    assert type(nodes[0].specs[0]).__name__ == "Plate"  # ome-zarr-py reads it as a plate
    meta = dict(zarr.open_group(str(plate), mode="r").attrs["plate"])
    # ome-zarr-py's plate: the wells' row / column names and the fields of each well.
    expected = [f"{w}/{f}" for w in WELLS for f in FIELDS]
    with Reader(plate) as r:
        assert r.reader_name == "ome-zarr"
        assert list(r.scenes) == expected
        for name in expected:
            r.set_scene(name)
            row, column, field = name.split("/")
            ref = _level(plate / row / column / field)
            np.testing.assert_array_equal(r.get_image_data("CYX"), ref)
            facts = r.field_metadata
            assert (facts["plate_row"], facts["plate_column"], facts["field"]) == (row, column, field)
            assert facts["well"]["images"] == [{"path": f, "acquisition": 0} for f in FIELDS]
            assert facts["acquisition"] == 0
            assert facts["plate_name"] == meta["name"] == "test plate"
            assert r.xarray_dask_data.attrs["plate_row"] == row
            assert tuple(r.physical_pixel_sizes)[1:] == (0.5, 0.5)
        r.set_scene("B/2/1")
        r.set_resolution_level(1)
        np.testing.assert_array_equal(r.get_image_data("CYX"), _level(plate / "B" / "2" / "1", 1))
        assert r.metadata["plate"]["name"] == "test plate"


def test_plate_labels_are_linked_arrays_of_their_field(plate: Path) -> None:
    ref = _level(plate / "A" / "1" / "0" / "labels" / "cells")
    with Reader(plate) as r:
        r.set_scene("A/1/0")
        assert r.label_names == ("cells",)
        labels = r.labels["cells"]
        assert labels.dims == ("T", "C", "Z", "Y", "X")
        np.testing.assert_array_equal(labels.values[0, :, 0], ref)
        # The label image's own scale (ome-zarr-py wrote none for it: 1.0).
        group = zarr.open_group(str(plate / "A" / "1" / "0" / "labels" / "cells"), mode="r")
        x_scale = group.attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"][0]["scale"][-1]
        np.testing.assert_array_equal(labels.coords["X"].values, np.arange(ref.shape[-1]) * x_scale)
        r.set_scene("A/1/1")
        assert r.label_names == ()
        assert r.labels == {}


def test_a_well_opens_with_one_scene_per_field(plate: Path) -> None:
    with Reader(plate / "A" / "3") as r:
        assert list(r.scenes) == FIELDS
        r.set_scene("1")
        np.testing.assert_array_equal(r.get_image_data("CYX"), _level(plate / "A" / "3" / "1"))


def test_plate_with_a_well_path_outside_the_root_is_refused(tmp_path: Path) -> None:
    from scitiff_readers.errors import CorruptFileError

    root = zarr.open_group(str(tmp_path / "bad.zarr"), mode="w", zarr_format=2)
    root.attrs["plate"] = {
        "version": "0.4",
        "rows": [{"name": "A"}],
        "columns": [{"name": "1"}],
        "wells": [{"path": "../../etc", "rowIndex": 0, "columnIndex": 0}],
    }
    with pytest.raises(CorruptFileError, match="plate well path"):
        Reader(tmp_path / "bad.zarr")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_scale_time_interval_and_dimension_properties_as_bioio_ome_zarr(tmp_path: Path, version: str) -> None:
    bioio = pytest.importorskip("bioio")
    bioio_ome_zarr = pytest.importorskip("bioio_ome_zarr")
    from bioio_base.types import ureg
    from scitiff_readers_zarr.omezarr import write_ngff

    path = tmp_path / f"image-{version}.ome.zarr"
    write_ngff(
        path, (np.arange(2 * 3 * 4 * 16 * 16) % 4093).astype("uint16").reshape(2, 3, 4, 16, 16), version
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bioio.BioImage(path, reader=bioio_ome_zarr.Reader)
        theirs_scale, theirs_interval, theirs_props = ref.scale, ref.time_interval, ref.dimension_properties
    with Reader(path) as r:
        # bioio-ome-zarr gives the T step as a number in the axis unit (seconds here) and the
        # c axis's scale; here T is a timedelta / seconds and C has no scale.
        assert r.time_interval.total_seconds() == theirs_interval
        assert (r.scale.T, r.scale.Z, r.scale.Y, r.scale.X) == (
            theirs_scale.T,
            theirs_scale.Z,
            theirs_scale.Y,
            theirs_scale.X,
        )
        assert r.scale.C is None
        assert theirs_scale.C == 1.0
        ours = r.dimension_properties
        for d in "TZYX":
            mine, peer = getattr(ours, d), getattr(theirs_props, d)
            assert mine.type == peer.type, d
            assert ureg.Unit(mine.unit) == peer.unit, d  # our unit strings parse to bioio's pint units
        assert ours.C == ("channel", None)
