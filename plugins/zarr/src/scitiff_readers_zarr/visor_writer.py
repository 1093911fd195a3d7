"""Write small VISoR samples of every schema version (demo, tests, benchmarks).

2025.x samples are written with visor-py (the reference writer; Zarr v3, sharded).
Older schema versions (Zarr v2) have no current writer: they are written with
zarr-python following the published schema descriptions
(visor-tech/visor-data-schema v2024.11.1 - v2024.11.3) and, for the original
2024.11.0 layout, the description in ``docs/formats/zarr.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

__all__ = [
    "pixels",
    "write_visor_2024_11_0",
    "write_visor_2024_11_1",
    "write_visor_2024_11_2",
    "write_visor_2024_11_3",
    "write_visor_2025",
]

GROUP_SCALE = [1.0, 1.0, 3.5, 1.03, 1.03]
_UM = {"type": "space", "unit": "micrometer"}


def pixels(shape: Sequence[int], seed: int) -> np.ndarray:
    """Deterministic, compressible but non-trivial uint16 test pixels (never 0)."""
    rng = np.random.default_rng(seed)
    return rng.integers(1, 4000, size=tuple(shape), dtype=np.uint16)


def _channel(index: int, wavelength: str, v_schema: str, **extra: Any) -> dict[str, Any]:
    ch: dict[str, Any] = {
        "index": index,
        "wavelength": wavelength,
        "slice_index": 1,
        "slide_index": 1,
        "hardware_id": "VISoR18",
        "power": 60.0,
        "filter": "480/40",
        "exposure": 4.0,
        "max_volts": 2.2,
        "volts_offset": 0.45,
        "s_route": 1,
        "velocity": 0.875,
        "move_y": 2.0,
        "12bit": 1,
        "image_size": "2048x788",
        "pixel_size": 1.03,
        "roi": [20.2647, 61.2581, 14.2395, 24.5047, 62.9141, 14.2390],
        "v_software": "2.8.7",
        "v_schema": v_schema,
        "created_time": "2024-11-25T00:00:00Z",
        "personnel": "XXX",
    }
    ch.update(extra)
    return ch


def _multiscale(name: str, axes: list[dict[str, Any]], levels: int, version: str | None) -> dict[str, Any]:
    ndim = len(axes)
    datasets = []
    for lvl in range(levels):
        scale = [1.0] * ndim
        scale[-1] = scale[-2] = float(2**lvl)
        datasets.append({"path": str(lvl), "coordinateTransformations": [{"type": "scale", "scale": scale}]})
    ms: dict[str, Any] = {
        "name": name,
        "axes": axes,
        "datasets": datasets,
        "coordinateTransformations": [
            {"type": "scale", "scale": GROUP_SCALE[-ndim:] if ndim < 5 else GROUP_SCALE}
        ],
    }
    if version is not None:
        ms["version"] = version
    return ms


def _levels(data: np.ndarray, levels: int) -> list[np.ndarray]:
    return [np.ascontiguousarray(data[..., :: 2**lvl, :: 2**lvl]) for lvl in range(levels)]


def write_visor_2025(
    sample: Path,
    shape: Sequence[int] = (2, 2, 8, 16, 12),
    chunks: Sequence[int] = (1, 1, 4, 8, 4),
    shards: Sequence[int] | None = None,
    levels: int = 2,
    seed: int = 0,
    extra_images: bool = True,
) -> Path:
    """A 2025.6 sample (Zarr v3, OME-Zarr 0.5, sharded) written with visor-py.

    Raw images ``slice_1_10x`` and ``slice_2_10x`` (``vs, ch, z, y, x``), plus a
    compressed image with axes still named ``s, c`` and a reconstructed image
    (``ch, z, y, x``) when ``extra_images``.
    """
    with _visor_py_without_global_zarrs():
        return _write_visor_2025(sample, shape, chunks, shards, levels, seed, extra_images)


@contextlib.contextmanager
def _visor_py_without_global_zarrs() -> Iterator[None]:
    """Stop visor-py from switching zarr's process-wide codec pipeline while we write."""
    old = os.environ.get("VISOR_PY_DISABLE_ZARRS")
    os.environ["VISOR_PY_DISABLE_ZARRS"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("VISOR_PY_DISABLE_ZARRS", None)
        else:
            os.environ["VISOR_PY_DISABLE_ZARRS"] = old


def _write_visor_2025(
    sample: Path,
    shape: Sequence[int],
    chunks: Sequence[int],
    shards: Sequence[int] | None,
    levels: int,
    seed: int,
    extra_images: bool,
) -> Path:
    import visor
    from zarr.codecs import BloscCodec

    shards = tuple(shards) if shards is not None else (1, 1, *shape[2:])
    visor.VSR(sample, create=True)
    (sample / "info.json").write_text(
        json.dumps(
            {"animal_id": sample.stem, "project_name": "VISOR", "species": "Mouse", "subproject_name": "DEMO"}
        )
    )
    raw = [("slice_1_10x", ["488", "561"]), ("slice_2_10x", ["405", "640"])]
    (sample / "visor_raw_images" / "selected.json").write_text(
        json.dumps([{"name": n, "channels": c} for n, c in raw])
    )
    compressor = BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
    five = [
        {"name": "vs", "type": "visor_stack"},
        {"name": "ch", "type": "channel"},
        {"name": "z", **_UM},
        {"name": "y", **_UM},
        {"name": "x", **_UM},
    ]
    images: list[tuple[str, str, list[str], list[dict[str, Any]], tuple[int, ...]]] = [
        ("raw", n, c, five, tuple(shape)) for n, c in raw
    ]
    if extra_images:
        images.append(
            (
                "compr",
                "xxx_slice_1_10x_20241201",
                ["405", "640"],
                [
                    {"name": "s", "type": "visor_stack"},
                    {"name": "c", "type": "channel"},
                    {"name": "z", **_UM},
                    {"name": "y", **_UM},
                    {"name": "x", **_UM},
                ],
                tuple(shape),
            )
        )
        images.append(
            (
                "recon",
                "xxx_20250525",
                ["488"],
                [
                    {"name": "ch", "type": "channel"},
                    {"name": "z", **_UM},
                    {"name": "y", **_UM},
                    {"name": "x", **_UM},
                ],
                (1, *shape[2:]),
            )
        )
    for k, (kind, name, channels, axes, img_shape) in enumerate(images):
        img = visor.Image(sample, kind, name, create=True)
        data = pixels(img_shape, seed + k)
        nd = len(img_shape)
        for lvl, arr in enumerate(_levels(data, levels)):
            inner = tuple(min(c, a) for c, a in zip(chunks[-nd:], arr.shape, strict=True))
            outer = tuple(
                -(-min(s, a) // c) * c for s, a, c in zip(shards[-nd:], arr.shape, inner, strict=True)
            )
            img.save(arr, str(lvl), "uint16", arr.shape, outer, inner, compressor)
        attrs: dict[str, Any] = {
            "ome": {"version": "0.5", "multiscales": [_multiscale(name, axes, levels, None)]},
            "visor": {"channels": [_channel(i, w, "2025.6.1") for i, w in enumerate(channels)]},
        }
        if kind != "recon":
            attrs["visor"]["visor_stacks"] = [
                {"index": i, "label": f"stack_{i + 1}", "position": [20.2647, 61.2581 + 2.0 * i]}
                for i in range(img_shape[0])
            ]
        if kind == "compr":
            attrs["visor"]["sources"] = [{"path": "visor_raw_images/slice_1_10x.zarr", "channels": ["488"]}]
        img.update_attrs(attrs)
    return sample


def _v2_image(
    path: Path, attrs: dict[str, Any], data: np.ndarray, levels: int, chunks: Sequence[int]
) -> None:
    import zarr
    from numcodecs import Blosc

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    group.attrs.update(attrs)
    for lvl, arr in enumerate(_levels(data, levels)):
        a = zarr.create_array(
            store=str(path),
            name=str(lvl),
            shape=arr.shape,
            dtype=arr.dtype,
            chunks=tuple(min(c, s) for c, s in zip(chunks[-arr.ndim :], arr.shape, strict=True)),
            zarr_format=2,
            compressors=Blosc(cname="zstd", clevel=5, shuffle=1),
            chunk_key_encoding={"name": "v2", "separator": "/"},
            fill_value=0,
        )
        a[...] = arr


def write_visor_2024_11_3(
    sample: Path,
    shape: Sequence[int] = (2, 2, 8, 16, 12),
    chunks: Sequence[int] = (1, 1, 4, 8, 4),
    levels: int = 2,
    seed: int = 10,
) -> Path:
    """A 2024.11.3 sample: ``<ID>.vsr``, ``info.json``, ``selected.json`` (``path``), Zarr v2, axes ``s, c``.

    Channels are listed out of index order and stack labels have a gap
    (``stack_1``, ``stack_3``), as the schema allows.
    """
    sample.mkdir(parents=True)
    (sample / "info.json").write_text(
        json.dumps(
            {"animal_id": sample.stem, "project_name": "VISOR", "species": "Mouse", "subproject_name": "S3"}
        )
    )
    raw = sample / "visor_raw_images"
    raw.mkdir()
    (raw / "selected.json").write_text(json.dumps([{"path": "slice_1_10x.zarr", "channels": ["488", "561"]}]))
    axes = [
        {"name": "s", "type": "visor_stack"},
        {"name": "c", "type": "channel"},
        {"name": "z", **_UM},
        {"name": "y", **_UM},
        {"name": "x", **_UM},
    ]
    attrs = {
        "multiscales": [_multiscale("slice_1_10x", axes, levels, "0.4")],
        "visor_stacks": [
            {"index": 0, "label": "stack_1", "position": [20.2647, 61.2581]},
            {"index": 1, "label": "stack_3", "position": [20.2647, 65.2581]},
        ],
        "channels": [_channel(1, "561", "2024.11.3"), _channel(0, "488", "2024.11.3")],
        "transforms": [],
    }
    _v2_image(raw / "slice_1_10x.zarr", attrs, pixels(shape, seed), levels, chunks)
    # An unselected raw image (a rescan), reachable with image="slice_1_10x_1".
    _v2_image(raw / "slice_1_10x_1.zarr", attrs, pixels(shape, seed + 1), levels, chunks)
    projn = sample / "visor_projn_images"
    projn.mkdir()
    p_axes = [
        {"name": "s", "type": "visor_stack"},
        {"name": "c", "type": "channel"},
        {"name": "y", **_UM},
        {"name": "x", **_UM},
    ]
    p_attrs = {
        "multiscales": [_multiscale("slice_1_10x_projn", p_axes, 1, "0.4")],
        "visor_stacks": attrs["visor_stacks"],
        "channels": [_channel(0, "488", "2024.11.3")],
        "sources": [{"path": "visor_raw_images/slice_1_10x.zarr", "channels": ["488"]}],
    }
    _v2_image(projn / "slice_1_10x_projn.zarr", p_attrs, pixels((2, 1, 16, 12), seed + 2), 1, (1, 1, 8, 8))
    return sample


def write_visor_2024_11_2(
    sample: Path,
    shape: Sequence[int] = (3, 1, 6, 10, 8),
    chunks: Sequence[int] = (1, 1, 4, 4, 4),
    levels: int = 1,
    seed: int = 20,
) -> Path:
    """A 2024.11.2 sample: ``<ID>/visor_raw_images/.visor`` (``selected_images``), axes ``s, c``."""
    sample.mkdir(parents=True)
    raw = sample / "visor_raw_images"
    raw.mkdir()
    (raw / ".visor").write_text(
        json.dumps(
            {
                "project_info": {
                    "animal_id": sample.name,
                    "project_name": "VISOR",
                    "species": "Mouse",
                    "subproject_name": "S2",
                },
                "selected_images": [
                    {"path": "visor_raw_images/slice_2_10x.zarr"},
                    {"path": "visor_raw_images/slice_1_10x.zarr"},
                ],
            }
        )
    )
    axes = [
        {"name": "s", "type": "visor_stack"},
        {"name": "c", "type": "channel"},
        {"name": "z", **_UM},
        {"name": "y", **_UM},
        {"name": "x", **_UM},
    ]
    for k, name in enumerate(("slice_1_10x", "slice_2_10x")):
        attrs = {
            "multiscales": [_multiscale(name, axes, levels, "0.4")],
            "visor_stacks": [
                {"index": i, "label": f"stack_{i + 1}", "position": [10.0 + k, 20.0 + 1.5 * i]}
                for i in range(shape[0])
            ],
            "channels": [_channel(0, "640", "2024.11.2")],
            "transforms": [],
        }
        _v2_image(raw / f"{name}.zarr", attrs, pixels(shape, seed + k), levels, chunks)
    return sample


def write_visor_2024_11_1(
    sample: Path,
    shape: Sequence[int] = (2, 2, 6, 10, 8),
    chunks: Sequence[int] = (1, 1, 3, 5, 4),
    levels: int = 2,
    seed: int = 30,
) -> Path:
    """A 2024.11.1 sample: ``.visor`` with ``featured_slices``, axis ``t``, numbers as strings."""
    sample.mkdir(parents=True)
    raw = sample / "visor_raw_images"
    raw.mkdir()
    (raw / ".visor").write_text(
        json.dumps(
            {
                "project_info": {
                    "animal_id": sample.name,
                    "date": "20241101",
                    "hardware_name": "VISoR18",
                    "personnel": "XXX",
                    "project_name": "VISOR",
                    "software_name": "VISoR",
                    "species": "Mouse",
                    "subproject_name": "S1",
                },
                "featured_slices": [{"path": "visor_raw_images/slice_1_10x.zarr"}],
            }
        )
    )
    axes = [
        {"name": "t", "type": "visor_stack"},
        {"name": "c", "type": "channel"},
        {"name": "z", **_UM},
        {"name": "y", **_UM},
        {"name": "x", **_UM},
    ]
    channels = [
        {
            "created_time": "2024-11-01 10:00:00",
            "caption": "ch",
            "wave_length": w,
            "power": "60",
            "filter": "480/40",
            "exposure": "4",
            "image_size": "2048x788",
            "pixel_size": "1.03",
            "slice_roi": ["20.2", "61.2", "14.2", "24.5", "62.9", "14.2"],
            "stack_positions": [[20.2647, 61.2581], [20.2647, 63.2581]],
            "version": "2.8.7",
        }
        for w in ("488", "561")
    ]
    attrs = {
        "multiscales": [_multiscale("slice_1_10x", axes, levels, "0.4")],
        "visor": {"version": "2024.11.0", "version_date": "2024-11-01", "channels": channels},
    }
    _v2_image(raw / "slice_1_10x.zarr", attrs, pixels(shape, seed), levels, chunks)
    return sample


def write_visor_2024_11_0(
    sample: Path,
    stacks: Sequence[int] = (2, 1),
    zyx: Sequence[int] = (6, 10, 8),
    chunks: Sequence[int] = (4, 4, 4),
    levels: int = 2,
    seed: int = 40,
) -> Path:
    """The original layout: one ``visor_raw_image.zarr`` with ``slice_<i>_stack_<j>`` groups per level.

    ``stacks[i]`` stacks for slice ``i + 1``; channels ``405nm_10X`` and ``561nm_10X``
    (only slice 1, stack 1 has the 561 nm channel: the others read as fill value); stack groups carry
    their translation (µm); a ``visor_reconstructed_image.zarr`` holds one group.
    """
    import zarr
    from numcodecs import Blosc

    sample.mkdir(parents=True)
    axes = [
        {"name": "t", "type": "visor"},
        {"name": "c", "type": "channel"},
        {"name": "z", **_UM},
        {"name": "y", **_UM},
        {"name": "x", **_UM},
    ]

    def image(root: Path, groups: dict[str, tuple[list[str], list[float] | None]], seed0: int) -> None:
        g = zarr.open_group(str(root), mode="w", zarr_format=2)
        g.attrs.update({"multiscales": [_multiscale(root.stem, axes, levels, "0.4")]})
        k = seed0
        for gname, (channels, translation) in groups.items():
            for lvl in range(levels):
                sub = zarr.open_group(str(root / str(lvl) / gname), mode="w", zarr_format=2)
                if translation is not None:
                    sub.attrs.update(
                        {
                            "coordinateTransformations": [
                                {"type": "translation", "translation": [0.0, 0.0, *translation]}
                            ]
                        }
                    )
            for ch in channels:
                data = pixels(zyx, k)
                k += 1
                for lvl, arr in enumerate(_levels(data, levels)):
                    a = zarr.create_array(
                        store=str(root / str(lvl) / gname),
                        name=ch,
                        shape=arr.shape,
                        dtype=arr.dtype,
                        zarr_format=2,
                        fill_value=0,
                        chunks=tuple(min(c, s) for c, s in zip(chunks, arr.shape, strict=True)),
                        compressors=Blosc(cname="zstd", clevel=5, shuffle=1),
                    )
                    a[...] = arr

    groups: dict[str, tuple[list[str], list[float] | None]] = {}
    for s, n in enumerate(stacks, start=1):
        for j in range(1, n + 1):
            # Slice 1, stack 2 lacks the 561 nm channel (reads as fill value).
            channels = ["561nm_10X", "405nm_10X"] if (s, j) == (1, 1) else ["405nm_10X"]
            groups[f"slice_{s}_stack_{j}"] = (channels, [14239.5, 61258.1 + 2000.0 * (j - 1), 20264.7])
    image(sample / "visor_raw_image.zarr", groups, seed)
    image(sample / "visor_reconstructed_image.zarr", {"XXX_ROI1_20241101": (["488nm_10X"], None)}, seed + 100)
    return sample
