"""The options of the zarr-backed readers (OME-Zarr, VISoR), as typed option objects."""

from __future__ import annotations

from dataclasses import dataclass

from scitiff_readers.backend import ReaderOptions

__all__ = ["PIPELINE_CHOICES", "ZarrOptions"]

#: Values of the ``codec_pipeline`` option (any case); see :func:`~scitiff_readers_zarr.source.resolve_pipeline`.
PIPELINE_CHOICES = ("auto", "zarrs", "zarr", "default", "python")


@dataclass(frozen=True)
class ZarrOptions(ReaderOptions):
    """Options of every zarr-backed reader.

    Attributes
    ----------
    codec_pipeline
        ``"auto"`` (default: the zarrs codec pipeline for zarr-python where it pays,
        when installed), ``"zarrs"`` or ``"zarr"``; see :func:`~scitiff_readers_zarr.source.resolve_pipeline`.
    """

    codec_pipeline: str | None = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.expect(
            "codec_pipeline",
            self.codec_pipeline is None
            or (isinstance(self.codec_pipeline, str) and self.codec_pipeline.lower() in PIPELINE_CHOICES),
            "'auto', 'zarrs' or 'zarr'",
        )
