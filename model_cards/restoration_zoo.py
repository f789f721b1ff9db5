"""Build the restoration zoo entries from the ``benchmarks/restoration.py`` runs: bundled fp16 weights, model
cards with the measured numbers, and input | output | target pictures.

    python benchmarks/restoration.py train
    python benchmarks/restoration.py evaluate --json benchmarks/results/restoration.json
    python -m ganzoo.model_cards.restoration_zoo --eval benchmarks/results/restoration.json

writes ``plugins/zoo/srgan-celeba-x4/`` (from ``runs/restoration/sr-x4-l1``: the SRGAN recipe's phase 1, which
measured better than its adversarial phase 2 on every number here, see the card) and
``plugins/zoo/inpaint-celeba-center/`` (from ``runs/restoration/ce-center``), their cards in ``model_cards/``
and pictures in ``docs/``, and prints the sha256 values to pin in ``plugins/zoo.py``.

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
from ganzoo.model_cards.dcgan_celeba import DATA_LICENSE as CELEBA_LICENSE

SR, INPAINT = "srgan-celeba-x4", "inpaint-celeba-center"
TEST = "CelebA-64 test"
TRAIN_DATA = (
    "The 7,990 faces of the shared 10k CelebA-64 file whose ids fall in CelebA's official training partition "
    "(≤ 162,770), degraded on the fly ({how}). Liu et al., *Deep Learning Face Attributes in the Wild*, ICCV 2015."
)


def _metric(key: str, value: float, how: str, label: str) -> Metric:
    return Metric(key, value, how, dataset="celeba", dataset_name=TEST, label=label)


def _sr_info(report: dict[str, Any], command: str) -> CardInfo:
    gan, l1, bicubic = (report["super_resolution"][k]["metrics"] for k in ("sr-x4", "sr-x4-l1", "bicubic (PIL)"))
    how = "CelebA's official test split (988 faces), 16 px inputs by the model's own bicubic down-scaling, on [0, 1]"
    kid_how = "outputs against the 988 real test faces, ganzoo's Inception, 100 subsets of 500"
    fid_how = "outputs against the 988 real test faces, ganzoo's Inception (988 < 2,048 features: biased high)"
    metrics = [
        _metric("psnr", l1["pixel-fidelity"]["psnr"], how, "PSNR (dB)"),
        _metric("ssim", l1["pixel-fidelity"]["ssim"], how, "SSIM"),
        _metric("kid", l1["kid"]["kid"], kid_how, "KID"),
        _metric("fid", l1["fid"]["fid"], fid_how, "FID (988 faces)"),
        _metric("psnr-gan-phase", gan["pixel-fidelity"]["psnr"], how, "PSNR after the adversarial phase (not shipped)"),
        _metric("kid-gan-phase", gan["kid"]["kid"], kid_how, "KID after the adversarial phase (not shipped)"),
        _metric("psnr-bicubic", bicubic["pixel-fidelity"]["psnr"], how, "PSNR of PIL's bicubic (baseline)"),
        _metric("kid-bicubic", bicubic["kid"]["kid"], kid_how, "KID of PIL's bicubic (baseline)"),
    ]
    drop = l1["pixel-fidelity"]["psnr"] - gan["pixel-fidelity"]["psnr"]
    return CardInfo(
        model_name=SR,
        description=(
            "4× face super-resolution, 16×16 → 64×64 (SRGAN, Ledig et al. 2017, with ESRGAN's changes): an "
            "SRResNet (width 48, 8 residual blocks without batch norm, residual scaling 0.2, two PixelShuffle ×2 "
            "stages) that adds a learnt residual to the bicubic upscaling of its input. **These are the weights of "
            "the recipe's phase 1**, 8,000 steps of L1 alone (SRResNet, the PSNR-oriented model). The run went on "
            "as the papers do, 3,000 adversarial steps with a relativistic average D (5e-3) and feature matching "
            "on D's features (weight 1) beside L1 (no VGG perceptual loss: its ImageNet weights cannot be had "
            f"here), but that phase made every measured number worse: PSNR −{drop:.2f} dB, KID "
            f"{l1['kid']['kid']:.4f} → {gan['kid']['kid']:.4f}, FID {l1['fid']['fid']:.1f} → {gan['fid']['fid']:.1f} "
            "(benchmarks/README.md), so the zoo ships phase 1. "
            f'`ganzoo.load("{SR}").translate(small_faces)` works offline and checks its sha256; '
            f"`ganzoo translate {SR} photo.png -o big.png --tile` enlarges a picture of any size in 16-px tiles."
        ),
        datasets=["celeba"],
        license="other",
        license_name="celeba-non-commercial-research",
        license_link="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        data_description=TRAIN_DATA.format(how="each face down-scaled ×4 by PIL's antialiased bicubic, 8-bit"),
        data_license=CELEBA_LICENSE,
        training_command=command,
        limitations=(
            "Trained for 8,000 steps of 16 faces on a CPU with a small G and a pixel loss: outputs are sharper than "
            "bicubic but smooth (L1 averages the possible details), and what it adds is a guess, not the true face "
            "(a 16-px face does not hold the identity). It expects aligned 64-px "
            "CelebA-like faces degraded by bicubic down-scaling; other blur, noise or JPEG artefacts are outside "
            "what it learnt, and tiles of other pictures (landscapes, text) get face-like textures. Inherits "
            "CelebA's biases. Non-commercial research use only; do not use it to identify or depict real people."
        ),
        tags=["image-to-image", "super-resolution", "srgan", "celeba", "onnx"],
        metrics=metrics,
    )


def _inpaint_info(report: dict[str, Any], command: str) -> CardInfo:
    entries = report["inpainting"]
    ce, l2, mean = (entries[k]["metrics"] for k in ("ce-center", "ce-center-l2", "mean colour"))
    how = "CelebA's official test split (988 faces), centre 32×32 hole, pixels of the hole only, on [0, 1]"
    kid_how = "completed faces against the 988 real test faces, ganzoo's Inception, 100 subsets of 500"
    metrics = [
        _metric("hole-psnr", ce["pixel-fidelity"]["hole_psnr"], how, "PSNR in the hole (dB)"),
        _metric("hole-l1", ce["pixel-fidelity"]["hole_l1"], how, "L1 in the hole"),
        _metric("kid", ce["kid"]["kid"], kid_how, "KID"),
        _metric("hole-psnr-l2-model", l2["pixel-fidelity"]["hole_psnr"], how, "PSNR in the hole, L2-only model"),
        _metric("kid-l2-model", l2["kid"]["kid"], kid_how, "KID, L2-only model"),
        _metric("hole-psnr-mean-colour", mean["pixel-fidelity"]["hole_psnr"], how, "PSNR, mean-colour fill"),
    ]
    return CardInfo(
        model_name=INPAINT,
        description=(
            "Face inpainting with a context encoder (Pathak et al. 2016): a 64×64 face whose central 32×32 square "
            "is missing, plus the mask, in; the completed face out (the known pixels pass through untouched). "
            "Encoder to a 256-d bottleneck and decoder (width 32), trained with ganzoo for 4,000 steps of 32 on "
            "0.999 × L2 (×10 on the hole's outer 4 px) + 0.001 × adversarial (DCGAN's D on the whole picture). "
            f'`ganzoo.load("{INPAINT}").translate(faces)` fills the centre; other masks are accepted '
            "(`mask=`), but it learnt the centre hole. The mask is a model input: ONNX, `ganzoo serve` "
            "(`?hole=`) and Triton take it."
        ),
        datasets=["celeba"],
        license="other",
        license_name="celeba-non-commercial-research",
        license_link="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        data_description=TRAIN_DATA.format(how="the central 32×32 square of each face masked"),
        data_license=CELEBA_LICENSE,
        training_command=command,
        limitations=(
            "A small context encoder trained briefly on 8k faces: fills are blurry, average-looking noses and "
            "mouths that fit the surrounding colours; they are guesses, not the missing face. Holes elsewhere "
            "or of other sizes were never seen in training and fill worse. Inherits CelebA's biases. "
            "Non-commercial research use only; do not use it to alter pictures of real people deceptively."
        ),
        tags=["image-to-image", "inpainting", "context-encoder", "celeba", "onnx"],
        metrics=metrics,
    )


def main(argv: list[str] | None = None) -> None:
    """Build both bundles, cards and pictures."""
    import torch
    import torch.nn.functional as F

    from ganzoo.hub.cards import render_card
    from ganzoo.model_cards.bundling import bundle_run
    from ganzoo.plugins.paired_tasks import celeba_faces
    from ganzoo.sampling import save_grid

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, required=True, help="benchmarks/results/restoration.json")
    parser.add_argument("--runs", type=Path, default=Path("runs") / "restoration")
    parser.add_argument("--repo-root", type=Path, default=Path.cwd())
    parser.add_argument("--datasets", type=Path, default=None, help="default: <repo-root>/../shared/datasets")
    args = parser.parse_args(argv)
    report = json.loads(args.eval.read_text())
    root = args.repo_root
    datasets = args.datasets or root.parent / "shared" / "datasets"
    faces = celeba_faces(datasets / "celeba64" / "celeba64_uint8.npz", split="test").fields["image"]
    pick = torch.arange(8) * (len(faces) // 8)
    real = faces[pick].float().div(127.5).sub(1)

    def bundle(run: str, name: str) -> Any:
        return bundle_run(args.runs / run, root, name)

    sr = bundle("sr-x4-l1", SR)
    small = sr.config.degrade(real)["images"]
    enlarged = F.interpolate(small, scale_factor=4, mode="nearest")
    rows = torch.stack([enlarged, sr.translate(small, output="raw"), real], 1)
    save_grid(rows.flatten(0, 1), root / "docs" / f"{SR}-samples.png", nrow=6)
    cfg = sr.config
    command = (
        "python benchmarks/restoration.py train --runs sr-x4\n"
        "# = ganzoo train srgan --data celeba:celeba64_uint8.npz --steps 8000 --batch-size 16 "
        f"--set g_width={cfg.g_width} --set blocks={cfg.blocks} --set d_width={cfg.d_width} "
        "--method-option pretrain_steps=8000 -o runs/sr-x4   # these weights (phase 1)\n"
        "#   then the same with --steps 11000 --resume: the adversarial phase, measured and not shipped"
    )
    render_card(sr, repo_id=f"ganzoo/{SR}", load_name=SR, info=_sr_info(report, command)).save(
        root / "model_cards" / f"{SR}.md"
    )

    ce = bundle("ce-center", INPAINT)
    mask = ce.as_mask(None, len(real))
    rows = torch.stack([real * (1 - mask), ce.translate(real, output="raw"), real], 1)
    save_grid(rows.flatten(0, 1), root / "docs" / f"{INPAINT}-samples.png", nrow=6)
    cfg = ce.config
    command = (
        "python benchmarks/restoration.py train --runs ce-center\n"
        f"# = ganzoo train context-encoder --data celeba:celeba64_uint8.npz --steps {ce.training['steps']} "
        f"--batch-size 32 --set g_width={cfg.g_width} --set bottleneck={cfg.bottleneck} --set d_width={cfg.d_width} "
        "-o runs/ce-center"
    )
    render_card(ce, repo_id=f"ganzoo/{INPAINT}", load_name=INPAINT, info=_inpaint_info(report, command)).save(
        root / "model_cards" / f"{INPAINT}.md"
    )


if __name__ == "__main__":
    main()
