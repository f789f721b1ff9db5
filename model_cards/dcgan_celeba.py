"""Build the ``dcgan-celeba`` zoo entry from a training run: bundled fp16 weights, model card, sample grid.

The run itself (about 40 minutes on 2 CPU cores, a few on a GPU)::

    ganzoo train dcgan --data ../shared/datasets/celeba64/celeba64_uint8.npz --steps 2400 --batch-size 64 \\
        --lr 2e-4 --beta1 0.5 --seed 0 -o runs/dcgan-celeba --sample-every 400 --checkpoint-every 200

then, from the repository root::

    python -m ganzoo.model_cards.dcgan_celeba runs/dcgan-celeba [--eval runs/eval-celeba/dcgan-celeba.json]
    python -m ganzoo.model_cards.dcgan_celeba plugins/zoo/dcgan-celeba --standing-stats 64 --eval ...  # v2
    python -m ganzoo.model_cards.dcgan_celeba --card-only --eval benchmarks/results/eval_celeba_dcgan-celeba.json

writes ``plugins/zoo/dcgan-celeba/`` (config.json + model.safetensors in fp16), ``model_cards/dcgan-celeba.md``
and ``docs/dcgan-celeba-samples.png``, and prints the sha256 to pin in ``plugins/zoo.py``. Publish with
``ganzoo push plugins/zoo/dcgan-celeba --repo ganzoo/dcgan-celeba --card model_cards/dcgan-celeba.md`` and tag the
commit with the revision the zoo entry pins (``v2``: v1's weights plus standing batch-norm statistics).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.hub.cards import CardInfo, Metric

NAME = "dcgan-celeba"
REPO_ID = "ganzoo/dcgan-celeba"
TRAINING_COMMAND = (
    "ganzoo train dcgan --data ../shared/datasets/celeba64/celeba64_uint8.npz --steps 2400 --batch-size 64 \\\n"
    "    --lr 2e-4 --beta1 0.5 --seed 0 -o runs/dcgan-celeba --sample-every 400 --checkpoint-every 200\n"
    "python -m ganzoo.model_cards.dcgan_celeba runs/dcgan-celeba   # fp16 bundle (v1), this card, sample grid\n"
    "# v2: v1's weights with batch-norm statistics re-measured on them (standing statistics)\n"
    "python -m ganzoo.model_cards.dcgan_celeba plugins/zoo/dcgan-celeba --standing-stats 64"
)
DATA = (
    "10,000 real CelebA faces (`celeba64_uint8.npz`): a uniform random subset of CelebA *Align&Cropped*, centre "
    "crop 178×178 (rows 20–197), resized to 64×64 with Lanczos. Liu, Luo, Wang and Tang, *Deep Learning Face "
    "Attributes in the Wild*, ICCV 2015. The data file is not part of ganzoo or of this repo."
)
DATA_LICENSE = (
    "CelebA is for **non-commercial research purposes only** (CUHK Multimedia Laboratory's agreement); data "
    "derived from it may not be used commercially. These weights inherit that restriction."
)
LIMITATIONS = (
    "A small DCGAN trained briefly on 10k images: faces are recognisable but blurry and often distorted, and the "
    "model shares CelebA's biases (mostly young, light-skinned celebrities, posed photos). Non-commercial research "
    "use only. Do not use its images to depict or identify real people."
)


def card_info(metrics: list[Metric] | None = None, hardware: str = "") -> CardInfo:
    """The card's text and metadata for dcgan-celeba."""
    return CardInfo(
        model_name=NAME,
        description=(
            "A DCGAN (Radford et al. 2016) generator of 64×64 faces, trained with ganzoo's training core on "
            '10,000 CelebA images. It is ganzoo\'s built-in zoo model: `ganzoo.load("dcgan-celeba")` works '
            "offline, from the copy inside the package, and checks its sha256."
        ),
        datasets=["celeba"],
        license="other",
        license_name="celeba-non-commercial-research",
        license_link="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        data_description=DATA,
        data_license=DATA_LICENSE,
        training_command=TRAINING_COMMAND,
        hardware=hardware,
        limitations=LIMITATIONS,
        tags=["unconditional-image-generation", "faces", "celeba", "onnx"],
        metrics=metrics or [],
    )


def main(argv: list[str] | None = None) -> None:
    """Build the bundle, the card and the picture from a finished run folder."""
    import torch

    import ganzoo
    from ganzoo.fileio import sha256_file
    from ganzoo.hub.cards import render_card
    from ganzoo.models.folder import save
    from ganzoo.models.reader import load_folder

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, nargs="?", help="the training run folder (ganzoo train -o ...)")
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="only re-render the card from the bundled weights (e.g. with new --eval numbers); the pinned weights "
        "and the picture stay as they are",
    )
    parser.add_argument("--repo-root", type=Path, default=Path.cwd())
    parser.add_argument("--hardware", default="", help="what it was trained on, for the card")
    parser.add_argument(
        "--eval", type=Path, default=None, help="an evaluation result (ganzoo eval -o / benchmarks/eval_celeba.py)"
    )
    parser.add_argument(
        "--standing-stats",
        type=int,
        default=0,
        metavar="BATCHES",
        help="re-measure the batch-norm statistics over BATCHES batches of 64 latents before bundling (seed 0)",
    )
    args = parser.parse_args(argv)
    metrics = None
    if args.eval is not None:  # its headline numbers go into the card's table and model-index
        import json

        from ganzoo.evaluation import card_metrics

        result = json.loads(args.eval.read_text())
        # not the memorisation numbers: this model trained on the whole file, held-out part included
        shown = ["fid", "kid", "precision-recall/precision", "precision-recall/recall"]
        metrics = card_metrics(result, dataset="celeba", dataset_name="CelebA-64 (10k)", only=shown)

    bundle = args.repo_root / "plugins" / "zoo" / NAME
    if not args.card_only:
        if args.run is None:
            parser.error("give the run folder, or --card-only")
        generator = load_folder(args.run)
        if args.standing_stats:
            ganzoo.recompute_batchnorm_stats(generator, batches=args.standing_stats, batch_size=64, seed=0)
            generator.training = {**generator.training, "standing_stats": args.standing_stats}
        save(generator, bundle, dtype=torch.float16)  # half the size; loading converts back to float32
    bundled = load_folder(bundle)
    if not args.card_only:
        grid = args.repo_root / "docs" / f"{NAME}-samples.png"
        ganzoo.sampling.save_grid(bundled.sample(64, seed=0, output="raw"), grid, nrow=8)
    card = render_card(
        bundled, repo_id=REPO_ID, load_name=NAME, info=card_info(metrics, hardware=args.hardware), has_samples=True
    )
    card.save(args.repo_root / "model_cards" / f"{NAME}.md")
    print(f"bundle: {bundle} ({(bundle / 'model.safetensors').stat().st_size / 1e6:.1f} MB)")
    print(f"sha256: {sha256_file(bundle / 'model.safetensors')}")


if __name__ == "__main__":
    main()
