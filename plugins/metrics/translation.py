"""Metrics of image-to-image models, run by ``ganzoo.evaluate_translation`` (pair metrics: ``reads_pairs``).

- ``pixel-fidelity``: L1, PSNR and SSIM of the outputs against their targets (paired data), on [0, 1] images, each
  the mean over images with its standard error; PSNR and SSIM are torchmetrics' (Wang et al. 2004's SSIM: 11x11
  Gaussian window, sigma 1.5). With ``input_baseline`` the same numbers for the input itself as the output (a
  colouriser's greyscale input, repeated to RGB): the trivial baseline every translator must beat.
- ``translation-accuracy``: the share of outputs the Fashion-MNIST classifier puts in ``target_class`` (CycleGAN's
  sandal -> sneaker: how many translated sandals it calls sneakers), with the predicted-class histogram.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ganzoo.errors import EvaluationError
from ganzoo.evaluation.protocol import Metric


def _mean_sem(values: torch.Tensor) -> tuple[float, float]:
    v = values.double()
    return float(v.mean()), float(v.std(unbiased=True) / np.sqrt(len(v))) if len(v) > 1 else 0.0


def pixel_scores(
    outputs: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor | None = None, batch_size: int = 256
) -> dict[str, Any]:
    """Per-image L1, PSNR (dB) and SSIM of uint8 NCHW ``outputs`` against ``targets``, on [0, 1]: means and
    standard errors. With ``masks`` (1 in the hole) also ``hole_l1`` and ``hole_psnr``: over the hole's pixels
    only (inpainting papers' measure; the whole picture's PSNR is flattered by the copied context)."""
    try:
        from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure
    except ImportError as exc:
        raise EvaluationError('PSNR and SSIM need torchmetrics: pip install "ganzoo[metrics]"') from exc
    if outputs.shape != targets.shape:
        raise EvaluationError(f"outputs {tuple(outputs.shape)} and targets {tuple(targets.shape)} differ in shape")
    l1, psnr, ssim, hole_l1, hole_psnr = [], [], [], [], []
    for i in range(0, len(outputs), batch_size):
        x, y = outputs[i : i + batch_size].double() / 255, targets[i : i + batch_size].double() / 255
        l1.append((x - y).abs().flatten(1).mean(1))
        # per image (dim over C, H, W; no reduction across the batch): a mean of PSNRs, as papers report
        psnr.append(peak_signal_noise_ratio(x, y, data_range=1.0, dim=(1, 2, 3), reduction="none"))
        ssim.append(structural_similarity_index_measure(x, y, data_range=1.0, reduction="none"))
        if masks is not None:
            m = masks[i : i + batch_size].double().expand_as(x)
            count = m.flatten(1).sum(1).clamp(min=1)
            hole_l1.append(((x - y).abs() * m).flatten(1).sum(1) / count)
            mse = ((x - y).pow(2) * m).flatten(1).sum(1) / count
            hole_psnr.append(10 * torch.log10(1 / mse.clamp(min=1e-10)))
    out: dict[str, Any] = {}
    named = [("l1", l1), ("psnr", psnr), ("ssim", ssim)]
    if masks is not None:
        named += [("hole_l1", hole_l1), ("hole_psnr", hole_psnr)]
    for name, parts in named:
        out[name], out[f"{name}_sem"] = _mean_sem(torch.cat(parts))
    return out


class PixelFidelity(Metric):
    """L1 / PSNR / SSIM of outputs against their targets (paired data only)."""

    reads_pairs: ClassVar[bool] = True
    needs: ClassVar[frozenset[str]] = frozenset({"samples"})
    headline: ClassVar[str] = "psnr"

    def __init__(self, input_baseline: bool = True) -> None:
        super().__init__()
        self.input_baseline = input_baseline
        self.pairs: Any = None

    def update_pairs(self, pairs: Any) -> None:
        """Receive the inputs, outputs and targets."""
        if pairs.targets is None:
            raise EvaluationError("pixel-fidelity compares outputs with their targets: it needs paired data")
        self.pairs = pairs

    def compute(self) -> dict[str, Any]:
        if self.pairs is None:
            raise EvaluationError("pixel-fidelity received no pairs")
        masks = self.pairs.masks
        scores = pixel_scores(self.pairs.outputs, self.pairs.targets, masks)
        scores["n"] = len(self.pairs.outputs)
        inputs, targets = self.pairs.inputs, self.pairs.targets
        if self.input_baseline and inputs.shape[1] in (1, targets.shape[1]):
            if inputs.shape[-1] < targets.shape[-1]:  # super-resolution: the input enlarged, PIL's bicubic
                inputs = bicubic_upscale(inputs, targets.shape[-1])
                scores["input_baseline_kind"] = "bicubic"
            inputs = inputs.expand(-1, targets.shape[1], -1, -1)
            scores["input_baseline"] = pixel_scores(inputs.contiguous(), targets, masks)
        return scores


def bicubic_upscale(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 NCHW -> uint8 NCHW of ``size`` x ``size`` by PIL's bicubic resize (the classic SR baseline)."""
    from PIL import Image

    out = []
    for image in images.permute(0, 2, 3, 1).numpy():
        picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        out.append(np.asarray(picture.resize((size, size), Image.BICUBIC)).reshape(size, size, -1))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


class TranslationAccuracy(Metric):
    """Share of outputs the Fashion-MNIST classifier assigns to ``target_class`` (index or name)."""

    reads_pairs: ClassVar[bool] = True
    needs: ClassVar[frozenset[str]] = frozenset({"samples"})
    headline: ClassVar[str] = "accuracy"

    def __init__(self, target_class: int | str = "sneaker", classifier: Any = None) -> None:
        super().__init__()
        from ganzoo.plugins.paired_tasks import _class_index

        self.target_class = _class_index(target_class)
        self._classifier = classifier
        self.outputs: torch.Tensor | None = None

    def update_pairs(self, pairs: Any) -> None:
        """Receive the outputs (inputs and targets are not needed)."""
        if tuple(pairs.outputs.shape[1:]) != (1, 32, 32):
            raise EvaluationError(
                f"translation-accuracy uses the Fashion-MNIST classifier, which reads 1x32x32 images; the outputs "
                f"are {tuple(pairs.outputs.shape[1:])}"
            )
        self.outputs = pairs.outputs

    def compute(self) -> dict[str, Any]:
        if self.outputs is None:
            raise EvaluationError("translation-accuracy received no outputs")
        from .fashion_classifier import load_fashion_classifier

        classifier = self._classifier or load_fashion_classifier()
        logits, _ = classifier.predict(self.outputs)
        predicted = logits.argmax(1)
        return {
            "accuracy": float((predicted == self.target_class).mean()),
            "target_class": self.target_class,
            "predicted_counts": np.bincount(predicted, minlength=logits.shape[1]).tolist(),
            "n": len(predicted),
        }
