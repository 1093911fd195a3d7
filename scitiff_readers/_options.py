"""Typed reader options: one frozen dataclass per backend, checked when the reader is made.

``Reader(path, **options)`` stays the user call. The core turns the keywords into the
backend's option object (:attr:`Reader.Options <scitiff_readers.backend.Reader.Options>`,
a subclass of :class:`ReaderOptions`) before the file is opened: an unknown keyword or a
bad value raises :class:`~scitiff_readers.errors.OptionError` naming the reader, the
option and what it takes, and the backend reads ``self._opts.stitch`` (typed, with
its documented default) instead of looking strings up in a dict.

A backend declares::

    @dataclass(frozen=True)
    class NDTiffOptions(ReaderOptions):
        stitch: bool = False

        def __post_init__(self) -> None:
            super().__post_init__()
            self.expect("stitch", isinstance(self.stitch, bool), "True or False")


    class NDTiffReader(Reader):
        Options = NDTiffOptions
        _opts: NDTiffOptions
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from numbers import Integral
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import numpy as np

from ._pyramid import METHODS
from .errors import OptionError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "ArrayLayoutOptions",
    "OptionSet",
    "PyramidOptions",
    "ReaderOptions",
    "WriterOptions",
    "options_class",
]


@dataclass(frozen=True)
class OptionSet:
    """A frozen set of typed options with checks: the base of :class:`ReaderOptions` and :class:`WriterOptions`."""

    def __post_init__(self) -> None:
        """Check the values (subclasses call ``super().__post_init__()`` first)."""

    def expect(self, name: str, ok: bool, what: str) -> None:
        """Raise :class:`~scitiff_readers.errors.OptionError` for option ``name`` unless ``ok``.

        Parameters
        ----------
        name
            The option's name.
        ok
            Whether its value is acceptable.
        what
            What the option takes, for the message (``"True or False"``).
        """
        if not ok:
            raise OptionError(f"option {name}={getattr(self, name)!r} is not valid; {name} takes {what}")

    def expect_flag(self, name: str, optional: bool = False) -> None:
        """Raise :class:`~scitiff_readers.errors.OptionError` unless option ``name`` is True or False.

        ``optional``: ``None`` is accepted too (meaning "not given").
        """
        value = getattr(self, name)
        ok = isinstance(value, (bool, np.bool_)) or (optional and value is None)
        self.expect(name, ok, "None, True or False" if optional else "True or False")

    def expect_count(self, name: str, least: int, optional: bool = False) -> None:
        """Raise :class:`~scitiff_readers.errors.OptionError` unless option ``name`` is an integer >= ``least``.

        ``optional``: ``None`` is accepted too.
        """
        value = getattr(self, name)
        ok = (optional and value is None) or (
            isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)) and int(value) >= least
        )
        self.expect(name, ok, f"an integer >= {least}" + (" or None" if optional else ""))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, common ones first."""
        # Asked at every open; a dataclass's fields never change once it is made.
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
        return names

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each option's default value."""
        return {f.name: f.default for f in dataclasses.fields(cls)}

    @classmethod
    def from_keywords(cls, owner: str, keywords: Mapping[str, Any]) -> Self:
        """The option object of ``Reader(path, **keywords)`` or ``write(..., **keywords)``.

        An unknown name or a bad value raises :class:`OptionError`, its message
        starting with ``owner`` (the reader, or the target and the writer).
        """
        names = cls.names()
        unknown = sorted(set(keywords) - set(names)) if keywords else None
        if unknown:
            raise OptionError(
                f"{owner} got unknown option(s) {', '.join(map(repr, unknown))}; "
                f"valid options: {', '.join(sorted(names)) or '(none)'}"
            )
        try:
            return cls(**keywords)
        except OptionError as exc:
            raise OptionError(f"{owner}: {exc}") from None

    def as_dict(self) -> dict[str, Any]:
        """The options as a ``{name: value}`` dict (defaults filled in)."""
        return {name: getattr(self, name) for name in self.names()}


_Options = TypeVar("_Options", bound=OptionSet)

#: The field names of each option class (see :meth:`OptionSet.names`).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True)
class ReaderOptions(OptionSet):
    """The options every reader takes; backends subclass it with their own fields.

    Attributes
    ----------
    chunk_bytes
        Target size of one dask chunk: a byte count or a string such as ``"64 MiB"``
        (default 32 MiB).
    keep_handles
        Keep files open between calls (fast, the default); ``False``: no file handle
        stays open after any API call (bioio's guarantee).
    """

    chunk_bytes: int | str | None = None
    keep_handles: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "chunk_bytes",
            self.chunk_bytes is None
            or (
                isinstance(self.chunk_bytes, (Integral, str))
                and not isinstance(self.chunk_bytes, (bool, np.bool_))
            ),
            "a byte count or a string such as '64 MiB'",
        )
        self.expect_flag("keep_handles")


@dataclass(frozen=True)
class ArrayLayoutOptions(ReaderOptions):
    """Options of readers of unlabelled arrays: which axis is which, and the channel names.

    Attributes
    ----------
    dim_order
        The array's axes as letters of ``TCZYXS``, one per axis (default: guessed, see
        :func:`~scitiff_readers.backend.parse_dim_order`).
    channel_names
        Names for the ``C`` dim.
    """

    dim_order: str | None = None
    channel_names: Sequence[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "dim_order",
            self.dim_order is None or isinstance(self.dim_order, str),
            "letters of TCZYXS, one per axis",
        )
        names = self.channel_names
        self.expect(
            "channel_names",
            names is None or (not isinstance(names, str) and all(isinstance(n, str) for n in names)),
            "a list of strings",
        )


def options_class(owner: str, defaults: Mapping[str, Any]) -> type[ReaderOptions]:
    """A reader option class made from a plain ``{name: default}`` mapping (plugins written before typed options).

    The values are not checked beyond their names; declare a :class:`ReaderOptions`
    subclass to check them.
    """
    return derived_options_class(owner, defaults, ReaderOptions)


def derived_options_class(owner: str, defaults: Mapping[str, Any], base: type[_Options]) -> type[_Options]:
    """A subclass of ``base`` (unchecked ``Any`` fields) made from a ``{name: default}`` mapping."""
    fields = [(name, Any, dataclasses.field(default=value)) for name, value in defaults.items()]
    made = dataclasses.make_dataclass(f"{owner}Options", fields, bases=(base,), frozen=True)
    return cast("type[_Options]", made)


@dataclass(frozen=True)
class WriterOptions(OptionSet):
    """The base of a writer's typed options (no common fields: each format has its own).

    ``write(data, path, **options)`` builds the writer's :attr:`Writer.Options
    <scitiff_readers.backend.Writer.Options>` from the keywords, checked, before any
    output is made; the writer receives it as ``opts``.
    """


@dataclass(frozen=True)
class PyramidOptions(WriterOptions):
    """Options of writers that make resolution pyramids (reduced with :class:`~scitiff_readers.backend.Pyramid`).

    Attributes
    ----------
    levels
        Number of reduced-resolution levels to add (default 0: none).
    downsample
        The factor between consecutive levels along ``Y`` and ``X`` (integer >= 2, default 2).
    downsample_method
        ``"mean"`` (default) or ``"nearest"`` (for labels and masks).
    """

    levels: int = 0
    downsample: int = 2
    downsample_method: str = "mean"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect_count("levels", 0)
        self.expect_count("downsample", 2)
        self.expect("downsample_method", self.downsample_method in METHODS, " or ".join(map(repr, METHODS)))
