"""Build the ``cgan-fashion`` zoo entry from a training run: bundled fp16 weights, model card, class grid.

The model is the best class-conditional family of ``benchmarks/conditional_fashion.py`` (same trunk and budget
for every family, see ``benchmarks/README.md``). Its run::

    python benchmarks/conditional_fashion.py train --families projection --steps 10000

then, from the repository root, with the evaluation of that run::

    python benchmarks/conditional_fashion.py evaluate --json benchmarks/results/conditional_fashion.json
    python -m ganzoo.model_cards.cgan_fashion runs/conditional/projection-s0 \\
        --eval benchmarks/results/conditional_fashion.json

writes ``plugins/zoo/cgan-fashion/`` (config.json + model.safetensors in fp16), ``model_cards/cgan-fashion.md``
and ``docs/cgan-fashion-samples.png`` (one row per class), and prints the sha256 to pin in ``plugins/zoo.py``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganzoo.hub.cards import CardInfo, Metric

NAME = "cgan-fashion"
REPO_ID = "ganzoo/cgan-fashion"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DATA = (
    "Fashion-MNIST's 60,000 training images (Xiao, Rasul and Vollgraf 2017, arXiv:1708.07747), 28×28 greyscale in "
    "10 classes, zero-padded to 32×32 (the background is 0, so the padding is exact) by ganzoo's `fashion-mnist` "
    "data source, with their labels."
)
DATA_LICENSE = "Fashion-MNIST is MIT-licensed (Copyright 2017 Zalando SE); so are these weights."
LIMITATIONS = (
    "A small DCGAN-style conditional GAN trained for 10,000 steps on a CPU: garments are recognisable but "
    "blurry at 32×32 greyscale, some classes (shirt, pullover, coat) are often confused with each other, as they "
    "are in the data, and the metrics below come from a classifier trained on the same data set."
)


def card_info(metrics: list[Metric], training_command: str, description: str) -> CardInfo:
    """The card's text and metadata."""
    return CardInfo(
        model_name=NAME,
        description=description,
        datasets=["fashion_mnist"],
        license="mit",
        data_description=DATA,
        data_license=DATA_LICENSE,
        training_command=training_command,
        limitations=LIMITATIONS,
        tags=["class-conditional", "fashion-mnist", "onnx"],
        metrics=metrics,
        class_names=CLASSES,
    )


HOW = (
    "10,000 samples (1,000 per label) scored by ganzoo's Fashion-MNIST classifier (92.9 % test accuracy); CAS: the "
    "same classifier design trained on the samples alone, tested on the 10,000 real test images; intra-class FD: "
    "per class against the real test images, in the classifier's 128-d features"
)


def card_metrics_of(entry: dict) -> list[Metric]:
    """The card's metric rows from one run's entry of ``conditional_fashion.json``."""
    m = entry["metrics"]
    rows = [
        ("conditional-accuracy", "conditional accuracy", m["conditional-accuracy"]["accuracy"]),
        ("classification-accuracy-score", "CAS", m["classification-accuracy-score"]["cas"]),
        ("classifier-inception-score", "classifier IS", m["classifier-inception-score"]["score"]),
        ("class-diversity", "class diversity", m["class-diversity"]["diversity"]),
        ("intra-class-fd", "intra-class FD", m["intra-class-fd"]["mean"]),
    ]
    return [
        Metric(name, float(value), HOW, dataset="fashion_mnist", dataset_name="Fashion-MNIST", label=shown)
        for name, shown, value in rows
    ]


def main(argv: list[str] | None = None) -> None:
    """Build the bundle, the card and the picture from a finished run folder."""
    import torch

    import ganzoo
    from ganzoo.fileio import sha256_file
    from ganzoo.hub.cards import render_card
    from ganzoo.models.folder import save
    from ganzoo.models.reader import load_folder

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the training run folder")
    parser.add_argument("--eval", type=Path, required=True, help="benchmarks/results/conditional_fashion.json")
    parser.add_argument("--repo-root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)

    entry = json.loads(args.eval.read_text())["runs"][args.run.name]
    generator = load_folder(args.run)
    bundle = args.repo_root / "plugins" / "zoo" / NAME
    save(generator, bundle, dtype=torch.float16)  # half the size; loading converts back to float32
    bundled = load_folder(bundle)
    z = bundled.latents(8, seed=0).repeat(10, 1)
    grid = bundled.sample(z=z, labels=torch.arange(10).repeat_interleave(8), output="raw")
    ganzoo.sampling.save_grid(grid, args.repo_root / "docs" / f"{NAME}-samples.png", nrow=8)
    family = generator.architecture
    command = (
        f"python benchmarks/conditional_fashion.py train --families {family} --steps {generator.training['steps']}\n"
        f"# = ganzoo train {family} --data fashion-mnist:fashion_mnist.npz --steps {generator.training['steps']} "
        f"--set g_width={generator.config.g_width} --set d_width={generator.config.d_width} -o runs/{family}"
    )
    description = (
        f"A class-conditional GAN of Fashion-MNIST garments (32×32 greyscale, 10 classes): the `{family}` family, "
        "the best of ganzoo's conditional families at the same trunk and budget (`benchmarks/README.md`), trained "
        'with ganzoo on a CPU. It is a built-in zoo model: `ganzoo.load("cgan-fashion")` works offline, from the '
        "copy inside the package, and checks its sha256."
    )
    card = render_card(
        bundled, repo_id=REPO_ID, load_name=NAME, info=card_info(card_metrics_of(entry), command, description)
    )
    card.save(args.repo_root / "model_cards" / f"{NAME}.md")
    print(f"bundle: {bundle} ({(bundle / 'model.safetensors').stat().st_size / 1e6:.2f} MB)")
    print(f"sha256: {sha256_file(bundle / 'model.safetensors')}")


if __name__ == "__main__":
    main()
