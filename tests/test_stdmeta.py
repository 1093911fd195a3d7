"""bioio's summary types (StandardMetadata, Scale, DimensionProperties) against bioio-base."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest
import xarray as xr

from scitiff_readers import Reader
from scitiff_readers.stdmeta import DimensionProperties, DimensionProperty, Scale, StandardMetadata

bioio = pytest.importorskip("bioio")
bioio_types = pytest.importorskip("bioio_base.types")
bioio_standard = pytest.importorskip("bioio_base.standard_metadata")


def test_types_have_bioios_fields_in_order() -> None:
    assert [f.name for f in dataclasses.fields(StandardMetadata)] == [
        f.name for f in dataclasses.fields(bioio_standard.StandardMetadata)
    ]
    assert StandardMetadata.FIELD_LABELS == bioio_standard.StandardMetadata.FIELD_LABELS
    assert StandardMetadata().to_dict() == bioio_standard.StandardMetadata().to_dict()
    assert Scale._fields == bioio_types.Scale._fields
    assert DimensionProperties._fields == bioio_types.DimensionProperties._fields
    assert DimensionProperty._fields == bioio_types.DimensionProperty._fields


def test_array_standard_metadata_equals_bioios() -> None:
    data = (np.arange(3 * 2 * 4 * 5) % 7).astype("uint8").reshape(3, 2, 4, 5)
    r = Reader(data, dim_order="TCYX", physical_pixel_sizes=(None, 0.5, 0.25))
    ref = bioio.BioImage(data, dim_order="TCYX", physical_pixel_sizes=[None, 0.5, 0.25])
    ours, theirs = dataclasses.asdict(r.standard_metadata), dataclasses.asdict(ref.standard_metadata)
    # bioio reports its array reader's own dims here ("TCYX") though BioImage.dims is TCZYX;
    # ours are the dims the reader shows.
    assert ours.pop("dimensions_present") == r.dims.order == ref.dims.order
    assert theirs.pop("dimensions_present") == "TCYX"
    assert ours == theirs
    assert tuple(r.scale) == tuple(ref.scale)


def test_time_from_a_uniform_t_coordinate_with_a_unit() -> None:
    arr = xr.DataArray(
        np.zeros((4, 3, 5), "uint8"),
        dims=("T", "Y", "X"),
        coords={"T": ("T", [0.0, 250.0, 500.0, 750.0], {"units": "ms"})},
    )
    r = Reader(arr)
    assert r.time_interval == timedelta(milliseconds=250)
    assert r.scale.T == 0.25
    assert r.dimension_properties.T == ("time", "ms")
    meta = r.standard_metadata
    assert meta.timelapse is True
    assert meta.timelapse_interval == timedelta(milliseconds=250)
    assert meta.total_time_duration == timedelta(milliseconds=750)
    uneven = Reader(arr.assign_coords(T=("T", [0.0, 1.0, 3.0, 6.0], {"units": "s"})))
    assert uneven.time_interval is None
    assert uneven.scale.T is None
    assert uneven.standard_metadata.timelapse_interval == timedelta(seconds=2)  # the average, as bioio
    no_unit = Reader(arr.assign_coords(T=("T", [0.0, 1.0, 2.0, 3.0])))
    assert no_unit.time_interval is None
    assert no_unit.dimension_properties.T == (None, None)
