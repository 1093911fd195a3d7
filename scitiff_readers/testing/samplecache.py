"""Samples written once per test session and shared by every test that reads them.

A conformance class runs about twenty tests on each sample; writing the sample
again for each of them costs more than most of the tests. The suite's
``sample_cache`` fixture hands the backend's ``case`` fixture one
:class:`SampleCache` per pytest session: the first test of a sample builds it in
its own temporary folder, later tests get the same :class:`SampleCase`. Tests
must not modify a cached sample's files (tests that do write their own).
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from .cases import SampleCase

__all__ = ["SampleCache"]

#: Where a session's cache lives: on the pytest config, so it ends with the session.
CACHE_KEY = pytest.StashKey["SampleCache"]()


class SampleCache:
    """Built samples by key, each in a folder of its own under pytest's session temp folder.

    Parameters
    ----------
    factory
        The session's ``tmp_path_factory``.
    """

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._cases: dict[str, SampleCase] = {}
        self._lock = threading.Lock()

    def get(self, key: str, build: Callable[[Path], SampleCase]) -> SampleCase:
        """Return the sample ``key``, calling ``build(folder)`` the first time only."""
        with self._lock:
            case = self._cases.get(key)
            if case is None:
                folder = self._factory.mktemp(re.sub(r"[^A-Za-z0-9_.-]+", "-", key)[-60:] or "sample")
                case = self._cases[key] = build(folder)
            return case

    @classmethod
    def of_session(cls, config: pytest.Config, factory: pytest.TempPathFactory) -> SampleCache:
        """The cache of the running pytest session, created on first use."""
        cache = config.stash.get(CACHE_KEY, None)
        if cache is None:
            cache = config.stash[CACHE_KEY] = cls(factory)
        return cache
