"""The ``intensities / stdevs / mask`` channel convention of SciTiff.

``scitiff.save_scitiff`` stores the standard deviations and a full-size mask of an
image as extra channels along ``c``, labelled by a string ``c`` coordinate.
:func:`channel_roles` decides, exactly as ``scitiff.resolve_scitiff_channels``
does, whether a file uses the convention; :class:`ChannelSubsetSource` gives the
pixels of some channels only, so the resolved view reads nothing but the
intensities.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from scitiff_readers.backend import PixelSource, Region

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

__all__ = ["CHANNEL_ROLES", "ChannelSubsetSource", "channel_roles"]

#: The channel labels of the convention, in the order save_scitiff writes them.
CHANNEL_ROLES = ("intensities", "stdevs", "mask")


def channel_roles(c_values: Sequence[Any] | None, c_size: int) -> dict[str, int] | None:
    """``{"intensities": 0, "stdevs": 1, ...}`` if the ``c`` labels follow the convention, else None.

    As in scitiff: only a 1-D ``c`` coordinate of more than one channel whose
    labels all belong to the convention and include ``intensities``.
    """
    if c_values is None or c_size <= 1 or len(c_values) != c_size:
        return None
    labels = [str(v) for v in c_values]
    if any(v not in CHANNEL_ROLES for v in labels) or "intensities" not in labels:
        return None
    # Like scipp's label-based slicing, the first match of each label wins.
    roles: dict[str, int] = {}
    for index, label in enumerate(labels):
        roles.setdefault(label, index)
    return roles


class ChannelSubsetSource(PixelSource):
    """The channels ``channels`` (indices into ``base``'s C) of another TCZYX source."""

    def __init__(self, base: PixelSource, channels: Sequence[int]) -> None:
        self.base = base
        self.channels = tuple(int(c) for c in channels)
        shape = list(base.shape)
        shape[1] = len(self.channels)
        self.shape = tuple(shape)
        self.dtype = base.dtype
        chunks = list(base.storage_chunks)
        chunks[1] = 1
        self.storage_chunks = tuple(chunks)

    @property
    def token(self) -> str:
        """The base source's token and the channel indices."""
        return f"{self.base.token}-channels{'-'.join(map(str, self.channels))}"

    def _base_slice(self, channels: slice) -> slice | None:
        """The base channels of ``channels`` as one slice if they are consecutive."""
        picked = self.channels[channels.start : channels.stop]
        if picked and all(b - a == 1 for a, b in itertools.pairwise(picked)):
            return slice(picked[0], picked[-1] + 1)
        return None

    def read(self, region: Region) -> np.ndarray:
        """Pixels of ``region`` (C indexes the selected channels); zero-copy when the base allows."""
        base = self._base_slice(region[1])
        if base is not None:
            return self.base.read((region[0], base, *region[2:]))
        return super().read(region)

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Read the selected channels straight into ``out``."""
        base = self._base_slice(region[1])
        if base is not None:
            self.base.read_into(out, (region[0], base, *region[2:]))
            return
        for k, index in enumerate(range(region[1].start, region[1].stop)):
            channel = self.channels[index]
            self.base.read_into(out[:, k : k + 1], (region[0], slice(channel, channel + 1), *region[2:]))

    def close(self) -> None:
        """Close the base source."""
        self.base.close()
