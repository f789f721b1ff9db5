"""Class-conditional families on Fashion-MNIST 32 px: the same trunk and budget for each, then classifier metrics.

Two steps, so a long training run and its evaluation can be split (and resumed):

    python benchmarks/conditional_fashion.py train --families cgan acgan projection infogan --steps 10000
    python benchmarks/conditional_fashion.py evaluate --json benchmarks/results/conditional_fashion.json \
        --figure docs/conditional-fashion-grids.png

``train`` runs ``ganzoo.train`` for every family and seed into ``runs/conditional/<family>-s<seed>`` (an
interrupted run resumes from its checkpoint; a finished one is kept), with DCGAN-style trunks of width
``--width`` (G's last and D's first width; 32 here, 64 is pytorch/examples' size), batch 64, each family's default
loss and method, and records images/second. ``--control`` adds InfoGAN with ``info_weight=0``.

``evaluate`` measures every finished run with the Fashion-MNIST classifier metrics (conditional accuracy,
classification accuracy score, classifier inception score, class diversity, intra-class Fréchet distance against
its real-train/real-test floor) and, for InfoGAN, how its categorical code matches the classes (Hungarian-matched
accuracy and NMI of code against the classifier's class) and the continuous codes' R² from Q; it also draws the
families' class grids side by side. It records the machine's fp32 matmul peak.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo

REPO = Path(__file__).resolve().parents[1]
FASHION = REPO.parent / "shared" / "datasets" / "fashion_mnist" / "fashion_mnist.npz"
RUNS = REPO / "runs" / "conditional"
CLASS_METRICS = [
    "conditional-accuracy",
    "classification-accuracy-score",
    "classifier-inception-score",
    "class-diversity",
    "intra-class-fd",
]

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_folder(family: str, seed: int, control: bool = False, spectral_norm: bool = False) -> Path:
    """Where a family's run lives."""
    return RUNS / f"{family}{'-control' if control else ''}{'-sn' if spectral_norm else ''}-s{seed}"


def train_one(family: str, seed: int, args: argparse.Namespace, control: bool = False) -> dict[str, Any]:
    """Train (or resume, or keep) one run; returns its timing."""
    folder = run_folder(family, seed, control, args.spectral_norm)
    model_file = folder / "config.json"
    if model_file.is_file() and json.loads(model_file.read_text())["training"]["steps"] >= args.steps:
        print(f"{folder.name}: done, kept", flush=True)
        return json.loads((folder / "timing.json").read_text()) if (folder / "timing.json").is_file() else {}
    resume = (folder / "checkpoint.safetensors").is_file()
    times: list[float] = []
    started = time.perf_counter()
    ganzoo.train(
        family,
        f"fashion-mnist:{args.data}",
        steps=args.steps,
        batch_size=args.batch_size,
        seed=seed,
        out_dir=folder,
        resume=resume,
        overwrite=not resume and folder.exists(),
        log_every=100,
        sample_every=max(1, args.steps // 5),
        checkpoint_every=1000,
        progress=not args.quiet,
        callbacks=[lambda step, metrics, state: times.append(time.perf_counter())],
        method_options={"info_weight": 0.0} if control else None,
        g_width=args.width,
        d_width=args.width,
        **({"spectral_norm": True} if args.spectral_norm else {}),
    )
    wall = time.perf_counter() - started
    # images/second from the logged steps (every 100): excludes start-up, previews and the final save
    steady = (len(times) - 1) * 100 * args.batch_size / (times[-1] - times[0]) if len(times) > 1 else None
    timing = {"wall_seconds_this_session": round(wall, 1), "images_per_second": round(steady, 1) if steady else None}
    (folder / "timing.json").write_text(json.dumps(timing) + "\n")
    print(f"{folder.name}: {timing}", flush=True)
    return timing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the families (resumable)")
    train.add_argument("--families", nargs="+", default=["cgan", "acgan", "projection", "infogan"])
    train.add_argument("--seeds", nargs="+", type=int, default=[0])
    train.add_argument("--steps", type=int, default=10_000)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--width", type=int, default=32)
    train.add_argument("--control", action="store_true", help="also InfoGAN with info_weight=0")
    train.add_argument(
        "--spectral-norm", action="store_true", help="spectral norm in D (runs named <family>-sn-s<seed>)"
    )
    train.add_argument("--data", type=Path, default=FASHION)
    train.add_argument("--quiet", action="store_true")
    evaluate = sub.add_parser("evaluate", help="measure the finished runs")
    evaluate.add_argument("--json", type=Path, default=None)
    evaluate.add_argument("--figure", type=Path, default=None)
    evaluate.add_argument("--per-class", type=int, default=1000, help="fakes per class for the class metrics")
    evaluate.add_argument("--fid", type=int, default=2500, help="samples for FID/KID (>= 2048; 0: skip them)")
    evaluate.add_argument(
        "--fid-runs", nargs="+", default=None, help="FID/KID for these runs only (e.g. acgan-s0 cgan-s0; default all)"
    )
    evaluate.add_argument("--data", type=Path, default=FASHION)
    args = parser.parse_args(argv)
    if args.command == "train":
        for seed in args.seeds:
            for family in args.families:
                train_one(family, seed, args)
        if args.control:
            for seed in args.seeds:
                train_one("infogan", seed, args, control=True)
    else:
        from conditional_fashion_eval import evaluate_runs

        report = evaluate_runs(args)
        report.update(
            date=datetime.date.today().isoformat(),
            torch=torch.__version__,
            python=platform.python_version(),
            numpy=np.__version__,
        )
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
