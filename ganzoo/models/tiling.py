"""Run a fixed-size image model over a picture of any size: overlapping tiles, blended back with linear ramps.

A 64-px super-resolution model takes 16x16 inputs; a 256-px photo becomes 16x16 tiles that overlap by a few
pixels, each is translated, and the outputs are averaged where they overlap with weights that fall linearly
towards each tile's edge, so no seam shows (the usual scheme of SR and segmentation tools for large images).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``length`` with at least ``overlap`` shared; the last
    tile ends exactly at the edge."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def ramp(size: int, overlap: int, device: torch.device) -> torch.Tensor:
    """(size,) weights rising linearly over ``overlap`` pixels from each end, 1 in between; never 0, so a pixel
    that only one tile covers (the picture's border) keeps that tile's value."""
    i = torch.arange(size, device=device, dtype=torch.float32)
    if overlap <= 0:
        return torch.ones(size, device=device)
    return torch.minimum((i + 0.5) / overlap, (size - i - 0.5) / overlap).clamp(max=1.0)


@torch.no_grad()
def translate_tiled(
    run: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    tile: int,
    scale: int,
    overlap: int,
    batch_size: int = 64,
) -> torch.Tensor:
    """``image`` (C, H, W) of any size -> (C_out, H*scale, W*scale), running ``run`` ((N, C, tile, tile) ->
    (N, C_out, tile*scale, tile*scale)) on overlapping tiles.

    A picture smaller than a tile is padded (edge pixels repeated) and the output cropped back.
    """
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap must be from 0 to {tile - 1} pixels for {tile}-px tiles, got {overlap}")
    _, h, w = image.shape
    pad_h, pad_w = max(0, tile - h), max(0, tile - w)
    if pad_h or pad_w:
        image = F.pad(image[None], (0, pad_w, 0, pad_h), mode="replicate")[0]
    ph, pw = image.shape[1:]
    boxes = [(y, x) for y in tile_starts(ph, tile, overlap) for x in tile_starts(pw, tile, overlap)]
    out_tile = tile * scale
    weight = ramp(out_tile, overlap * scale, image.device)
    weight = weight[:, None] * weight[None, :]  # (T, T): separable ramps
    total = weights = None
    for first in range(0, len(boxes), batch_size):
        chunk = boxes[first : first + batch_size]
        tiles = torch.stack([image[:, y : y + tile, x : x + tile] for y, x in chunk])  # (n, C, tile, tile)
        outs = run(tiles).float()  # (n, C_out, T, T)
        if total is None:
            total = torch.zeros(outs.shape[1], ph * scale, pw * scale, device=outs.device)
            weights = torch.zeros(1, ph * scale, pw * scale, device=outs.device)
        for (y, x), out in zip(chunk, outs, strict=True):
            ys, xs = slice(y * scale, y * scale + out_tile), slice(x * scale, x * scale + out_tile)
            total[:, ys, xs] += out * weight
            weights[:, ys, xs] += weight
    return (total / weights)[:, : h * scale, : w * scale]
