"""What bioio needs to know before it imports the reader: the suffixes it may try it on."""

from __future__ import annotations

import bioio_base.reader
import bioio_base.reader_metadata

__all__ = ["ReaderMetadata"]


class ReaderMetadata(bioio_base.reader_metadata.ReaderMetadata):
    """Suffixes of every installed scitiff_readers backend (plus ``.vsr`` and NDTiff folders)."""

    @staticmethod
    def get_supported_extensions() -> list[str]:
        """The suffixes the installed readers declare; the reader still sniffs content."""
        from scitiff_readers import list_readers

        suffixes = {s for info in list_readers().values() for s in info.cls.suffixes if s}
        return sorted(suffixes)

    @staticmethod
    def supports_directory_images() -> bool:
        """NDTiff datasets, VISoR ``.vsr`` and OME-Zarr stores are folders."""
        return True

    @staticmethod
    def get_reader() -> type[bioio_base.reader.Reader]:  # type: ignore[override]
        """The bioio Reader class."""
        from .reader import Reader

        return Reader
