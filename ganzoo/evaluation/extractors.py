"""Feature extractors: ``InceptionExtractor`` (FID's Inception pool3 features and logits) and ``PixelExtractor``.

An extractor has ``cacheable`` (whether reference features may be cached), ``resize`` (how images are fitted to
it), ``describe()`` (the protocol's description) and ``features(samples, label=...)`` -> float64 ``(N, D)``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ganzoo.errors import EvaluationError

if TYPE_CHECKING:  # torch is imported where it is used
    import torch


class PixelExtractor:
    """Samples as their own features: flattened images scaled to [-1, 1], or flattened float samples."""

    cacheable = False
    resize = "none"

    def describe(self) -> dict[str, Any]:
        """The protocol's description."""
        return {"name": "pixels", "resize": self.resize}

    def features(self, samples: torch.Tensor, *, label: str = "") -> np.ndarray:
        """``(N, ...)`` samples -> float64 ``(N, D)`` (fast: no progress bar, ``label`` is ignored)."""
        import torch

        x = samples.reshape(len(samples), -1).double()
        if samples.dtype == torch.uint8:
            x = x / 127.5 - 1.0
        return x.numpy()


class InceptionExtractor:
    """Pool3 features (and logits) of the FID Inception network, loaded on first use."""

    cacheable = True

    def __init__(
        self,
        *,
        weights: str | os.PathLike | None = None,
        device: Any = None,
        download: bool = False,
        batch_size: int = 50,
        progress: bool = False,
    ) -> None:
        from ganzoo.evaluation.inception import RESIZE

        self.weights, self.device, self.download, self.batch_size = weights, device or "cpu", download, batch_size
        self.progress = progress
        self.resize = RESIZE
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The loaded ``InceptionModel``."""
        if self._model is None:
            from ganzoo.evaluation.inception import load_inception

            self._model = load_inception(self.weights, device=self.device, download=self.download)
        return self._model

    def describe(self) -> dict[str, Any]:
        """The protocol's description, with the weights' sha256."""
        return {**self.model.describe(), "resize": self.resize}

    def features(self, samples: torch.Tensor, *, logits: bool = False, label: str = "") -> Any:
        """uint8 images -> float64 features (and logits) as numpy arrays (``label`` names the progress bar)."""
        import torch

        if samples.dtype != torch.uint8 or samples.ndim != 4:
            raise EvaluationError(
                f"the Inception extractor takes images; these samples have shape {tuple(samples.shape[1:])}. "
                "Use extractor='pixels' for non-image generators."
            )
        bar = f"Inception features{': ' + label if label else ''}" if self.progress else None
        out = self.model(samples, logits=logits, batch_size=self.batch_size, progress=bar)
        return (out[0].numpy(), out[1].numpy()) if logits else out.numpy()


def make_extractor(name: str | None, *, is_image: bool, **options: Any) -> InceptionExtractor | PixelExtractor:
    """``"inception"`` (default for images) or ``"pixels"`` (default for other samples)."""
    name = name or ("inception" if is_image else "pixels")
    if name == "inception":
        if not is_image:
            raise EvaluationError("the Inception extractor needs image samples; use extractor='pixels'")
        return InceptionExtractor(**options)
    if name == "pixels":
        return PixelExtractor()
    raise EvaluationError(f"unknown feature extractor {name!r}; choose 'inception' or 'pixels'")
