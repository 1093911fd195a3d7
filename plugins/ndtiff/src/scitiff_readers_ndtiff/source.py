"""The pixel source: images read by offset, straight from the index.

One scene at one level is a table ``planes[t, c, z, tile_row, tile_column]`` of
image numbers (``-1`` = not acquired, read as zeros) plus a :class:`Mosaic` that
says how tiles are laid out. Without stitching the mosaic is one tile, the whole
image. Every read copies from zero-copy memory-map views of the TIFF files into
the caller's array: one copy, no temporaries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from scitiff_readers.backend import PixelSource, Region, SharedFile

from .mosaic import Mosaic, spans

if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = ["NDTiffSource"]


class NDTiffSource(PixelSource):
    """Images of one scene / level of an NDTiff dataset.

    Parameters
    ----------
    files
        The TIFF files the images live in.
    file_id, pixel_offset, pixel_type
        Per image: which file, where its pixels start, its index pixel type.
    planes
        ``(T, C, Z, tile_rows, tile_columns)`` image numbers, ``-1`` when missing.
    image_shape
        ``(height, width)`` of every stored image.
    mosaic
        Tile layout of the output planes.
    rgb, byteorder
        Interleaved 8-bit RGB images; byte order of 16-bit pixels (``"<"``, ``">"``).
    token
        Stable name of these pixels for dask graphs.
    """

    def __init__(
        self,
        files: Sequence[SharedFile],
        file_id: np.ndarray,
        pixel_offset: np.ndarray,
        pixel_type: np.ndarray,
        planes: np.ndarray,
        image_shape: tuple[int, int],
        mosaic: Mosaic,
        rgb: bool,
        byteorder: str,
        token: str,
    ) -> None:
        self.files = tuple(files)
        self.file_id = np.asarray(file_id, dtype=np.int32)
        self.pixel_offset = np.asarray(pixel_offset, dtype=np.int64)
        self.pixel_type = np.asarray(pixel_type, dtype=np.int8)
        self.planes = np.asarray(planes, dtype=np.int32)
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.mosaic = mosaic
        self.rgb = bool(rgb)
        self.byteorder = byteorder
        eight_bit = bool(np.all((self.pixel_type == 0) | (self.pixel_type == 2)))
        self.dtype = np.dtype(np.uint8 if eight_bit else np.uint16)
        t, c, z = self.planes.shape[:3]
        shape: tuple[int, ...] = (t, c, z, mosaic.height, mosaic.width)
        chunks: tuple[int, ...] = (
            1,
            1,
            1,
            min(mosaic.cell_h, mosaic.height),
            min(mosaic.cell_w, mosaic.width),
        )
        if self.rgb:
            shape += (3,)
            chunks += (3,)
        self.shape = shape
        self.storage_chunks = chunks
        self.__dict__["_token"] = token

    def _image(self, number: int) -> np.ndarray:
        """Zero-copy view of stored image ``number`` in its file."""
        ptype = int(self.pixel_type[number])
        h, w = self.image_shape
        shape: tuple[int, ...]
        if ptype == 2:
            dtype, shape = np.dtype(np.uint8), (h, w, 3)
        elif ptype == 0:
            dtype, shape = np.dtype(np.uint8), (h, w)
        else:
            dtype, shape = np.dtype(self.byteorder + "u2"), (h, w)
        return self.files[int(self.file_id[number])].array(int(self.pixel_offset[number]), dtype, shape)

    def read_into(self, out: np.ndarray, region: Region) -> None:
        """Copy the pixels of ``region`` from the memory-mapped files into ``out``."""
        rt, rc, rz, ys, xs = region[:5]
        extra: tuple[slice, ...] = tuple(region[5:])
        m = self.mosaic
        n_rows, n_cols = self.planes.shape[3:5]
        row_spans = spans(ys.start, ys.stop, m.offset_y, m.cell_h, m.crop_y, n_rows)
        col_spans = spans(xs.start, xs.stop, m.offset_x, m.cell_w, m.crop_x, n_cols)
        full_s = not extra or (extra[0].start == 0 and extra[0].stop == 3)
        for i, t in enumerate(range(rt.start, rt.stop)):
            for j, c in enumerate(range(rc.start, rc.stop)):
                for k, z in enumerate(range(rz.start, rz.stop)):
                    dst = out[i, j, k]
                    cells = self.planes[t, c, z]
                    for tr, iy, oy, ny in row_spans:
                        for tc, ix, ox, nx in col_spans:
                            block = dst[oy : oy + ny, ox : ox + nx]
                            number = int(cells[tr, tc]) if tr >= 0 and tc >= 0 else -1
                            if number < 0:
                                block[...] = 0
                            elif (
                                ix == 0
                                and nx == self.image_shape[1]
                                and full_s
                                and self._direct(number, block)
                            ):
                                # Whole rows, same dtype: one preadv straight into the
                                # output, no memory-map faults, no temporary.
                                row_bytes = block.nbytes // max(ny, 1)
                                self.files[self.file_id[number]].readinto(
                                    int(self.pixel_offset[number]) + iy * row_bytes, block
                                )
                            else:
                                image = self._image(number)[iy : iy + ny, ix : ix + nx]
                                block[...] = image[..., extra[0]] if extra else image

    def _direct(self, number: int, block: np.ndarray) -> bool:
        """Whether image ``number`` can be read byte for byte into ``block``."""
        if not block.flags.c_contiguous:
            return False
        ptype = int(self.pixel_type[number])
        if ptype in (0, 2):
            return block.dtype == np.uint8
        return block.dtype == np.uint16 and (
            self.byteorder == "=" or np.dtype(self.byteorder + "u2").isnative
        )

    def close(self) -> None:
        """Close the files (they re-open on the next read)."""
        for f in self.files:
            f.close()

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)
