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


LABELS = {"d_loss": "discriminator loss", "g_loss": "generator loss", "d_real": "D(x)", "d_fake": "D(G(z))"}


def save_loss_plot(csv_path: str | Path, out_path: str | Path, title: str = "") -> Path:
    """Plot a training log CSV into a PNG: every ``*loss`` column on top, the other metrics a method logs (D's
    outputs, L1 or cycle terms) below; gradient norms, spreads and timings are left to the CSV."""
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    skip = ("step", "seconds")
    losses = [c for c in columns if c.endswith("loss")]
    others = [
        c for c in columns if c not in skip and c not in losses and not c.endswith(("_norm", "_spread", "spread"))
    ]
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for axis, keys in ((top, losses), (bottom, others)):
        for key in keys:
            points = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
            if points:
                axis.plot(*zip(*points, strict=True), label=LABELS.get(key, key), linewidth=1)
        if axis.lines:
            axis.legend()
    top.set_ylabel("loss")
    top.set_title(title or "training losses")
    bottom.set_ylabel("discriminator output and other metrics")
    bottom.set_xlabel("step")
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
