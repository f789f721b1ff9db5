"""xICFG against the non-saturating GAN and WGAN-GP on Fashion-MNIST 32 px, at equal wall-clock (issue 19).

The same DCGAN networks for every method (``dcgan``, 32 px, one channel, widths ``--width``, z 100, batch 64);
D with batch norm for xICFG and the non-saturating GAN, layer norm for WGAN-GP (a gradient penalty needs
per-sample gradients); bfloat16 autocast for all where the machine runs it fast (``--amp``). Each run trains for
``--minutes`` of wall-clock (``max_seconds``), then:

- the classifier inception score ``exp E KL(p(y|x) || p(y))`` and the class diversity with ganzoo's Fashion-MNIST
  classifier (the authors' "Inception score" with a classifier of the data set), 10,000 samples;
- FID and KID with the Inception network (``--fid`` samples, upsampled to 299 as the extractor does);
- for xICFG also the approximator alone (what ``ganzoo export`` writes to ONNX), and the sampling speed of both.

Two steps, so training and evaluation can be split (a finished run is kept, an interrupted one starts again)::

    python benchmarks/xicfg_fashion.py train --minutes 10 --seeds 0 1
    python benchmarks/xicfg_fashion.py evaluate --json benchmarks/results/xicfg_fashion.json \\
        --figure docs/xicfg-fashion.png
    python benchmarks/xicfg_fashion.py train --quick && python benchmarks/xicfg_fashion.py evaluate --quick

The hour-long table ran two single-thread runs side by side on the two cores (each run one core for its hour),
two seeds over two sessions; ``runs/`` does not outlive a session, so the second session's report merges the
first's::

    R=runs/xicfg-fashion-60
    python benchmarks/xicfg_fashion.py train --minutes 60 --threads 1 --setups xicfg wgan-gp --seeds 0 --runs $R &
    python benchmarks/xicfg_fashion.py train --minutes 60 --threads 1 --setups non-saturating --seeds 0 --runs $R
    python benchmarks/xicfg_fashion.py train --minutes 60 --threads 1 --setups xicfg --seeds 1 --runs $R; wait
    python benchmarks/xicfg_fashion.py evaluate --runs $R --json benchmarks/results/xicfg_fashion_60min.json \
        --figure docs/xicfg-fashion-60min.png
    # the next session (a new $R): the remaining seed-1 runs side by side, then their evaluation joined to the first
    python benchmarks/xicfg_fashion.py train --minutes 60 --threads 1 --setups non-saturating --seeds 1 --runs $R &
    python benchmarks/xicfg_fashion.py train --minutes 60 --threads 1 --setups wgan-gp --seeds 1 --runs $R; wait
    python benchmarks/xicfg_fashion.py evaluate --runs $R --merge <the first report> --json <the merged report>
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo

REPO = Path(__file__).resolve().parents[1]
FASHION = REPO.parent / "shared" / "datasets" / "fashion_mnist" / "fashion_mnist.npz"
RUNS = REPO / "runs" / "xicfg-fashion"
#: method, loss and D normalisation of each compared setting
SETUPS: dict[str, dict[str, Any]] = {
    "xicfg": {"method": "xicfg", "d_norm": "batch"},
    "non-saturating": {"loss": "non-saturating", "d_norm": "batch"},
    "wgan-gp": {"loss": "wgan-gp", "d_norm": "layer"},
}

sys.path.insert(0, str(Path(__file__).resolve().parent))


def real_images_seen(training: dict[str, Any]) -> int:
    """Real images D saw: xICFG T x U batches a stage (its defaults here: 15 x 1), a critic loss ``d_steps`` a
    step. (Computed rather than read, as models saved before ``images_seen`` was the method's own say steps x batch.)"""
    steps, batch = training["steps"], training["batch_size"]
    if training["method"] == "xicfg":
        return steps * 15 * batch
    return steps * ganzoo.get_registry().get("loss", training["loss"]).create().d_steps * batch


def train_one(name: str, seed: int, args: argparse.Namespace) -> None:
    """Train one setting for the wall-clock budget into ``runs/xicfg-fashion/<name>-s<seed>``."""
    folder = args.runs / f"{name}-s{seed}"
    if (folder / "config.json").is_file():
        print(f"{folder.name}: done, kept", flush=True)
        return
    if folder.exists():  # an interrupted run: a time budget cannot be resumed fairly, so start again
        shutil.rmtree(folder)
    setup = dict(SETUPS[name])
    d_norm = setup.pop("d_norm")
    ganzoo.train(
        "dcgan",
        f"fashion-mnist:{args.data}",
        **setup,
        steps=10**9,
        max_seconds=args.minutes * 60,
        batch_size=64,
        seed=seed,
        out_dir=folder,
        log_every=10,
        sample_every=10**9,
        checkpoint_every=10**9,
        progress=not args.quiet,
        image_size=32,
        channels=1,
        g_width=args.width,
        d_width=args.width,
        d_norm=d_norm,
        amp=args.amp,
    )


def approximator_of(model: Any) -> Any:
    """The xICFG approximator as a generator of its own (what the ONNX export computes)."""
    from ganzoo.models.generator import Generator

    return Generator(
        model.module.approximator, model.architecture, model.config, task=model.task, training=model.training
    )


def samples_per_second(model: Any, n: int = 512) -> float:
    """Images a second of ``model.sample`` at batch 256 (after one warm-up batch)."""
    model.sample(64, seed=1)
    started = time.perf_counter()
    model.sample(n, seed=2)
    return n / (time.perf_counter() - started)


def evaluate_runs(args: argparse.Namespace) -> dict[str, Any]:
    """Every finished run of ``args.runs`` measured; and the first seed's samples as one figure."""
    from train_dcgan import cpu_name, matmul_peak

    data = f"fashion-mnist:{args.data}"
    report: dict[str, Any] = {"cpu": cpu_name(), "runs": [], "matmul_peak_gflops": round(matmul_peak(), 1)}
    panels = []
    for folder in sorted(args.runs.glob("*-s*")):
        if not (folder / "config.json").is_file() or (args.only and folder.name not in args.only):
            continue
        model = ganzoo.load(folder)
        variants = [("", model)] + ([(" (approximator)", approximator_of(model))] if "xicfg" in folder.name else [])
        for suffix, generator in variants:
            metrics = ganzoo.evaluate(
                generator,
                data,
                ["classifier-inception-score", "class-diversity"],
                n=args.n,
                resize=True,  # Fashion-MNIST's 28 px to the model's 32 (exact zero padding)
                progress=False,
            )["metrics"]
            if args.fid:
                metrics.update(
                    ganzoo.evaluate(generator, data, ["fid", "kid"], n=args.fid, resize=True, progress=False)["metrics"]
                )
            entry = {
                "run": folder.name + suffix,
                "steps": model.training["steps"],
                "real_images_seen": real_images_seen(model.training),
                "wall_seconds": model.training["wall_seconds_last_session"],
                "cpu_threads": model.training.get("cpu_threads", args.train_threads),
                "samples_per_second": round(samples_per_second(generator), 1),
                "metrics": metrics,
            }
            report["runs"].append(entry)
            print(json.dumps(entry), flush=True)
            if folder.name.endswith("-s0") or args.quick:
                panels.append((folder.name + suffix, generator.sample(64, seed=0, output="raw")))
    if args.figure and panels:
        draw(panels, args.figure)
    return report


def merge_runs(runs: list[dict[str, Any]], reports: list[Path]) -> list[dict[str, Any]]:
    """``runs`` with those of earlier ``reports`` added, each tagged with its report's date and machine; a run
    measured here wins over an earlier entry of the same name. Sorted by run name."""
    merged = {entry["run"]: entry for entry in runs}
    for path in reports:
        earlier = json.loads(path.read_text())
        for entry in earlier["runs"]:
            if entry["run"] not in merged:
                merged[entry["run"]] = {
                    **entry,
                    "measured": {key: earlier.get(key) for key in ("date", "cpu", "matmul_peak_gflops")},
                }
    return [merged[name] for name in sorted(merged)]


def draw(panels: list[tuple[str, torch.Tensor]], path: Path) -> None:
    """One 8x8 grid per run, side by side with its name above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganzoo.sampling import make_grid, to_uint8

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.5))
    for ax, (name, images) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(make_grid(to_uint8(images), nrow=8)[..., 0], cmap="gray", vmin=0, vmax=255)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train every setting for the same wall-clock (a finished run is kept)")
    train.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    train.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    train.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of each run")
    train.add_argument("--width", type=int, default=32, help="G's last and D's first width (64: pytorch/examples)")
    train.add_argument(
        "--amp", action=argparse.BooleanOptionalAction, default=None, help="bfloat16 autocast (default: where fast)"
    )
    train.add_argument("--quiet", action="store_true")
    evaluate = sub.add_parser("evaluate", help="measure the finished runs")
    evaluate.add_argument("--json", type=Path, default=None)
    evaluate.add_argument("--figure", type=Path, default=None)
    evaluate.add_argument("--n", type=int, default=10_000, help="samples for the classifier metrics")
    evaluate.add_argument("--fid", type=int, default=2500, help="samples for FID/KID (>= 2048; 0: skip them)")
    evaluate.add_argument("--only", nargs="+", default=[], help="measure these runs (folder names) only")
    evaluate.add_argument(
        "--train-threads",
        type=int,
        default=None,
        help="threads the runs trained on, for runs saved before models recorded it",
    )
    evaluate.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=[],
        help="earlier reports (--json) whose runs join this one's: seeds trained in another session",
    )
    for sub_parser in (train, evaluate):
        sub_parser.add_argument("--data", type=Path, default=FASHION)
        sub_parser.add_argument("--runs", type=Path, default=RUNS)
        sub_parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="torch threads of this process (1: two jobs side by side on two cores, each on its own core)",
        )
        sub_parser.add_argument("--quick", action="store_true", help="20 s runs, 1 seed, few samples: a smoke test")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.runs = args.runs.parent / (args.runs.name + "-quick")
    if args.command == "train":
        if args.amp is None:  # the same for every method: on where the CPU (or a GPU) runs bfloat16 fast
            from ganzoo.devices import cpu_has_bf16

            args.amp = torch.cuda.is_available() or cpu_has_bf16()
        if args.quick:
            args.minutes, args.seeds, args.width = 1 / 3, [0], 8
        for seed in args.seeds:
            for name in args.setups:
                train_one(name, seed, args)
        return
    if args.quick:
        args.n, args.fid = 500, 0
    report = evaluate_runs(args)
    report["runs"] = merge_runs(report["runs"], args.merge)
    report.update(date=datetime.date.today().isoformat(), torch=torch.__version__, python=platform.python_version())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
