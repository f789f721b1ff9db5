"""Hole masks for inpainting: float ``(N, 1, H, W)`` tensors, 1 where pixels are missing, 0 where they are known.

Used by the context encoder (``plugins/inpainting.py``: training holes and its mask input), latent-search
inpainting (``ganzoo.latent_inpainting``), ``ganzoo inpaint`` and the benchmarks, so every path makes the same
holes. Pictures of masks read white (>= 128) as hole.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch

#: hole kinds a context encoder trains on
HOLE_KINDS = ("center", "random")


def center_mask(n: int, size: int, hole: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, 1, size, size): a ``hole`` x ``hole`` square in the middle (Pathak et al. 2016's "central region")."""
    if not 0 < hole < size:
        raise ValueError(f"a centre hole must be from 1 to {size - 1} px in a {size}-px image, got {hole}")
    mask = torch.zeros(n, 1, size, size, device=device)
    start = (size - hole) // 2
    mask[:, :, start : start + hole, start : start + hole] = 1
    return mask


def box_mask(n: int, size: int, box: tuple[int, int, int, int], device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, 1, size, size) with the rectangle ``box = (x, y, width, height)`` missing."""
    x, y, w, h = box
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > size or y + h > size:
        raise ValueError(f"hole {box} (x, y, width, height) must lie inside the {size}x{size} image")
    mask = torch.zeros(n, 1, size, size, device=device)
    mask[:, :, y : y + h, x : x + w] = 1
    return mask


def random_masks(
    n: int,
    size: int,
    *,
    min_fraction: float = 0.25,
    max_fraction: float = 0.5,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """(n, 1, size, size): one random rectangle per image, each side from ``min_fraction`` to ``max_fraction`` of
    the image, anywhere inside it (Pathak et al. 2016's "random block" masks). Draws from ``generator`` (or
    torch's global generator, which a training run seeds and checkpoints)."""
    lo, hi = max(1, round(size * min_fraction)), max(1, round(size * max_fraction))
    sides = torch.randint(lo, hi + 1, (2, n), generator=generator)
    corner = (torch.rand(2, n, generator=generator) * (size - sides + 1)).long()
    rows = torch.arange(size)
    inside_y = (rows[None] >= corner[1, :, None]) & (rows[None] < (corner[1] + sides[1])[:, None])  # (n, size)
    inside_x = (rows[None] >= corner[0, :, None]) & (rows[None] < (corner[0] + sides[0])[:, None])
    return (inside_y[:, :, None] & inside_x[:, None, :]).float()[:, None].to(device)


def parse_hole(text: str, size: int) -> torch.Tensor:
    """A CLI hole: ``center`` (half the side, Pathak's), ``center:K`` (a K-px square) or ``X,Y,W,H`` -> (1, 1,
    size, size)."""
    text = text.strip().lower()
    if text in ("center", "centre"):
        return center_mask(1, size, size // 2)
    if m := re.fullmatch(r"cent(?:er|re):(\d+)", text):
        return center_mask(1, size, int(m.group(1)))
    if m := re.fullmatch(r"(\d+),(\d+),(\d+),(\d+)", text.replace(" ", "")):
        return box_mask(1, size, tuple(int(v) for v in m.groups()))  # type: ignore[arg-type]
    raise ValueError(f"hole {text!r}: use 'center', 'center:K' (a K-px square) or 'X,Y,W,H' (pixels)")


def as_masks(masks: Any, n: int, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Masks in any accepted form -> float32 ``(n, 1, size, size)`` of 0/1 on ``device``.

    Accepts tensors or arrays ``(N, 1, H, W)``, ``(N, H, W)``, ``(H, W)`` (one mask for every image), bool or
    numbers (> 0.5 is hole; uint8 pictures: >= 128), and PIL images (one, or a list; white is hole).
    """
    if type(masks).__module__.startswith("PIL.") or (
        isinstance(masks, (list, tuple)) and masks and type(masks[0]).__module__.startswith("PIL.")
    ):
        pictures = [masks] if not isinstance(masks, (list, tuple)) else list(masks)
        masks = np.stack([np.asarray(p.convert("L")) for p in pictures])
    array = masks.detach().cpu() if isinstance(masks, torch.Tensor) else torch.from_numpy(np.asarray(masks))
    if array.dtype == torch.uint8:
        array = array >= 128
    array = array.float()
    if array.ndim == 2:
        array = array[None, None].expand(n, 1, -1, -1)
    elif array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] != 1 or tuple(array.shape[2:]) != (size, size):
        raise ValueError(
            f"masks must be (N, 1, {size}, {size}), (N, {size}, {size}) or ({size}, {size}) with 1 (or white) where "
            f"pixels are missing; got shape {tuple(array.shape)}"
        )
    if array.shape[0] == 1 and n > 1:
        array = array.expand(n, -1, -1, -1)
    if array.shape[0] != n:
        raise ValueError(f"{array.shape[0]} masks for {n} images: pass one mask, or one per image")
    if not torch.isfinite(array).all():
        raise ValueError("masks hold NaN or infinite values")
    return (array > 0.5).float().contiguous().to(device)
