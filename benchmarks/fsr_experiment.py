"""Forward super-resolution on CelebA-64: layer-wise vs the random-frozen control vs joint, at the same budget.

The experiment of Allen-Zhu and Li, "Forward Super-Resolution: How Can GANs Learn Hierarchical Generative Models
for Real-World Distributions" (https://arxiv.org/abs/2106.02619): the ``fsr`` network (a hidden layer and an output
deconvolution per resolution 4..64, one D per resolution) trained three ways for the same number of steps,
``(L + 1) * level_steps`` (L = 4 at 64 px):

- ``layerwise``: level l for ``level_steps`` steps with the levels below frozen, then the next;
- ``random-frozen`` (control): the lower hidden layers frozen at random init, the top layer trained all along;
- ``joint``: every level and every D together (multi-scale);
- ``random-frozen-matched`` (the step-matched control): the control trained for one level's ``level_steps``, as
  many steps as layer-wise's top level gets: trained against random lower layers at equal top-layer training;
- ``layerwise-faded``: layer-wise with each new level faded in from the one below over its first ``--fade-steps``
  (ProGAN's fade-in, the method's ``fade_steps``): holds each new D back against a trained, upscaled picture.

Each run logs per-resolution patch moments and hidden-layer sparsity every ``--measure-every`` steps (losses.csv),
then is evaluated with ``fid-per-resolution`` (Inception FID of every level against the reals average-pooled to it),
``moments-per-resolution`` and ``patch-sparsity``. Writes ``<out>/fsr_experiment.json`` (numbers + protocol) and
``<out>/fsr_experiment.png`` (FID per resolution, moments per resolution, sparsity per layer vs random init, and
the final-resolution moment distance against steps), and ``<out>/fsr_samples.png`` (a row per mode from the same
latents: one latent's pyramid, then samples). The article's expectation: layer-wise clearly better than
the control at 64 px; moments matched early; hidden layers sparser than at init.

Run from the repository root (a GPU: about 3 x 15k steps at batch 64, plus 3 x 10 Inception passes of 10k images)::

    python benchmarks/fsr_experiment.py --device cuda                      # -> runs/fsr-experiment/
    python benchmarks/fsr_experiment.py --device cuda --level-steps 1000 --n 5000   # a shorter budget
    python benchmarks/fsr_experiment.py --quick                             # checks the script: < 1 min on a CPU

An interrupted run continues from its checkpoints (each mode's folder is resumed when it holds one). Each mode's
numbers are kept in ``<out>/<mode>.summary.json`` and the report gathers every mode of the same budget and config
found there, so modes can run in separate processes, e.g. two at a time on one core each (``--threads 1``):

    python benchmarks/fsr_experiment.py --modes layerwise,random-frozen-matched --threads 1 &
    python benchmarks/fsr_experiment.py --modes random-frozen --threads 1; wait
    python benchmarks/fsr_experiment.py --modes joint
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ganzoo
from ganzoo.data import InMemoryData
from ganzoo.fileio import write_json

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "datasets" / "celeba64" / "celeba64_uint8.npz"
MODES = ("layerwise", "random-frozen", "joint", "random-frozen-matched", "layerwise-faded")
#: the experiment's modes as the ``fsr`` method's, and the levels' worth of steps each trains (None: all levels)
METHOD_MODE = {"random-frozen-matched": "random-frozen", "layerwise-faded": "layerwise"}
LEVELS_OF_STEPS = {"random-frozen-matched": 1}
METRICS = ["fid-per-resolution", "moments-per-resolution", "patch-sparsity"]
#: the quick check's network: 16 px (levels 4, 8, 16), a few channels
QUICK_CONFIG = {"image_size": 16, "z_dim": 16, "g_width": 8, "g_max": 32, "d_width": 8, "d_max": 32}


def quick_data(path: Path, n: int = 256) -> InMemoryData:
    """The first ``n`` CelebA images pooled to 16 px (random pictures when the file is not there)."""
    if path.is_file():
        with np.load(path, allow_pickle=False) as archive:
            images = torch.from_numpy(archive["images"][:n]).permute(0, 3, 1, 2).float()
        images = torch.nn.functional.avg_pool2d(images, images.shape[-1] // 16).round().to(torch.uint8)
        return InMemoryData(images, description=f"first {n} of {path.name}, pooled to 16 px")
    images = torch.randint(0, 256, (n, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return InMemoryData(images, description="random 16 px pictures (the CelebA file was not found)")


def train_mode(mode: str, data: Any, out: Path, args: argparse.Namespace, config: dict[str, Any]) -> Any:
    """One mode's run (resumed when its folder holds a checkpoint)."""
    levels = int(np.log2(config["image_size"] // 4)) + 1
    # the same budget for every mode but the step-matched control, which gets one level's steps
    steps = LEVELS_OF_STEPS.get(mode, levels) * args.level_steps
    options = {
        "mode": METHOD_MODE.get(mode, mode),
        "level_steps": args.level_steps,
        "measure_every": args.measure_every,
    }
    if mode == "layerwise-faded":
        options["fade_steps"] = args.fade_steps
    resume = (out / "checkpoint.safetensors").is_file()
    return ganzoo.train(
        "fsr",
        data,
        method="fsr",
        method_options=options,
        loss=args.loss,
        steps=steps,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        out_dir=out,
        resume=resume,
        log_every=args.measure_every,
        sample_every=max(args.measure_every, steps // 20),
        checkpoint_every=max(args.measure_every, steps // 10),
        progress=not args.quick,
        **config,
    )


def gather(out: Path, budget: dict[str, Any], config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every mode's summary in ``out`` measured at this ``budget`` and ``config``, in ``MODES`` order."""
    found = {}
    for mode in MODES:
        path = out / f"{mode}.summary.json"
        if path.is_file():
            summary = json.loads(path.read_text())
            if summary["budget"] == budget and summary["config"] == config:
                found[mode] = summary
            else:
                print(f"{path.name}: another budget or config ({summary['budget']}, {summary['config']}), left out")
    return found


def curve(run: Path, key: str) -> tuple[list[int], list[float]]:
    """A column of a run's losses.csv (the rows that have it)."""
    with open(run / "losses.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get(key) not in (None, "")]
    return [int(r["step"]) for r in rows], [float(r[key]) for r in rows]


def summarise(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The numbers the figure and the table need, from one evaluate() result."""
    m = evaluation["metrics"]
    return {
        "fid": m["fid-per-resolution"]["fid"],
        "fid_final": m["fid-per-resolution"]["fid_final"],
        "moments": {str(r["resolution"]): r for r in m["moments-per-resolution"]["levels"]},
        "sparsity": [
            {k: r[k] for k in ("layer", "shape", "zero_fraction", "zero_fraction_init", "active_channels")}
            for r in m["patch-sparsity"]["layers"]
        ],
    }


def figure(results: dict[str, Any], out: Path, runs: dict[str, Path], final: int) -> Path:
    """Six panels: FID per resolution, patch covariance distance per resolution, sparsity per layer (dashed: the
    random init); against steps, the final resolution's moment distance, the top hidden layer's sparsity, and
    (for the first mode) the moment distance of every resolution, to show which levels are matched when."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 8))
    (fid_ax, mom_ax, sp_ax), (step_ax, zero_ax, level_ax) = axes
    for mode, r in results.items():
        sizes = sorted(int(s) for s in r["fid"])
        fid_ax.plot(sizes, [r["fid"][str(s)] for s in sizes], marker="o", label=mode)
        mom_ax.plot(sizes, [r["moments"][str(s)]["cov_distance_relative"] for s in sizes], marker="o", label=mode)
        layers = range(len(r["sparsity"]))
        line = sp_ax.plot(layers, [x["zero_fraction"] for x in r["sparsity"]], marker="o", label=mode)[0]
        sp_ax.plot(layers, [x["zero_fraction_init"] for x in r["sparsity"]], linestyle="--", color=line.get_color())
        steps, values = curve(runs[mode], f"cov_dist_{final}px")
        step_ax.plot(steps, values, label=mode, linewidth=1)
        steps, values = curve(runs[mode], f"zeros_{final}px")
        line = zero_ax.plot(steps, values, label=mode, linewidth=1)[0]
        steps, values = curve(runs[mode], f"zeros_init_{final}px")
        zero_ax.plot(steps, values, linestyle="--", linewidth=1, color=line.get_color())
    first = next(iter(results))
    for size in sorted(int(s) for s in results[first]["fid"]):
        steps, values = curve(runs[first], f"cov_dist_{size}px")
        level_ax.plot(steps, values, label=f"{size} px", linewidth=1)
    for ax, title, log in (
        (fid_ax, "FID per resolution (vs reals pooled to it)", True),
        (mom_ax, "4x4-patch covariance distance per resolution", True),
        (sp_ax, "near-zero channels per position (dashed: random init)", False),
        (step_ax, f"{final} px patch covariance distance during training", True),
        (zero_ax, f"{final} px hidden layer: near-zero channels (dashed: init)", False),
        (level_ax, f"{first}: covariance distance of every resolution", True),
    ):
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize="small")
        if log:
            ax.set_yscale("log")
    fid_ax.set_xscale("log", base=2)
    mom_ax.set_xscale("log", base=2)
    fid_ax.set_xlabel("resolution (px)")
    mom_ax.set_xlabel("resolution (px)")
    sp_ax.set_xlabel("hidden layer (level)")
    for ax in (step_ax, zero_ax, level_ax):
        ax.set_xlabel("step")
    fig.tight_layout()
    path = out / "fsr_experiment.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def sample_rows(runs: dict[str, Path], n: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """A picture per mode, the same latents for all: the pyramid of the first latent (every level, nearest-upscaled
    to the final size), a white gap, then ``n`` samples at the final resolution; ``[size, width, 3]`` uint8."""
    from ganzoo.plugins.fsr import upscale
    from ganzoo.plugins.metrics.multiscale import pyramid_of

    rows = {}
    for mode, run in runs.items():
        levels = pyramid_of(ganzoo.load(run), n, seed)  # [n, 3, s, s] uint8 per level, coarse to fine
        final = levels[-1].shape[-1]
        pyramid = [upscale(x[:1].float(), final) for x in levels]
        gap = torch.full((1, 3, final, final // 4), 255.0)
        row = torch.cat([*pyramid, gap, *levels[-1].float().split(1)], dim=3)  # [1, 3, final, width]
        rows[mode] = row[0].permute(1, 2, 0).to(torch.uint8).numpy()
    return rows


def samples_figure(runs: dict[str, Path], out: Path, n: int = 8, seed: int = 0) -> Path:
    """``sample_rows`` drawn one above the other, titled by mode: what the FIDs mean, to look at."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sample_rows(runs, n, seed)
    fig, axes = plt.subplots(len(rows), 1, figsize=(14, 1.45 * len(rows) + 0.5), squeeze=False)
    for ax, (mode, image) in zip(axes[:, 0], rows.items(), strict=True):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(mode, loc="left", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"left: one latent's pyramid, every level upscaled; right: {n} samples (seed {seed})", fontsize=9)
    fig.tight_layout()
    path = out / "fsr_samples.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def publish(path: Path, grid: Path, figure_path: Path | None) -> None:
    """Copy the figure to ``figure_path`` and the samples grid beside it (``<stem>-samples.png``), if asked."""
    print(f"wrote {path} and {grid}")
    if figure_path:
        samples_path = figure_path.with_name(figure_path.stem + "-samples.png")
        shutil.copyfile(path, figure_path)
        shutil.copyfile(grid, samples_path)
        print(f"copied them to {figure_path} and {samples_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CelebA-64 uint8 .npz")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "fsr-experiment")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ", ".join(MODES))
    parser.add_argument("--level-steps", type=int, default=3000, help="steps per level (budget: 5x this at 64 px)")
    parser.add_argument(
        "--fade-steps", type=int, default=None, help="layerwise-faded: fade-in steps per level (default: half a level)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--loss", default=None, help="adversarial loss (default: the architecture's)")
    parser.add_argument("--measure-every", type=int, default=250, help="per-resolution moments/sparsity cadence")
    parser.add_argument(
        "--n", type=int, default=10_000, help="samples per evaluation (under 2048: FID biased up, modes comparable)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fsr config field")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1: two processes side by side)")
    parser.add_argument("--quick", action="store_true", help="a 16 px smoke run of the whole script (< 1 min)")
    parser.add_argument("--replot", action="store_true", help="redraw the figure from <out>/fsr_experiment.json")
    parser.add_argument(
        "--figure",
        type=Path,
        default=None,
        help="also save the figure here (e.g. under docs/; the samples grid goes beside it as <stem>-samples.png)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.replot:
        if args.quick:
            args.out = args.out.with_name(args.out.name + "-quick")
        report = json.loads((args.out / "fsr_experiment.json").read_text())
        runs = {mode: args.out / mode for mode in report["results"]}
        path = figure(report["results"], args.out, runs, report["config"]["image_size"])
        grid = samples_figure(runs, args.out, seed=args.seed)
        publish(path, grid, args.figure)
        return
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"unknown modes {unknown}; choose from {', '.join(MODES)}")
    config: dict[str, Any] = {"image_size": 64}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    metric_options: dict[str, dict[str, Any]] = {"fid-per-resolution": {"device": args.device, "progress": True}}
    if args.n < 2048:  # a shorter budget: FID of fewer samples than feature dimensions is biased upward, so such
        # numbers compare the modes with each other (same n, same reference), not with published FIDs
        metric_options["fid-per-resolution"]["min_samples"] = args.n
    if args.quick:
        args.level_steps, args.measure_every, args.n, args.batch_size = 4, 2, 64, 16
        args.out = args.out.with_name(args.out.name + "-quick")
        config = dict(QUICK_CONFIG)
        data: Any = quick_data(args.data)
        # pixel features: no Inception weights and seconds instead of minutes (the numbers only check the script)
        metric_options = {"fid-per-resolution": {"extractor": "pixels", "min_samples": 2}, "patch-sparsity": {"n": 32}}
    else:
        if not args.data.is_file():
            parser.error(f"{args.data} not found: pass --data PATH to the CelebA-64 uint8 .npz")
        data = str(args.data)
    if args.fade_steps is None:
        args.fade_steps = args.level_steps // 2
    args.out.mkdir(parents=True, exist_ok=True)
    budget = {
        "level_steps": args.level_steps,
        "batch_size": args.batch_size,
        "loss": args.loss or "default",
        "fade_steps": args.fade_steps,  # layerwise-faded's only; part of the budget so the modes gather as one set
    }
    for mode in modes:
        started = time.perf_counter()
        model = train_mode(mode, data, args.out / mode, args, config)
        seconds = round(time.perf_counter() - started, 1)
        evaluation = ganzoo.evaluate(
            model,
            data,
            METRICS,
            n=args.n,
            seed=args.seed,
            device=args.device,
            metric_options=metric_options,
            out=args.out / f"{mode}.eval.json",
            label=f"fsr {mode}",
            progress=not args.quick,
        )
        summary = {
            "budget": budget,
            "config": config,
            "steps": model.training["steps"],
            "train_seconds": seconds,
            "cpu_threads": torch.get_num_threads(),
            "result": summarise(evaluation),
            "protocol": evaluation["protocol"],
        }
        write_json(args.out / f"{mode}.summary.json", summary)
        print(f"{mode}: FID per resolution {summary['result']['fid']} (train {seconds} s)")
    gathered = gather(args.out, budget, config)
    results = {mode: g["result"] for mode, g in gathered.items()}
    protocols = {mode: g["protocol"] for mode, g in gathered.items()}
    timing = {mode: g["train_seconds"] for mode, g in gathered.items()}
    runs = {mode: args.out / mode for mode in gathered}
    final = config["image_size"]
    report = {
        "experiment": "forward super-resolution: layer-wise vs random-frozen control vs joint (Allen-Zhu & Li)",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "data": str(args.data) if not args.quick else data.description,
        "config": config,
        "budget": budget,
        "fid_samples": args.n,
        "train_seconds": timing,
        "steps": {mode: g["steps"] for mode, g in gathered.items()},
        "cpu_threads": {mode: g["cpu_threads"] for mode, g in gathered.items()},
        "results": results,
        "headline": {mode: r["fid_final"] for mode, r in results.items()},
        "protocols": protocols,
    }
    write_json(args.out / "fsr_experiment.json", report)
    path = figure(results, args.out, runs, final)
    grid = samples_figure(runs, args.out, seed=args.seed)
    print(f"wrote {args.out / 'fsr_experiment.json'}")
    publish(path, grid, args.figure)
    print("FID at the final resolution:", {m: round(v, 2) for m, v in report["headline"].items()})


if __name__ == "__main__":
    main()
