"""Inpainting masks for the ONNX runtime and the server, with numpy only (no torch): float32 ``(n, 1, H, W)``
arrays, 1 where pixels are missing, from arrays, pictures or hole descriptions (``center``, ``X,Y,W,H``).
``ganzoo.masks`` is the torch side that training and ``Translator`` use; both make the same holes."""

from __future__ import annotations

from typing import Any

import numpy as np


def centre_box(size: int, config: dict[str, Any], side: int | None = None) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a centred square: ``side``, else the model's trained centre hole, else half the size."""
    if side is None:
        side = int(config.get("hole_size", size // 2)) if config.get("hole") == "center" else size // 2
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
