"""Train the Fashion-MNIST classifier that the classifier-based metrics use, and write its shipped weights.

The network is ``ganzoo.plugins.metrics.fashion_classifier.FashionClassifier`` (four strided conv blocks, a 128-d
penultimate feature layer, 10 logits; 32x32 greyscale input in [-1, 1]). Training: the 60,000 training pictures
of Fashion-MNIST (Xiao, Rasul and Vollgraf 2017), zero-padded to 32x32 as ``fashion-mnist:PATH`` loads them;
6 epochs of Adam (Kingma & Ba 2015; lr 2e-3, batch 128), warm-up then cosine decay, random left-right flips;
seeded, on the CPU, 2 threads. The script prints the test accuracy (10,000 test pictures) in fp32 and with the
fp16 weights, writes the fp16 weights as safetensors and prints their sha256, which goes into ``WEIGHTS_SHA256``
(and the accuracy into ``TEST_ACCURACY``) of ``plugins/metrics/fashion_classifier.py``. The metrics (Ravuri &
Vinyals 2019's CAS, the xICFG lecture's quality and diversity scores, intra-class FD) are in
``plugins/metrics/classifier.py``.

Run from the repository root (about 10 minutes on 2 CPU cores)::

    python benchmarks/train_fashion_classifier.py        # -> plugins/metrics/weights/fashion_classifier.safetensors
    python benchmarks/train_fashion_classifier.py --epochs 0.05 --out /tmp/fc.safetensors   # checks the script

The same seed, torch version and CPU give the same bytes; other CPUs or torch versions may differ in the last
bits of the weights (and so in the sha256) and reach the same accuracy within about 0.2 points.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.plugins.metrics.fashion_classifier import (
    WEIGHTS_PATH,
    FashionClassifier,
    accuracy,
    save_classifier,
    train_classifier,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "datasets" / "fashion_mnist" / "fashion_mnist.npz"


def main(argv: list[str] | None = None) -> dict:
    """Train, test (fp32 and fp16), write the weights; return the numbers printed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Fashion-MNIST .npz (Keras layout)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="where the fp16 safetensors go")
    parser.add_argument("--epochs", type=float, default=6.0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    spec = f"fashion-mnist:{args.data.resolve()}"
    train = ganzoo.resolve_data(spec, image_size=32, channels=1)
    test = ganzoo.resolve_data(spec, image_size=32, channels=1, split="test")
    torch.manual_seed(args.seed)  # the initial weights
    model = FashionClassifier()
    started = time.perf_counter()

    def progress(step: int, total: int, loss: float) -> None:
        print(f"step {step}/{total}  loss {loss:.4f}  {time.perf_counter() - started:.0f} s", flush=True)

    train_classifier(
        model,
        train.data,
        train.labels,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        progress=progress,
    )
    seconds = time.perf_counter() - started
    fp32 = accuracy(model, test.data, test.labels)
    train_fp32 = accuracy(model, train.data[:10_000], train.labels[:10_000])
    metadata = {
        "format": "ganzoo FashionClassifier",
        "test_accuracy_fp32": f"{fp32:.4f}",
        "epochs": str(args.epochs),
        "batch_size": str(args.batch_size),
        "lr": str(args.lr),
        "seed": str(args.seed),
        "torch": torch.__version__,
        "script": "benchmarks/train_fashion_classifier.py",
    }
    sha256 = save_classifier(model, args.out, dtype=torch.float16, metadata=metadata)
    from ganzoo.plugins.metrics.fashion_classifier import load_fashion_classifier

    fp16 = accuracy(load_fashion_classifier(args.out, sha256=sha256), test.data, test.labels)
    result = {
        "test_accuracy_fp32": fp32,
        "test_accuracy_fp16": fp16,
        "train_accuracy_first_10k": train_fp32,
        "train_seconds": round(seconds, 1),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "threads": args.threads,
        "parameters": sum(p.numel() for p in model.parameters()),
        "file": str(args.out),
        "file_bytes": args.out.stat().st_size,
        "sha256": sha256,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
    print(f"test accuracy: {fp32:.4f} (fp32), {fp16:.4f} (fp16 weights as shipped); training {seconds:.0f} s")
    print(f"wrote {args.out} ({result['file_bytes']:,} bytes)")
    print(f"sha256 {sha256}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
