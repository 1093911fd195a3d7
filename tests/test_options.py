"""Typed reader options: checked at construction, unknown or bad ones named in an OptionError."""

from __future__ import annotations

import dataclasses
import pickle
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest

from scitiff_readers import OptionError, Reader, ScitiffReadersError
from scitiff_readers._npy import NpyOptions, NpyReader
from scitiff_readers.backend import ReaderOptions

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


@pytest.fixture
def npy(tmp_path: Path) -> Path:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4))
    return path


def test_options_are_typed_and_defaulted(npy: Path) -> None:
    r = Reader(npy, dim_order="zyx", chunk_bytes="1 MiB")
    assert isinstance(r._opts, NpyOptions)
    assert (r._opts.dim_order, r._opts.units, r._opts.keep_handles) == ("zyx", "µm", True)
    assert r.dims.order == "TCZYX"
    assert r.dims.Z == 2
    assert dict(r.reader_options) == {
        "chunk_bytes": "1 MiB",
        "keep_handles": True,
        "dim_order": "zyx",
        "channel_names": None,
        "physical_pixel_sizes": None,
        "units": "µm",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(r._opts, "units", "nm")  # noqa: B010 - a frozen field, set the way any caller would
    assert NpyReader.options == {
        "dim_order": None,
        "channel_names": None,
        "physical_pixel_sizes": None,
        "units": "µm",
    }


def test_unknown_option_names_it_and_the_valid_ones(npy: Path) -> None:
    with pytest.raises(
        OptionError,
        match=r"NpyReader \('npy'\) got unknown option\(s\) 'colour'; valid "
        r"options: channel_names, chunk_bytes, dim_order, keep_handles",
    ):
        Reader(npy, colour="red")
    # Still the TypeError Python raises for an unexpected keyword, and a library error.
    with pytest.raises(TypeError):
        Reader(npy, colour="red")
    assert issubclass(OptionError, ScitiffReadersError)
    assert issubclass(OptionError, ValueError)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"keep_handles": "no"}, r"option keep_handles='no' is not valid; keep_handles takes True or False"),
        ({"chunk_bytes": 2.5}, r"option chunk_bytes=2.5 is not valid"),
        ({"dim_order": 3}, r"option dim_order=3 is not valid; dim_order takes letters of TCZYXS"),
        ({"channel_names": "abc"}, r"option channel_names='abc' is not valid; channel_names takes a list"),
        ({"physical_pixel_sizes": (1.0, 2.0)}, r"option physical_pixel_sizes=\(1.0, 2.0\) is not valid"),
    ],
)
def test_bad_values_are_refused_before_opening(npy: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError, match=r"NpyReader \('npy'\): " + message):
        Reader(npy, **options)


def test_numpy_scalars_are_accepted(npy: Path) -> None:
    r = Reader(npy, keep_handles=np.bool_(False), chunk_bytes=np.int64(2**20))
    assert r.get_image_data("ZYX").shape == (2, 3, 4)


class LegacyReader(NpyReader):
    """A plugin written before typed options: a plain mapping of defaults."""

    name: ClassVar[str] = "legacy-npy"
    options: ClassVar[Any] = MappingProxyType(
        {
            "flavour": "plain",
            "dim_order": None,
            "channel_names": None,
            "physical_pixel_sizes": None,
            "units": "µm",
        }
    )


def test_a_plain_options_mapping_still_works(npy: Path) -> None:
    assert issubclass(LegacyReader.Options, ReaderOptions)
    r = LegacyReader(npy, flavour="salty")
    assert getattr(r._opts, "flavour") == "salty"  # noqa: B009 - a field made from the mapping
    assert r.reader_options["flavour"] == "salty"
    with pytest.raises(OptionError, match="unknown option"):
        LegacyReader(npy, colour="red")


def test_options_survive_pickling(npy: Path) -> None:
    r = Reader(npy, dim_order="ZYX", physical_pixel_sizes=(None, 0.5, 0.25))
    back = pickle.loads(pickle.dumps(r))
    assert back._opts == r._opts
    assert back.physical_pixel_sizes == r.physical_pixel_sizes


@dataclasses.dataclass(frozen=True)
class _Checked(ReaderOptions):
    levels: Sequence[int] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect("levels", all(isinstance(v, int) and v >= 0 for v in self.levels), "level numbers >= 0")


def test_a_backend_option_class_checks_its_own_fields() -> None:
    assert _Checked.from_keywords("X", {"levels": [0, 2]}).levels == [0, 2]
    with pytest.raises(
        OptionError, match=r"^X: option levels=\[-1\] is not valid; levels takes level numbers"
    ):
        _Checked.from_keywords("X", {"levels": [-1]})
