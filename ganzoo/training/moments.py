"""Moment matching and activation sparsity, measured once (metrics) or along training (``MomentTracker``).

A GAN's generator should bring its samples' first and second moments to the data's; the forward super-resolution
article (Allen-Zhu & Li) reads training through these moments and through how sparse the generator's hidden
ReLU activations become. ``train(..., track_moments=N)`` records both every ``N`` steps into ``moments.csv``
and ``moments.png`` of the run folder. Only generator outputs and ``nn.ReLU`` modules are looked at, so any
architecture works.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganzoo.fileio import atomic_path

MOMENT_FIELDS = ("step", "mean_distance_scaled", "cov_distance_relative", "mean_zero_fraction")


def mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``(N, D)`` features, in float64."""
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def moment_distances(generated: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """How far the generated first and second moments are from the reference ones (absolute and relative).

    ``mean_distance_scaled`` measures the mean's offset in units of the data's spread (``sqrt(trace(cov))``);
    unlike ``mean_distance_relative`` (over the data mean's norm) it stays meaningful when the data are centred.
    """
    mu_g, cov_g = mean_cov(generated)
    mu_r, cov_r = mean_cov(reference)
    mean_distance = float(np.linalg.norm(mu_g - mu_r))
    cov_distance = float(np.linalg.norm(cov_g - cov_r))
    return {
        "mean_distance": mean_distance,
        "mean_distance_relative": mean_distance / max(float(np.linalg.norm(mu_r)), 1e-12),
        "mean_distance_scaled": mean_distance / max(float(np.sqrt(np.trace(cov_r))), 1e-12),
        "cov_distance": cov_distance,
        "cov_distance_relative": cov_distance / max(float(np.linalg.norm(cov_r)), 1e-12),
    }


def relu_outputs(module: nn.Module, z: torch.Tensor, *, eval_mode: bool = True) -> list[tuple[str, torch.Tensor]]:
    """``(name, output)`` of every ``nn.ReLU`` / ``nn.ReLU6`` of ``module`` in one ``module(z)`` pass without
    gradients, in forward order; in eval mode (running statistics) unless ``eval_mode=False``."""
    found: list[tuple[str, torch.Tensor]] = []
    hooks = [
        child.register_forward_hook(lambda _m, _i, output, name=name: found.append((name, output)))
        for name, child in module.named_modules()
        if isinstance(child, (nn.ReLU, nn.ReLU6))
    ]
    was_training = module.training
    if eval_mode:
        module.eval()
    try:
        with torch.no_grad():
            module(z)
    finally:
        module.train(was_training)
        for h in hooks:
            h.remove()
    return found


def activation_sparsity(module: nn.Module, z: torch.Tensor) -> list[dict[str, Any]]:
    """Share of exactly-zero outputs of each ReLU in ``module`` on latents ``z`` (forward super-resolution)."""
    return [
        {"layer": name, "shape": list(output.shape[1:]), "zero_fraction": float((output == 0).float().mean())}
        for name, output in relu_outputs(module, z)
    ]


def pixel_rows(samples: torch.Tensor, size: int | None = 8) -> np.ndarray:
    """Samples as float32 rows: uint8 images scaled to [-1, 1], images area-downscaled to at most ``size`` px.

    Why downscale: a 64x64x3 image has 12,288 pixels, and a covariance of that size is 150M entries; 8x8x3 keeps
    the colour layout and coarse structure (192 numbers). Other samples (2-D points...) are only flattened.
    """
    x = samples.detach()
    if x.dtype == torch.uint8:
        x = x.float() / 127.5 - 1.0
    if x.ndim == 4 and size and x.shape[-1] > size:
        x = nn.functional.adaptive_avg_pool2d(x.float(), size)  # area averaging
    return x.reshape(len(x), -1).float().cpu().numpy()


class MomentTracker:
    """Records moment distances and ReLU sparsity of a generator against fixed real samples during training.

    Args:
        reference: real samples in the generator's output range ``(N, ...)`` (N of a few hundred is enough).
        z: the fixed latents to sample with (the same every record, so curves show the model, not the noise).
        csv_path: where to write the rows (rewritten atomically at every record); ``None``: keep them in memory.
    """

    def __init__(self, reference: torch.Tensor, z: torch.Tensor, csv_path: str | Path | None = None) -> None:
        if len(reference) < 2 or len(z) < 2:
            raise ValueError("moment tracking needs at least 2 real samples and 2 latents")
        self.reference = pixel_rows(reference)
        self.z = z
        self.csv_path = Path(csv_path) if csv_path is not None else None
        self.rows: list[dict[str, Any]] = []
        self.layers: list[str] = []

    def resume(self, step: int) -> None:
        """Keep the rows of an earlier session's ``moments.csv`` up to ``step`` (training resumes there)."""
        if self.csv_path is None or not self.csv_path.is_file():
            return
        with open(self.csv_path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
        self.rows = [{k: int(v) if k == "step" else float(v) for k, v in r.items() if v != ""} for r in rows]
        self.layers = [k.removeprefix("zeros/") for k in (rows[0] if rows else {}) if k.startswith("zeros/")]

    def record(self, step: int, generator: nn.Module) -> dict[str, Any]:
        """Measure ``generator`` now; return (and keep, and write) the row."""
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                fake = generator(self.z)
            sparsity = activation_sparsity(generator, self.z)
        finally:
            generator.train(was_training)
        distances = moment_distances(pixel_rows(fake), self.reference)
        row: dict[str, Any] = {
            "step": step,
            "mean_distance_scaled": distances["mean_distance_scaled"],
            "cov_distance_relative": distances["cov_distance_relative"],
            "mean_zero_fraction": float(np.mean([s["zero_fraction"] for s in sparsity])) if sparsity else "",
        }
        if not self.layers:
            self.layers = [s["layer"] for s in sparsity]
        row.update({f"zeros/{s['layer']}": s["zero_fraction"] for s in sparsity})
        self.rows.append(row)
        if self.csv_path is not None:
            self.write()
        return row

    def fields(self) -> list[str]:
        """CSV columns: the moment fields, then one zero fraction per ReLU layer."""
        return [*MOMENT_FIELDS, *(f"zeros/{name}" for name in self.layers)]

    def write(self) -> None:
        """Rewrite the CSV atomically (a crash never leaves half a file)."""
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=self.fields(), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        with atomic_path(self.csv_path) as tmp:
            tmp.write_text(text.getvalue())


def save_moment_plot(rows: Sequence[dict[str, Any]], out_path: str | Path, title: str = "") -> Path:
    """Two panels: mean/covariance distance to the data (log scale), and ReLU sparsity per layer."""
    from ganzoo.plots import _pyplot

    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    steps = [r["step"] for r in rows]
    labels = (("mean_distance_scaled", "mean (in data std)"), ("cov_distance_relative", "covariance (relative)"))
    for key, label in labels:
        top.plot(steps, [r[key] for r in rows], label=label, linewidth=1)
    top.set_yscale("log")
    top.set_ylabel("distance to the data")
    top.legend()
    top.set_title(title or "moment matching")
    layers = [k for k in (rows[0] if rows else {}) if k.startswith("zeros/")]
    for key in layers:
        bottom.plot(steps, [r.get(key, np.nan) for r in rows], label=key.removeprefix("zeros/"), linewidth=1)
    bottom.set_ylabel("zero ReLU outputs")
    bottom.set_ylim(0, 1)
    bottom.set_xlabel("step")
    if layers:
        bottom.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(out_path)
