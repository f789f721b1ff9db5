"""Samples of several generators side by side, one captioned panel each: a picture to go with an FID table.

Each MODEL is a zoo name or a folder written by ``ganzoo.save``; every panel uses the same latent seed.

Run from the repository root::

    python benchmarks/compare_samples.py dcgan-celeba runs/eval-celeba/pytorch-examples-2400 \\
        --labels "ganzoo dcgan-celeba" "pytorch/examples recipe" -o docs/dcgan-celeba-vs-examples.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import ganzoo
from ganzoo.fileio import atomic_path
from ganzoo.sampling import make_grid

CAPTION_HEIGHT = 18


def panel(model: str, label: str, n: int, nrow: int, seed: int) -> np.ndarray:
    """An ``n``-image grid of ``model``'s samples with ``label`` written above it (uint8 HWC)."""
    images = ganzoo.load(model).sample(n, seed=seed, output="numpy")  # uint8 NHWC
    grid = make_grid(images, nrow)
    out = np.full((grid.shape[0] + CAPTION_HEIGHT, grid.shape[1], grid.shape[2]), 255, np.uint8)
    out[CAPTION_HEIGHT:] = grid
    picture = Image.fromarray(out[..., 0] if out.shape[-1] == 1 else out)
    ImageDraw.Draw(picture).text((4, 3), label, fill=0 if picture.mode == "L" else (0, 0, 0))
    return np.asarray(picture).reshape(out.shape)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="Zoo names or saved folders.")
    parser.add_argument("--labels", nargs="+", default=None, help="One caption per model (default: the names).")
    parser.add_argument("-n", type=int, default=36, help="Samples per model.")
    parser.add_argument("--nrow", type=int, default=6, help="Samples per row of a panel.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, required=True, help="PNG to write.")
    args = parser.parse_args(argv)
    labels = args.labels or args.models
    if len(labels) != len(args.models):
        parser.error(f"--labels gives {len(labels)} captions for {len(args.models)} models")
    panels = [panel(m, label, args.n, args.nrow, args.seed) for m, label in zip(args.models, labels, strict=True)]
    if len({p.shape for p in panels}) > 1:
        parser.error(f"the models make images of different sizes: {[p.shape for p in panels]}")
    gap = np.full((panels[0].shape[0], 12, panels[0].shape[2]), 255, np.uint8)
    row = np.concatenate([x for p in panels for x in (p, gap)][:-1], axis=1)
    with atomic_path(args.out) as tmp:
        Image.fromarray(row[..., 0] if row.shape[-1] == 1 else row).save(tmp, format="PNG")
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
