"""Every error has the domain base and its builtin parent, and is importable from the package."""

from __future__ import annotations

import pytest

import scitiff_readers
from scitiff_readers import errors


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("UnsupportedFormatError", ValueError),
        ("CorruptFileError", ValueError),
        ("MetadataError", ValueError),
        ("SceneIndexError", IndexError),
        ("ResolutionLevelError", IndexError),
        ("DimensionSelectionError", IndexError),
        ("ReaderNotFoundError", LookupError),
        ("WriterNotFoundError", LookupError),
        ("MissingDependencyError", ImportError),
        ("OutputExistsError", FileExistsError),
    ],
)
def test_error_has_domain_base_and_builtin(name: str, builtin: type) -> None:
    cls = getattr(scitiff_readers, name)
    assert cls is getattr(errors, name)
    assert issubclass(cls, scitiff_readers.ScitiffReadersError)
    assert issubclass(cls, builtin)
    with pytest.raises(builtin):
        raise cls("x")


def test_plugin_load_warning_is_a_runtime_warning() -> None:
    assert issubclass(scitiff_readers.PluginLoadWarning, RuntimeWarning)
    assert issubclass(scitiff_readers.PluginLoadWarning, scitiff_readers.ScitiffReadersWarning)


def test_public_names_exist() -> None:
    for name in scitiff_readers.__all__:
        assert hasattr(scitiff_readers, name), name
