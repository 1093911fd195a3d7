"""Laziness probes for tests: count pixel reads and dask graphs built, only while a test asks.

The read path of the library carries no instrumentation. :func:`count_reads`
installs counting wrappers around the pixel-reading methods (``read``,
``read_into``, ``read_plane``) of every :class:`~scitiff_readers.backend.PixelSource`
subclass, and around the lazy engine's graph builder, for the duration of a
``with`` block, and removes them afterwards::

    with count_reads() as counts:
        reader = Reader(path)
        reader.dims
    assert counts.pixel_reads == 0 and counts.graphs_built == 0

Source classes defined while the block runs (a backend module imported lazily on
open) are wrapped as they are created.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .. import _lazy as lazy
from .. import _reader as reader
from .._sources import PixelSource

__all__ = ["ReadCounts", "count_reads"]

_PIXEL_METHODS = ("read", "read_into", "read_plane")


@dataclass
class ReadCounts:
    """What happened inside one :func:`count_reads` block (so far)."""

    #: Calls of a source's pixel-reading method (nested calls count each level).
    pixel_reads: int = 0
    #: Dask arrays built from sources by the lazy engine.
    graphs_built: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def _add_read(self) -> None:
        with self._lock:
            self.pixel_reads += 1


def _all_subclasses(cls: type) -> list[type]:
    found: list[type] = []
    todo: list[type] = [cls]
    while todo:
        subs: list[type] = todo.pop().__subclasses__()
        for sub in subs:
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


@contextmanager
def count_reads() -> Iterator[ReadCounts]:
    """Count pixel reads and dask graphs built by any source in this process while the block runs.

    Yields
    ------
    ReadCounts
        Updated live; read it inside or after the block.
    """
    counts = ReadCounts()
    restore: list[Callable[[], None]] = []

    def wrap_class(cls: type) -> None:
        for name in _PIXEL_METHODS:
            method = cls.__dict__.get(name)
            if method is None or getattr(method, "_sr_counting", False):
                continue

            def make(method: Callable[..., Any]) -> Callable[..., Any]:
                @functools.wraps(method)
                def counting(*args: Any, **kwargs: Any) -> Any:
                    counts._add_read()
                    return method(*args, **kwargs)

                counting._sr_counting = True  # type: ignore[attr-defined]
                return counting

            setattr(cls, name, make(method))
            restore.append(functools.partial(setattr, cls, name, method))

    lock = threading.Lock()
    for cls in [PixelSource, *_all_subclasses(PixelSource)]:
        wrap_class(cls)

    original_init_subclass = PixelSource.__dict__["__init_subclass__"]

    def init_subclass(cls: type[PixelSource], **kwargs: Any) -> None:
        original_init_subclass.__func__(cls, **kwargs)
        with lock:
            wrap_class(cls)

    PixelSource.__init_subclass__ = classmethod(init_subclass)  # type: ignore[assignment,method-assign]
    restore.append(functools.partial(setattr, PixelSource, "__init_subclass__", original_init_subclass))

    original_to_dask = lazy.to_dask

    @functools.wraps(original_to_dask)
    def counting_to_dask(*args: Any, **kwargs: Any) -> Any:
        with counts._lock:
            counts.graphs_built += 1
        return original_to_dask(*args, **kwargs)

    # The core and backends call the builder through the module attribute or a name
    # imported from it; both are patched.
    for module in (lazy, reader):
        if getattr(module, "to_dask", None) is original_to_dask:
            restore.append(functools.partial(setattr, module, "to_dask", original_to_dask))
            setattr(module, "to_dask", counting_to_dask)  # noqa: B010 - the name differs per module
    try:
        yield counts
    finally:
        for undo in reversed(restore):
            undo()
