"""DCGAN, SN-GAN and ProGAN on CelebA-64 at equal wall-clock (issues 18 and 19).

Each run trains for ``--minutes`` of wall-clock (``max_seconds``) on the whole CelebA-64 file (10,000 faces, as
``dcgan-celeba`` was), with the same EMA of G (decay 0.999) and fp32 for all, then the published (EMA) generator
is measured with the protocol of ``dcgan-celeba``'s card: FID and KID of 5,000 samples against the first 9,000
images (the last 10 % held out), Inception features, seed 0.

- ``dcgan``: the zoo recipe (pytorch/examples' networks, z 100, width 64, non-saturating loss, batch-norm D,
  Adam 2e-4 / 0.5, batch 64).
- ``sngan``: the same networks and optimiser with D's batch norm replaced by spectral normalisation of every D
  layer and the hinge loss (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks").
- ``progan``: ``progan`` + ``progressive`` (WGAN-GP + drift, equalised lr, pixel norm, minibatch stddev), the
  README's CPU size (z 128, widths ``min(512 / 2^stage, 64)``), batch 16 throughout, ``--stable``/``--fade``
  images per level sized so growth to 64 px ends in about the first 60 % of a 10-minute budget.

ProGAN's published capacity cannot be matched on this CPU: its 3x3 convolutions at 64 px make a ProGAN with
DCGAN's parameter count (fmap_base 2048, fmap_max 256: 4.0 M in G against 3.6 M) about 25x slower per 64 px image
than DCGAN, so it would spend the whole budget growing. The report states each model's parameter count, steps and
real images seen.

Two steps, so training and evaluation can be split (a finished run is kept, an interrupted one starts again)::

    python benchmarks/celeba_equal_time.py train --minutes 10 --seeds 0 1
    python benchmarks/celeba_equal_time.py evaluate --json benchmarks/results/celeba_equal_time.json \\
        --figure docs/celeba-equal-time.png
    python benchmarks/celeba_equal_time.py train --quick && python benchmarks/celeba_equal_time.py evaluate --quick

The hour-long runs go two at a time, one core each (``--threads 1``), into a folder of their own; scale ProGAN's
``--stable``/``--fade`` with the budget so that it still grows to 64 px in the first ~60 % of it.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import shutil
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo

REPO = Path(__file__).resolve().parents[1]
CELEBA = REPO.parent / "shared" / "datasets" / "celeba64" / "celeba64_uint8.npz"
RUNS = REPO / "runs" / "celeba-equal-time"
SETUPS = ("dcgan", "sngan", "progan")
#: the README's CPU-sized ProGAN
PROGAN_CONFIG = {"z_dim": 128, "fmap_base": 512, "fmap_max": 64}


def quick_data(path: Path, runs: Path, n: int = 400) -> Path:
    """The first ``n`` images of ``path`` in a file of their own (the smoke test's data)."""
    small = runs / f"first{n}.npz"
    if not small.is_file():
        runs.mkdir(parents=True, exist_ok=True)
        with np.load(path, allow_pickle=False) as archive:
            np.savez(small, images=archive["images"][:n])
    return small


def train_one(setup: str, seed: int, args: argparse.Namespace) -> None:
    """Train one setup for the wall-clock budget into ``<runs>/<setup>-s<seed>``."""
    folder = args.runs / f"{setup}-s{seed}"
    if (folder / "config.json").is_file():
        print(f"{folder.name}: done, kept", flush=True)
        return
    if folder.exists():  # an interrupted run: a time budget cannot be resumed fairly, so start again
        shutil.rmtree(folder)
    common: dict[str, Any] = {
        "steps": 10**9,
        "max_seconds": args.minutes * 60,
        "seed": seed,
        "out_dir": folder,
        "log_every": 25,
        "checkpoint_every": 10**9,
        "progress": not args.quiet,
        "ema": 0.999,
    }
    if setup == "dcgan":
        ganzoo.train("dcgan", str(args.data), batch_size=64, sample_every=500, **common)
        return
    if setup == "sngan":
        ganzoo.train(
            "dcgan", str(args.data), loss="hinge", d_norm="spectral", batch_size=64, sample_every=500, **common
        )
        return
    options = {"stable_images": args.stable, "fade_images": args.fade, "batch_sizes": {}}
    ganzoo.train(
        "progan",
        str(args.data),
        method="progressive",
        method_options=options,
        batch_size=16,
        sample_every=250,
        **common,
        **PROGAN_CONFIG,
    )


def parameters(model: Any) -> int:
    """Parameters of a published generator."""
    return sum(p.numel() for p in model.module.parameters())


def evaluate_runs(args: argparse.Namespace) -> dict[str, Any]:
    """FID/KID of every finished run, and the per-setup medians over the seeds."""
    runs: dict[str, Any] = {}
    for folder in sorted(p for p in args.runs.iterdir() if (p / "config.json").is_file()):
        model = ganzoo.load(folder)
        saved = args.runs / f"{folder.name}.eval.json"
        if saved.is_file() and saved.stat().st_mtime > (folder / "config.json").stat().st_mtime:
            result = json.loads(saved.read_text())  # measured already (a run is never retrained in place)
        else:
            result = ganzoo.evaluate(
                model,
                str(args.data),
                ["fid", "kid"],
                n=args.n,
                n_reference=args.n_reference,
                heldout=0.1,
                seed=0,
                # the smoke test: pixel features and no sample floor (seconds; the numbers only check the script)
                extractor="pixels" if args.quick else None,
                metric_options={"fid": {"min_samples": 2}} if args.quick else None,
                out=args.runs / f"{folder.name}.eval.json",
                label=folder.name,
            )
        training = model.training
        runs[folder.name] = {
            "setup": folder.name.rsplit("-s", 1)[0],
            "arch": model.architecture,
            "loss": training.get("loss"),
            "d_norm": model.config.get("d_norm")
            if isinstance(model.config, dict)
            else getattr(model.config, "d_norm", None),
            "seed": training["seed"],
            "fid": result["metrics"]["fid"]["fid"],
            "kid_x1000": 1000 * result["metrics"]["kid"]["kid"],
            "g_parameters": parameters(model),
            "steps": training["steps"],
            "real_images_seen": training.get("images_seen", training["steps"] * training["batch_size"]),
            "wall_seconds": training["wall_seconds_last_session"],
            "cpu_threads": training.get("cpu_threads"),  # None: saved before models recorded it (all threads)
            "protocol": result["protocol"],
        }
        print(f"{folder.name}: FID {runs[folder.name]['fid']:.1f}, KID x1000 {runs[folder.name]['kid_x1000']:.1f}")
    medians = {}
    for setup in SETUPS:
        rows = [r for r in runs.values() if r["setup"] == setup]
        if rows:
            fids = [r["fid"] for r in rows]
            medians[setup] = {
                "fid": statistics.median(fids),
                "fid_spread": max(fids) - min(fids),
                "kid_x1000": statistics.median(r["kid_x1000"] for r in rows),
                "seeds": len(rows),
            }

    def ratio(a: str, b: str) -> float | None:
        return medians[a]["fid"] / medians[b]["fid"] if a in medians and b in medians else None

    return {
        "experiment": "DCGAN, SN-GAN and ProGAN on CelebA-64 at equal wall-clock (issues 18 and 19)",
        "runs": runs,
        "medians": medians,
        "progan_over_dcgan_fid": ratio("progan", "dcgan"),
        "sngan_over_dcgan_fid": ratio("sngan", "dcgan"),
        "target": "ProGAN FID <= 0.9x DCGAN's (median over seeds)",
    }


def draw(args: argparse.Namespace, report: dict[str, Any], path: Path) -> None:
    """Samples of each seed-0 model (same latents per model) and ProGAN's growth: its progress grids per level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from ganzoo.sampling import make_grid, to_uint8

    names = [f"{setup}-s0" for setup in SETUPS if f"{setup}-s0" in report["runs"]]
    growth = sorted((args.runs / "progan-s0" / "progress").glob("step-*.png")) if "progan-s0" in names else []
    # up to six progress grids, spread over the run, to show 4 px becoming 64 px
    picks = [growth[i] for i in np.linspace(0, len(growth) - 1, min(6, len(growth))).round().astype(int)]
    fig = plt.figure(figsize=(15, 5.6 + (3.2 if picks else 0)))
    top, bottom = fig.subfigures(2, 1, height_ratios=[5.6, 3.2]) if picks else (fig, None)
    for ax, name in zip(np.atleast_1d(top.subplots(1, len(names))), names, strict=True):
        images = ganzoo.load(args.runs / name).sample(36, seed=0, output="raw")  # [-1, 1], as to_uint8 takes
        ax.imshow(make_grid(to_uint8(images), nrow=6))
        r = report["runs"][name]
        ax.set_title(f"{name}: FID {r['fid']:.0f}, {r['real_images_seen'] / 1000:.0f}k images", fontsize=10)
        ax.axis("off")
    phases = {}  # step -> (resolution, alpha) from the run's log, to say what each progress grid shows
    if picks:
        with open(args.runs / "progan-s0" / "losses.csv", newline="") as f:
            phases = {int(r["step"]): (float(r["resolution"]), float(r["alpha"])) for r in csv.DictReader(f)}
        bottom.suptitle("progan-s0's progress grids: the growth from 4 px", fontsize=10)
        for ax, png in zip(np.atleast_1d(bottom.subplots(1, len(picks))), picks, strict=True):
            with Image.open(png) as picture:
                ax.imshow(np.asarray(picture.convert("RGB")))
            step = int(png.stem.split("-")[-1])
            resolution, alpha = phases.get(step, (None, None))
            ax.set_title(f"step {step}" + (f"\n{resolution:.0f} px, α {alpha:.2f}" if resolution else ""), fontsize=9)
            ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train each setup for the same wall-clock (a finished run is kept)")
    train.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    train.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    train.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget of each run")
    train.add_argument("--stable", type=int, default=7000, help="ProGAN: real images per stable phase")
    train.add_argument("--fade", type=int, default=7000, help="ProGAN: real images per fade-in")
    train.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads of this process (1: two runs side by side on two cores, each on its own core)",
    )
    train.add_argument("--quiet", action="store_true")
    evaluate = sub.add_parser("evaluate", help="measure the finished runs")
    evaluate.add_argument("--json", type=Path, default=None)
    evaluate.add_argument("--figure", type=Path, default=None)
    evaluate.add_argument("--n", type=int, default=5000, help="generated samples for FID/KID")
    evaluate.add_argument("--n-reference", type=int, default=9000, help="reference images (the first ones)")
    for sub_parser in (train, evaluate):
        sub_parser.add_argument("--data", type=Path, default=CELEBA)
        sub_parser.add_argument("--runs", type=Path, default=RUNS)
        sub_parser.add_argument("--quick", action="store_true", help="20 s runs, 1 seed, few samples: a smoke test")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"{args.data} not found: pass --data PATH to the CelebA-64 uint8 .npz")
    if args.quick:
        args.runs = args.runs.parent / (args.runs.name + "-quick")
        args.data = quick_data(args.data, args.runs)
    if args.command == "train":
        if args.quick:
            args.minutes, args.seeds, args.stable, args.fade = 1 / 3, [0], 64, 64
        if args.threads:
            torch.set_num_threads(args.threads)
        for seed in args.seeds:
            for setup in args.setups:
                train_one(setup, seed, args)
        return
    if args.quick:
        args.n, args.n_reference = 64, 300
    report = evaluate_runs(args)
    report.update(date=datetime.date.today().isoformat(), torch=torch.__version__, python=platform.python_version())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.figure:
        draw(args, report, args.figure)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
