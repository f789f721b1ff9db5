"""FID, KID, precision/recall, birthday-paradox support size and memorisation of DCGANs on CelebA-64.

Measures each MODEL (a zoo name such as ``dcgan-celeba`` or a saved folder) against the CelebA 64x64 images,
and can train side-by-side baselines first, on the reference split only (the held-out images stay unseen):

- ``--train-baseline STEPS``: pytorch/examples' ``dcgan/main.py`` recipe (``nn.Sequential`` G and D, Sigmoid +
  BCELoss, Adam 2e-4 / 0.5, batch 64, no EMA), the re-implementation in ``benchmarks/train_dcgan.py``;
- ``--train-ganzoo STEPS``: ``ganzoo.train("dcgan", ...)`` with the same architecture, loss, batch and data.

The last ``--heldout`` share of the file is held out for the memorisation test. A model trained on the whole
file (``dcgan-celeba`` is) has seen those images, so its memorisation numbers are reported with that caveat.

Run from the repository root (the full run takes a while on a CPU: 10,000 Inception passes per model)::

    python benchmarks/eval_celeba.py dcgan-celeba --train-baseline 2400 --train-ganzoo 2400   # -> runs/eval-celeba/
    python benchmarks/eval_celeba.py --no-models --train-baseline 2400 --n 5000  # the baseline alone
    python benchmarks/eval_celeba.py dcgan-celeba --train-baseline 2 --train-ganzoo 2 --smoke  # checks the script
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

import ganzoo
from ganzoo.data import InMemoryData
from ganzoo.evaluation import evaluate

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "datasets" / "celeba64" / "celeba64_uint8.npz"
METRICS = ["fid", "kid", "precision-recall", "birthday", "memorisation"]
HEADLINES = [
    ("fid", "fid", "FID", "{:.1f}"),
    ("kid", "kid", "KID x 1000", "{:.1f}"),
    ("precision-recall", "precision", "precision", "{:.3f}"),
    ("precision-recall", "recall", "recall", "{:.3f}"),
    ("birthday", "support_size", "support ~", "{}"),
    ("memorisation", "copy_fraction", "copies", "{:.3f}"),
    ("memorisation", "auc", "memo AUC", "{:.3f}"),
]


def load_images(path: Path, limit: int | None) -> np.ndarray:
    """uint8 NCHW images from the CelebA .npz (the first ``limit`` of them)."""
    with np.load(path, allow_pickle=False) as archive:
        images = archive["images"][:limit]
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def train_baseline(train_images: np.ndarray, steps: int, batch_size: int, seed: int) -> ganzoo.Generator:
    """pytorch/examples' DCGAN trained ``steps`` iterations on ``train_images``, wrapped as a ganzoo Generator."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from train_dcgan import ReferenceTrainer

    trainer = ReferenceTrainer(seed=seed)
    data = torch.from_numpy(train_images)
    order = torch.Generator().manual_seed(seed)
    permutation, position = torch.randperm(len(data), generator=order), 0
    for _ in tqdm(range(steps), desc="pytorch/examples DCGAN", unit="step", mininterval=30):
        if position + batch_size > len(data):
            permutation, position = torch.randperm(len(data), generator=order), 0
        batch = data[permutation[position : position + batch_size]].float().div(127.5).sub(1.0)
        position += batch_size
        trainer.step(batch)

    # Same layers in the same order as ganzoo's dcgan generator: copying the weights gives a ganzoo Generator that
    # saves, loads and exports like any other (a wrapper module would not load back into the dcgan architecture).
    generator = ganzoo.create("dcgan", seed=0)  # same sizes: z 100, 64 px, width 64
    generator.module.net.load_state_dict(trainer.net_g.main.state_dict(), strict=True)
    generator.training = {"steps": steps, "recipe": "pytorch/examples dcgan/main.py", "batch_size": batch_size}
    return generator.eval()


def evaluate_one(name: str, generator: Any, args: argparse.Namespace, reference: InMemoryData) -> dict[str, Any]:
    """All metrics for one generator; the JSON and figures go to ``--out-dir``."""
    started = time.perf_counter()
    out = args.out_dir / f"{name.replace('/', '_')}.json"
    result = evaluate(
        generator,
        reference,
        args.metrics,
        n=args.n,
        heldout=args.heldout if "memorisation" in args.metrics else None,
        seed=args.seed,
        metric_options=args.metric_options,
        device=args.device,
        out=out,
        label=name,
    )
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{name}: {out} ({result['seconds']} s)", flush=True)
    return result


def print_table(results: dict[str, dict[str, Any]], notes: dict[str, str]) -> None:
    """One Markdown row per model."""
    columns = [h for h in HEADLINES if any(h[0] in r["metrics"] for r in results.values())]
    print("\n| model | " + " | ".join(c[2] for c in columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for name, result in results.items():
        cells = []
        for metric, key, _, fmt in columns:
            value = result["metrics"].get(metric, {}).get(key)
            if key == "kid" and value is not None:
                value *= 1000
            if key == "support_size" and value is None:
                bound = result["metrics"][metric].get("support_size_lower_bound")
                cells.append(f"> {bound}" if bound else "-")
                continue
            cells.append("-" if value is None else fmt.format(value))
        print(f"| {name}{notes.get(name, '')} | " + " | ".join(cells) + " |")
    p = next(iter(results.values()))["protocol"]
    print(
        f"\n{p['n_generated']} generated vs {p['n_reference']} reference images ({p['reference']['split']}); "
        f"held out: {p['heldout']['split'] if p['heldout'] else 'none'}; extractor "
        f"{p['extractor'].get('name')} ({p['extractor'].get('weights', '')}, sha256 "
        f"{p['extractor'].get('weights_sha256', '')[:16]}...); seed {p['seeds']['latents']}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["dcgan-celeba"], help="Zoo names or saved folders.")
    parser.add_argument("--no-models", action="store_true", help="Evaluate only the baselines trained here.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n", type=int, default=10_000, help="Generated samples per model.")
    parser.add_argument("--heldout", type=float, default=0.1, help="Share of the file held out (its last part).")
    parser.add_argument("--metrics", nargs="+", default=METRICS)
    parser.add_argument("--train-baseline", type=int, default=0, metavar="STEPS", help="pytorch/examples DCGAN.")
    parser.add_argument("--train-ganzoo", type=int, default=0, metavar="STEPS", help="ganzoo DCGAN, same recipe.")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/eval-celeba"))
    parser.add_argument("--smoke", action="store_true", help="128 images, 32 samples, tiny training: a check.")
    args = parser.parse_args(argv)
    args.limit, args.metric_options = None, {}
    if args.smoke:
        args.limit, args.n, args.heldout = 128, 32, 0.25
        args.train_baseline = min(args.train_baseline, 2)
        args.train_ganzoo = min(args.train_ganzoo, 2)
        args.batch_size = 8
        # 32 samples are far too few for 2048-d statistics: allowed here only to exercise the code
        options = {"fid": {"min_samples": 2}, "birthday": {"sizes": [4, 8, 16, 32]}}
        args.metric_options = {name: value for name, value in options.items() if name in args.metrics}
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    images = load_images(args.data, args.limit)
    reference = InMemoryData(torch.from_numpy(images), description=f"{args.data.name} ({len(images)} images)")
    cut = len(images) - max(1, round(len(images) * args.heldout))
    results: dict[str, dict[str, Any]] = {}
    notes: dict[str, str] = {}
    for name in [] if args.no_models else args.models:
        generator = ganzoo.load(name, device=args.device)
        if "memorisation" in args.metrics:
            notes[name] = " (its training may have seen the held-out images)"
        results[name] = evaluate_one(name, generator, args, reference)
    if args.train_baseline:
        name = f"pytorch-examples-{args.train_baseline}"
        generator = train_baseline(images[:cut], args.train_baseline, args.batch_size, args.seed)
        ganzoo.save(generator, args.out_dir / name)  # kept, so it can be evaluated again without retraining
        results[name] = evaluate_one(name, generator, args, reference)
    if args.train_ganzoo:
        name = f"ganzoo-dcgan-{args.train_ganzoo}"
        train_split = InMemoryData(torch.from_numpy(images[:cut]), description="reference split")
        generator = ganzoo.train(
            "dcgan", train_split, steps=args.train_ganzoo, batch_size=args.batch_size, seed=args.seed, progress=False
        )
        ganzoo.save(generator, args.out_dir / name)
        results[name] = evaluate_one(name, generator, args, reference)
    print_table(results, notes)
    summary = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "results": {k: {"metrics": v["metrics"], "seconds": v["seconds"]} for k, v in results.items()},
        "protocol": next(iter(results.values()))["protocol"] if results else None,
    }
    from ganzoo.fileio import write_json

    write_json(args.out_dir / "summary.json", summary)
    return summary


if __name__ == "__main__":
    main()
