"""Pictures of a training run: the loss curves and, for 2-D data, a scatter plot of samples over the data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ganzoo.fileio import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def save_loss_plot(csv_path: str | Path, out_path: str | Path, title: str = "") -> Path:
    """Plot losses and discriminator outputs from a training log CSV into a PNG."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    if rows:
        steps = [int(r["step"]) for r in rows]
        for key, label in (("d_loss", "discriminator loss"), ("g_loss", "generator loss")):
            top.plot(steps, [float(r[key]) for r in rows], label=label, linewidth=1)
        for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
            bottom.plot(steps, [float(r[key]) for r in rows], label=label, linewidth=1)
    top.set_ylabel("loss")
    top.legend()
    top.set_title(title or "training losses")
    bottom.set_ylabel("discriminator output")
    bottom.set_xlabel("step")
    bottom.legend()
    fig.tight_layout()
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(out_path)


def save_scatter(real: np.ndarray, fake: np.ndarray, out_path: str | Path, title: str = "") -> Path:
    """Scatter generated 2-D samples over real ones into a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(real[:, 0], real[:, 1], s=2, c="0.7", label="data")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:blue", label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4)
    ax.set_title(title or "samples")
    fig.tight_layout()
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(out_path)
