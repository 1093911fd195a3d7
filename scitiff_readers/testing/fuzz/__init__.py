"""Fuzzing of every reader with hostile files: seeds, mutators and a forking runner.

* :mod:`.seeds` writes small valid datasets of each format with the reference
  writers, plus an ``outside`` folder of decoys that no read may touch.
* :mod:`.mutators` damages a copy of a seed: blind mutations (truncation, bit
  flips, extreme integers) and format-aware ones (TIFF IFD entries and chains,
  OME-XML, JSON metadata, zarr chunks, NDTiff index entries, symbolic links and
  crafted file names pointing out of the dataset).
* :mod:`.runner` opens and reads each case in a forked child with a timeout and
  an address-space limit, and classifies the outcome (see :data:`.runner.OUTCOMES`).

Run a campaign with ``python -m scitiff_readers.testing.fuzz --help`` (or
``nox -s fuzz``).
"""

from __future__ import annotations

from .runner import OUTCOMES, CaseResult, run_campaign, summarize

__all__ = ["OUTCOMES", "CaseResult", "run_campaign", "summarize"]
