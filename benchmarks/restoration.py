"""Restoration families measured on CelebA-64's official test split (988 faces, ids >= 182,638): SRGAN x4
super-resolution (16 -> 64) and centre-hole inpainting (32x32 of 64x64).

    python benchmarks/restoration.py train [--runs sr-x4 ce-center ce-center-l2]
    python benchmarks/restoration.py evaluate --json benchmarks/results/restoration.json \\
        --figure docs/restoration-grids.png --plot docs/sr-perception-distortion.png

``train`` trains into ``runs/restoration/<run>`` (resumable; a finished run is kept):

- ``sr-x4``: SRResNet (width 48, 8 blocks) 8,000 steps of L1 alone, copied to ``sr-x4-l1`` (the PSNR model),
  then resumed to 11,000 steps with the adversarial phase (relativistic average D + feature matching);
- ``ce-center``: the context encoder (width 32, 256-d bottleneck), 0.999 L2 (border x10) + 0.001 adversarial,
  4,000 steps of 32; ``ce-center-l2``: the same without D (the L2-only baseline);
- ``sr-x4-nofm``: phase 2 again, branched from ``sr-x4-l1`` with ``init_from``, without feature matching.

``evaluate`` scores, on the 988 test faces:

- SR: PSNR / SSIM (torchmetrics) and KID / FID of the outputs against the real test faces, for PIL's bicubic
  upscaling, the L1 model, the GAN model and ESRGAN's network interpolation between them (``--alphas``, by
  default 0.25, 0.5, 0.75): the perception-distortion trade-off, plotted. FID on 988 images (fewer than
  Inception's 2,048 features) is biased high and only its ratios between models mean something; KID is unbiased;
- inpainting: PSNR and L1 inside the hole, SSIM of the whole picture and KID of the completed pictures, for the
  hole filled with the training faces' mean colour, the L2-only model, the context encoder, and latent search
  with ``dcgan-celeba`` (on the first ``--search-n`` faces; that generator saw all 10k faces, test ones too);
- images/second: training (each phase) and ONNX Runtime inference (batch 64, CPU), beside the fp32 peak.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
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
CELEBA = REPO.parent / "shared" / "datasets" / "celeba64" / "celeba64_uint8.npz"
RUNS = REPO / "runs" / "restoration"
sys.path.insert(0, str(Path(__file__).resolve().parent))

SR_PRETRAIN, SR_STEPS = 8000, 11000
SR_CONFIG = {"image_size": 64, "scale": 4, "g_width": 48, "blocks": 8, "d_width": 32}
CE_CONFIG = {"image_size": 64, "g_width": 32, "bottleneck": 256, "d_width": 32, "hole": "center", "hole_size": 32}


def _train(run: str, folder: Path, steps: int, architecture: str, config: dict, batch_size: int, **kw: Any) -> None:
    settings = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else None
    if settings and settings["training"]["steps"] >= steps:
        print(f"{run}: done, kept", flush=True)
        return
    resume = (folder / "checkpoint.safetensors").is_file()
    started = time.perf_counter()
    ganzoo.train(
        architecture,
        f"celeba:{CELEBA}",
        data_options={"split": "train"},
        steps=steps,
        batch_size=batch_size,
        seed=0,
        out_dir=folder,
        resume=resume,
        overwrite=not resume and folder.exists(),
        checkpoint_every=1000,
        **config,
        **kw,
    )
    print(f"{run}: {time.perf_counter() - started:.0f} s", flush=True)


def train_run(run: str, runs_dir: Path) -> None:
    """Train (or resume, or keep) one run."""
    if run == "sr-x4":
        folder, options = runs_dir / "sr-x4", {"pretrain_steps": SR_PRETRAIN}
        _train("sr-x4 (L1 phase)", folder, SR_PRETRAIN, "srgan", SR_CONFIG, 16, method_options=options)
        if not (runs_dir / "sr-x4-l1").exists():
            shutil.copytree(folder, runs_dir / "sr-x4-l1")  # the PSNR model, before D joins
        _train("sr-x4 (GAN phase)", folder, SR_STEPS, "srgan", SR_CONFIG, 16, method_options=options)
    elif run == "sr-x4-nofm":  # phase 2 without feature matching, branched from the phase-1 model
        options = {"feature_matching_weight": 0}
        steps, init = SR_STEPS - SR_PRETRAIN, str(runs_dir / "sr-x4-l1")
        _train(run, runs_dir / run, steps, "srgan", SR_CONFIG, 16, method_options=options, init_from=init)
    elif run in ("ce-center", "ce-center-l2"):
        options = {"adversarial": run == "ce-center"}
        _train(run, runs_dir / run, 4000, "context-encoder", CE_CONFIG, 32, method_options=options)
    else:
        raise SystemExit(f"unknown run {run!r}")


# -- evaluation ----------------------------------------------------------------------------------------------------


def phase_speed(folder: Path, batch_size: int, first: int, last: int) -> float | None:
    """Training images/second over log rows with ``first < step <= last`` (median gap: robust to pauses)."""
    with open(folder / "losses.csv", newline="") as f:
        rows = [(int(r["step"]), float(r["seconds"])) for r in csv.DictReader(f)]
    gaps = [
        (b[1] - a[1]) / (b[0] - a[0])
        for a, b in itertools.pairwise(rows)
        if first < a[0] and b[0] <= last and b[0] > a[0] and b[1] > a[1]
    ]
    return round(batch_size / float(np.median(gaps)), 1) if gaps else None


def onnx_speed(model: Any, folder: Path) -> float:
    """ONNX Runtime images/second at batch 64 on this CPU (best of 5 after a warm-up)."""
    from ganzoo.exporters.runtime import OnnxTranslator

    path = folder / "model.onnx"
    ganzoo.export(model, path, overwrite=True)
    runtime = OnnxTranslator(path)
    x = np.random.default_rng(0).uniform(-1, 1, (64, *model.inputs[0].shape)).astype(np.float32)
    runtime.translate(x, output="raw")
    times = []
    for _ in range(5):
        started = time.perf_counter()
        runtime.translate(x, output="raw")
        times.append(time.perf_counter() - started)
    return round(64 / min(times), 1)


def interpolate(a: Any, b: Any, alpha: float) -> Any:
    """ESRGAN's network interpolation: weights (1 - alpha) * a + alpha * b (a: PSNR model, b: GAN model)."""
    import copy

    out = copy.deepcopy(a)
    sa, sb = a.module.state_dict(), b.module.state_dict()
    out.module.load_state_dict({k: (1 - alpha) * sa[k].float() + alpha * sb[k].float() for k in sa})
    return out


def _kid_fid() -> tuple[list[str], dict[str, dict]]:
    # KID: 100 random subsets of 500 of the 988; FID with its sample check lowered to the split's size
    return ["pixel-fidelity", "kid", "fid"], {"kid": {"subset_size": 500}, "fid": {"min_samples": 900}}


def _brief(scores: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, values in scores.items():
        out[name] = {k: round(v, 4) for k, v in values.items() if isinstance(v, float) and not k.endswith("_sem")}
    return out


def _score(outputs: torch.Tensor, inputs: torch.Tensor, faces: torch.Tensor, masks: torch.Tensor | None = None):
    from ganzoo.evaluation.evaluate import make_metrics
    from ganzoo.evaluation.translation import TranslationBatch, score_translations

    names, options = _kid_fid()
    options = {**options, "pixel-fidelity": {"input_baseline": False}}
    if len(outputs) < 600:  # latent search runs on fewer faces: smaller KID subsets, no FID
        names, options["kid"] = ["pixel-fidelity", "kid"], {"subset_size": len(outputs) // 2}
        del options["fid"]
    batch = TranslationBatch(inputs, outputs, faces[: len(outputs)], masks)
    return score_translations(batch, faces, make_metrics(names, options))


def as_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def evaluate_sr(report: dict, grids: dict, args: argparse.Namespace) -> None:
    from ganzoo.plugins.metrics.translation import bicubic_upscale
    from ganzoo.plugins.paired_tasks import celeba_faces

    faces = celeba_faces(CELEBA, split="test").fields["image"][: args.limit]
    models = {}
    for run in ("sr-x4-l1", "sr-x4", "sr-x4-nofm"):
        if (args.runs_dir / run / "model.safetensors").is_file():
            models[run] = ganzoo.load(args.runs_dir / run)
    if not models:
        return
    any_model = next(iter(models.values()))
    low = as_uint8(any_model.config.degrade(faces.float() / 127.5 - 1)["images"])
    outputs = {"bicubic (PIL)": bicubic_upscale(low, 64)}
    if {"sr-x4-l1", "sr-x4"} <= set(models):
        for alpha in args.alphas:
            models[f"interpolated (alpha {alpha:g})"] = interpolate(models["sr-x4-l1"], models["sr-x4"], alpha)
    for name, model in models.items():
        x = low.float() / 127.5 - 1
        chunks = [model.translate(x[i : i + 128], output="raw") for i in range(0, len(x), 128)]
        outputs[name] = as_uint8(torch.cat(chunks))
    if args.sr_only:  # score just these; the other entries (and pictures) stay as an earlier run left them
        outputs = {k: v for k, v in outputs.items() if k in args.sr_only}
    entries = dict(report.get("super_resolution", {})) if args.sr_only else {}
    for name, out in outputs.items():
        scores = _score(out, low, faces)
        entry: dict[str, Any] = {"metrics": scores}
        if name in ("sr-x4-l1", "sr-x4", "sr-x4-nofm"):
            folder = args.runs_dir / name
            entry["steps"] = models[name].training["steps"]
            entry["config"] = models[name].config.to_dict()
            pretrain = 0 if name == "sr-x4-nofm" else SR_PRETRAIN  # phase 2 branched by init_from: all GAN steps
            entry["train_images_per_second"] = {
                "l1_phase": phase_speed(folder, 16, 0, pretrain),
                "gan_phase": phase_speed(folder, 16, pretrain, 10**9),
            }
            entry["onnx_images_per_second"] = onnx_speed(models[name], folder)
        entries[name] = entry
        print("SR", name, json.dumps(_brief(scores)), flush=True)
    report["super_resolution"] = entries
    if args.sr_only:
        return
    pick = torch.arange(8) * (len(faces) // 8)
    grids["sr"] = {"input (16 px)": torch.nn.functional.interpolate(low[pick].float(), size=64, mode="nearest")}
    grids["sr"].update({k: v[pick] for k, v in outputs.items()})
    grids["sr"]["target"] = faces[pick]


def mean_colour_fill(faces: torch.Tensor, masks: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    """The hole filled with the training faces' mean RGB colour (the issue's baseline)."""
    colour = train.double().mean((0, 2, 3)).round().to(torch.uint8).view(1, 3, 1, 1)
    return torch.where(masks.bool(), colour, faces)


def evaluate_inpainting(report: dict, grids: dict, args: argparse.Namespace) -> None:
    from ganzoo.masks import center_mask
    from ganzoo.plugins.paired_tasks import celeba_faces

    faces = celeba_faces(CELEBA, split="test").fields["image"][: args.limit]
    masks = center_mask(len(faces), 64, 32)
    holed = torch.where(masks.bool(), torch.full_like(faces, 128), faces)
    train = celeba_faces(CELEBA, split="train").fields["image"]
    outputs = {"mean colour": mean_colour_fill(faces, masks, train)}
    models = {}
    for run in ("ce-center-l2", "ce-center"):
        if (args.runs_dir / run / "model.safetensors").is_file():
            models[run] = ganzoo.load(args.runs_dir / run)
            x = faces.float() / 127.5 - 1
            outputs[run] = as_uint8(models[run].translate(x, mask=masks, output="raw"))
    entries: dict[str, Any] = {}
    if args.search_n:
        from ganzoo.latent_inpainting import latent_inpaint

        n = min(args.search_n, len(faces))
        generator = ganzoo.load("dcgan-celeba")
        started = time.perf_counter()
        found = latent_inpaint(
            generator, faces[:n].float() / 127.5 - 1, masks[:n], steps=args.search_steps, progress=True
        )
        seconds = time.perf_counter() - started
        outputs["latent search (dcgan-celeba)"] = as_uint8(found.completed)
        entries["latent search (dcgan-celeba)"] = {
            "n": n,
            "steps": args.search_steps,
            "seconds_per_image": round(seconds / n, 2),
            "note": "dcgan-celeba was trained on all 10k faces, the test split included: an optimistic number",
        }
    for name, out in outputs.items():
        n = len(out)
        scores = _score(out, holed[:n], faces, masks[:n])
        entry = entries.setdefault(name, {})
        entry["metrics"] = scores
        if name in models:
            folder = args.runs_dir / name
            entry["steps"] = models[name].training["steps"]
            entry["config"] = models[name].config.to_dict()
            entry["train_images_per_second"] = phase_speed(folder, 32, 0, 10**9)
            entry["onnx_images_per_second"] = onnx_speed(models[name], folder)
        print("inpainting", name, json.dumps(_brief(scores)), flush=True)
    report["inpainting"] = entries
    pick = torch.arange(8) * (min(len(v) for v in outputs.values()) // 8)
    grids["inpainting"] = {"input": holed[pick], **{k: v[pick] for k, v in outputs.items()}, "target": faces[pick]}


def merged_grids(grids: dict[str, dict[str, torch.Tensor]], path: Path) -> dict[str, dict[str, torch.Tensor]]:
    """This run's picture columns merged with those kept in ``path`` by an earlier run of the other part."""
    from safetensors.torch import load_file, save_file

    flat = load_file(str(path)) if path.is_file() else {}
    for part in grids:
        flat = {k: v for k, v in flat.items() if not k.startswith(f"{part}/")}
    flat.update({f"{part}/{i:02d}/{name}": v.to(torch.uint8).contiguous() for part, cols in grids.items()
                 for i, (name, v) in enumerate(cols.items())})  # fmt: skip
    save_file(flat, str(path))
    merged: dict[str, dict[str, torch.Tensor]] = {}
    for key in sorted(flat):
        part, _, name = key.split("/", 2)
        merged.setdefault(part, {})[name] = flat[key]
    return {part: merged[part] for part in ("sr", "inpainting") if part in merged}


def figure(grids: dict[str, dict[str, torch.Tensor]], path: Path) -> None:
    """Two panels of 8 test faces: SR (input, bicubic, models, target) and inpainting (input, fills, target)."""
    from ganzoo.plots import _pyplot
    from ganzoo.sampling import make_grid, to_uint8

    plt = _pyplot()
    panels = [(k, v) for k, v in grids.items() if v]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 7.5), squeeze=False)
    titles = {"sr": "super-resolution x4 (CelebA test)", "inpainting": "centre-hole inpainting (CelebA test)"}
    for ax, (key, columns) in zip(axes[0], panels, strict=True):
        stacked = torch.stack([c.float().div(127.5).sub(1) for c in columns.values()], 1).flatten(0, 1)
        ax.imshow(make_grid(to_uint8(stacked), nrow=len(columns)))
        import textwrap

        names = textwrap.fill(" | ".join(columns), 80)  # long column lists wrap instead of running off the panel
        ax.set_title(titles[key] + "\n" + names, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def trade_off_plot(report: dict, path: Path) -> None:
    """PSNR against FID and KID for every SR output: the perception-distortion trade-off (Blau & Michaeli 2018)."""
    from ganzoo.plots import _pyplot

    entries = report.get("super_resolution", {})
    if not entries:
        return
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, metric, key in ((axes[0], "fid", "fid"), (axes[1], "kid", "kid")):
        for name, entry in entries.items():
            if metric not in entry["metrics"]:  # a smoke run on few faces has no FID
                continue
            psnr = entry["metrics"]["pixel-fidelity"]["psnr"]
            value = entry["metrics"][metric][key]
            ax.scatter(value, psnr)
            ax.annotate(name, (value, psnr), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel(f"{metric.upper()} to real test faces (lower: more realistic)")
        ax.set_ylabel("PSNR, dB (higher: closer to the truth)")
        ax.grid(alpha=0.3)
    fig.suptitle("SR x4 on CelebA-64 test: perception vs distortion", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the runs (resumable)")
    train.add_argument("--runs", nargs="+", default=["sr-x4", "sr-x4-nofm", "ce-center", "ce-center-l2"])
    evaluate = sub.add_parser("evaluate", help="measure the finished runs")
    evaluate.add_argument("--json", type=Path, default=None)
    evaluate.add_argument("--figure", type=Path, default=None)
    evaluate.add_argument("--plot", type=Path, default=None)
    evaluate.add_argument("--limit", type=int, default=None, help="only the first N test faces (smoke tests)")
    evaluate.add_argument(
        "--parts",
        nargs="+",
        choices=["sr", "inpainting"],
        default=["sr", "inpainting"],
        help="what to score; with --json, parts not scored keep their entries from an existing file",
    )
    evaluate.add_argument("--search-n", type=int, default=128, help="faces for latent search (0: skip it)")
    evaluate.add_argument("--search-steps", type=int, default=400)
    evaluate.add_argument("--sr-only", nargs="*", default=None, help="score only these SR entries (keep the rest)")
    evaluate.add_argument(
        "--alphas", type=float, nargs="*", default=[0.25, 0.5, 0.75], help="SR network interpolations to score"
    )
    for command in (train, evaluate):
        command.add_argument("--runs-dir", type=Path, default=RUNS, help="where the runs live")
    args = parser.parse_args(argv)
    if args.command == "train":
        for run in args.runs:
            train_run(run, args.runs_dir)
        return
    from train_dcgan import cpu_name, matmul_peak

    report: dict[str, Any] = {"benchmark": "restoration", "cpu": cpu_name()}
    if args.json and args.json.is_file():  # a later run of one part keeps the other's numbers
        report = {**json.loads(args.json.read_text()), **report}
    peaks = [matmul_peak()]
    grids: dict[str, dict[str, torch.Tensor]] = {}
    if "sr" in args.parts:
        evaluate_sr(report, grids, args)
    if "inpainting" in args.parts:
        evaluate_inpainting(report, grids, args)
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
        figure(merged_grids(grids, args.runs_dir / "grids.safetensors"), args.figure)
    if args.plot:
        trade_off_plot(report, args.plot)


if __name__ == "__main__":
    main()
