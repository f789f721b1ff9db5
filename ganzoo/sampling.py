"""Latents and image conversions shared by every generator and runtime.

Latents come from ``numpy.random.default_rng(seed)``, not ``torch.randn``: the same seed then gives the same
images in PyTorch on any device and in ONNX Runtime, which has no torch.

This module imports torch only inside the functions that take tensors, so the torch-free serving path
(``ganzoo.exporters.runtime``) can use ``latents`` and ``make_grid``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from ganzoo.fileio import atomic_path

if TYPE_CHECKING:
    import torch


#: Seeds are integers in [0, 2**63): numpy's generators take no negative seed, torch's none of 64 bits or more.
MAX_SEED = 2**63 - 1


def check_seed(seed: object) -> None:
    """A ``ValueError`` saying what a seed may be, for anything but ``None`` or an integer in [0, 2**63)."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        shown = repr(seed) if len(repr(seed)) < 40 else repr(seed)[:40] + "..."
        raise ValueError(f"seed must be an integer from 0 to 2**63 - 1, got {shown}")


def latents(n: int, z_dim: int, seed: int | None = None) -> np.ndarray:
    """``n`` standard-normal latent vectors of size ``z_dim`` as float32, reproducible from ``seed``."""
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"number of samples must be a positive integer, got {n!r}")
    check_seed(seed)
    return np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)


def draw_codes(specs: Any, n: int, seed: int | None, given: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Rows for the inputs a generator draws from a prior besides ``z``: InfoGAN's codes (Chen et al. 2016).

    ``specs`` is a model's input spec (``ganzoo.config.InputSpec``s). Inputs with ``prior`` ``"categorical"``
    (int64 in ``value_range``), ``"uniform"`` (float32 in ``value_range``) or ``"normal"`` other than ``z`` are
    drawn from ``numpy.random.default_rng([seed, i])`` (``i`` the input's position), so the same seed gives the
    same codes in PyTorch and in ONNX Runtime, and ``z`` stays what ``latents(n, z_dim, seed)`` draws. Inputs
    named in ``given`` are taken as given (broadcast from one row); labels and images are never drawn.
    """
    given = dict(given or {})
    out: dict[str, np.ndarray] = {}
    for index, spec in enumerate(specs):
        if (
            spec.name == "z"
            or spec.kind in ("label", "image")
            or spec.prior not in ("categorical", "uniform", "normal")
        ):
            continue
        dtype = np.int64 if spec.prior == "categorical" else np.float32
        if spec.name in given:
            value = np.asarray(given.pop(spec.name), dtype=dtype)
            if value.shape == tuple(spec.shape):  # one row for every sample
                value = np.broadcast_to(value, (n, *spec.shape)).copy()
            if value.shape != (n, *spec.shape):
                raise ValueError(f"{spec.name} must have shape {(n, *spec.shape)}, got {value.shape}")
            if spec.value_range is not None and value.size:
                low, high = spec.value_range
                if value.min() < low or value.max() > high:
                    raise ValueError(f"{spec.name} must lie in [{low}, {high}], got {value.min()} to {value.max()}")
            out[spec.name] = value
            continue
        rng = np.random.default_rng(None if seed is None else [seed, index])
        if spec.prior == "categorical":
            low, high = (int(v) for v in spec.value_range)
            out[spec.name] = rng.integers(low, high + 1, size=(n, *spec.shape), dtype=np.int64)
        elif spec.prior == "uniform":
            low, high = spec.value_range
            out[spec.name] = rng.uniform(low, high, size=(n, *spec.shape)).astype(np.float32)
        else:
            out[spec.name] = rng.standard_normal((n, *spec.shape), dtype=np.float32)
    if given:
        raise ValueError(f"this model takes no input(s) {sorted(given)}; it takes {[s.name for s in specs]}")
    return out


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between latent vectors ``a`` and ``b`` at fractions ``t`` (shape ``(steps,)``)."""
    a_unit, b_unit = a / np.linalg.norm(a), b / np.linalg.norm(b)
    omega = np.arccos(np.clip(np.dot(a_unit, b_unit), -1.0, 1.0))
    if omega < 1e-6:  # (anti)parallel vectors: slerp degenerates to lerp
        return ((1 - t)[:, None] * a + t[:, None] * b).astype(np.float32)
    so = np.sin(omega)
    out = (np.sin((1 - t) * omega) / so)[:, None] * a + (np.sin(t * omega) / so)[:, None] * b
    return out.astype(np.float32)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1], ``(N, C, H, W)`` -> uint8 ``(N, H, W, C)`` numpy (rounded, clipped)."""
    import torch

    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """Images in [-1, 1], ``(N, C, H, W)`` -> a list of PIL images (mode L or RGB)."""
    arrays = to_uint8(images)
    return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in arrays]


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile uint8 ``(N, H, W, C)`` images into one ``(H', W', C)`` grid, ``nrow`` images a row (default: square)."""
    n, h, w, c = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), pad_value, np.uint8)
    for i, image in enumerate(images):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def save_grid(images: torch.Tensor | np.ndarray, path: str | Path, nrow: int | None = None) -> Path:
    """Save images (tensor in [-1, 1] NCHW, or uint8 NHWC) as one PNG grid, written atomically."""
    arrays = images if isinstance(images, np.ndarray) else to_uint8(images)
    grid = make_grid(arrays, nrow)
    picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
    return Path(path)
