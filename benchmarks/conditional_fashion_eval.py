"""The ``evaluate`` half of ``conditional_fashion.py``: classifier metrics for every finished run, InfoGAN's codes
(categorical match through the ``infogan-codes`` metric, continuous R² from Q read out of the run's checkpoint),
FID/KID with ganzoo's Inception (``--fid N``), and the class grids side by side."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo
from ganzoo.training.checkpoint import read_checkpoint

CONDITIONAL = ["cgan", "acgan", "projection"]


def continuous_r2(folder: Path, n: int = 2000, seed: int = 0) -> list[float]:
    """R² of InfoGAN's Q (on the run's final discriminator) predicting each continuous code from G(z, c)."""
    model = ganzoo.load(folder)
    arch = ganzoo.get_registry().architectures[model.architecture]
    tensors, _ = read_checkpoint(folder / "checkpoint.safetensors")
    d = arch.discriminator(model.config)
    d.load_state_dict(
        {k[len("modules.discriminator.") :]: v for k, v in tensors.items() if k.startswith("modules.discriminator.")}
    )
    d.eval()
    from ganzoo.sampling import draw_codes

    codes = draw_codes(model.inputs, n, seed)
    images = model.sample(n, seed=seed, codes=codes, output="raw")
    with torch.no_grad():
        _, q = d.heads(images)
    predicted = q[:, model.config.categories :].numpy()
    truth = codes["continuous"]
    return [
        float(1 - ((truth[:, i] - predicted[:, i]) ** 2).sum() / ((truth[:, i] - truth[:, i].mean()) ** 2).sum())
        for i in range(truth.shape[1])
    ]


def images_per_second(folder: Path, batch_size: int = 64) -> float | None:
    """Training speed from ``losses.csv``: the median time between log rows (robust to pauses and resumes)."""
    import csv

    with open(folder / "losses.csv", newline="") as f:
        rows = [(int(r["step"]), float(r["seconds"])) for r in csv.DictReader(f)]
    gaps = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in itertools.pairwise(rows) if b[0] > a[0] and b[1] > a[1]]
    return round(batch_size / float(np.median(gaps)), 1) if gaps else None


def evaluate_runs(args: Any) -> dict[str, Any]:
    """Measure every finished run under runs/conditional/; returns the report."""
    from conditional_fashion import CLASS_METRICS, RUNS
    from train_dcgan import cpu_name, matmul_peak

    data = f"fashion-mnist:{args.data}"
    peaks = [matmul_peak()]
    report: dict[str, Any] = {"benchmark": "conditional_fashion", "cpu": cpu_name(), "runs": {}}
    grids = {}
    baseline_done = False  # the real-data CAS ceiling is the same for every run: train it once
    for folder in sorted(p for p in RUNS.iterdir() if (p / "model.safetensors").is_file()):
        model = ganzoo.load(folder)
        started = time.perf_counter()
        timing = json.loads((folder / "timing.json").read_text()) if (folder / "timing.json").is_file() else {}
        entry: dict[str, Any] = {
            "architecture": model.architecture,
            "steps": model.training.get("steps"),
            "seed": model.training.get("seed"),
            "method_options": json.loads((folder / "config.json").read_text())["training"].get("method_options"),
            "config": model.config.to_dict(),
            "images_per_second": images_per_second(folder, model.training.get("batch_size", 64)),
            "wall_seconds_last_session": timing.get("wall_seconds_this_session"),
        }
        n = args.per_class * 10
        if model.architecture in CONDITIONAL:
            result = ganzoo.evaluate(
                model,
                data,
                CLASS_METRICS,
                n=n,
                metric_options={"classification-accuracy-score": {"baseline": not baseline_done}},
                resize=True,  # Fashion-MNIST's 28 px to the model's 32 (exact zero padding)
                progress=False,
            )
            baseline_done = True
            z = model.latents(8, seed=0).repeat(10, 1)
            grids[folder.name] = model.sample(z=z, labels=torch.arange(10).repeat_interleave(8), output="raw")
        else:
            metrics = ["classifier-inception-score", "class-diversity", "infogan-codes"]
            result = ganzoo.evaluate(
                model,
                data,
                metrics,
                n=n,
                metric_options={"infogan-codes": {"per_code": args.per_class}},
                resize=True,
                progress=False,
            )
            entry["continuous_r2"] = continuous_r2(folder)
            grids[folder.name] = (
                model.traverse("code", values=range(10), n=8, seed=0, output="raw")
                .reshape(8, 10, *model.output_shape)
                .transpose(0, 1)
                .reshape(80, *model.output_shape)
            )
        entry["metrics"] = result.get("metrics", result)
        if args.fid and (not args.fid_runs or folder.name in args.fid_runs):
            # FID/KID with the 2015 Inception network: class-balanced fakes against as many random training images
            # (both 32 px grey, upsampled to 299 and repeated to RGB by the extractor); cached reference features
            fid = ganzoo.evaluate(model, data, ["fid", "kid"], n=args.fid, resize=True, progress=False)
            entry["metrics"].update(fid["metrics"])
            entry["fid_samples"] = args.fid
        entry["eval_seconds"] = round(time.perf_counter() - started, 1)
        report["runs"][folder.name] = entry
        print(folder.name, json.dumps({k: v for k, v in entry.items() if k != "config"})[:600], flush=True)
    peaks.append(matmul_peak())
    report["matmul_peak_gflops"] = round(max(peaks), 1)
    if args.figure and grids:
        _figure(grids, args.figure)
    return report


def _figure(grids: dict[str, torch.Tensor], path: Path) -> None:
    """The class grids (rows: classes, or InfoGAN's code values) side by side."""
    from ganzoo.plots import _pyplot
    from ganzoo.sampling import make_grid, to_uint8

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(grids), figsize=(3.2 * len(grids), 4.2))
    for ax, (name, images) in zip(np.atleast_1d(axes), grids.items(), strict=True):
        ax.imshow(make_grid(to_uint8(images), nrow=8)[..., 0], cmap="gray")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
