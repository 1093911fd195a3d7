"""Exception and warning types of scitiff_readers.

Every error has the domain base :class:`ScitiffReadersError` *and* the builtin it
refines, so callers can catch either ``ScitiffReadersError`` or, say, ``ValueError``.
Messages name the file, what is wrong and what to do.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "CorruptFileWarning",
    "DimensionSelectionError",
    "FileObjectError",
    "ImageTooLargeError",
    "MetadataError",
    "MissingDependencyError",
    "OptionError",
    "OutputExistsError",
    "PluginLoadWarning",
    "ReaderNotFoundError",
    "RemoteAccessError",
    "ResolutionLevelError",
    "SceneIndexError",
    "ScitiffReadersError",
    "ScitiffReadersWarning",
    "UnsupportedFormatError",
    "UnsupportedWriteError",
    "WriterNotFoundError",
]


class ScitiffReadersError(Exception):
    """Base class of every error raised by scitiff_readers and its plugins."""


class UnsupportedFormatError(ScitiffReadersError, ValueError):
    """No installed reader (or not the requested one) can open the file."""


class CorruptFileError(ScitiffReadersError, ValueError):
    """The file is recognised but its structure is broken or unsafe to follow."""


class FileObjectError(ScitiffReadersError, ValueError):
    """A file object that cannot be read (not binary, not seekable), or used where it cannot be."""


class MetadataError(ScitiffReadersError, ValueError):
    """The file's metadata is invalid or inconsistent with its pixel data."""


class SceneIndexError(ScitiffReadersError, IndexError):
    """A scene index or name does not exist in the file."""


class ResolutionLevelError(ScitiffReadersError, IndexError):
    """A resolution level does not exist for the current scene."""


class DimensionSelectionError(ScitiffReadersError, IndexError):
    """A dimension name or index in a selection is invalid."""


class ReaderNotFoundError(ScitiffReadersError, LookupError):
    """A reader or writer name is not registered."""


class WriterNotFoundError(ScitiffReadersError, LookupError):
    """No registered writer handles the requested format or suffix."""


class UnsupportedWriteError(ScitiffReadersError, ValueError):
    """The chosen writer's format cannot hold what was asked (several scenes, pyramid levels, ...)."""


class MissingDependencyError(ScitiffReadersError, ImportError):
    """An optional dependency needed for this feature is not installed."""


class OptionError(ScitiffReadersError, TypeError, ValueError):
    """A reader or writer option is unknown or has a bad value; the message names the option and what it takes.

    Both a :class:`TypeError` (what Python raises for an unexpected keyword argument)
    and a :class:`ValueError` (a bad value), so either ``except`` catches it.
    """


class OutputExistsError(ScitiffReadersError, FileExistsError):
    """A write would replace an existing file and ``overwrite`` was not set."""


class RemoteAccessError(ScitiffReadersError, OSError):
    """Reading a remote file failed (network error, timeout, refused, server error)."""


class ScitiffReadersWarning(UserWarning):
    """Base class of warnings issued by scitiff_readers and its plugins."""


class PluginLoadWarning(ScitiffReadersWarning, RuntimeWarning):
    """A plugin could not be loaded or registers a duplicate name; it is skipped."""


class CorruptFileWarning(ScitiffReadersWarning):
    """The file is damaged or truncated; what could be read is returned, and the message says what is missing."""


class ImageTooLargeError(ScitiffReadersError, MemoryError):
    """A size declared by the file needs more memory than the process may use; refused before allocating."""
