"""Hole masks for inpainting: float ``(N, 1, H, W)``, 1 where pixels are missing, 0 where they are known.

One module for every path, so all make the same holes: the numpy core (``box_array``, ``hole_array``,
``mask_array``) serves the torch-free ONNX runtime and server (this module imports no torch at import time), and
the torch functions (``center_mask``, ``box_mask``, ``parse_hole``, ``random_masks``, ``as_masks``) serve the
context encoder, latent-search inpainting, ``ganzoo inpaint`` and the benchmarks. Pictures of masks read white
(>= 128) as hole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

#: hole kinds a context encoder trains on
HOLE_KINDS = ("center", "random")


# -- numpy core (the ONNX runtime and the server use these: no torch) --------------------------------------------


def centre_box(size: int, config: dict[str, Any], side: int | None = None) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a centred square: ``side``, else the model's trained centre hole, else half the size."""
    if side is None:
        side = int(config.get("hole_size", size // 2)) if config.get("hole") == "center" else size // 2
    if not 0 < side < size:
        raise ValueError(f"a centre hole must be from 1 to {size - 1} px in a {size}-px image, got {side}")
    start = (size - side) // 2
    return (start, start, side, side)


def box_array(box: tuple[int, int, int, int], n: int, size: int) -> np.ndarray:
    """(n, 1, size, size) float32 with the rectangle ``box = (x, y, w, h)`` missing."""
    x, y, w, h = box
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > size or y + h > size:
        raise ValueError(f"hole {box} (x, y, width, height) must lie inside the {size}x{size} image")
    mask = np.zeros((n, 1, size, size), np.float32)
    mask[:, :, y : y + h, x : x + w] = 1
    return mask


def hole_array(hole: str | None, n: int, size: int, config: dict[str, Any]) -> np.ndarray:
    """Masks from a hole description: None or ``center`` (the trained centre hole), ``center:K`` (a K-px square)
    or ``X,Y,W,H`` in pixels."""
    text = (hole or "center").strip().lower().replace(" ", "")
    if text in ("center", "centre"):
        return box_array(centre_box(size, config), n, size)
    if text.startswith(("center:", "centre:")) and text.split(":", 1)[1].isdigit():
        return box_array(centre_box(size, config, int(text.split(":", 1)[1])), n, size)
    parts = text.split(",")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"hole {hole!r}: use 'center', 'center:K' or 'X,Y,W,H' (pixels)")
    return box_array(tuple(int(p) for p in parts), n, size)  # type: ignore[arg-type]


def mask_array(mask: Any, n: int, size: int, config: dict[str, Any], architecture: str = "model") -> np.ndarray:
    """Masks for ``n`` images from arrays ``(N, 1, H, W)``, ``(N, H, W)``, ``(N, H, W, 1)`` or one ``(H, W)``
    (uint8: >= 128 is hole; numbers: > 0.5); None: the centre hole of a centre-trained model, else an error."""
    if mask is None:
        if config.get("hole") != "center":
            raise ValueError(f"{architecture!r} fills holes anywhere: pass mask= ((N, 1, {size}, {size}))")
        return box_array(centre_box(size, config), n, size)
    array = np.asarray(mask)
    array = array >= 128 if array.dtype == np.uint8 else array.astype(np.float32) > 0.5
    if array.ndim == 4 and array.shape[-1] == 1 and array.shape[1] != 1:  # pictures: (N, H, W, 1)
        array = array[..., 0]
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1:] != (1, size, size) or array.shape[0] not in (1, n):
        raise ValueError(
            f"masks must be (N, 1, {size}, {size}) or one ({size}, {size}) mask for {n} image(s), 1 where "
            f"pixels are missing; got shape {np.shape(mask)}"
        )
    return np.ascontiguousarray(np.broadcast_to(array, (n, 1, size, size)), dtype=np.float32)


# -- torch -------------------------------------------------------------------------------------------------------


def center_mask(n: int, size: int, hole: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, 1, size, size): a ``hole`` x ``hole`` square in the middle (Pathak et al. 2016's "central region")."""
    import torch

    return torch.from_numpy(box_array(centre_box(size, {}, hole), n, size)).to(device)


def box_mask(n: int, size: int, box: tuple[int, int, int, int], device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, 1, size, size) with the rectangle ``box = (x, y, width, height)`` missing."""
    import torch

    return torch.from_numpy(box_array(box, n, size)).to(device)


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
    import torch

    lo, hi = max(1, round(size * min_fraction)), max(1, round(size * max_fraction))
    sides = torch.randint(lo, hi + 1, (2, n), generator=generator)
    corner = (torch.rand(2, n, generator=generator) * (size - sides + 1)).long()
    rows = torch.arange(size)
    inside_y = (rows[None] >= corner[1, :, None]) & (rows[None] < (corner[1] + sides[1])[:, None])  # (n, size)
    inside_x = (rows[None] >= corner[0, :, None]) & (rows[None] < (corner[0] + sides[0])[:, None])
    return (inside_y[:, :, None] & inside_x[:, None, :]).float()[:, None].to(device)


def parse_hole(text: str, size: int) -> torch.Tensor:
    """A CLI hole: ``center`` (half the side, Pathak's), ``center:K`` (a K-px square) or ``X,Y,W,H`` -> (1, 1,
    size, size) (``hole_array`` as a tensor)."""
    import torch

    return torch.from_numpy(hole_array(text, 1, size, {}))


def as_masks(masks: Any, n: int, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Masks in any accepted form -> float32 ``(n, 1, size, size)`` of 0/1 on ``device``.

    Accepts tensors or arrays ``(N, 1, H, W)``, ``(N, H, W)``, ``(H, W)`` (one mask for every image), bool or
    numbers (> 0.5 is hole; uint8 pictures: >= 128), and PIL images (one, or a list; white is hole).
    """
    import torch

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
