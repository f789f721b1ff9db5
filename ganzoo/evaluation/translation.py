"""``evaluate_translation``: metrics of an image-to-image model (pix2pix, CycleGAN, super-resolution,
inpainting) on held-out data.

Restoration models (``config.restores``) are evaluated on clean images (``{"image"}``, e.g. ``celeba:FILE``):
their config's ``degrade`` makes the inputs (down-scaled pictures; holes, seeded) and the clean images are the
targets.

Two kinds of metric plugins run here:

- **pair metrics** (``reads_pairs = True``): get a ``TranslationBatch`` (the inputs, the translated outputs and,
  for paired data, the targets) through ``update_pairs``: L1/PSNR/SSIM against targets, a classifier's verdict
  on the outputs (CycleGAN's translation accuracy);
- **distribution metrics** (FID, KID, ...): the outputs are the ``generated`` set and the real images of the
  output domain (the targets, or domain B's images for A -> B) the ``reference`` set, as in ``ganzoo.evaluate``.

Outputs are quantised to uint8 exactly as real images are stored, so every metric compares like with like.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ganzoo.errors import EvaluationError
from ganzoo.evaluation.cache import tensor_sha256
from ganzoo.evaluation.protocol import Batch, EvalContext
from ganzoo.version import __version__

#: the last reference set's features in this process, by (content hash, extractor)
_REFERENCE_FEATURES: dict[tuple[str, str], Any] = {}


@dataclass
class TranslationBatch:
    """What a pair metric sees: uint8 NCHW ``inputs``, ``outputs`` and (paired data) ``targets``, row-aligned;
    for inpainting the ``masks`` (float (N, 1, H, W), 1 in the hole; the inputs' holes are grey)."""

    inputs: torch.Tensor
    outputs: torch.Tensor
    targets: torch.Tensor | None = None
    masks: torch.Tensor | None = None


def _to_uint8_nchw(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8 in [0, 255], rounded as ``ganzoo.sampling.to_uint8`` does."""
    return images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def _to_model_range(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(127.5).sub(1)


def translation_sets(
    model: Any, data: Any, *, direction: str | None = None, n: int | None = None, seed: int = 0, data_options=None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, str, str, torch.Tensor | None]:
    """``(inputs, targets or None, reference images, description, role, masks or None)`` for ``model`` on
    ``data``, all uint8 NCHW but the masks.

    Paired data (``{"source", "target"}``): the sources in, their targets as targets and reference. Unpaired data
    (``{"a", "b"}``): domain A in and domain B as reference for ``a2b`` (``g_ab``), the other way for ``b2a``.
    Clean images (``{"image"}``) for a restoration model: its ``config.degrade`` makes the inputs (seeded by
    ``seed``), the images are targets and reference. ``n`` keeps a seeded random subset.
    """
    from ganzoo.data import resolve_data

    cfg = model.config
    options = {"image_size": cfg.image_size, "channels": cfg.channels, **dict(data_options or {})}
    dataset = resolve_data(data, **options)
    fields = getattr(dataset, "fields", None)
    if not isinstance(fields, dict):
        raise EvaluationError(f"{data!r} is not an in-memory data set with named fields")
    role = model.direction(direction)
    masks = None
    if "image" in fields and getattr(cfg, "restores", False):
        targets = fields["image"]
        if n is not None:
            if n < 2:
                raise EvaluationError(f"n must be at least 2, got {n}")
            keep = torch.randperm(len(targets), generator=torch.Generator().manual_seed(seed))[: min(n, len(targets))]
            targets = targets[keep]
        made = cfg.degrade(_to_model_range(targets), torch.Generator().manual_seed(seed))
        masks = made.get("mask")
        shown = made["images"] if masks is None else made["images"] * (1 - masks)
        return _to_uint8_nchw(shown), targets, targets, getattr(dataset, "description", str(data)), role, masks
    if {"source", "target"} <= set(fields):
        inputs, targets = fields["source"], fields["target"]
        reference = targets
    elif {"a", "b"} <= set(fields):
        into_b = role in ("g_ab", "generator")
        inputs, reference, targets = (fields["a"], fields["b"], None) if into_b else (fields["b"], fields["a"], None)
    else:
        raise EvaluationError(
            f"translation metrics need paired data ({{source, target}}) or two domains ({{a, b}}); "
            f"{getattr(dataset, 'description', data)} has fields {sorted(fields)}"
        )
    if n is not None:
        if n < 2:
            raise EvaluationError(f"n must be at least 2, got {n}")
        keep = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(seed))[: min(n, len(inputs))]
        inputs = inputs[keep]
        if targets is not None:
            targets, reference = targets[keep], targets[keep]
    return inputs, targets, reference, getattr(dataset, "description", str(data)), role, None


def score_translations(
    pairs: TranslationBatch,
    reference: torch.Tensor,
    made: dict[str, Any],
    *,
    dataset: str = "",
    seed: int = 0,
    inception_weights: str | os.PathLike | None = None,
    device: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the metric objects ``made`` (name -> metric) on translated images: pair metrics get ``pairs``,
    distribution metrics the outputs as ``generated`` and ``reference`` (real images of the output domain).

    ``evaluate_translation`` calls it on a model's outputs; benchmarks call it on a baseline's (e.g. the input
    itself) to score them exactly alike."""
    from ganzoo.evaluation.extractors import make_extractor

    outputs = pairs.outputs
    distribution = {name: m for name, m in made.items() if not getattr(m, "reads_pairs", False)}
    batches: dict[str, Batch] = {}
    if distribution:
        extract = make_extractor(
            None, is_image=True, weights=inception_weights, device=device, batch_size=50, progress=progress
        )
        described = extract.describe()
        context = EvalContext(
            dataset=dataset,
            sample_shape=tuple(outputs.shape[1:]),
            is_image=True,
            seed=seed,
            extractor=described,
            counts={"generated": len(outputs), "reference": len(reference)},
            feature_dim=described.get("dim"),
        )
        for metric in distribution.values():
            metric.bind(context)
        key = (tensor_sha256(reference), json.dumps(described, sort_keys=True, default=str))
        if key not in _REFERENCE_FEATURES:  # the same real images scored against several models: extract once
            _REFERENCE_FEATURES.clear()
            _REFERENCE_FEATURES[key] = extract.features(reference, label="reference")
        batches = {
            "generated": Batch(outputs, features=extract.features(outputs, label="outputs")),
            "reference": Batch(reference, features=_REFERENCE_FEATURES[key]),
        }
    results: dict[str, Any] = {}
    for name, metric in made.items():
        if name in distribution:
            for split in metric.splits:
                if split not in batches:
                    raise EvaluationError(f"{name} reads the {split!r} set, which translation evaluation has not")
                metric.update(batches[split], split)
        else:
            metric.update_pairs(pairs)
        results[name] = metric.compute()
    return results


def evaluate_translation(
    model: Any,
    data: Any,
    metrics: Sequence[str] | str = ("pixel-fidelity",),
    *,
    direction: str | None = None,
    n: int | None = None,
    seed: int = 0,
    metric_options: dict[str, dict[str, Any]] | None = None,
    data_options: dict[str, Any] | None = None,
    inception_weights: str | os.PathLike | None = None,
    batch_size: int = 64,
    device: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Translate held-out images with ``model`` and measure the outputs.

    Args:
        model: a ``ganzoo.Translator`` or a name for ``ganzoo.load``.
        data: paired data (e.g. ``celeba-colorize:FILE`` with ``data_options={"split": "test"}``) or two domains
            (``fashion-mnist-unpaired:FILE``).
        metrics: registered metric names: pair metrics (``pixel-fidelity``, ``translation-accuracy``) and any
            distribution metric (``fid``, ``kid``).
        direction: for two-network models, ``a2b`` / ``b2a`` (or ``g_ab`` / ``g_ba``).
        n: a seeded random subset of the inputs (default: all).

    Returns:
        ``{"metrics": {name: {...}}, "protocol": {...}}``.
    """
    from ganzoo.evaluation.evaluate import make_metrics
    from ganzoo.models.translator import Translator

    started = datetime.datetime.now(datetime.timezone.utc)
    if not isinstance(model, Translator):
        from ganzoo.loading import load

        model = load(model, device=device)
    if not isinstance(model, Translator):
        raise EvaluationError(f"{model.architecture!r} is not an image-to-image model; use ganzoo.evaluate")
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    made = make_metrics(names, dict(metric_options or {}))
    inputs, targets, reference, description, role, masks = translation_sets(
        model, data, direction=direction, n=n, seed=seed, data_options=data_options
    )
    outputs = torch.cat(
        [
            _to_uint8_nchw(
                model.translate(
                    _to_model_range(inputs[i : i + batch_size]),
                    mask=None if masks is None else masks[i : i + batch_size],
                    direction=role,
                    output="raw",
                )
            )
            for i in range(0, len(inputs), batch_size)
        ]
    )
    results = score_translations(
        TranslationBatch(inputs, outputs, targets, masks),
        reference,
        made,
        dataset=str(data),
        seed=seed,
        inception_weights=inception_weights,
        device=device,
        progress=progress,
    )
    protocol = {
        "ganzoo_version": __version__,
        "date": started.isoformat(timespec="seconds"),
        "model": {
            "architecture": model.architecture,
            "direction": role,
            "config": model.config.to_dict(),
            "training": {k: v for k, v in model.training.items() if isinstance(v, (str, int, float, bool, type(None)))},
        },
        "data": description,
        "n": len(inputs),
        "n_reference": len(reference),
        "seed": seed,
        "metric_options": dict(metric_options or {}),
    }
    return {"metrics": results, "protocol": protocol}
