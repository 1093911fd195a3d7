"""Sphinx configuration for scitiff_readers."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "scitiff_readers"
author = "scitiff_readers developers"
copyright = "2026, scitiff_readers developers"  # noqa: A001

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "myst_parser",
    "sample_figures",  # docs/_ext: pictures drawn from the real sample files at every build
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing"]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
# Writers document their keyword options in an "Options" section, rendered like Parameters.
napoleon_custom_sections = [("Options", "params_style")]
nitpicky = False

# furo: a fluid layout; code blocks scroll sideways instead of being cut.
html_theme = "furo"
html_title = "scitiff_readers"
html_static_path = ["_static"]
html_css_files = ["wide.css"]

# -- intersphinx, also offline -----------------------------------------------------
# CI builds without network (package registries only). Each mapping tries the project's
# published inventory first and falls back to a small local one, written here, that
# lists the objects our signatures name, with their real addresses. A build with
# network links to everything; a build without still links the common types.
_OFFLINE = {
    "numpy": (
        "https://numpy.org/doc/stable/",
        [
            ("numpy.ndarray", "py:class", "reference/generated/numpy.ndarray.html#$"),
            ("numpy.dtype", "py:class", "reference/generated/numpy.dtype.html#$"),
            ("numpy.memmap", "py:class", "reference/generated/numpy.memmap.html#$"),
        ],
    ),
    "xarray": (
        "https://docs.xarray.dev/en/stable/",
        [
            ("xarray.DataArray", "py:class", "generated/xarray.DataArray.html#$"),
            ("xarray.Dataset", "py:class", "generated/xarray.Dataset.html#$"),
        ],
    ),
    "dask": (
        "https://docs.dask.org/en/stable/",
        [
            ("dask.array.Array", "py:class", "generated/dask.array.Array.html#$"),
            ("distributed.Client", "py:class", "https://distributed.dask.org/en/stable/api.html#$"),
        ],
    ),
}


def _offline_inventory(name: str, entries: list[tuple[str, str, str]]) -> str:
    folder = DOCS / "_build" / "offline-inventories"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.inv"
    header = (
        f"# Sphinx inventory version 2\n# Project: {name}\n# Version: stable\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(f"{obj} {role} 1 {uri} -\n" for obj, role, uri in entries)
    path.write_bytes(header.encode() + zlib.compress(body.encode()))
    return str(path)


intersphinx_mapping = {
    name: (url, (None, _offline_inventory(name, entries))) for name, (url, entries) in _OFFLINE.items()
}
intersphinx_timeout = 5
