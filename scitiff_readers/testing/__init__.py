"""Test helpers for reader plugins (requires the ``testing`` extra: pytest, psutil, distributed)."""

from __future__ import annotations

from .cases import Expected, SampleCase
from .conformance import ReaderConformance, common_foreign_paths
from .handles import open_handles_under

__all__ = ["Expected", "ReaderConformance", "SampleCase", "common_foreign_paths", "open_handles_under"]
