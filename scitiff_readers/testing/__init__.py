"""Test helpers for reader plugins (requires the ``testing`` extra: pytest, psutil, distributed)."""

from __future__ import annotations

from .caches import let_files_age, short_cache_window
from .cases import Expected, SampleCase
from .conformance import ReaderConformance, common_foreign_paths
from .handles import open_handles_under

__all__ = [
    "Expected",
    "ReaderConformance",
    "SampleCase",
    "common_foreign_paths",
    "let_files_age",
    "open_handles_under",
    "short_cache_window",
]
