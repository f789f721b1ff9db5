"""Re-measure the zoo cards' Inception numbers (FID, KID) under the current resize convention, nothing else.

The zoo cards' KID/FID were measured with torch's half-pixel bilinear resize; ``ganzoo.evaluation.inception`` now
resizes as TensorFlow 1's ``resize_bilinear`` does (``RESIZE_CONVENTION``). This script recomputes only the
Inception features and the FID/KID of the same image sets, with the same protocol as the card's benchmark:

- ``dcgan-celeba`` (``benchmarks/eval_celeba.py``): 5,000 samples (seed 0) against the first 9,000 images of
  ``celeba64_uint8.npz`` (the last 1,000 held out), FID and KID (subsets of 1,000);
- ``pix2pix-celeba-colorize`` (``benchmarks/translation.py``), ``srgan-celeba-x4`` and ``inpaint-celeba-center``
  (``benchmarks/restoration.py``): outputs for CelebA's 988 test faces against those faces, KID on 100 subsets
  of 500 (FID with its sample check lowered to 900 for the restoration models), from the same run folders;
- ``--stages extras``: the other rows of the same benchmark tables (baselines, the models not shipped).

For ``dcgan-celeba`` also precision and recall (Inception features, k = 3). ``--stages verify-old`` checks the
script itself: under the previous convention (torch's half-pixel bilinear) it must give ce-center's numbers in
``benchmarks/results/restoration.json`` again.

Features are saved per set under ``--out`` (``feats/<set>.npy``, a killed run resumes where it stopped) and the
results are rewritten after every model (``results.json``). Run from the repository root::

    nohup python -m model_cards.remeasure_inception --out runs/remeasure > runs/remeasure.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
CELEBA = REPO.parent / "shared" / "datasets" / "celeba64" / "celeba64_uint8.npz"
RUNS = REPO / "runs"
DCGAN_REFERENCE_SHA256 = "0c244f448f7473c38da61d1d45495b26e694e7a0b7a27eed3eb90178bee2d8de"  # the card's
CHUNK = 500


def as_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


class Features:
    """Inception features of named image sets, saved chunk by chunk under ``folder``."""

    def __init__(self, folder: Path) -> None:
        from ganzoo.evaluation.extractors import InceptionExtractor

        self.folder = folder / "feats"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.extract = InceptionExtractor(batch_size=50)

    def __call__(self, name: str, images: torch.Tensor) -> np.ndarray:
        from ganzoo.evaluation.cache import tensor_sha256

        digest = tensor_sha256(images)[:16]
        path = self.folder / f"{name}-{digest}.npy"
        if path.is_file():
            return np.load(path, allow_pickle=False)
        parts = []
        started = time.perf_counter()
        for start in range(0, len(images), CHUNK):
            part_path = self.folder / f"{name}-{digest}.part{start // CHUNK:03d}.npy"
            if part_path.is_file():
                parts.append(np.load(part_path, allow_pickle=False))
                continue
            parts.append(self.extract.features(images[start : start + CHUNK]))
            np.save(part_path, parts[-1], allow_pickle=False)
            done = start + len(parts[-1])
            rate = done / (time.perf_counter() - started)
            print(f"  {name}: {done}/{len(images)} ({rate:.2f} img/s)", flush=True)
        features = np.concatenate(parts)
        np.save(path, features, allow_pickle=False)
        for part in self.folder.glob(f"{name}-{digest}.part*.npy"):
            part.unlink()
        return features


def scores(
    fake: np.ndarray, real: np.ndarray, names: list[str], options: dict[str, dict], extractor: dict
) -> dict[str, Any]:
    """The metrics ``names`` on features, bound as ``evaluate`` / ``score_translations`` bind them (seed 0)."""
    from ganzoo.evaluation.evaluate import make_metrics
    from ganzoo.evaluation.protocol import Batch, EvalContext

    made = make_metrics(names, options)
    dummy = torch.zeros(1, 3, 64, 64, dtype=torch.uint8)
    context = EvalContext(
        is_image=True,
        seed=0,
        sample_shape=(3, 64, 64),
        extractor=extractor,
        counts={"generated": len(fake), "reference": len(real)},
        feature_dim=fake.shape[1],
    )
    out = {}
    for name, metric in made.items():
        metric.bind(context)
        metric.update(Batch(dummy, features=fake), "generated")
        metric.update(Batch(dummy, features=real), "reference")
        out[name] = {k: v for k, v in metric.compute().items() if isinstance(v, (int, float, str))}
    return out


def restoration_sets(primary: bool) -> tuple[dict[str, tuple[str, torch.Tensor]], torch.Tensor]:
    """``({set name: (task, uint8 outputs)}, the test faces)`` of the translation and restoration models, made as
    their benchmarks make them (``primary``: the zoo models; else the baselines and the models not shipped)."""
    import ganzoo
    from ganzoo.masks import center_mask
    from ganzoo.plugins.metrics.translation import bicubic_upscale
    from ganzoo.plugins.paired_tasks import celeba_colorize, celeba_faces

    sets: dict[str, tuple[str, torch.Tensor]] = {}
    faces = celeba_faces(CELEBA, split="test").fields["image"]
    test = celeba_colorize(CELEBA, split="test")
    grey = test.fields["source"]
    assert torch.equal(test.fields["target"], faces), "pix2pix's test targets are not the restoration test faces"
    runs = ["p2p-gan"] if primary else ["p2p-l1"]
    for run in runs:
        model = ganzoo.load(RUNS / "translation" / run)
        x = grey.float().div(127.5).sub(1)
        sets[run] = (
            "pix2pix",
            as_uint8(torch.cat([model.translate(x[i : i + 128], output="raw") for i in range(0, len(x), 128)])),
        )
    if not primary:
        import sys

        sys.path.insert(0, str(REPO / "benchmarks"))
        from translation import mean_chroma_baseline

        sets["baseline: grey input"] = ("pix2pix", grey.expand(-1, 3, -1, -1).contiguous())
        train = celeba_colorize(CELEBA, split="train").fields["target"]
        sets["baseline: mean chroma"] = ("pix2pix", mean_chroma_baseline(grey, train))
    sr_runs = ["sr-x4-l1"] if primary else ["sr-x4"]
    low = None
    for run in sr_runs:
        model = ganzoo.load(RUNS / run)
        if low is None:
            low = as_uint8(model.config.degrade(faces.float() / 127.5 - 1)["images"])
        x = low.float() / 127.5 - 1
        sets[run] = (
            "sr",
            as_uint8(torch.cat([model.translate(x[i : i + 128], output="raw") for i in range(0, len(x), 128)])),
        )
    if not primary:
        sets["bicubic (PIL)"] = ("sr", bicubic_upscale(low, 64))
    masks = center_mask(len(faces), 64, 32)
    ce_runs = ["ce-center"] if primary else ["ce-center-l2"]
    for run in ce_runs:
        model = ganzoo.load(RUNS / run)
        sets[run] = ("inpainting", as_uint8(model.translate(faces.float() / 127.5 - 1, mask=masks, output="raw")))
    if not primary:
        train = celeba_faces(CELEBA, split="train").fields["image"]
        colour = train.double().mean((0, 2, 3)).round().to(torch.uint8).view(1, 3, 1, 1)
        sets["mean colour"] = ("inpainting", torch.where(masks.bool(), colour, faces))
        # the rows the zoo cards show first, then the other rows of the benchmark tables
        first = ["sr-x4", "bicubic (PIL)", "ce-center-l2", "baseline: mean chroma"]
        sets = {**{k: sets[k] for k in first}, **sets}
    return sets, faces


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RUNS / "remeasure")
    parser.add_argument("--stages", nargs="+", default=["restoration", "dcgan", "extras"])
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.is_file() else {}
    feats = Features(args.out)
    extractor = feats.extract.describe()
    results["extractor"] = extractor

    def save() -> None:
        results_path.write_text(json.dumps(results, indent=1))

    for stage in args.stages:
        if stage in ("restoration", "extras"):
            sets, faces = restoration_sets(primary=stage == "restoration")
            real = feats("celeba-test", faces)
            for name, (task, outputs) in sets.items():
                if task == "pix2pix":
                    names, options = ["kid"], {"kid": {"subset_size": 500}}
                else:
                    names, options = ["kid", "fid"], {"kid": {"subset_size": 500}, "fid": {"min_samples": 900}}
                results.setdefault(task, {})[name] = scores(feats(name, outputs), real, names, options, extractor)
                print(task, name, json.dumps(results[task][name]), flush=True)
                save()
        elif stage == "extras-sr":  # the SR table's other rows: the interpolations and the run without FM
            import sys

            import ganzoo

            sys.path.insert(0, str(REPO / "benchmarks"))
            from restoration import interpolate

            from ganzoo.plugins.paired_tasks import celeba_faces

            faces = celeba_faces(CELEBA, split="test").fields["image"]
            l1, gan = ganzoo.load(RUNS / "sr-x4-l1"), ganzoo.load(RUNS / "sr-x4")
            low = as_uint8(l1.config.degrade(faces.float() / 127.5 - 1)["images"])
            x = low.float() / 127.5 - 1
            models = {f"interpolated (alpha {a:g})": interpolate(l1, gan, a) for a in (0.25, 0.5, 0.75)}
            models["sr-x4-nofm"] = ganzoo.load(RUNS / "sr-x4-nofm")
            real = feats("celeba-test", faces)
            options = {"kid": {"subset_size": 500}, "fid": {"min_samples": 900}}
            for name, model in models.items():
                out = as_uint8(
                    torch.cat([model.translate(x[i : i + 128], output="raw") for i in range(0, len(x), 128)])
                )
                results.setdefault("sr", {})[name] = scores(feats(name, out), real, ["kid", "fid"], options, extractor)
                print("sr", name, json.dumps(results["sr"][name]), flush=True)
                save()
        elif stage == "verify-old":
            # a check of this script, not a card number: the previous convention (torch's half-pixel bilinear) on
            # ce-center must give the numbers of benchmarks/results/restoration.json again (KID 0.007378, FID 20.03)
            import torch.nn.functional as F

            from ganzoo.evaluation import inception

            def half_pixel(images: torch.Tensor) -> torch.Tensor:
                x = images.float()
                x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
                x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
                return (x - 128.0) / 128.0

            inception.preprocess = half_pixel
            old = Features(args.out / "half-pixel")
            sets, faces = restoration_sets(primary=True)
            real = old("celeba-test", faces)
            options = {"kid": {"subset_size": 500}, "fid": {"min_samples": 900}}
            check = scores(old("ce-center", sets["ce-center"][1]), real, ["kid", "fid"], options, extractor)
            results["verify-old-convention"] = {"ce-center": check, "expected": {"kid": 0.007377995, "fid": 20.0312}}
            print("half-pixel ce-center", json.dumps(check), flush=True)
            save()
        elif stage == "dcgan":
            import ganzoo
            from ganzoo.evaluation.cache import tensor_sha256
            from ganzoo.evaluation.evaluate import generated_samples

            with np.load(CELEBA, allow_pickle=False) as archive:
                images = torch.from_numpy(np.ascontiguousarray(archive["images"].transpose(0, 3, 1, 2)))
            reference = images[:9000]
            assert tensor_sha256(reference) == DCGAN_REFERENCE_SHA256, "not the card's reference split"
            fake = generated_samples(ganzoo.load("dcgan-celeba"), 5000, 0)
            f_fake = feats("dcgan-celeba-5000-seed0", fake)
            f_real = feats("celeba64-0-9000", reference)
            results["dcgan-celeba"] = scores(f_fake, f_real, ["fid", "kid", "precision-recall"], {}, extractor)
            print("dcgan-celeba", json.dumps(results["dcgan-celeba"]), flush=True)
            save()


if __name__ == "__main__":
    main()
