"""Build the image-to-image zoo entries from the ``benchmarks/translation.py`` runs: bundled fp16 weights, model
cards with the measured numbers, and input | output (| target) pictures.

    python benchmarks/translation.py train
    python benchmarks/translation.py evaluate --json benchmarks/results/translation.json
    python -m ganzoo.model_cards.translation_zoo --eval benchmarks/results/translation.json

writes ``plugins/zoo/pix2pix-celeba-colorize/`` (from ``runs/translation/p2p-gan``) and
``plugins/zoo/cyclegan-fashion-sandal2sneaker/`` (from ``runs/translation/cyclegan``), their cards in
``model_cards/`` and pictures in ``docs/``, and prints the sha256 values to pin in ``plugins/zoo.py``.

The KID/FID in the cards were re-measured under the tf1-bilinear resize (``model_cards/remeasure_inception.py``,
``model_cards/remeasured-tf1.json``); the benchmark JSON read here predates it. Re-run the benchmark's
``evaluate`` before rebuilding a card, or its Inception rows go back to the half-pixel numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ganzoo.hub.cards import CardInfo, Metric
from ganzoo.model_cards.cgan_fashion import DATA_LICENSE as FASHION_LICENSE
from ganzoo.model_cards.dcgan_celeba import DATA_LICENSE as CELEBA_LICENSE

COLORIZE, SHOES = "pix2pix-celeba-colorize", "cyclegan-fashion-sandal2sneaker"


def _colorize_info(entry: dict[str, Any], baselines: dict[str, Any], command: str) -> CardInfo:
    m, grey = entry["metrics"], baselines["baseline: grey input"]["metrics"]
    how = "CelebA's official test split (988 faces of the 10k file), against the true colours, on [0, 1]"
    kid_how = "outputs against the 988 real test faces, ganzoo's Inception (2015-12-05), 100 subsets of 500"
    metrics = [
        Metric(
            "psnr", m["pixel-fidelity"]["psnr"], how, dataset="celeba", dataset_name="CelebA-64 test", label="PSNR (dB)"
        ),
        Metric("ssim", m["pixel-fidelity"]["ssim"], how, dataset="celeba", dataset_name="CelebA-64 test", label="SSIM"),
        Metric("l1", m["pixel-fidelity"]["l1"], how, dataset="celeba", dataset_name="CelebA-64 test", label="L1"),
        Metric("kid", m["kid"]["kid"], kid_how, dataset="celeba", dataset_name="CelebA-64 test", label="KID"),
        Metric(
            "psnr-grey-baseline",
            grey["pixel-fidelity"]["psnr"],
            "the greyscale input itself as the output (the trivial baseline)",
            dataset="celeba",
            dataset_name="CelebA-64 test",
            label="PSNR of the grey input (baseline)",
        ),
    ]
    return CardInfo(
        model_name=COLORIZE,
        description=(
            "A pix2pix colouriser (Isola et al. 2017): greyscale 64×64 faces in, colour faces out. U-Net generator "
            "(width 24, 6 levels) that predicts the two YCbCr chroma channels while the grey input stays the "
            "output's luma (`chroma_only`, the paper's L → ab colourisation), 70×70 PatchGAN, λ_L1 = 100, 6,000 "
            "steps of batch 16 with ganzoo on CelebA's training split. "
            'A built-in zoo model: `ganzoo.load("pix2pix-celeba-colorize").translate(grey)` works offline and '
            "checks its sha256. Inference runs in eval mode (batch-norm running statistics, no dropout): "
            "deterministic and exportable; the paper's test-time dropout is `test_dropout=True`."
        ),
        datasets=["celeba"],
        license="other",
        license_name="celeba-non-commercial-research",
        license_link="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        data_description=(
            "The 7,990 faces of the shared 10k CelebA-64 file whose ids fall in CelebA's official training "
            "partition (≤ 162,770), each paired with its BT.601 luma as the input (`celeba-colorize` data source). "
            "Liu et al., *Deep Learning Face Attributes in the Wild*, ICCV 2015."
        ),
        data_license=CELEBA_LICENSE,
        training_command=command,
        limitations=(
            "Trained for a few epochs on 8k faces on a CPU: colours are plausible but muted and sometimes "
            "blotchy, backgrounds and clothes are often wrong or brownish, and it inherits CelebA's biases "
            "(mostly young, light-skinned celebrities). Non-commercial research use only; do not use it to "
            "depict or identify real people."
        ),
        tags=["image-to-image", "pix2pix", "colorization", "celeba", "onnx"],
        metrics=metrics,
    )


def _shoes_info(entry: dict[str, Any], command: str) -> CardInfo:
    how = "ganzoo's Fashion-MNIST classifier on all test images of the source class, translated"
    metrics = [
        Metric(
            "sandal-to-sneaker",
            entry["sandal_to_sneaker_accuracy"],
            how,
            dataset="fashion_mnist",
            dataset_name="Fashion-MNIST test",
            label="sandal → sneaker accuracy",
        ),
        Metric(
            "sneaker-to-sandal",
            entry["sneaker_to_sandal_accuracy"],
            how,
            dataset="fashion_mnist",
            dataset_name="Fashion-MNIST test",
            label="sneaker → sandal accuracy",
        ),
        Metric(
            "cycle-l1",
            entry["cycle_l1"]["sandal"],
            "|G_BA(G_AB(sandal)) − sandal| on [0, 1], test sandals",
            dataset="fashion_mnist",
            dataset_name="Fashion-MNIST test",
            label="cycle L1 (sandals)",
        ),
    ]
    return CardInfo(
        model_name=SHOES,
        description=(
            "A CycleGAN (Zhu et al. 2017) between Fashion-MNIST sandals (A) and sneakers (B), 32×32 greyscale, "
            "trained with ganzoo on unpaired pictures. Both directions ship: "
            '`ganzoo.load("cyclegan-fashion-sandal2sneaker").translate(x, direction="a2b")` (or `"b2a"`), offline.'
        ),
        datasets=["fashion_mnist"],
        license="mit",
        data_description=(
            "Fashion-MNIST's 6,000 training sandals and 6,000 training sneakers (Xiao et al. 2017), zero-padded "
            "to 32×32, as two unpaired domains (`fashion-mnist-unpaired` data source)."
        ),
        data_license=FASHION_LICENSE,
        training_command=command,
        limitations=(
            "A small CycleGAN (width 16) at 32×32: outputs are blurry shoe shapes; turning a strappy sandal into a "
            "solid sneaker is a change of shape, which CycleGAN's cycle loss resists (the paper lists such changes "
            "as a failure case), so some translations keep the sandal's outline."
        ),
        tags=["image-to-image", "cyclegan", "fashion-mnist", "onnx"],
        metrics=metrics,
    )


def main(argv: list[str] | None = None) -> None:
    """Build both bundles, cards and pictures."""
    import torch

    from ganzoo.hub.cards import render_card
    from ganzoo.model_cards.bundling import bundle_run
    from ganzoo.plugins.paired_tasks import celeba_colorize, fashion_mnist_unpaired
    from ganzoo.sampling import save_grid

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, required=True, help="benchmarks/results/translation.json")
    parser.add_argument("--runs", type=Path, default=Path("runs") / "translation")
    parser.add_argument("--repo-root", type=Path, default=Path.cwd())
    parser.add_argument("--datasets", type=Path, default=None, help="default: <repo-root>/../shared/datasets")
    args = parser.parse_args(argv)
    report = json.loads(args.eval.read_text())
    root = args.repo_root
    datasets = args.datasets or root.parent / "shared" / "datasets"

    def bundle(run: str, name: str) -> Any:
        return bundle_run(args.runs / run, root, name)

    raw = lambda x: x.float().div(127.5).sub(1)  # noqa: E731  (uint8 -> [-1, 1])

    colorize = bundle("p2p-gan", COLORIZE)
    test = celeba_colorize(datasets / "celeba64" / "celeba64_uint8.npz", split="test")
    pick = torch.arange(8) * (len(test) // 8)
    grey, colour = raw(test.fields["source"][pick]), raw(test.fields["target"][pick])
    rows = torch.stack([grey.expand(-1, 3, -1, -1), colorize.translate(grey, output="raw"), colour], 1)
    save_grid(rows.flatten(0, 1), root / "docs" / f"{COLORIZE}-samples.png", nrow=6)
    steps = colorize.training["steps"]
    command = (
        "python benchmarks/translation.py train --runs p2p-gan\n"
        f"# = ganzoo train pix2pix --data celeba-colorize:celeba64_uint8.npz --steps {steps} --batch-size 16 "
        f"--lr-decay linear --lr-decay-start {steps // 2} --set image_size=64 --set in_channels=1 --set channels=3 "
        f"--set g_width={colorize.config.g_width} --set d_width={colorize.config.d_width} -o runs/p2p"
    )
    info = _colorize_info(report["pix2pix"]["p2p-gan"], report["pix2pix"], command)
    render_card(colorize, repo_id=f"ganzoo/{COLORIZE}", load_name=COLORIZE, info=info).save(
        root / "model_cards" / f"{COLORIZE}.md"
    )

    shoes = bundle("cyclegan", SHOES)
    pairs = fashion_mnist_unpaired(datasets / "fashion_mnist", split="test", image_size=32)
    sandals, sneakers = raw(pairs.fields["a"][:8]), raw(pairs.fields["b"][:8])
    to_b, to_a = (
        shoes.translate(sandals, direction="a2b", output="raw"),
        shoes.translate(sneakers, direction="b2a", output="raw"),
    )
    rows = torch.cat([torch.stack([sandals, to_b], 1).flatten(0, 1), torch.stack([sneakers, to_a], 1).flatten(0, 1)])
    save_grid(rows, root / "docs" / f"{SHOES}-samples.png", nrow=8)
    steps = shoes.training["steps"]
    command = (
        "python benchmarks/translation.py train --runs cyclegan\n"
        f"# = ganzoo train cyclegan --data fashion-mnist-unpaired:fashion_mnist.npz --steps {steps} --batch-size 8 "
        f"--lr-decay linear --lr-decay-start {steps // 2} --set image_size=32 --set channels=1 --set in_channels=1 "
        f"--set g_width={shoes.config.g_width} --set d_width={shoes.config.d_width} --set d_layers=2 -o runs/cyc"
    )
    render_card(shoes, repo_id=f"ganzoo/{SHOES}", load_name=SHOES, info=_shoes_info(report["cyclegan"], command)).save(
        root / "model_cards" / f"{SHOES}.md"
    )


if __name__ == "__main__":
    main()
