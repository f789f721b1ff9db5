"""Image-to-image families measured: pix2pix colourisation on CelebA-64 (L1 + cGAN against L1 alone, same G and
budget) and CycleGAN sandal <-> sneaker on Fashion-MNIST 32 px.

    python benchmarks/translation.py train [--runs p2p-gan p2p-l1 cyclegan] [--p2p-steps 6000 --cycle-steps 4000]
    python benchmarks/translation.py evaluate --json benchmarks/results/translation.json \\
        --figure docs/translation-grids.png

``train`` trains into ``runs/translation/<run>`` (resumes an interrupted run; keeps a finished one) and records
images/second. ``evaluate`` scores, on held-out data:

- pix2pix (CelebA's official test split, 988 faces; ``p2p-gan`` and ``p2p-l1`` predict chroma with the input
  as luma, ``p2p-rgb-gan`` (``--runs p2p-rgb-gan``) predicts RGB, the plain pix2pix G): L1 / PSNR / SSIM
  against the true colours (torchmetrics),
  KID of the outputs against the real test faces (ganzoo's Inception; FID needs >= 2,048 images, the split has
  988), for both runs and for two trivial
  baselines: the greyscale input itself, and the input tinted with the training faces' mean chroma (YCbCr);
- CycleGAN (Fashion-MNIST test split): the share of translated sandals the Fashion-MNIST classifier calls
  sneakers and vice versa, the identity of the untouched class (sneakers through sandal->sneaker stay sneakers),
  cycle reconstruction L1 on [0, 1], and KID against the real test images of the target class;
- ONNX Runtime translation speed (images/second, batch 64, CPU) of every model, beside the machine's fp32 peak.
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
SHARED = REPO.parent / "shared" / "datasets"
CELEBA = SHARED / "celeba64" / "celeba64_uint8.npz"
FASHION = SHARED / "fashion_mnist" / "fashion_mnist.npz"
RUNS = REPO / "runs" / "translation"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_settings(run: str, args: argparse.Namespace) -> dict[str, Any]:
    """The ``ganzoo.train`` arguments of one run."""
    if run.startswith("p2p"):
        steps = args.p2p_steps
        return dict(
            architecture="pix2pix",
            data=f"celeba-colorize:{CELEBA}",
            data_options={"split": "train"},
            steps=steps,
            batch_size=16,
            lr_decay="linear",
            lr_decay_start=steps // 2,  # the paper's constant-then-linear schedule
            method_options={"adversarial": run != "p2p-l1"},
            image_size=64,
            in_channels=1,
            channels=3,
            # G predicts chroma and keeps the input as luma (the paper's L -> ab); p2p-rgb-gan predicts RGB
            chroma_only=run != "p2p-rgb-gan",
            g_width=args.width,
            d_width=args.width,
        )
    steps = args.cycle_steps
    return dict(
        architecture="cyclegan",
        data=f"fashion-mnist-unpaired:{FASHION}",
        data_options={"split": "train"},
        steps=steps,
        batch_size=8,
        lr_decay="linear",
        lr_decay_start=steps // 2,
        image_size=32,
        in_channels=1,
        channels=1,
        g_width=args.cycle_width,
        d_width=args.cycle_width,
        d_layers=2,  # 34x34 patches on 32 px pictures
    )


def train_one(run: str, args: argparse.Namespace) -> None:
    """Train (or resume, or keep) one run."""
    folder = args.runs_dir / run
    settings = run_settings(run, args)
    config = folder / "config.json"
    if config.is_file() and json.loads(config.read_text())["training"]["steps"] >= settings["steps"]:
        print(f"{run}: done, kept", flush=True)
        return
    resume = (folder / "checkpoint.safetensors").is_file()
    architecture, data = settings.pop("architecture"), settings.pop("data")
    started = time.perf_counter()
    ganzoo.train(
        architecture,
        data,
        seed=0,
        out_dir=folder,
        resume=resume,
        overwrite=not resume and folder.exists(),
        log_every=50,
        sample_every=max(1, settings["steps"] // 5),
        checkpoint_every=500,
        progress=not args.quiet,
        **settings,
    )
    print(f"{run}: {time.perf_counter() - started:.0f} s", flush=True)


# -- evaluation ----------------------------------------------------------------------------------------------------


def mean_chroma_baseline(grey: torch.Tensor, train_faces: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, H, W) luma -> uint8 RGB with the training faces' mean Cb and Cr per pixel (BT.601 YCbCr)."""
    rgb = train_faces.double()
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    cb = (128 - 0.168736 * r - 0.331264 * g + 0.5 * b).mean(0)
    cr = (128 + 0.5 * r - 0.418688 * g - 0.081312 * b).mean(0)
    y = grey[:, 0].double()
    out = torch.stack(
        [y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), y + 1.772 * (cb - 128)], 1
    )
    return out.round().clamp(0, 255).to(torch.uint8)


def onnx_speed(model: Any, direction: str | None, folder: Path) -> float:
    """ONNX Runtime images/second at batch 64 on this CPU (best of 5 after a warm-up)."""
    from ganzoo.exporters.runtime import OnnxTranslator

    path = folder / f"{direction or 'generator'}.onnx"
    ganzoo.export(model, path, direction=direction, overwrite=True)
    runtime = OnnxTranslator(path)
    x = np.random.default_rng(0).uniform(-1, 1, (64, *model.inputs[0].shape)).astype(np.float32)
    runtime.translate(x, output="raw")
    best = min(_timed(lambda: runtime.translate(x, output="raw")) for _ in range(5))
    return round(64 / best, 1)


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def evaluate_pix2pix(report: dict[str, Any], grids: dict[str, torch.Tensor], args: argparse.Namespace) -> None:
    """Both pix2pix runs and the two baselines on CelebA's test split."""
    from ganzoo.evaluation.evaluate import make_metrics
    from ganzoo.evaluation.translation import TranslationBatch, score_translations
    from ganzoo.plugins.paired_tasks import celeba_colorize

    test = celeba_colorize(CELEBA, split="test")
    grey, colour = test.fields["source"][: args.limit], test.fields["target"][: args.limit]
    # KID only: FID's 2048x2048 covariance needs >= 2048 images, and CelebA's test split here has 988 faces
    metrics = ["pixel-fidelity", "kid"]
    # KID's spread needs subsets smaller than the set: 100 random subsets of 500 of the 988
    options = {"pixel-fidelity": {"input_baseline": False}, "kid": {"subset_size": 500}}
    pick = torch.arange(8) * (len(grey) // 8)  # the same 8 faces in every grid
    grids["input (grey)"] = grey[pick].expand(-1, 3, -1, -1)
    baselines = {
        "baseline: grey input": grey.expand(-1, 3, -1, -1).contiguous(),
        "baseline: mean chroma": mean_chroma_baseline(grey, celeba_colorize(CELEBA, split="train").fields["target"]),
    }
    for name, outputs in baselines.items():
        scores = score_translations(TranslationBatch(grey, outputs, colour), colour, make_metrics(metrics, options))
        report["pix2pix"][name] = {"metrics": scores}
        print(name, json.dumps(_brief(scores)), flush=True)
    for run in ("p2p-gan", "p2p-l1", "p2p-rgb-gan"):
        folder = args.runs_dir / run
        if not (folder / "model.safetensors").is_file():
            continue
        model = ganzoo.load(folder)
        result = ganzoo.evaluate_translation(
            model,
            ganzoo.InMemoryData({"source": grey, "target": colour}, description="CelebA-64 test split"),
            metrics,
            metric_options=options,
        )
        entry = {
            "metrics": result["metrics"],
            "steps": model.training["steps"],
            "config": model.config.to_dict(),
            "method_options": json.loads((folder / "config.json").read_text())["training"].get("method_options"),
            "train_images_per_second": _images_per_second(folder, 16),
            "onnx_images_per_second": onnx_speed(model, None, folder),
        }
        report["pix2pix"][run] = entry
        print(run, json.dumps(_brief(entry["metrics"])), flush=True)
        grids[run] = model.translate(grey[pick].float().div(127.5).sub(1), output="raw")
    grids["target"] = colour[pick]


def evaluate_cyclegan(report: dict[str, Any], grids: dict[str, torch.Tensor], args: argparse.Namespace) -> None:
    """Translation accuracy both ways, identity of the untouched class, cycle L1 and KID, on the test split."""
    from ganzoo.evaluation.translation import TranslationBatch
    from ganzoo.plugins.metrics import TranslationAccuracy
    from ganzoo.plugins.paired_tasks import fashion_mnist_unpaired

    folder = args.runs_dir / "cyclegan"
    if not (folder / "model.safetensors").is_file():
        return
    model = ganzoo.load(folder)
    test = fashion_mnist_unpaired(FASHION, split="test", image_size=32)
    sandals, sneakers = test.fields["a"][: args.limit], test.fields["b"][: args.limit]
    as_raw = lambda x: x.float().div(127.5).sub(1)  # noqa: E731
    as_uint8 = lambda x: x.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)  # noqa: E731
    to_sneaker = as_uint8(model.translate(as_raw(sandals), direction="a2b", output="raw"))
    to_sandal = as_uint8(model.translate(as_raw(sneakers), direction="b2a", output="raw"))
    kept_sneaker = as_uint8(model.translate(as_raw(sneakers), direction="a2b", output="raw"))
    kept_sandal = as_uint8(model.translate(as_raw(sandals), direction="b2a", output="raw"))
    back_sandal = model.translate(as_raw(to_sneaker), direction="b2a")  # [0, 1]
    back_sneaker = model.translate(as_raw(to_sandal), direction="a2b")

    def accuracy(images: torch.Tensor, target: str) -> float:
        metric = TranslationAccuracy(target_class=target)
        metric.update_pairs(TranslationBatch(images, images))
        return metric.compute()["accuracy"]

    entry = {
        "sandal_to_sneaker_accuracy": accuracy(to_sneaker, "sneaker"),
        "sneaker_to_sandal_accuracy": accuracy(to_sandal, "sandal"),
        "real_test_accuracy": {"sandal": accuracy(sandals, "sandal"), "sneaker": accuracy(sneakers, "sneaker")},
        "identity_kept": {
            "sneaker_through_a2b": accuracy(kept_sneaker, "sneaker"),
            "sandal_through_b2a": accuracy(kept_sandal, "sandal"),
        },
        "cycle_l1": {
            "sandal": float((back_sandal - sandals.float() / 255).abs().mean()),
            "sneaker": float((back_sneaker - sneakers.float() / 255).abs().mean()),
        },
        "steps": model.training["steps"],
        "config": model.config.to_dict(),
        "train_images_per_second": _images_per_second(folder, 8),
        "onnx_images_per_second": onnx_speed(model, "g_ab", folder),
    }
    entry["kid"] = {}
    for name, fakes, real in (("sandal_to_sneaker", to_sneaker, sneakers), ("sneaker_to_sandal", to_sandal, sandals)):
        scores = _kid(fakes, real)
        entry["kid"][name] = scores
    report["cyclegan"] = entry
    print("cyclegan", json.dumps({k: v for k, v in entry.items() if k != "config"}), flush=True)
    grids["sandal"], grids["-> sneaker"], grids["-> back"] = (
        sandals[:8],
        to_sneaker[:8],
        as_uint8(back_sandal[:8] * 2 - 1),
    )
    grids["sneaker"], grids["-> sandal"] = sneakers[:8], to_sandal[:8]


def _kid(fakes: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    from ganzoo.evaluation.evaluate import make_metrics
    from ganzoo.evaluation.translation import TranslationBatch, score_translations

    return score_translations(TranslationBatch(fakes, fakes), real, make_metrics(["kid"], {}))["kid"]


def _images_per_second(folder: Path, batch_size: int) -> float | None:
    from conditional_fashion_eval import images_per_second

    return images_per_second(folder, batch_size)


def _brief(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: {a: round(b, 4) for a, b in v.items() if isinstance(b, float)} for k, v in metrics.items()}


def figure(grids: dict[str, torch.Tensor], path: Path) -> None:
    """Columns of 8 faces (input, each run, target), then CycleGAN's rows."""
    from ganzoo.plots import _pyplot
    from ganzoo.sampling import make_grid, to_uint8

    plt = _pyplot()
    faces = [k for k in ("input (grey)", "p2p-rgb-gan", "p2p-l1", "p2p-gan", "target") if k in grids]
    shoes = [k for k in ("sandal", "-> sneaker", "-> back", "sneaker", "-> sandal") if k in grids]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), gridspec_kw={"width_ratios": [len(faces), len(shoes) * 0.5]})
    for ax, keys, title in ((axes[0], faces, "pix2pix colourisation (CelebA test)"), (axes[1], shoes, "CycleGAN")):
        if not keys:
            ax.axis("off")
            continue
        columns = []
        for key in keys:
            x = grids[key]
            x = x.float().div(127.5).sub(1) if x.dtype == torch.uint8 else x.float()
            columns.append(x.expand(-1, 3, -1, -1) if keys is faces else x)
        stacked = torch.stack(columns, 1).flatten(0, 1)  # row i: face i in every column
        ax.imshow(make_grid(to_uint8(stacked), nrow=len(keys)).squeeze(), cmap="gray")
        ax.set_title(title + "\n" + " | ".join(keys), fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the runs (resumable)")
    train.add_argument("--runs", nargs="+", default=["p2p-gan", "p2p-l1", "cyclegan"])
    train.add_argument("--p2p-steps", type=int, default=6000)
    train.add_argument("--cycle-steps", type=int, default=4000)
    train.add_argument(
        "--width", type=int, default=24, help="pix2pix's G and D width (the paper's: 64; 24 keeps the fp16 bundle 8 MB)"
    )
    train.add_argument("--cycle-width", type=int, default=16, help="CycleGAN's G and D width (the paper's: 64)")
    train.add_argument("--quiet", action="store_true")
    evaluate = sub.add_parser("evaluate", help="measure the finished runs")
    evaluate.add_argument("--json", type=Path, default=None)
    evaluate.add_argument("--figure", type=Path, default=None)
    evaluate.add_argument("--limit", type=int, default=None, help="score only the first N test faces (smoke tests)")
    for command in (train, evaluate):
        command.add_argument("--runs-dir", type=Path, default=RUNS, help="where the runs live")
    args = parser.parse_args(argv)
    if args.command == "train":
        for run in args.runs:
            train_one(run, args)
        return
    from train_dcgan import cpu_name, matmul_peak

    report: dict[str, Any] = {"benchmark": "translation", "cpu": cpu_name(), "pix2pix": {}}
    peaks = [matmul_peak()]
    grids: dict[str, torch.Tensor] = {}
    evaluate_pix2pix(report, grids, args)
    evaluate_cyclegan(report, grids, args)
    peaks.append(matmul_peak())
    report.update(
        matmul_peak_gflops=round(max(peaks), 1),
        date=datetime.date.today().isoformat(),
        torch=torch.__version__,
        python=platform.python_version(),
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.figure:
        figure(grids, args.figure)


if __name__ == "__main__":
    main()
