"""Mode coverage of the MLP GAN on ring-8 and grid-25, for every loss and several seeds (VEEGAN / PacGAN protocol).

Each run trains ``ganzoo.train("mlp", DATA, loss=LOSS, seed=SEED, ...)`` and measures 2,500 samples with the
``mode-coverage`` metric: a sample is high quality within 3 standard deviations of its nearest mode, a mode is
covered when it holds at least a fifth of the high-quality samples it should get (20 of 2,500 on grid-25).
Published anchors on grid-25 (VEEGAN, PacGAN): about 24.6-24.8 of 25 modes.

Target: 8/8 and 25/25 modes with >= 95 % high-quality samples on every seed for the recommended setting.

Run from the repository root::

    python benchmarks/mode_coverage.py                          # 2 data sets x every loss x 5 seeds
    python benchmarks/mode_coverage.py --quick                  # a few steps, one seed: checks the script works
    python benchmarks/mode_coverage.py --data grid-25 --losses non-saturating --lr 5e-4 --json grid.json
    python benchmarks/mode_coverage.py --losses non-saturating --loss-option r1_gamma=0.1   # R1 penalty
    python benchmarks/mode_coverage.py --losses non-saturating --method unrolled --method-option unroll_steps=5
    python benchmarks/mode_coverage.py --losses none --method xicfg --steps 500 --batch-size 64   # no --loss
    python benchmarks/mode_coverage.py --losses non-saturating --lr 5e-4 --steps 20000 --loss-option r1_gamma=0.1 \
        --lr-decay linear --lr-decay-start 10000 --eval-every 1000 --trajectory-figure t.png   # the recommended one

``--eval-every N`` also measures every N steps (a trajectory per run, with the share of misses 3-6 sd out and
further out, and the generated modes' width); ``--merge`` joins runs split over processes and redraws figures;
``--compare K=0=k0.json K=5=k5.json --figure f.png`` puts result files of different settings in one table and one
figure (a row per setting).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path
from typing import Any

import click
import torch

import ganzoo
from ganzoo.cli import parse_assignments
from ganzoo.evaluation import evaluate


def steps_for(loss: str, args: argparse.Namespace) -> int:
    """Generator steps for ``loss``: ``--critic-loss-steps`` for losses with several critic steps, if given."""
    if loss == "none":  # a method without an adversarial loss (xicfg)
        return args.steps
    several = ganzoo.get_registry().get("loss", loss).create().d_steps > 1
    return args.critic_loss_steps if several and args.critic_loss_steps else args.steps


# The mode-coverage numbers kept of each run, and of each point of its trajectory.
COVERAGE_FIELDS = ("modes", "high_quality", "near_miss", "off_mode", "spread_ratio")


class CoverageTrajectory:
    """A ``ganzoo.train`` callback: the EMA generator's mode coverage every ``every`` steps, on the same latents
    as the final measurement (so its last row is the final result), into ``rows``."""

    def __init__(self, data: str, every: int, n: int, seed: int) -> None:
        from ganzoo.plugins.datasets import MIXTURE_STD, mixture_centres

        self.every, self.n, self.seed = every, n, seed
        self.centres, self.std = mixture_centres(data), MIXTURE_STD[data]
        self.z: torch.Tensor | None = None  # drawn at the first call, from the run's own z_dim
        self.rows: list[dict[str, Any]] = []

    def __call__(self, step: int, metrics: dict[str, float], state: Any) -> None:
        if step % self.every and step != state.config.steps:
            return
        from ganzoo.plugins.metrics import mode_statistics
        from ganzoo.sampling import latents

        if self.z is None:
            self.z = torch.from_numpy(latents(self.n, state.z_dim, self.seed)).to(state.device)
        with torch.no_grad():
            points = state.ema["generator"].module(self.z).double().cpu().numpy()
        stats = mode_statistics(points, self.centres, self.std)
        self.rows.append({"step": step, **{k: stats[k] for k in COVERAGE_FIELDS}})
        spread = "-" if stats["spread_ratio"] is None else f"{stats['spread_ratio']:.2f}"
        print(
            f"  step {step}: {stats['modes']} modes, {stats['high_quality']:.1%} high quality, "
            f"{stats['near_miss']:.1%} at 3-6 sd, {stats['off_mode']:.1%} off-mode, spread x{spread}",
            flush=True,
        )


def run_one(data: str, loss: str, seed: int, args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """Train one MLP GAN and measure its mode coverage; return the numbers and 2,500 samples for the figure."""
    started = time.perf_counter()
    steps = steps_for(loss, args)
    trajectory = CoverageTrajectory(data, args.eval_every, args.n, seed) if args.eval_every else None
    generator = ganzoo.train(
        "mlp",
        data,
        loss=None if loss == "none" else loss,
        loss_options=args.loss_options,
        method=args.method,
        method_options=args.method_options,
        steps=steps,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_d=args.lr_d,
        betas=args.betas,
        lr_decay=args.lr_decay,
        lr_decay_start=args.lr_decay_start,
        ema=args.ema,
        pack=args.pack,
        seed=seed,
        progress=False,
        log_every=args.eval_every or max(steps, 1),
        callbacks=[trajectory] if trajectory else (),
    )
    trained = time.perf_counter() - started
    result = evaluate(generator, data, ["mode-coverage"], n=args.n, seed=seed, cache=False)["metrics"]["mode-coverage"]
    samples = generator.sample(args.n, seed=seed, output="raw").detach().numpy()
    return {
        "data": data,
        "loss": loss,
        "seed": seed,
        "steps": steps,
        "n_modes": result["n_modes"],
        **{k: result[k] for k in COVERAGE_FIELDS},
        "kl_to_uniform": result["kl_to_uniform"],
        "train_seconds": round(trained, 1),
        **({"trajectory": trajectory.rows} if trajectory else {}),
    }, samples


def draw_panel(ax: Any, run: dict[str, Any], label: str) -> None:
    """``run``'s kept samples over the 3-sigma discs of its data's modes, titled ``label`` and its numbers."""
    import matplotlib.pyplot as plt
    import numpy as np

    from ganzoo.plugins.datasets import MIXTURE_STD, mixture_centres

    data, centres = run["data"], mixture_centres(run["data"])
    x = np.asarray(run["samples"])
    for centre in centres:  # drawn first, so the samples stay visible on top
        ax.add_patch(plt.Circle(centre, 3 * MIXTURE_STD[data], color="tab:red", alpha=0.25, linewidth=0))
    ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:blue", alpha=0.5, linewidths=0)
    lim = 1.3 * abs(centres).max()
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    title = f"{label}, seed {run['seed']}\n{run['modes']}/{run['n_modes']} modes, "
    ax.set_title(title + f"{run['high_quality']:.1%} within 3 sd", fontsize=8)


def save_figure(runs: list[dict[str, Any]], path: Path) -> None:
    """One panel per (data, loss): the samples of its first run that kept them (``--figure`` keeps the first
    seed's) over the 3-sigma discs of the modes (what counts as high quality), titled with its numbers. With one
    loss the data sets sit side by side; otherwise a row per data set and a column per loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganzoo.fileio import atomic_path

    shown = {}
    for run in runs:
        if "samples" in run:
            shown.setdefault((run["data"], run["loss"]), run)
    if not shown:
        raise SystemExit("--figure: no run kept its samples (they are kept for the first seed when --figure is set)")
    datas = list(dict.fromkeys(d for d, _ in shown))
    losses = list(dict.fromkeys(loss for _, loss in shown))
    grid = (
        [[(d, loss) for d in datas] for loss in losses]
        if len(losses) == 1
        else [[(d, x) for x in losses] for d in datas]
    )
    rows, cols = len(grid), len(grid[0])
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.6 * rows + 0.4), squeeze=False)
    for i, line in enumerate(grid):
        for j, (data, loss) in enumerate(line):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if (data, loss) not in shown:
                ax.axis("off")
                continue
            draw_panel(ax, shown[(data, loss)], f"{data} / {loss}")
    fig.suptitle("MLP GAN samples over the modes' 3-sd discs (red)", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def save_trajectory_figure(runs: list[dict[str, Any]], path: Path, settings: dict[str, Any]) -> None:
    """Modes covered and high-quality share against training steps: one column per (data, loss), a line a seed;
    a dashed line where the learning-rate decay starts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganzoo.fileio import atomic_path

    keys = list(dict.fromkeys((r["data"], r["loss"]) for r in runs if r.get("trajectory")))
    fig, axes = plt.subplots(2, len(keys), figsize=(4.2 * len(keys), 5.4), squeeze=False, sharex="col")
    for j, key in enumerate(keys):
        group = [r for r in runs if (r["data"], r["loss"]) == key and r.get("trajectory")]
        top, bottom = axes[0][j], axes[1][j]
        for run in group:
            steps = [row["step"] for row in run["trajectory"]]
            top.plot(steps, [row["modes"] for row in run["trajectory"]], label=f"seed {run['seed']}")
            bottom.plot(steps, [100 * row["high_quality"] for row in run["trajectory"]], label=f"seed {run['seed']}")
        top.axhline(group[0]["n_modes"], color="grey", linestyle=":", linewidth=1)
        bottom.axhline(95, color="grey", linestyle=":", linewidth=1)
        if settings.get("lr_decay") == "linear":
            for ax in (top, bottom):
                ax.axvline(settings.get("lr_decay_start", 0), color="black", linestyle="--", linewidth=0.8)
        top.set_title(f"{key[0]} / {key[1]}", fontsize=9)
        top.set_ylabel("modes covered")
        bottom.set_ylabel("high quality (%)")
        bottom.set_ylim(80, 100)
        bottom.set_xlabel("generator step")
        top.legend(fontsize=7)
    decay = settings.get("lr_decay", "none")
    schedule = (
        f"linear decay from step {settings.get('lr_decay_start', 0)} (dashed)" if decay == "linear" else "constant"
    )
    options = ", ".join(f"{k} {v}" for k, v in (settings.get("loss_options") or {}).items())
    fig.suptitle(f"lr {settings.get('lr')}, {schedule}; {options or 'no loss options'}", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (data, loss): modes per seed, mean modes, lowest high-quality share, whether the target holds."""
    rows = []
    for key in dict.fromkeys((r["data"], r["loss"]) for r in runs):
        group = [r for r in runs if (r["data"], r["loss"]) == key]
        k = group[0]["n_modes"]
        rows.append(
            {
                "data": key[0],
                "loss": key[1],
                "modes_per_seed": [r["modes"] for r in group],
                "mean_modes": sum(r["modes"] for r in group) / len(group),
                "n_modes": k,
                "min_high_quality": min(r["high_quality"] for r in group),
                "mean_high_quality": sum(r["high_quality"] for r in group) / len(group),
                "target_met": all(r["modes"] == k and r["high_quality"] >= 0.95 for r in group),
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """A Markdown table, ready for benchmarks/README.md."""
    lr = "each loss's recommended" if args.lr is None else f"{args.lr:g}"
    if getattr(args, "lr_d", None):  # results written before --lr-d existed lack it
        lr += f" (D {args.lr_d:g})"
    print(
        f"\nMLP GAN, {args.steps} steps, batch {args.batch_size}, lr {lr} "
        f"(decay: {args.lr_decay} from step {getattr(args, 'lr_decay_start', 0)}), pack {args.pack}, "
        f"EMA {args.ema:g}; "
        f"loss options {getattr(args, 'loss_options', None) or 'none'}; "
        f"{args.n} samples per run; "
        f"seeds {args.seeds}\n"
    )
    print("| data | loss | modes per seed | mean modes | high quality (min / mean) | target met |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['data']} | {r['loss']} | {' '.join(map(str, r['modes_per_seed']))} | "
            f"{r['mean_modes']:.1f} / {r['n_modes']} | {r['min_high_quality']:.1%} / {r['mean_high_quality']:.1%} | "
            f"{'yes' if r['target_met'] else 'no'} |"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", default=["ring-8", "grid-25"], help="Mixtures to train on.")
    parser.add_argument(
        "--losses", nargs="+", default=None, help="Losses (default: every registered loss; none: xicfg, no loss)."
    )
    parser.add_argument("--seeds", type=int, default=5, help="Seeds per (data, loss).")
    parser.add_argument("--first-seed", type=int, default=0, help="Seeds FIRST..FIRST+SEEDS-1 (split runs).")
    parser.add_argument(
        "--merge", type=Path, nargs="+", default=None, help="Only summarise the runs of these --json files (one table)."
    )
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=None, help="Learning rate (default: each loss's own).")
    parser.add_argument("--lr-d", type=float, default=None, help="D's learning rate, if not --lr's (TTUR).")
    parser.add_argument("--betas", type=float, nargs=2, default=None, help="Adam betas (default: the loss's own).")
    parser.add_argument("--lr-decay", choices=["none", "linear"], default="none", help="Learning-rate schedule.")
    parser.add_argument(
        "--lr-decay-start", type=int, default=0, metavar="STEP", help="Linear decay: constant up to STEP."
    )
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of the measured generator (0: none).")
    parser.add_argument(
        "--loss-option",
        dest="loss_option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Option of every loss run, e.g. r1_gamma=0.1 or gp_weight=0.1 (repeatable).",
    )
    parser.add_argument("--pack", type=int, default=1, help="PacGAN packing: samples D judges together.")
    parser.add_argument("--method", default=None, help="Training method (default: adversarial), e.g. unrolled.")
    parser.add_argument(
        "--method-option", action="append", default=[], metavar="KEY=VALUE", help="e.g. unroll_steps=5 (repeat)."
    )
    parser.add_argument("--n", type=int, default=2500, help="Samples measured per run (2,500 as in PacGAN).")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice).")
    parser.add_argument(
        "--critic-loss-steps",
        type=int,
        default=None,
        help="Generator steps for losses with several critic steps per G step (wasserstein, wgan-gp).",
    )
    parser.add_argument(
        "--figure", type=Path, default=None, help="Save a panel of the first seed's samples per (data, loss) here."
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=0,
        metavar="N",
        help="Also measure the EMA generator every N steps (a coverage trajectory per run; 0: only at the end).",
    )
    parser.add_argument(
        "--trajectory-figure", type=Path, default=None, help="Plot every run's trajectory here (needs --eval-every)."
    )
    parser.add_argument("--json", type=Path, default=None, help="Also write every run and the summary here.")
    parser.add_argument(
        "--compare",
        nargs="+",
        metavar="LABEL=PATH",
        default=None,
        help="Only tabulate result files of different settings side by side (--figure: a row per setting).",
    )
    parser.add_argument("--quick", action="store_true", help="20 steps, batch 64, 1 seed, 500 samples: a smoke test.")
    args = parser.parse_args(argv)
    try:  # the same KEY=VALUE reading as `ganzoo train --loss-option`
        args.loss_options = parse_assignments(tuple(args.loss_option), "--loss-option")
        args.method_options = parse_assignments(tuple(args.method_option), "--method-option")
    except click.BadParameter as exc:
        parser.error(exc.format_message())
    if args.eval_every < 0:
        parser.error("--eval-every must be >= 0")
    if args.trajectory_figure and not (args.eval_every or args.merge):
        parser.error("--trajectory-figure plots the --eval-every measurements: pass --eval-every N too")
    if args.quick:
        args.steps, args.batch_size, args.seeds, args.n = 20, 64, 1, 500
    return args


def merge(
    paths: list[Path], out: Path | None, trajectory_figure: Path | None = None, figure: Path | None = None
) -> dict[str, Any]:
    """One summary over the runs of several result files (a benchmark split over processes); same settings only."""
    reports = [json.loads(p.read_text()) for p in paths]
    # settings that do not change what is measured: which runs, where results go, and the thread count (a run
    # split over processes may give each its own core)
    keep = (
        "seeds",
        "first_seed",
        "json",
        "figure",
        "trajectory_figure",
        "data",
        "losses",
        "merge",
        "compare",
        "threads",
    )
    # an unset option (None) matches a file written before the option existed
    settings = [{k: v for k, v in r["settings"].items() if k not in keep and v is not None} for r in reports]
    if any(s != settings[0] for s in settings):
        raise SystemExit(f"cannot merge runs with different settings: {settings}")
    runs = sorted((run for r in reports for run in r["runs"]), key=lambda r: (r["data"], r["loss"], r["seed"]))
    rows = summarise(runs)
    print_table(rows, argparse.Namespace(**{**reports[0]["settings"], "seeds": len({r["seed"] for r in runs})}))
    merged = {**reports[0], "summary": rows, "runs": runs, "merged_from": [str(p) for p in paths]}
    if trajectory_figure:
        if not any(run.get("trajectory") for run in runs):
            raise SystemExit("--trajectory-figure: these runs have no trajectory (they ran without --eval-every)")
        save_trajectory_figure(runs, trajectory_figure, reports[0]["settings"])
    if figure:
        save_figure(runs, figure)
    if out:
        from ganzoo.fileio import write_json

        write_json(out, merged)
    return merged


def compare(groups: list[str], figure: Path | None) -> dict[str, Any]:
    """One table, and one figure with a row per setting, over result files of different settings (unrolled K = 0,
    5, 10, say): each of ``groups`` is ``LABEL=PATH`` of a ``--json`` or ``--merge`` result. The figure shows each
    setting's first seed that kept its samples, a column per data set."""
    labelled = []
    for group in groups:
        label, sep, path = group.rpartition("=")  # the label may hold "=" (K=5), the path not
        if not sep or not label or not path:
            raise SystemExit(f"--compare takes LABEL=PATH (e.g. K=5=results/k5.json), got {group!r}")
        if not Path(path).is_file():
            raise SystemExit(f"--compare: no result file {path} (write it with --json or --merge)")
        labelled.append((label, json.loads(Path(path).read_text())["runs"]))
    print("| setting | data | modes per seed | mean modes | high quality (mean) | seconds per run (mean) |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows = []
    for label, runs in labelled:
        for row in summarise(runs):
            group = [r for r in runs if (r["data"], r["loss"]) == (row["data"], row["loss"])]
            row = {"setting": label, **row, "mean_train_seconds": sum(r["train_seconds"] for r in group) / len(group)}
            rows.append(row)
            print(
                f"| {label} | {row['data']} | {' '.join(map(str, row['modes_per_seed']))} | "
                f"{row['mean_modes']:.1f} / {row['n_modes']} | {row['mean_high_quality']:.1%} | "
                f"{row['mean_train_seconds']:.0f} |"
            )
    if figure:
        save_comparison_figure(labelled, figure)
    return {"rows": rows}


def save_comparison_figure(labelled: list[tuple[str, list[dict[str, Any]]]], path: Path) -> None:
    """A row per labelled setting, a column per data set: the first kept samples of each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganzoo.fileio import atomic_path

    datas = list(dict.fromkeys(r["data"] for _, runs in labelled for r in runs))
    fig, axes = plt.subplots(len(labelled), len(datas), figsize=(3.4 * len(datas), 3.6 * len(labelled) + 0.4),
                             squeeze=False)  # fmt: skip
    for i, (label, runs) in enumerate(labelled):
        for j, data in enumerate(datas):
            ax, kept = axes[i][j], [r for r in runs if r["data"] == data and "samples" in r]
            ax.set_xticks([])
            ax.set_yticks([])
            if kept:
                draw_panel(ax, kept[0], f"{label} / {data}")
            else:
                ax.axis("off")
    fig.suptitle("MLP GAN samples over the modes' 3-sd discs (red)", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.compare:
        return compare(args.compare, args.figure)
    if args.merge:
        return merge(args.merge, args.json, args.trajectory_figure, args.figure)
    if args.threads:
        torch.set_num_threads(args.threads)
    losses = args.losses or ganzoo.list_losses()
    runs = []
    for data in args.data:
        for loss in losses:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                run, points = run_one(data, loss, seed, args)
                if args.figure and seed == args.first_seed:  # kept in the JSON too, so --merge can redraw it
                    run["samples"] = points.round(4).tolist()
                runs.append(run)
                print(
                    f"{data:8} {loss:15} seed {seed}: {run['modes']}/{run['n_modes']} modes, "
                    f"{run['high_quality']:.1%} high quality ({run['train_seconds']} s)",
                    flush=True,
                )
    rows = summarise(runs)
    print_table(rows, args)
    if args.figure:
        save_figure(runs, args.figure)
    if args.trajectory_figure:
        save_trajectory_figure(runs, args.trajectory_figure, vars(args))
    from train_dcgan import cpu_name  # benchmarks/ is on sys.path when this runs as a script

    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "ganzoo": ganzoo.__version__,
        "torch": torch.__version__,
        "machine": platform.platform(),
        "cpu": cpu_name(),  # float rounding, and so a seed's exact run, differs between CPU models
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "json"},
        "summary": rows,
        "runs": runs,
    }
    if args.json:
        from ganzoo.fileio import write_json

        write_json(args.json, {**report, "settings": {**report["settings"], "json": str(args.json)}})
    return report


if __name__ == "__main__":
    main()
